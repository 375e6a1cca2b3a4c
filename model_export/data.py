"""Training data: labelled photos, synthetic composites and teacher-labelled real images.

Builds (once, cached under build/cache/) a bank of 144x256 samples that the training loop reads
cheaply, and applies the per-step photometric augmentation on the fly:

    .venv/bin/python -m model_export.data [--data DIR] [--backgrounds DIR] [--no-teacher]

prints the bank's summary and writes a contact sheet ``build/cache/bank-<key>/preview.jpg``.

Sample kinds in the bank (see ``DataConfig`` for how many of each):
- ``crop``: a labelled photo seen through a random view: its own framing stretched to 16:9 (as the
  evaluation protocol does) or a webcam-like head-and-shoulders / half-body 16:9 crop;
- ``composite``: the person cut out by its mask, warped (scale, shift, rotation, thin-plate) and
  pasted onto a wallpaper or onto a person-free region of another training photo; a person who
  touched the frame edge in the photo stays attached to that edge;
- ``pseudo``: unlabelled photos and video frames, labelled by the MediaPipe teacher ensemble.
Only photos outside ``validation_stems`` are used.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from model_export.paths import BACKGROUNDS_DIR, BUILD_DIR, PORTRAITS_DIR, UNLABELLED_DIR, VIDEOS_DIR

try:  # opencv-python-headless: fast remap/resize/blur/JPEG and video decoding.
    import cv2

    cv2.setNumThreads(1)  # the machine has 2 shared cores; parallelism comes from processes
except ImportError:  # pragma: no cover - listed in the `train` extra
    cv2 = None

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm")
# Bump when the bank-building code changes in a way that changes its samples.
BANK_VERSION = 3
# Environment overrides for the folders (a CLI flag wins over these).
DATA_ENV = "VBG_PORTRAITS"
BACKGROUNDS_ENV = "VBG_BACKGROUNDS"


@dataclass
class DataConfig:
    """What goes into the sample bank; every field is part of the cache key."""

    data_dir: str = os.environ.get(DATA_ENV, str(PORTRAITS_DIR))
    backgrounds_dir: str = os.environ.get(BACKGROUNDS_ENV, str(BACKGROUNDS_DIR))
    unlabelled_dir: str = str(UNLABELLED_DIR)
    videos_dir: str = str(VIDEOS_DIR)
    height: int = 144
    width: int = 256
    val_fraction: float = 0.13  # 30 of the 230 photos
    val_seed: int = 0
    seed: int = 0
    n_crops: int = 6000  # labelled photos, own framing or webcam crops
    n_composites: int = 7000  # people pasted onto other backgrounds
    n_pseudo: int = 3500  # teacher-labelled unlabelled photos and video frames
    use_teacher: bool = True  # soft labels from MediaPipe (needs model_export.teacher)
    video_stride: int = 1  # every n-th frame of each video
    video_frame_prob: float = 0.4  # share of pseudo-labelled samples taken from video frames
    max_source_side: int = 640  # photos are downscaled to this once, to keep warps cheap
    own_framing_prob: float = 0.3  # crops: the photo's own framing, stretched like evaluation
    photo_background_prob: float = 0.35  # composites: background cut from a training photo
    max_rotation_deg: float = 12.0
    tps_amplitude: float = 0.03  # thin-plate control-point jitter, fraction of the view size


# --------------------------------------------------------------------------------------------
# Reading folders
# --------------------------------------------------------------------------------------------


def list_pairs(data_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """(stem, image path, mask path) for every image of DATA_DIR/images with its DATA_DIR/masks."""
    data_dir = Path(data_dir)
    images_dir, masks_dir = data_dir / "images", data_dir / "masks"
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder not found: {data_dir}")
    for folder in (images_dir, masks_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"expected an images/ and a masks/ folder, missing: {folder}")
    images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ValueError(f"no images (*{', *'.join(IMAGE_SUFFIXES)}) in {images_dir}")
    masks = {p.stem: p for p in masks_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = []
    for image in images:
        if image.stem not in masks:
            raise FileNotFoundError(f"no mask for {image} (looked for {masks_dir / image.stem}.png)")
        pairs.append((image.stem, image, masks.pop(image.stem)))
    if masks:
        orphan = sorted(masks.values())[0]
        raise ValueError(f"mask without an image: {orphan} ({len(masks)} such masks)")
    return pairs


def read_image(path: str | Path) -> np.ndarray:
    """An RGB uint8 (H, W, 3) array, or a ValueError naming the unreadable file."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB")).copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from exc


