"""Build a fake-camera clip with per-frame ground truth: a portrait cut out by its mask, moving over a background.

    .venv/bin/python -m clips.build --out build/clips/demo [--portrait 0157] [--background wallpapers-autumn.jpg]
        [--background-colour 0,255,0] [--width 640 --height 360 --fps 30]
        [--script still:60,move:45,still:60,fast:30] [--seed 0] [--noise 1.0 | --no-noise] [--barcode]

writes ``demo.y4m`` (Chromium's ``--use-file-for-fake-video-capture``), ``demo.masks.npy`` (uint8 (N, H, W),
255 = person, frame-aligned with the y4m) and ``demo.json`` (phases, sizes, sources, colour statistics).

Script phases (``KIND:FRAMES``, comma-separated, run in order; every phase starts and ends centred):
- ``still``: the person does not move; frames differ only by the optional sensor noise;
- ``talk``: still, plus a brightness flicker inside the face, far from the silhouette edge (a motion gate
  must not react to it);
- ``move``: a smooth horizontal sway (sine) of up to ``SWAY_AMPLITUDE`` of the width;
- ``fast``: a back-and-forth sweep at ``FAST_SPEED`` of the width per frame or more (25.6 px at 640 wide;
  shorter only on the frame where it turns round).
Positions are whole pixels, so each frame's mask is the first frame's mask shifted by ``offsets_px``.

``--barcode`` paints each frame's index in the top-left corner as ``FRAME_CODE_BITS`` square blocks of
``FRAME_CODE_BLOCK_FRACTION`` of the width (white = 1, black = 0, most significant bit first, from x = 0,
y = 0), over the noise, so the benchmark probe (static/js/bench_probe.js) can tell which clip frame the
page composited. Still frames then differ in that corner; the ground truth there is background.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from clips.y4m import write_y4m
from model_export.paths import BACKGROUNDS_DIR, PORTRAITS_DIR

# Head-and-shoulders, no edge but the bottom touched, and in model_export's validation split (fraction
# 0.13, seed 0): benchmarks then measure the model on a person it never trained on.
DEFAULT_PORTRAIT = "0157"
DEFAULT_BACKGROUND = "wallpapers-autumn.jpg"  # textured and warm: unlike the portrait's dark clothes and skin
DEFAULT_SCRIPT = "still:60,move:45,still:60,fast:30"

PHASE_KINDS = ("still", "talk", "move", "fast")
PERSON_HEIGHT = 0.85  # the person's box height over the frame height: head near the top like a webcam
PERSON_MAX_WIDTH = 0.7  # ... unless that makes the person wider than this fraction of the frame
FLOATING_MARGIN = 0.05  # bottom margin, as a fraction of the height, for a person who did not touch the bottom
FEATHER_SIGMA_PX = 0.7  # Gaussian blur of the alpha at output resolution: a camera edge spans about 2 px
SPILL_SIGMA_PX = 2.0  # person colours pushed outward under the feathered rim, so the photo's own backdrop never shows
SWAY_AMPLITUDE = 0.10  # peak offset from the centre in a move phase, fraction of the width (brief: 5-15%)
SWAY_PERIOD_S = 1.5  # one sway cycle (out, across and back); a phase holds a whole number of cycles
FAST_AMPLITUDE = 0.15  # peak offset from the centre in a fast phase, fraction of the width
FAST_SPEED = 0.04  # least sweep speed in a fast phase, fraction of the width per frame
TALK_GAIN = 0.06  # peak relative brightness change of the face in a talk phase
TALK_HZ = 4.0  # about the syllable rate of speech
TALK_MARGIN = 0.06  # least distance of any talk change from the silhouette, fraction of the height
TALK_FACE_SPAN = 0.45  # the face region lies in this top fraction of the person's box
NOISE_SIGMA = 1.0  # default sensor noise, standard deviation in 8-bit levels
NOISE_BANK = 8  # noise fields drawn once and cycled: per-frame draws would dominate the build time
# The frame-code layout; must equal FRAME_CODE in static/js/bench_probe.js (a test compares them).
FRAME_CODE_BITS = 12  # 4096 frames: over 2 min at 30 fps
FRAME_CODE_BLOCK_FRACTION = 1 / 40  # block side over the frame width: 16 px at 640, 6.4 px at the 256-wide model size


@dataclass(frozen=True)
class Phase:
    """One script step: KIND for FRAMES frames."""

    kind: str
    frames: int


@dataclass(frozen=True)
class PhaseRange:
    """A phase placed in the clip: frames [start, end)."""

    kind: str
    start: int
    end: int


@dataclass
class ClipSpec:
    """Everything that decides a clip's pixels."""

    portrait: str = DEFAULT_PORTRAIT  # stem in portraits_dir/images and portraits_dir/masks
    background: str | None = DEFAULT_BACKGROUND  # file name in backgrounds_dir, or a path
    background_colour: tuple[int, int, int] | None = None  # a flat colour instead of the image
    width: int = 640
    height: int = 360
    fps: int = 30
    script: tuple[Phase, ...] = field(default_factory=lambda: parse_script(DEFAULT_SCRIPT))
    seed: int = 0
    noise: float = NOISE_SIGMA  # 0 = none: still frames are then byte-identical
    barcode: bool = False  # paint the frame index in the top-left corner (see draw_frame_code)
    portraits_dir: Path = PORTRAITS_DIR
    backgrounds_dir: Path = BACKGROUNDS_DIR


