"""clips/street.py: the shared street video as a whole-number-fps y4m, or a clear error and no file."""
import importlib.util

import numpy as np
import pytest

from clips import street
from clips.y4m import read_y4m

needs_decoder = pytest.mark.skipif(importlib.util.find_spec("cv2") is None,
                                   reason="opencv-python-headless (the video decoder) is not installed")


@needs_decoder
def test_first_frames_convert(tmp_path):
    if not street.STREET_VIDEO.is_file():
        pytest.skip(f"shared video not found at {street.STREET_VIDEO}: ../shared sits next to the checkout (README, 'What the tests need')")
    out = tmp_path / "street.y4m"
    assert street.convert(out, width=64, height=36, fps=25, frames=4) == 4
    assert out.read_bytes().startswith(b"YUV4MPEG2 W64 H36 F25:1 ")
    frames = list(read_y4m(out))
    assert len(frames) == 4 and frames[0].shape == (36, 64, 3)
    assert frames[0].std() > 10  # a real picture, not a flat or black frame
    assert not np.array_equal(frames[0], frames[3])  # handheld: the view keeps changing


@needs_decoder
def test_missing_video_names_it_and_writes_nothing(tmp_path):
    missing = tmp_path / "no-such-video.avi"
    with pytest.raises(FileNotFoundError, match="no-such-video.avi"):
        street.convert(tmp_path / "out" / "street.y4m", video=missing, width=64, height=36)
    assert not (tmp_path / "out").exists()


@needs_decoder
def test_unreadable_video_names_it_and_writes_nothing(tmp_path, capsys):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"RIFF" + bytes(range(256)) * 8)
    out = tmp_path / "out" / "street.y4m"
    assert street.main(["--video", str(broken), "--out", str(out), "--width", "64", "--height", "36"]) == 1
    assert "broken.avi" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_odd_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="even"):
        street.convert(tmp_path / "s.y4m", width=63, height=36)