def read_mask(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A uint8 (H, W) person mask (255 = person); checks it matches the image size (W, H)."""
    try:
        with Image.open(path) as im:
            mask = np.asarray(im.convert("L")).copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"cannot read mask {path}: {exc}") from exc
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        raise ValueError(
            f"mask {path} is {mask.shape[1]}x{mask.shape[0]} but its image is {size[0]}x{size[1]}"
        )
    return mask


def load_pair(image_path: str | Path, mask_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The photo (H, W, 3) and its mask (H, W), both uint8, checked to be the same size."""
    image = read_image(image_path)
    return image, read_mask(mask_path, (image.shape[1], image.shape[0]))


def validation_stems(data_dir: str | Path = PORTRAITS_DIR, fraction: float = 0.13, seed: int = 0) -> list[str]:
    """The sorted stems of the seeded validation split (same folder + fraction + seed = same split)."""
    stems = sorted(stem for stem, _, _ in list_pairs(data_dir))
    count = max(1, round(len(stems) * fraction)) if len(stems) > 1 else 0
    return sorted(random.Random(seed).sample(stems, count))


def training_pairs(cfg: DataConfig) -> list[tuple[str, Path, Path]]:
    """The labelled pairs that are NOT in the validation split."""
    held_out = set(validation_stems(cfg.data_dir, cfg.val_fraction, cfg.val_seed))
    return [p for p in list_pairs(cfg.data_dir) if p[0] not in held_out]


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside FOLDER (empty list when the folder does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_video_frames(path: str | Path, stride: int = 1) -> list[np.ndarray]:
    """Every STRIDE-th frame of a video as RGB uint8 arrays (needs opencv)."""
    if cv2 is None:
        raise RuntimeError("reading videos needs opencv-python-headless (pip install it)")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"cannot open video {path}")
    frames, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % stride == 0:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        index += 1
    capture.release()
    if not frames:
        raise ValueError(f"no frames decoded from video {path}")
    return frames


def downscale(image: np.ndarray, max_side: int, interpolation=None) -> np.ndarray:
    """IMAGE shrunk (area filter) so its longer side is at most MAX_SIDE."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if interpolation is None else interpolation)


# --------------------------------------------------------------------------------------------
# Geometry: one view = a rotated source rectangle stretched onto the (H, W) output, plus a
# thin-plate warp. Image and mask are resampled with the same maps, so they stay aligned.
# --------------------------------------------------------------------------------------------


@dataclass
class View:
    """A source rectangle (centre, size in source px, rotation) mapped onto the whole output."""

    cx: float
    cy: float
    width: float
    height: float
    angle_deg: float = 0.0
    flip: bool = False


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    # U(r) = r^2 log r^2, the thin-plate spline radial basis (0 at r = 0).
    return np.where(r2 > 0, r2 * np.log(np.maximum(r2, 1e-12)), 0.0)


def thin_plate_offsets(
    height: int, width: int, amplitude: float, rng: np.random.Generator, grid: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random displacement (dx, dy), each (height, width) in units of the output size.

    Interior control points of a GRID x GRID lattice move by up to AMPLITUDE; the border points
    stay, so edges of the view do not move and a person attached to an edge stays attached.
    """
    lin = np.linspace(0.0, 1.0, grid)
    px, py = np.meshgrid(lin, lin)
    ctrl = np.stack([px.ravel(), py.ravel()], 1)  # (K, 2) in [0, 1]
    border = (ctrl == 0).any(1) | (ctrl == 1).any(1)
    disp = rng.uniform(-amplitude, amplitude, ctrl.shape) * (~border)[:, None]
    k = len(ctrl)
    r2 = ((ctrl[:, None, :] - ctrl[None, :, :]) ** 2).sum(-1)
    system = np.zeros((k + 3, k + 3))
    system[:k, :k] = _tps_kernel(r2)
    system[:k, k] = 1
    system[:k, k + 1 :] = ctrl
    system[k, :k] = 1
    system[k + 1 :, :k] = ctrl.T
    rhs = np.zeros((k + 3, 2))
    rhs[:k] = disp
    coef = np.linalg.solve(system, rhs)  # (K + 3, 2)
    # Evaluate on a coarse grid and upsample: the field is smooth, the solve is per pixel-free.
    gh, gw = max(2, height // 8), max(2, width // 8)
    qx, qy = np.meshgrid(np.linspace(0, 1, gw), np.linspace(0, 1, gh))
    q = np.stack([qx.ravel(), qy.ravel()], 1)
    basis = _tps_kernel(((q[:, None, :] - ctrl[None, :, :]) ** 2).sum(-1))
    field_ = basis @ coef[:k] + coef[k] + q @ coef[k + 1 :]  # (gh*gw, 2)
    dx = cv2.resize(field_[:, 0].reshape(gh, gw).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    dy = cv2.resize(field_[:, 1].reshape(gh, gw).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return dx, dy


def view_maps(
    view: View, height: int, width: int, offsets: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps (map_x, map_y), each (height, width) float32 source coordinates."""
    u = (np.arange(width, dtype=np.float32) + 0.5) / width  # output coords in [0, 1]
    v = (np.arange(height, dtype=np.float32) + 0.5) / height
    uu, vv = np.meshgrid(u, v)
    if offsets is not None:
        uu, vv = uu + offsets[0], vv + offsets[1]
    if view.flip:
        uu = 1.0 - uu
    # Output (u, v) in [0, 1]^2 -> rectangle-local coordinates in source px -> rotated about centre.
    lx, ly = (uu - 0.5) * view.width, (vv - 0.5) * view.height
    a = math.radians(view.angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    map_x = view.cx + ca * lx - sa * ly - 0.5
    map_y = view.cy + sa * lx + ca * ly - 0.5
    return map_x.astype(np.float32), map_y.astype(np.float32)


def warp(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray], border: int, prefilter_scale: float = 1.0) -> np.ndarray:
    """Resample IMAGE with remap MAPS (bilinear), area-prefiltering when the view shrinks it a lot."""
    map_x, map_y = maps
    if prefilter_scale < 0.5:
        # Shrink the source first so bilinear sampling does not alias (maps scale along with it).
        factor = prefilter_scale * 2
        small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        fy = small.shape[0] / image.shape[0]
        fx = small.shape[1] / image.shape[1]
        image, map_x, map_y = small, (map_x + 0.5) * fx - 0.5, (map_y + 0.5) * fy - 0.5
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=border, borderValue=0)


def touched_edges(mask: np.ndarray, min_pixels: int = 3) -> dict[str, bool]:
    """Which frame edges the person touches (>= MIN_PIXELS mask pixels on the outermost row/column)."""
    m = mask > 127
    return {
        "top": int(m[0].sum()) >= min_pixels,
        "bottom": int(m[-1].sum()) >= min_pixels,
        "left": int(m[:, 0].sum()) >= min_pixels,
        "right": int(m[:, -1].sum()) >= min_pixels,
    }


def person_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the mask's person pixels; the whole frame when there are none."""
    ys, xs = np.nonzero(mask > 127)
    if len(xs) == 0:
        return 0.0, 0.0, float(mask.shape[1]), float(mask.shape[0])
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def sample_view(
    shape: tuple[int, int],
    box: tuple[float, float, float, float],
    rng: np.random.Generator,
    cfg: DataConfig,
    *,
    own_framing_prob: float,
    keep_inside: dict[str, bool],
) -> View:
    """A random view of a (h, w) source: its own framing, or a webcam-like 16:9 crop of the person.

    KEEP_INSIDE names the sides on which the view must not leave the source (all four for plain
    crops; the touched edges for composites, so an attached person never shows a cut edge).
    """
    h, w = shape
    out_aspect = cfg.width / cfg.height
    angle = float(rng.uniform(-1, 1) * cfg.max_rotation_deg) if rng.random() < 0.7 else 0.0
    flip = bool(rng.random() < 0.5)
    if rng.random() < own_framing_prob:
        # The photo's own framing, stretched to 16:9 like the evaluation protocol, slightly jittered.
        zoom = float(rng.uniform(0.85, 1.0))
        vw, vh = w * zoom, h * zoom
        cx = w / 2 + rng.uniform(-0.5, 0.5) * (w - vw)
        cy = h / 2 + rng.uniform(-0.5, 0.5) * (h - vh)
        angle *= 0.5
    else:
        x0, y0, x1, y1 = box
        bw, bh = x1 - x0, y1 - y0
        # Aspect of the source rectangle: mostly undistorted 16:9 (a webcam), sometimes stretched
        # the way evaluation stretches 4:3 and 3:4 photos into 16:9.
        squash = 1.0 if rng.random() < 0.6 else float(np.exp(rng.uniform(np.log(0.6), np.log(2.4))))
        aspect = out_aspect / squash
        framing = rng.random()
        if framing < 0.45:  # head and shoulders: the view shows the top 35..70% of the person
            vh = bh * float(rng.uniform(0.35, 0.75))
            top = y0 - vh * float(rng.uniform(0.02, 0.25))
        elif framing < 0.8:  # half body
            vh = bh * float(rng.uniform(0.65, 1.1))
            top = y0 - vh * float(rng.uniform(0.02, 0.2))
        else:  # whole person, small in the frame
            vh = bh * float(rng.uniform(1.05, 2.2))
            top = y0 - vh * float(rng.uniform(0.0, 1.0)) * (vh - bh) / vh
        vh = max(vh, 16.0)
        vw = vh * aspect
        cx = (x0 + x1) / 2 + rng.uniform(-0.35, 0.35) * vw
        cy = top + vh / 2
    # Shrink the rectangle until it fits between the sides it must stay inside, then shift it in.
    a = math.radians(angle)
    # Extra margin so rotated corners and thin-plate offsets stay inside too (source px).
    pad_x = 0.5 * vh * abs(math.sin(a)) + cfg.tps_amplitude * vw
    pad_y = 0.5 * vw * abs(math.sin(a)) + cfg.tps_amplitude * vh
    limit_w = w - pad_x * (keep_inside["left"] + keep_inside["right"])
    limit_h = h - pad_y * (keep_inside["top"] + keep_inside["bottom"])
    shrink = 1.0
    if keep_inside["left"] and keep_inside["right"]:
        shrink = min(shrink, max(limit_w, 8) / vw)
    if keep_inside["top"] and keep_inside["bottom"]:
        shrink = min(shrink, max(limit_h, 8) / vh)
    vw, vh = vw * shrink, vh * shrink
    if keep_inside["left"]:
        cx = max(cx, pad_x + vw / 2)
    if keep_inside["right"]:
        cx = min(cx, w - pad_x - vw / 2)
    if keep_inside["top"]:
        cy = max(cy, pad_y + vh / 2)
    if keep_inside["bottom"]:
        cy = min(cy, h - pad_y - vh / 2)
    return View(float(cx), float(cy), float(vw), float(vh), angle, flip)


def render_view(
    image: np.ndarray,
    mask: np.ndarray | None,
    view: View,
    cfg: DataConfig,
    rng: np.random.Generator,
    border: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """IMAGE (and MASK) through VIEW plus a random thin-plate warp, at (cfg.height, cfg.width)."""
    offsets = None
    if cfg.tps_amplitude > 0 and rng.random() < 0.6:
        offsets = thin_plate_offsets(cfg.height, cfg.width, cfg.tps_amplitude, rng)
    maps = view_maps(view, cfg.height, cfg.width, offsets)
    scale = min(cfg.width / view.width, cfg.height / view.height)
    out = warp(image, maps, border, scale)
    out_mask = warp(mask, maps, border, scale) if mask is not None else None
    return out, out_mask


# --------------------------------------------------------------------------------------------
# Backgrounds and compositing
# --------------------------------------------------------------------------------------------


def person_free_regions(image: np.ndarray, mask: np.ndarray, min_fraction: float = 0.25) -> list[np.ndarray]:
    """Full-height column strips and full-width row strips of a photo that hold no person pixels."""
    occupied_cols = (mask > 16).any(0)
    occupied_rows = (mask > 16).any(1)
    regions = []
    for occupied, axis, size in ((occupied_cols, 1, mask.shape[1]), (occupied_rows, 0, mask.shape[0])):
        # Longest run of free columns (rows), with a 3 px safety margin from the person.
        best, start, run_start = (0, 0), None, None
        for i, busy in enumerate(list(occupied) + [True]):
            if not busy and run_start is None:
                run_start = i
            elif busy and run_start is not None:
                if i - run_start > best[1] - best[0]:
                    best = (run_start, i)
                run_start = None
        lo, hi = best
        lo, hi = (lo + 3 if lo > 0 else lo), (hi - 3 if hi < size else hi)
        if hi - lo >= min_fraction * size:
            regions.append(image[:, lo:hi] if axis == 1 else image[lo:hi, :])
    return [np.ascontiguousarray(r) for r in regions]


def sample_background(backgrounds: list[np.ndarray], rng: np.random.Generator, cfg: DataConfig) -> np.ndarray:
    """A random crop of a random background, stretched to (cfg.height, cfg.width, 3)."""
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    h, w = bg.shape[:2]
    zoom = float(rng.uniform(0.4, 1.0))
    aspect = (cfg.width / cfg.height) * float(np.exp(rng.uniform(-0.4, 0.4)))
    ch = min(h, max(8, h * zoom))
    cw = min(w, max(8, ch * aspect))
    y = int(rng.uniform(0, h - ch + 1e-6))
    x = int(rng.uniform(0, w - cw + 1e-6))
    crop = bg[y : y + int(ch), x : x + int(cw)]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    out = cv2.resize(np.ascontiguousarray(crop), (cfg.width, cfg.height), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:  # defocused background, like a shallow depth of field
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.8, 3.0)))
    return out


def composite(
    image: np.ndarray,
    mask: np.ndarray,
    background: np.ndarray,
    rng: np.random.Generator,
    cfg: DataConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The person of (IMAGE, MASK) through a random view, alpha-blended onto BACKGROUND."""
    edges = touched_edges(mask)
    view = sample_view(
        mask.shape, person_box(mask), rng, cfg, own_framing_prob=0.25, keep_inside=edges
    )
    fg, alpha = render_view(image, mask, view, cfg, rng, cv2.BORDER_CONSTANT)
    # Mild independent colour shift of the background so the person and backdrop differ in tone.
    bg = photometric(background, rng, strength=0.5)
    a = alpha.astype(np.float32)[..., None] / 255.0
    out = fg.astype(np.float32) * a + bg.astype(np.float32) * (1 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), alpha


# --------------------------------------------------------------------------------------------
# Photometric augmentation (image only; the mask does not change)
# --------------------------------------------------------------------------------------------


def photometric(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Colour (brightness, contrast, saturation, hue, gamma, white balance), blur, noise and JPEG."""
    x = image.astype(np.float32) / 255.0
    s = strength
    # White balance / colour cast: per-channel gains.
    x = x * rng.uniform(1 - 0.12 * s, 1 + 0.12 * s, 3).astype(np.float32)
    # Brightness and contrast around the mean.
    mean = x.mean()
    x = (x - mean) * rng.uniform(1 - 0.35 * s, 1 + 0.35 * s) + mean + rng.uniform(-0.15, 0.15) * s
    # Saturation.
    gray = x.mean(-1, keepdims=True)
    x = gray + (x - gray) * rng.uniform(1 - 0.6 * s, 1 + 0.5 * s)
    if rng.random() < 0.3 * s:  # hue rotation about the grey axis (small angle, radians)
        angle = rng.uniform(-0.35, 0.35) * s
        k = np.ones(3, np.float32) / math.sqrt(3)
        c, sn = math.cos(angle), math.sin(angle)
        cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], np.float32)
        rot = c * np.eye(3, dtype=np.float32) + sn * cross + (1 - c) * np.outer(k, k)
        x = x @ rot.T.astype(np.float32)
    x = np.clip(x, 0, 1)
    if rng.random() < 0.5 * s:  # gamma: exposure curve of cheap webcams
        x = x ** np.float32(np.exp(rng.uniform(-0.4, 0.4) * s))
    if rng.random() < 0.05 * s:
        x = np.repeat(x.mean(-1, keepdims=True), 3, -1)
    x = x * 255.0
    if rng.random() < 0.25 * s:  # defocus
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.3, 1.3)))
    elif rng.random() < 0.1 * s:  # motion blur along a random direction, 3..7 px
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0 / length
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (length, length))
        kernel /= max(kernel.sum(), 1e-6)
        x = cv2.filter2D(x, -1, kernel)
    if rng.random() < 0.35 * s:  # sensor noise, sigma in 0..255 units
        x = x + rng.normal(0, rng.uniform(2, 9) * s, x.shape).astype(np.float32)
    out = np.clip(x + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.4 * s:  # compression artefacts of video calls
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 91))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out


