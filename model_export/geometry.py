"""Geometry of one training view: a rotated source rectangle stretched onto the (H, W) output, plus a
thin-plate warp. Every label (human mask, teacher soft label) is resampled with the image's own maps,
so they stay aligned through every warp.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from model_export.sources import cv2

if TYPE_CHECKING:
    from model_export.dataset import DataConfig

ALL_SIDES = {"top": True, "bottom": True, "left": True, "right": True}


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
    labels: tuple[np.ndarray | None, ...],
    view: View,
    cfg: DataConfig,
    rng: np.random.Generator,
    border: int,
) -> tuple[np.ndarray, tuple[np.ndarray | None, ...]]:
    """IMAGE and each of LABELS through VIEW plus a random thin-plate warp, at (cfg.height, cfg.width).

    The labels (human mask, teacher soft label, both uint8 (H, W) at the image's size; None where
    absent) are resampled with the very maps of the image.
    """
    offsets = None
    if cfg.tps_amplitude > 0 and rng.random() < 0.6:
        offsets = thin_plate_offsets(cfg.height, cfg.width, cfg.tps_amplitude, rng)
    maps = view_maps(view, cfg.height, cfg.width, offsets)
    scale = min(cfg.width / view.width, cfg.height / view.height)
    out = warp(image, maps, border, scale)
    return out, tuple(None if label is None else warp(label, maps, border, scale) for label in labels)