@dataclass
class ClipInfo:
    """What build_clip wrote, as stored in the clip's JSON (file names only)."""

    y4m: str
    masks: str
    frames: int
    fps: int
    width: int
    height: int
    phases: list[PhaseRange]
    offsets_px: list[int]  # horizontal offset of the person from the centred position, per frame
    portrait: str
    background: str | None
    background_colour: list[int] | None
    background_mean_rgb: list[float]  # over the whole fitted background
    background_std_rgb: list[float]
    person_mean_rgb: list[float]  # over the person's ground-truth pixels, before noise and talk
    person_box: list[int]  # [top, left, bottom, right) of the person in frame 0
    noise_sigma: float
    talk_margin_px: int  # talk changes stay at least this far inside the ground-truth mask
    seed: int
    barcode: bool = False  # frames carry their index as a frame code (older JSONs lack the key)

    @classmethod
    def load(cls, json_path: Path) -> ClipInfo:
        """Read a clip's JSON back."""
        data = json.loads(Path(json_path).read_text())
        data["phases"] = [PhaseRange(**phase) for phase in data["phases"]]
        return cls(**data)


def parse_script(text: str) -> tuple[Phase, ...]:
    """'still:60,move:45' -> (Phase('still', 60), Phase('move', 45))."""
    phases = []
    for item in text.split(","):
        kind, _, count = item.strip().partition(":")
        if kind not in PHASE_KINDS:
            raise ValueError(f"unknown phase {kind!r} in script {text!r}: expected one of {', '.join(PHASE_KINDS)}")
        if not count.isdigit() or int(count) <= 0:
            raise ValueError(f"phase {item.strip()!r} in script {text!r} needs a positive frame count (KIND:FRAMES)")
        phases.append(Phase(kind, int(count)))
    return tuple(phases)


def parse_colour(text: str) -> tuple[int, int, int]:
    """'0,255,0' -> (0, 255, 0)."""
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) <= 255 for p in parts):
        raise ValueError(f"colour {text!r} must be R,G,B with each in 0..255")
    return tuple(int(p) for p in parts)


# ---------------------------------------------------------------- small numpy filters (run once per clip)


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an (H, W) or (H, W, C) float array, edges extended."""
    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = image.astype(np.float32)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        length = out.shape[axis]
        out = sum(w * padded.take(np.arange(i, i + length), axis=axis) for i, w in enumerate(taps))
    return out.astype(np.float32)


def _box_count(mask: np.ndarray, radius: int) -> np.ndarray:
    """Number of True pixels in the (2r+1)^2 box around each pixel (outside the array counts as False)."""
    padded = np.pad(mask.astype(np.int32), radius + 1)
    table = padded.cumsum(0).cumsum(1)
    side = 2 * radius + 1
    h, w = mask.shape
    return (table[side:side + h, side:side + w] - table[:h, side:side + w]
            - table[side:side + h, :w] + table[:h, :w])


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels whose whole (2r+1)^2 box lies inside MASK."""
    return _box_count(mask, radius) == (2 * radius + 1) ** 2


# ---------------------------------------------------------------- the cut-out, computed once


