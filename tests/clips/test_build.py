"""clips/build.py: fake-camera clips whose masks match their pixels, phase by phase."""
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clips import build
from clips.build import ClipInfo, ClipSpec, build_clip, parse_colour, parse_script
from clips.y4m import read_y4m, write_y4m
from model_export.paths import BACKGROUNDS_DIR, PORTRAITS_DIR

GREEN = (0, 255, 0)  # the flat background: far from every person colour below
FLAT_TOLERANCE = 4  # levels: 4:2:0 and BT.601 rounding on a flat area
EDGE_PX = 3  # the feathered rim (2 px) plus the 2x2 block that shares its chroma


def _ellipse(h, w, cy, cx, ry, rx):
    yy, xx = np.mgrid[:h, :w]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def _dilate(mask, radius):
    out = mask.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            shifted = np.zeros_like(mask)
            shifted[max(0, dy):mask.shape[0] + min(0, dy), max(0, dx):mask.shape[1] + min(0, dx)] = \
                mask[max(0, -dy):mask.shape[0] - max(0, dy), max(0, -dx):mask.shape[1] - max(0, dx)]
            out |= shifted
    return out


def _erode(mask, radius):
    return ~_dilate(~mask, radius)


@pytest.fixture
def portraits(tmp_path):
    """A portraits folder: 'bust' (head and shoulders cut off by the bottom edge) and 'floating' (not)."""
    folder = tmp_path / "portraits"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    h, w = 120, 160
    rng = np.random.default_rng(1)
    # Reddish texture (G <= 90): far from the green background; the photo's own backdrop is blue.
    person = np.stack([rng.integers(120, 200, (h, w)), rng.integers(30, 90, (h, w)), rng.integers(60, 120, (h, w))], -1)
    bust = _ellipse(h, w, 40, 80, 24, 18) | _ellipse(h, w, 125, 80, 45, 55)
    floating = _ellipse(h, w, 30, 80, 20, 15) | _ellipse(h, w, 75, 80, 30, 35)
    for stem, mask in [("bust", bust), ("floating", floating)]:
        photo = np.where(mask[..., None], person, [20, 40, 230]).astype(np.uint8)
        Image.fromarray(photo).save(folder / "images" / f"{stem}.jpg", quality=95)
        Image.fromarray(mask.astype(np.uint8) * 255).save(folder / "masks" / f"{stem}.png")
    return folder


@pytest.fixture
def flat_spec(portraits):
    return ClipSpec(portrait="bust", background=None, background_colour=GREEN, width=64, height=36, fps=30,
                    script=parse_script("still:3,move:6,still:2,fast:4"), noise=0.0, portraits_dir=portraits)


def _build(tmp_path, spec, name="clip"):
    info = build_clip(tmp_path / "out" / name, spec)
    folder = tmp_path / "out"
    frames = np.stack(list(read_y4m(folder / info.y4m)))
    masks = np.load(folder / info.masks)
    return info, frames, masks


def test_frame_count_and_masks_line_up(tmp_path, flat_spec):
    info, frames, masks = _build(tmp_path, flat_spec)
    assert info.frames == 15 == len(frames) == len(masks)
    assert frames.shape == (15, 36, 64, 3) and masks.shape == (15, 36, 64) and masks.dtype == np.uint8
    assert set(np.unique(masks)) == {0, 255}
    for frame, mask in zip(frames, masks):
        person = mask > 0
        distance = np.abs(frame.astype(int) - GREEN).max(axis=-1)
        assert distance[~_dilate(person, EDGE_PX)].max() <= FLAT_TOLERANCE  # background: the flat colour
        assert distance[_erode(person, EDGE_PX)].min() > 100  # person: nothing like it
        assert person.sum() > 0.15 * person.size


def test_still_frames_are_identical(tmp_path, flat_spec):
    info, frames, masks = _build(tmp_path, flat_spec)
    for phase in info.phases:
        if phase.kind == "still":
            for i in range(phase.start + 1, phase.end):
                assert np.array_equal(frames[i], frames[phase.start]) and np.array_equal(masks[i], masks[phase.start])


def test_noise_is_tiny_and_only_noise(tmp_path, flat_spec):
    _, frames, masks = _build(tmp_path, replace(flat_spec, noise=1.0, script=parse_script("still:4")))
    difference = np.abs(frames[1:].astype(int) - frames[0])
    assert difference.max() > 0 and difference.max() <= 8 and difference.mean() < 2
    assert (masks == masks[0]).all()


def test_move_and_fast_shift_the_mask_by_the_offsets(tmp_path, flat_spec):
    info, _, masks = _build(tmp_path, flat_spec)
    assert not masks[:, :, [0, -1]].any()  # the person stays inside the frame, so shifts are exact
    offsets = np.array(info.offsets_px)
    for i, offset in enumerate(offsets):
        assert np.array_equal(masks[i], np.roll(masks[0], offset, axis=1)), f"frame {i}"
    move, fast = (next(p for p in info.phases if p.kind == kind) for kind in ("move", "fast"))
    assert offsets[move.start] == 0 and abs(offsets[move.start:move.end]).max() == round(build.SWAY_AMPLITUDE * 64)
    steps = np.abs(np.diff(offsets[fast.start:fast.end]))
    assert np.median(steps) >= build.FAST_SPEED * 64 - 1  # a turn-round step may be shorter


