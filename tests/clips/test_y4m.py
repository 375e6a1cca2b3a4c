"""clips/y4m.py: clips Chromium's fake camera accepts, with colours that survive the round trip."""
import numpy as np
import pytest

from clips.y4m import quadrant_frames, read_y4m, rgb_to_yuv420, write_y4m

COLOURS = [(220, 40, 40), (40, 200, 60), (40, 70, 220), (230, 210, 40)]


def test_header_and_exact_size(tmp_path):
    path = tmp_path / "clip.y4m"
    count = write_y4m(path, quadrant_frames(64, 36, 5, COLOURS), fps=30)
    data = path.read_bytes()
    header = b"YUV4MPEG2 W64 H36 F30:1 Ip A1:1 C420jpeg\n"
    assert data.startswith(header)
    frame_bytes = len(b"FRAME\n") + 64 * 36 * 3 // 2
    assert len(data) == len(header) + count * frame_bytes
    assert data.count(b"FRAME\n") == 5


def test_round_trip_keeps_colours(tmp_path):
    path = tmp_path / "clip.y4m"
    frames = list(quadrant_frames(64, 36, 3, COLOURS))
    write_y4m(path, frames)
    decoded = list(read_y4m(path))
    assert len(decoded) == 3
    # Flat regions survive 4:2:0 and rounding within a couple of levels.
    assert np.abs(decoded[0][4, 4].astype(int) - COLOURS[0]).max() <= 3
    assert np.abs(decoded[2][30, 60].astype(int) - COLOURS[3]).max() <= 3


def test_limited_range_luma():
    y, u, v = rgb_to_yuv420(np.zeros((2, 2, 3), np.uint8))
    assert y.max() == 16 and u.max() == 128 and v.max() == 128
    y, _, _ = rgb_to_yuv420(np.full((2, 2, 3), 255, np.uint8))
    assert y.min() == 235


@pytest.mark.parametrize("bad", [np.zeros((3, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)])
def test_bad_frames_are_refused(bad):
    with pytest.raises(ValueError):
        rgb_to_yuv420(bad)


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "clip.y4m"
    frames = [np.zeros((4, 4, 3), np.uint8), np.zeros((6, 6, 3), np.uint8)]
    with pytest.raises(ValueError):
        write_y4m(path, frames)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_fractional_fps_is_refused(tmp_path):
    with pytest.raises(ValueError, match="whole-number"):
        write_y4m(tmp_path / "c.y4m", quadrant_frames(4, 4, 1, COLOURS), fps=29.97)