# --------------------------------------------------------------------------------------------
# The sample bank
# --------------------------------------------------------------------------------------------


@dataclass
class Bank:
    """Precomputed samples, all (N, H, W[, 3]) uint8; soft is the teacher's probability x 255."""

    images: np.ndarray
    masks: np.ndarray  # ground truth, or the teacher's label where has_mask is False
    soft: np.ndarray  # teacher soft labels (zeros where has_soft is False)
    has_mask: np.ndarray  # (N,) bool: masks holds a human label
    has_soft: np.ndarray  # (N,) bool: soft holds a teacher label
    kinds: np.ndarray  # (N,) uint8: index into KINDS

    def __len__(self) -> int:
        return len(self.images)


KINDS = ("crop", "composite", "pseudo")


def bank_key(cfg: DataConfig, teacher: bool) -> str:
    """A short hash of everything that decides the bank's content."""
    files = [p.name for _, p, _ in list_pairs(cfg.data_dir)]
    payload = json.dumps(
        {"cfg": dataclasses.asdict(cfg), "teacher": teacher, "files": files, "version": BANK_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def teacher_available() -> bool:
    """True when model_export.teacher can produce soft labels here (its ONNX teachers work)."""
    if not Path("/tmp/teacher-ready").exists() and os.environ.get("VBG_TEACHER") != "1":
        return False
    try:
        from model_export import teacher  # noqa: F401
    except Exception:  # pragma: no cover - depends on the teacher module's state
        return False
    return hasattr(teacher, "teacher_probs")


def _teacher_labels(images: np.ndarray, batch: int = 64) -> np.ndarray:
    """uint8 (N, H, W) teacher probabilities x 255 (mean of MediaPipe general + landscape)."""
    from model_export.teacher import teacher_probs

    out = np.empty(images.shape[:3], np.uint8)
    for i in range(0, len(images), batch):
        probs = teacher_probs(images[i : i + batch])
        out[i : i + batch] = np.clip(probs * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def _progress(iterable, total: int, desc: str):
    try:
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr)
    except ImportError:  # pragma: no cover
        return iterable


def build_bank(cfg: DataConfig, teacher: bool | None = None, progress: bool = True) -> Bank:
    """Generate the bank in memory (no caching; see ``load_bank``)."""
    if cv2 is None:
        raise RuntimeError("building the sample bank needs opencv-python-headless")
    teacher = teacher_available() if teacher is None and cfg.use_teacher else bool(teacher and cfg.use_teacher)
    rng = np.random.default_rng(cfg.seed)
    wrap = (lambda it, n, d: _progress(it, n, d)) if progress else (lambda it, n, d: it)

    photos = []  # (image, mask) downscaled once
    for stem, image_path, mask_path in training_pairs(cfg):
        image, mask = load_pair(image_path, mask_path)
        photos.append((downscale(image, cfg.max_source_side), downscale(mask, cfg.max_source_side)))
    if not photos:
        raise ValueError(f"no training photos left in {cfg.data_dir} after the validation split")
    wallpapers = [downscale(read_image(p), 512) for p in list_images(cfg.backgrounds_dir)]
    photo_bgs = [r for image, mask in photos for r in person_free_regions(image, mask)]

    n_pseudo = cfg.n_pseudo if teacher else 0
    n = cfg.n_crops + cfg.n_composites + n_pseudo
    images = np.empty((n, cfg.height, cfg.width, 3), np.uint8)
    masks = np.empty((n, cfg.height, cfg.width), np.uint8)
    kinds = np.empty(n, np.uint8)
    has_mask = np.ones(n, bool)
    all_sides = {"top": True, "bottom": True, "left": True, "right": True}
    i = 0
    for _ in wrap(range(cfg.n_crops), cfg.n_crops, "crops"):
        image, mask = photos[int(rng.integers(len(photos)))]
        view = sample_view(
            mask.shape, person_box(mask), rng, cfg, own_framing_prob=cfg.own_framing_prob, keep_inside=all_sides
        )
        images[i], masks[i] = render_view(image, mask, view, cfg, rng, cv2.BORDER_REFLECT_101)
        kinds[i] = KINDS.index("crop")
        i += 1
    if not wallpapers and not photo_bgs and cfg.n_composites:
        raise ValueError(f"no backgrounds in {cfg.backgrounds_dir} and no person-free photo regions")
    for _ in wrap(range(cfg.n_composites), cfg.n_composites, "composites"):
        image, mask = photos[int(rng.integers(len(photos)))]
        use_photo_bg = photo_bgs and (not wallpapers or rng.random() < cfg.photo_background_prob)
        background = sample_background(photo_bgs if use_photo_bg else wallpapers, rng, cfg)
        images[i], masks[i] = composite(image, mask, background, rng, cfg)
        kinds[i] = KINDS.index("composite")
        i += 1
    if n_pseudo:
        stills = [downscale(read_image(p), cfg.max_source_side) for p in list_images(cfg.unlabelled_dir)]
        frames = []
        videos = sorted(p for p in Path(cfg.videos_dir).glob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        for video in videos:
            frames += [downscale(f, cfg.max_source_side) for f in read_video_frames(video, cfg.video_stride)]
        if not stills and not frames:
            raise ValueError(f"no unlabelled images in {cfg.unlabelled_dir} or videos in {cfg.videos_dir}")
        start = i
        for _ in wrap(range(n_pseudo), n_pseudo, "pseudo"):
            # Frames of one video are near-duplicates: draw them only as often as the still photos.
            use_frames = frames and (not stills or rng.random() < cfg.video_frame_prob)
            sources = frames if use_frames else stills
            image = sources[int(rng.integers(len(sources)))]
            h, w = image.shape[:2]
            # No mask to frame on: a random 16:9-ish window of 40..100% of the frame, or the whole frame.
            zoom = float(rng.uniform(0.4, 1.0))
            box = (w * (1 - zoom) / 2, h * (1 - zoom) / 2, w * (1 + zoom) / 2, h * (1 + zoom) / 2)
            view = sample_view((h, w), box, rng, cfg, own_framing_prob=0.4, keep_inside=all_sides)
            images[i], _ = render_view(image, None, view, cfg, rng, cv2.BORDER_REFLECT_101)
            kinds[i] = KINDS.index("pseudo")
            i += 1
        has_mask[start:] = False
    soft = np.zeros_like(masks)
    has_soft = np.zeros(n, bool)
    if teacher:
        soft = _teacher_labels(images)
        has_soft[:] = True
        masks[~has_mask] = soft[~has_mask]
    return Bank(images, masks, soft, has_mask, has_soft, kinds)


def load_bank(cfg: DataConfig, cache_dir: str | Path | None = None, teacher: bool | None = None) -> Bank:
    """The bank for CFG from build/cache (built and saved atomically on first use), memory-mapped."""
    teacher = teacher_available() if teacher is None and cfg.use_teacher else bool(teacher and cfg.use_teacher)
    root = Path(cache_dir) if cache_dir is not None else BUILD_DIR / "cache"
    folder = root / f"bank-{bank_key(cfg, teacher)}"
    names = ("images", "masks", "soft", "has_mask", "has_soft", "kinds")
    if not (folder / "meta.json").exists():
        started = time.time()
        bank = build_bank(cfg, teacher=teacher)
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=root))
        try:
            for name in names:
                np.save(tmp / f"{name}.npy", getattr(bank, name))
            meta = {
                "config": dataclasses.asdict(cfg),
                "teacher": teacher,
                "count": len(bank),
                "kinds": {k: int((bank.kinds == j).sum()) for j, k in enumerate(KINDS)},
                "build_seconds": round(time.time() - started, 1),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
            if folder.exists():  # a concurrent build finished first; keep theirs
                shutil.rmtree(tmp)
            else:
                tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return Bank(*(np.load(folder / f"{name}.npy", mmap_mode="r") for name in names))


def bank_folder(cfg: DataConfig, cache_dir: str | Path | None = None, teacher: bool | None = None) -> Path:
    """Where ``load_bank`` keeps the bank for CFG."""
    teacher = teacher_available() if teacher is None and cfg.use_teacher else bool(teacher and cfg.use_teacher)
    root = Path(cache_dir) if cache_dir is not None else BUILD_DIR / "cache"
    return root / f"bank-{bank_key(cfg, teacher)}"


# --------------------------------------------------------------------------------------------
# Per-step sampling (runs in a DataLoader worker process)
# --------------------------------------------------------------------------------------------


class BankDataset:
    """Torch-style dataset over a bank: two photometric views of one sample, same geometry.

    Returns dict of uint8 arrays: image (H, W, 3), image_b (H, W, 3) for the consistency loss,
    mask (H, W), soft (H, W), has_mask, has_soft. The horizontal flip applies to all of them.
    """

    def __init__(self, bank: Bank, seed: int = 0, augment: bool = True):
        self.bank, self.seed, self.augment = bank, seed, augment
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.bank)

    def __getitem__(self, index: int) -> dict:
        bank = self.bank
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        # np.array copies out of the read-only memory map (torch wants writable arrays).
        image, mask, soft = np.array(bank.images[index]), np.array(bank.masks[index]), np.array(bank.soft[index])
        if self.augment and rng.random() < 0.5:
            image, mask, soft = image[:, ::-1], mask[:, ::-1], soft[:, ::-1]
        image = np.ascontiguousarray(image)
        a = photometric(image, rng) if self.augment else image
        b = photometric(image, rng) if self.augment else image
        return {
            "image": a,
            "image_b": b,
            "mask": np.ascontiguousarray(mask),
            "soft": np.ascontiguousarray(soft),
            "has_mask": bool(bank.has_mask[index]),
            "has_soft": bool(bank.has_soft[index]),
        }


def contact_sheet(bank: Bank, path: Path, count: int = 24, seed: int = 0) -> None:
    """Save a JPEG grid of random samples with their masks tinted red."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(bank), size=min(count, len(bank)), replace=False)
    tiles = []
    for i in idx:
        img = np.asarray(bank.images[i]).astype(np.float32)
        m = np.asarray(bank.masks[i]).astype(np.float32)[..., None] / 255
        tint = img * (1 - 0.45 * m) + np.array([255, 0, 0], np.float32) * 0.45 * m
        tiles.append(np.concatenate([img, tint], 0).astype(np.uint8))
    cols = 6
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[r : r + cols], 1) for r in range(0, len(tiles), cols)]
    Image.fromarray(np.concatenate(rows, 0)).save(path, quality=85)


def main(argv: list[str] | None = None) -> int:
    """Build (or find) the cached bank and print its summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help=f"folder with images/ and masks/ (env {DATA_ENV})")
    parser.add_argument("--backgrounds", default=None, help=f"folder of background images (env {BACKGROUNDS_ENV})")
    parser.add_argument("--no-teacher", action="store_true", help="no teacher soft labels or pseudo-labelled images")
    parser.add_argument("--crops", type=int, default=None)
    parser.add_argument("--composites", type=int, default=None)
    parser.add_argument("--pseudo", type=int, default=None)
    args = parser.parse_args(argv)
    cfg = DataConfig()
    if args.data:
        cfg.data_dir = args.data
    if args.backgrounds:
        cfg.backgrounds_dir = args.backgrounds
    cfg.use_teacher = not args.no_teacher
    for name, value in (("n_crops", args.crops), ("n_composites", args.composites), ("n_pseudo", args.pseudo)):
        if value is not None:
            setattr(cfg, name, value)
    started = time.time()
    bank = load_bank(cfg)
    folder = bank_folder(cfg)
    contact_sheet(bank, folder / "preview.jpg")
    counts = {k: int((np.asarray(bank.kinds) == j).sum()) for j, k in enumerate(KINDS)}
    print(f"bank {folder}: {len(bank)} samples {counts}, teacher labels: {bool(np.asarray(bank.has_soft).any())}, "
          f"{time.time() - started:.1f} s; preview {folder / 'preview.jpg'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