@dataclass
class _Sprite:
    """The person at output scale, placed for offset 0."""

    fg: np.ndarray  # (h, w, 3) float32, person colours (spill-corrected beyond the mask)
    alpha: np.ndarray  # (h, w) float32 in [0, 1], feathered
    truth: np.ndarray  # (h, w) bool: alpha >= 0.5
    talk: np.ndarray  # (h, w) float32 in [0, 1]: where and how much a talk phase changes brightness
    top: int  # frame row of the sprite's first row
    left: int  # frame column of the sprite's first column at offset 0
    talk_margin_px: int


def _portrait_paths(spec: ClipSpec) -> tuple[Path, Path]:
    folder = Path(spec.portraits_dir)
    image, mask = folder / "images" / f"{spec.portrait}.jpg", folder / "masks" / f"{spec.portrait}.png"
    if not image.is_file():
        candidates = sorted((folder / "images").glob(f"{spec.portrait}.*"))
        if not candidates:
            raise FileNotFoundError(f"portrait {spec.portrait!r} not found: no {image}")
        image = candidates[0]
    if not mask.is_file():
        raise FileNotFoundError(f"portrait {spec.portrait!r} has no mask: {mask} is missing")
    return image, mask


def _background_path(spec: ClipSpec) -> Path:
    path = Path(spec.background)
    if not path.is_file():
        path = Path(spec.backgrounds_dir) / spec.background
    if not path.is_file():
        raise FileNotFoundError(f"background {spec.background!r} not found (looked in {spec.backgrounds_dir})")
    return path


def _load_background(spec: ClipSpec) -> np.ndarray:
    """(H, W, 3) uint8: the image cover-fitted (scaled to fill, centre-cropped), or the flat colour."""
    if spec.background_colour is not None:
        return np.broadcast_to(np.array(spec.background_colour, np.uint8), (spec.height, spec.width, 3)).copy()
    path = _background_path(spec)
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            scale = max(spec.width / img.width, spec.height / img.height)
            size = (max(spec.width, round(img.width * scale)), max(spec.height, round(img.height * scale)))
            img = img.resize(size, Image.LANCZOS)
            left, top = (size[0] - spec.width) // 2, (size[1] - spec.height) // 2
            return np.asarray(img.crop((left, top, left + spec.width, top + spec.height)), np.uint8).copy()
    except OSError as error:
        raise ValueError(f"background {path} is not a readable image: {error}") from error


def _make_sprite(spec: ClipSpec) -> _Sprite:
    """Cut the person out once: crop, scale, feather, spill-correct, and find the face region."""
    image_path, mask_path = _portrait_paths(spec)
    try:
        with Image.open(image_path) as img, Image.open(mask_path) as msk:
            photo = img.convert("RGB")
            mask = np.asarray(msk.convert("L").resize(photo.size, Image.NEAREST)) > 127
    except OSError as error:
        raise ValueError(f"portrait {spec.portrait!r} is not readable ({image_path}, {mask_path}): {error}") from error
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError(f"portrait {spec.portrait!r} has an empty mask ({mask_path})")
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    anchored = bottom == mask.shape[0]  # the photo cut the person off: keep that edge on the frame's bottom

    scale = PERSON_HEIGHT * spec.height / (bottom - top)
    scale = min(scale, PERSON_MAX_WIDTH * spec.width / (right - left))
    pad = math.ceil((3 * FEATHER_SIGMA_PX + 2) / scale)  # source pixels around the box for the feathered rim
    crop = (max(0, left - pad), max(0, top - pad), min(photo.width, right + pad), min(photo.height, bottom + pad))
    size = (max(1, round((crop[2] - crop[0]) * scale)), max(1, round((crop[3] - crop[1]) * scale)))
    fg = np.asarray(photo.crop(crop).resize(size, Image.LANCZOS), np.float32)
    soft = Image.fromarray(mask[crop[1]:crop[3], crop[0]:crop[2]].astype(np.float32)).resize(size, Image.BILINEAR)
    alpha = np.clip(_gaussian_blur(np.asarray(soft, np.float32), FEATHER_SIGMA_PX), 0.0, 1.0)
    truth = alpha >= 0.5
    if not truth.any():
        raise ValueError(f"portrait {spec.portrait!r} vanishes at {spec.width}x{spec.height}")

    # Under the rim (alpha > 0 outside the mask) show the person's own nearby colours, not the photo's backdrop.
    inside = truth.astype(np.float32)
    weight = _gaussian_blur(inside, SPILL_SIGMA_PX)
    spread = _gaussian_blur(fg * inside[..., None], SPILL_SIGMA_PX) / np.maximum(weight, 1e-6)[..., None]
    fg = np.where(truth[..., None], fg, spread)

    sprite_top = spec.height - size[1] if anchored else round(spec.height * (1 - FLOATING_MARGIN)) - size[1]
    box_centre = ((left + right) / 2 - crop[0]) * scale
    sprite_left = round(spec.width / 2 - box_centre)

    margin = max(1, round(TALK_MARGIN * spec.height))
    talk = _talk_region(truth, margin)
    return _Sprite(fg, alpha, truth, talk, sprite_top, sprite_left, margin)