def test_sway_is_5_to_15_percent_at_640(flat_spec):
    _, offsets = build.plan(replace(flat_spec, width=640, height=360, script=parse_script("move:45,fast:30")))
    assert 0.05 * 640 <= abs(offsets[:45]).max() <= 0.15 * 640
    steps = np.abs(np.diff(offsets[45:]))
    assert np.mean(steps >= 20) >= 0.8  # px per frame, except where the sweep turns round


def test_talk_changes_stay_far_from_the_edge(tmp_path, flat_spec):
    spec = replace(flat_spec, width=160, height=90, script=parse_script("talk:8"))
    info, frames, masks = _build(tmp_path, spec)
    assert (masks == masks[0]).all()
    changed = (np.abs(frames.astype(int) - frames[0]).max(axis=-1) > 0).any(axis=0)
    assert changed.sum() > 20
    # Chroma is shared by 2x2 blocks, so a change can reach one pixel beyond where it was painted.
    assert not (changed & ~_erode(masks[0] > 0, info.talk_margin_px - 1)).any()


def test_json_covers_every_frame_and_names_only(tmp_path, flat_spec, portraits):
    spec = replace(flat_spec, background="bg.png", background_colour=None, backgrounds_dir=tmp_path)
    Image.new("RGB", (100, 40), (10, 20, 30)).save(tmp_path / "bg.png")
    info = build_clip(tmp_path / "out" / "clip", spec)
    stored = json.loads((tmp_path / "out" / "clip.json").read_text())
    phases = stored["phases"]
    assert phases[0]["start"] == 0 and phases[-1]["end"] == stored["frames"] == 15
    assert all(a["end"] == b["start"] for a, b in zip(phases, phases[1:]))
    assert [p["kind"] for p in phases] == ["still", "move", "still", "fast"]
    assert len(stored["offsets_px"]) == 15
    assert stored["portrait"] == "bust" and stored["background"] == "bg.png"
    assert stored["fps"] == 30 and (stored["width"], stored["height"]) == (64, 36)
    assert np.allclose(stored["background_mean_rgb"], (10, 20, 30), atol=1)
    assert stored["person_mean_rgb"][1] < 100 < stored["person_mean_rgb"][0]
    assert ClipInfo.load(tmp_path / "out" / "clip.json") == info


def test_bust_stands_on_the_bottom_edge_and_a_floating_person_does_not(tmp_path, flat_spec):
    _, _, masks = _build(tmp_path, flat_spec)
    assert masks[0][-1].any()
    _, _, floating = _build(tmp_path, replace(flat_spec, portrait="floating"), name="floating")
    assert not floating[0][-1].any() and floating[0].any()


@pytest.mark.parametrize("field, value, named", [
    ("portrait", "no-such-stem", "no-such-stem"),
    ("background", "no-such-background.jpg", "no-such-background.jpg"),
])
def test_bad_input_names_it_and_writes_nothing(tmp_path, flat_spec, field, value, named):
    spec = replace(flat_spec, background_colour=None, backgrounds_dir=tmp_path, **{field: value})
    if field == "portrait":
        spec = replace(spec, background_colour=GREEN)
    with pytest.raises(FileNotFoundError, match=named):
        build_clip(tmp_path / "out" / "clip", spec)
    assert not (tmp_path / "out").exists()


def test_talk_in_a_tiny_frame_is_refused(tmp_path, flat_spec):
    with pytest.raises(ValueError, match="talk"):
        build_clip(tmp_path / "out" / "clip", replace(flat_spec, width=16, height=8, script=parse_script("talk:2")))
    assert not (tmp_path / "out").exists()


def test_failure_while_writing_leaves_nothing(tmp_path, flat_spec, monkeypatch):
    def broken_writer(path, frames, fps):
        next(iter(frames))
        raise OSError("disk full")

    monkeypatch.setattr(build, "write_y4m", broken_writer)
    with pytest.raises(OSError):
        build_clip(tmp_path / "clip", flat_spec)
    assert not any(p.name.startswith("clip") for p in tmp_path.iterdir())


@pytest.mark.parametrize("script", ["jump:5", "still:0", "still", "still:5,"])
def test_bad_script_is_refused(script):
    with pytest.raises(ValueError, match="still|jump"):
        parse_script(script)


def test_colour_parsing():
    assert parse_colour("0,255,0") == (0, 255, 0)
    with pytest.raises(ValueError):
        parse_colour("0,256,0")


def test_command_line(tmp_path, portraits, capsys):
    out = tmp_path / "cli"
    args = ["--out", str(out), "--portrait", "bust", "--portraits-dir", str(portraits), "--background-colour", "0,0,0",
            "--width", "32", "--height", "18", "--script", "still:2,fast:2", "--no-noise"]
    assert build.main(args) == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"cli.y4m", "cli.masks.npy", "cli.json"}
    assert build.main([*args[:2], "--portrait", "missing-one", "--portraits-dir", str(portraits)]) == 1
    assert "missing-one" in capsys.readouterr().err