def _talk_region(truth: np.ndarray, margin: int) -> np.ndarray:
    """A soft weight over the face (the top of the person), zero within MARGIN px of the silhouette."""
    rows = np.nonzero(truth.any(axis=1))[0]
    face = np.zeros_like(truth)
    face_end = rows[0] + math.ceil(TALK_FACE_SPAN * (rows[-1] + 1 - rows[0]))
    face[rows[0]:face_end] = True
    # Eroding by 2 margins then box-blurring by 1 keeps the weight's support a full margin inside the mask.
    deep = _erode(truth, 2 * margin)
    core = deep & face
    if not core.any():  # a small frame: fall back to the torso's interior
        core = deep
    weight = _box_count(core, margin).astype(np.float32)
    return weight / max(float(weight.max()), 1.0)  # all zero when the person has no interior that deep


# ---------------------------------------------------------------- motion


def _phase_offsets(phase: Phase, width: int, fps: int) -> np.ndarray:
    """Horizontal offsets (px) for each frame of PHASE; 0 at its start, and 0 again just after its end."""
    k = np.arange(phase.frames) / phase.frames
    if phase.kind == "move":
        cycles = max(1, round(phase.frames / (SWAY_PERIOD_S * fps)))
        return np.rint(SWAY_AMPLITUDE * width * np.sin(2 * np.pi * cycles * k)).astype(int)
    if phase.kind == "fast":
        # A triangle wave: constant speed 4 * amplitude * cycles / frames, at least FAST_SPEED * width per frame.
        cycles = max(1, math.ceil(phase.frames * FAST_SPEED / (4 * FAST_AMPLITUDE)))
        triangle = 2 / np.pi * np.arcsin(np.sin(2 * np.pi * cycles * k))
        return np.rint(FAST_AMPLITUDE * width * triangle).astype(int)
    return np.zeros(phase.frames, int)


def plan(spec: ClipSpec) -> tuple[list[PhaseRange], np.ndarray]:
    """The phases placed on the frame axis, and the person's offset for every frame."""
    ranges, offsets, start = [], [], 0
    for phase in spec.script:
        ranges.append(PhaseRange(phase.kind, start, start + phase.frames))
        offsets.append(_phase_offsets(phase, spec.width, spec.fps))
        start += phase.frames
    return ranges, np.concatenate(offsets)


def _paste_window(sprite: _Sprite, offset: int, width: int, height: int):
    """(frame slices, sprite slices) of the sprite's visible part at OFFSET, or None when it is off-frame."""
    h, w = sprite.alpha.shape
    x0, y0 = sprite.left + offset, sprite.top
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(width, x0 + w), min(height, y0 + h)
    if fx0 >= fx1 or fy0 >= fy1:
        return None
    return (slice(fy0, fy1), slice(fx0, fx1)), (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))


def _frames(spec: ClipSpec, sprite: _Sprite, background: np.ndarray, ranges: list[PhaseRange],
            offsets: np.ndarray, masks: np.ndarray) -> Iterator[np.ndarray]:
    """Yield the RGB frames, filling MASKS[i] with frame i's ground truth on the way."""
    rng = np.random.default_rng(spec.seed)
    bank = None
    if spec.noise > 0:
        bank = np.stack([np.clip(np.rint(rng.normal(0.0, spec.noise, background.shape)), -127, 127).astype(np.int8)
                         for _ in range(NOISE_BANK)])
    premultiplied = sprite.fg * sprite.alpha[..., None]
    keep = (1.0 - sprite.alpha)[..., None]
    kinds = np.empty(len(offsets), object)
    for phase in ranges:
        kinds[phase.start:phase.end] = phase.kind
    for index, offset in enumerate(offsets):
        frame = background.copy()
        masks[index] = 0
        window = _paste_window(sprite, int(offset), spec.width, spec.height)
        if window is not None:
            (fy, fx), (sy, sx) = window
            layer = premultiplied[sy, sx]
            if kinds[index] == "talk":
                gain = 1.0 + TALK_GAIN * math.sin(2 * math.pi * TALK_HZ * index / spec.fps) * sprite.talk[sy, sx]
                layer = layer * gain[..., None]
            mixed = background[fy, fx] * keep[sy, sx] + layer
            frame[fy, fx] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
            masks[index][fy, fx] = sprite.truth[sy, sx] * np.uint8(255)
        if bank is not None:
            noisy = frame.astype(np.int16) + bank[index % NOISE_BANK]
            frame = np.clip(noisy, 0, 255).astype(np.uint8)
        if spec.barcode:
            rows, cols = draw_frame_code(frame, index)
            masks[index][rows, cols] = 0  # the code covers whatever was there: it is background now
        yield frame