def test_default_portrait_and_background_build(tmp_path):
    if not (PORTRAITS_DIR / "masks" / f"{build.DEFAULT_PORTRAIT}.png").is_file():
        pytest.skip(f"shared portraits not found at {PORTRAITS_DIR}: ../shared sits next to the checkout (README, 'What the tests need')")
    if not (BACKGROUNDS_DIR / build.DEFAULT_BACKGROUND).is_file():
        pytest.skip(f"shared backgrounds not found at {BACKGROUNDS_DIR}: ../shared sits next to the checkout (README, 'What the tests need')")
    info, frames, masks = _build(tmp_path, ClipSpec(width=64, height=36, script=parse_script("still:2")))
    assert len(frames) == 2 and masks[0][-1].any()  # head and shoulders, standing on the bottom edge
    assert 0.15 < (masks[0] > 0).mean() < 0.6
    assert info.background == build.DEFAULT_BACKGROUND and info.portrait == build.DEFAULT_PORTRAIT


def _probe_read(frame: np.ndarray, model_width: int = 256, model_height: int = 144) -> int:
    """Read a frame code the way static/js/bench_probe.js does: on the model-size frame, green at the
    centre of each block, on row floor(blockPx / 2)."""
    small = np.asarray(Image.fromarray(frame).resize((model_width, model_height), Image.BILINEAR))
    block_px = model_width * build.FRAME_CODE_BLOCK_FRACTION
    row = small[int(block_px // 2)]
    code = 0
    for bit in range(build.FRAME_CODE_BITS):
        code = code * 2 + int(row[int((bit + 0.5) * block_px), 1] > 127)
    return code


def test_frame_code_matches_the_browser_probe():
    source = Path(build.__file__).resolve().parent.parent
    probe = (source / "static" / "js" / "bench_probe.js").read_text()
    match = re.search(r"FRAME_CODE = Object\.freeze\(\{ bits: (\d+), blockFraction: 1 / (\d+) \}\)", probe)
    assert match, "FRAME_CODE not found in static/js/bench_probe.js"
    assert int(match[1]) == build.FRAME_CODE_BITS and 1 / int(match[2]) == build.FRAME_CODE_BLOCK_FRACTION


@pytest.mark.parametrize("index", [0, 1, 0xA5C, 2 ** build.FRAME_CODE_BITS - 1])
def test_frame_code_round_trips_through_y4m_and_the_model_size_frame(tmp_path, index):
    rng = np.random.default_rng(index)
    frame = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)  # busy surroundings: no help from the background
    rows, cols = build.draw_frame_code(frame, index)
    assert (rows.stop, cols.stop) == (16, 12 * 16)  # 16 px blocks at 640 wide, from the top-left corner
    assert build.read_frame_code(frame) == index
    write_y4m(tmp_path / "code.y4m", [frame], 30)
    decoded = next(read_y4m(tmp_path / "code.y4m"))
    assert build.read_frame_code(decoded) == index
    assert _probe_read(decoded) == index


def test_barcode_clip_numbers_its_frames_and_clears_the_truth_under_the_code(tmp_path, flat_spec):
    spec = replace(flat_spec, width=320, height=180, noise=1.0, barcode=True, script=parse_script("still:3,fast:4"))
    info, frames, masks = _build(tmp_path, spec)
    assert info.barcode and ClipInfo.load(tmp_path / "out" / "clip.json").barcode
    assert [build.read_frame_code(frame) for frame in frames] == list(range(7))
    rows, cols = build.frame_code_blocks(320)[0][0], slice(0, build.frame_code_blocks(320)[-1][1].stop)
    assert not masks[:, rows, cols].any()
    _, plain_frames, plain_masks = _build(tmp_path, replace(spec, barcode=False), name="plain")
    below = slice(rows.stop + 1, None)  # 4:2:0 chroma may mix the code's last row with the next
    assert np.array_equal(frames[:, below], plain_frames[:, below])
    assert np.array_equal(masks[:, rows.stop:], plain_masks[:, rows.stop:])


def test_barcode_refuses_clips_longer_than_the_code(flat_spec, tmp_path):
    too_long = replace(flat_spec, barcode=True, script=parse_script(f"still:{2 ** build.FRAME_CODE_BITS + 1}"))
    with pytest.raises(ValueError, match="frame code"):
        build_clip(tmp_path / "out" / "clip", too_long)
    with pytest.raises(ValueError, match="frame code"):
        build.draw_frame_code(np.zeros((36, 640, 3), np.uint8), 2 ** build.FRAME_CODE_BITS)


def test_command_line_barcode(tmp_path, portraits):
    args = ["--out", str(tmp_path / "cli"), "--portrait", "bust", "--portraits-dir", str(portraits),
            "--background-colour", "0,0,0", "--width", "160", "--height", "90", "--script", "still:3", "--barcode"]
    assert build.main(args) == 0
    assert [build.read_frame_code(f) for f in read_y4m(tmp_path / "cli.y4m")] == [0, 1, 2]