def frame_code_blocks(width: int) -> list[tuple[slice, slice]]:
    """(rows, cols) of each frame-code block in a frame WIDTH px wide, most significant bit first."""
    block = width * FRAME_CODE_BLOCK_FRACTION
    side = max(1, round(block))
    return [(slice(0, side), slice(round(bit * block), round((bit + 1) * block))) for bit in range(FRAME_CODE_BITS)]


def draw_frame_code(frame: np.ndarray, index: int) -> tuple[slice, slice]:
    """Paint INDEX into an (H, W, 3) uint8 frame in place; returns the (rows, cols) the code covers."""
    if not 0 <= index < 2 ** FRAME_CODE_BITS:
        raise ValueError(f"frame {index} does not fit a {FRAME_CODE_BITS}-bit frame code")
    blocks = frame_code_blocks(frame.shape[1])
    for bit, (rows, cols) in enumerate(blocks):
        frame[rows, cols] = 255 if (index >> (FRAME_CODE_BITS - 1 - bit)) & 1 else 0
    return blocks[0][0], slice(0, blocks[-1][1].stop)


def read_frame_code(frame: np.ndarray) -> int:
    """The index painted by draw_frame_code, read like the probe: green at each block's centre."""
    code = 0
    for rows, cols in frame_code_blocks(frame.shape[1]):
        code = code * 2 + int(frame[(rows.start + rows.stop) // 2, (cols.start + cols.stop) // 2, 1] > 127)
    return code


def _check(spec: ClipSpec) -> None:
    if spec.width <= 0 or spec.height <= 0 or spec.width % 2 or spec.height % 2:
        raise ValueError(f"size {spec.width}x{spec.height}: y4m 4:2:0 needs a positive, even width and height")
    if int(spec.fps) != spec.fps or spec.fps <= 0:
        raise ValueError(f"fps {spec.fps}: Chromium's fake camera needs a positive whole number")
    if not spec.script:
        raise ValueError("the script has no phases")
    if spec.background is None and spec.background_colour is None:
        raise ValueError("give a background image or a background colour")
    frames = sum(phase.frames for phase in spec.script)
    if spec.barcode and frames > 2 ** FRAME_CODE_BITS:
        raise ValueError(f"{frames} frames do not fit the {FRAME_CODE_BITS}-bit frame code (at most {2 ** FRAME_CODE_BITS})")
    if spec.barcode and spec.width * FRAME_CODE_BLOCK_FRACTION < 2:
        raise ValueError(f"width {spec.width} is too small for a frame code: its blocks would be under 2 px")


def build_clip(out_stem: Path, spec: ClipSpec) -> ClipInfo:
    """Write OUT_STEM.y4m, OUT_STEM.masks.npy and OUT_STEM.json; nothing is written if an input is bad."""
    _check(spec)
    sprite = _make_sprite(spec)
    background = _load_background(spec)
    ranges, offsets = plan(spec)
    if any(p.kind == "talk" for p in ranges) and not sprite.talk.any():
        raise ValueError(f"a talk phase needs a larger frame than {spec.width}x{spec.height}: "
                         f"no part of the person lies {2 * sprite.talk_margin_px} px inside its outline")

    out_stem = Path(out_stem)
    if out_stem.suffix == ".y4m":  # --out build/clips/demo.y4m means the stem build/clips/demo
        out_stem = out_stem.with_suffix("")
    y4m_path = out_stem.with_name(out_stem.name + ".y4m")
    masks_path = out_stem.with_name(out_stem.name + ".masks.npy")
    json_path = out_stem.with_name(out_stem.name + ".json")
    masks_tmp = masks_path.with_name(masks_path.name + ".tmp")
    json_tmp = json_path.with_name(json_path.name + ".tmp")
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        # A memory-mapped .npy: long benchmark clips never hold all their masks in memory.
        masks = np.lib.format.open_memmap(masks_tmp, mode="w+", dtype=np.uint8,
                                          shape=(len(offsets), spec.height, spec.width))
        frames = _frames(spec, sprite, background, ranges, offsets, masks)
        write_y4m(y4m_path, frames, spec.fps)
        written.append(y4m_path)
        first = masks[0] > 0
        rows, cols = np.nonzero(first)
        box = [int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1] if first.any() else [0] * 4
        masks.flush()
        del masks
        os.replace(masks_tmp, masks_path)
        written.append(masks_path)
        info = ClipInfo(
            y4m=y4m_path.name,
            masks=masks_path.name,
            frames=len(offsets),
            fps=int(spec.fps),
            width=spec.width,
            height=spec.height,
            phases=ranges,
            offsets_px=[int(o) for o in offsets],
            portrait=spec.portrait,
            background=None if spec.background_colour is not None else Path(spec.background).name,
            background_colour=None if spec.background_colour is None else list(spec.background_colour),
            background_mean_rgb=_mean_rgb(background.reshape(-1, 3)),
            background_std_rgb=[round(float(s), 2) for s in background.reshape(-1, 3).std(axis=0)],
            person_mean_rgb=_mean_rgb(sprite.fg[sprite.truth]),
            person_box=box,
            noise_sigma=float(spec.noise),
            talk_margin_px=sprite.talk_margin_px,
            seed=spec.seed,
            barcode=spec.barcode,
        )
        json_tmp.write_text(_to_json(asdict(info)))
        os.replace(json_tmp, json_path)
    except BaseException:
        for path in [*written, masks_tmp, json_tmp]:
            path.unlink(missing_ok=True)
        raise
    return info


def _to_json(data: dict) -> str:
    """One key per line, each value compact: readable, and the per-frame offsets stay on one line."""
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items()) + "\n}\n"


def _mean_rgb(pixels: np.ndarray) -> list[float]:
    return [round(float(m), 2) for m in pixels.reshape(-1, 3).mean(axis=0)]


def _arg(convert):
    """An argparse type from a converter that raises ValueError, keeping its message."""
    def parse(text: str):
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from error
    parse.__name__ = convert.__name__
    return parse


def main(argv: list[str] | None = None) -> int:
    """Build one clip from the command line."""
    parser = argparse.ArgumentParser(description="Build a fake-camera y4m clip with per-frame person masks.")
    parser.add_argument("--out", type=Path, required=True, help="output stem: writes STEM.y4m, .masks.npy, .json")
    parser.add_argument("--portrait", default=DEFAULT_PORTRAIT, help="stem of a photo in the portraits folder")
    parser.add_argument("--portraits-dir", type=Path, default=PORTRAITS_DIR)
    parser.add_argument("--background", default=DEFAULT_BACKGROUND, help="file in the backgrounds folder, or a path")
    parser.add_argument("--backgrounds-dir", type=Path, default=BACKGROUNDS_DIR)
    parser.add_argument("--background-colour", type=_arg(parse_colour), help="R,G,B: a flat background instead")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--script", type=_arg(parse_script), default=DEFAULT_SCRIPT,
                        help=f"phases KIND:FRAMES, comma-separated; kinds: {', '.join(PHASE_KINDS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=NOISE_SIGMA, help="sensor noise, std in 8-bit levels")
    parser.add_argument("--no-noise", dest="noise", action="store_const", const=0.0, help="identical still frames")
    parser.add_argument("--barcode", action="store_true", help="paint each frame's index in the top-left corner")
    args = parser.parse_args(argv)
    spec = ClipSpec(
        portrait=args.portrait, background=args.background, background_colour=args.background_colour,
        width=args.width, height=args.height, fps=args.fps, script=args.script, seed=args.seed,
        noise=args.noise, portraits_dir=args.portraits_dir, backgrounds_dir=args.backgrounds_dir,
        barcode=args.barcode,
    )
    try:
        info = build_clip(args.out, spec)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    phases = ", ".join(f"{p.kind} [{p.start}, {p.end})" for p in info.phases)
    print(f"wrote {args.out}.y4m/.masks.npy/.json: {info.frames} frames {info.width}x{info.height} "
          f"at {info.fps} fps; {phases}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
