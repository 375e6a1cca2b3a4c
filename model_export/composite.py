"""Synthetic composites: people cut out by their mask and pasted onto real or painted backgrounds.

A composite's label is the alpha it was blended with, so image and label agree by construction; the
teacher's soft label of the source photo goes through the very same view and alpha.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from model_export.colour import match_colour
from model_export.geometry import person_box, render_view, sample_view, touched_edges
from model_export.sources import cv2

if TYPE_CHECKING:
    from model_export.dataset import DataConfig

EDGE_SOFTNESS_PX = (0.0, 1.2)  # Gaussian sigma of the cut-out edge at the output size (hair, defocus)
FREE_MARGIN_PX = 3  # a person-free strip keeps this far from the nearest person pixel
OCCLUDER_SIZE = (0.12, 0.4)  # occluder diameter, fraction of the output height (hand, cup, chair back)


def person_free_regions(image: np.ndarray, occupied: np.ndarray, min_fraction: float = 0.25) -> list[np.ndarray]:
    """Full-height column strips and full-width row strips of IMAGE where OCCUPIED (bool) is all False."""
    occupied_cols, occupied_rows = occupied.any(0), occupied.any(1)
    regions = []
    for busy_line, axis, size in ((occupied_cols, 1, occupied.shape[1]), (occupied_rows, 0, occupied.shape[0])):
        # Longest run of free columns (rows), with a safety margin from the person.
        best, run_start = (0, 0), None
        for i, busy in enumerate(list(busy_line) + [True]):
            if not busy and run_start is None:
                run_start = i
            elif busy and run_start is not None:
                if i - run_start > best[1] - best[0]:
                    best = (run_start, i)
                run_start = None
        lo, hi = best
        lo, hi = (lo + FREE_MARGIN_PX if lo > 0 else lo), (hi - FREE_MARGIN_PX if hi < size else hi)
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


def soften_edges(alpha: np.ndarray, sigma_px: float) -> np.ndarray:
    """ALPHA (uint8) with its edge blurred by a Gaussian of SIGMA_PX; unchanged far from the edge."""
    if sigma_px <= 0.05:
        return alpha
    return cv2.GaussianBlur(alpha, (0, 0), float(sigma_px))


def blend(back: np.ndarray, front: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """FRONT over BACK with ALPHA (uint8, 255 = front), for images (H, W, 3) and labels (H, W) alike."""
    a = alpha.astype(np.float32) / 255.0
    if back.ndim == 3:
        a = a[..., None]
    out = front.astype(np.float32) * a + back.astype(np.float32) * (1 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def cut_out(image: np.ndarray, mask: np.ndarray, soft: np.ndarray | None, rng: np.random.Generator,
            cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The person of (IMAGE, MASK) through a random view: (pixels, alpha, teacher soft label) at the output size.

    A person who touched a frame edge in the photo stays attached to that edge (no floating torso).
    """
    view = sample_view(mask.shape, person_box(mask), rng, cfg, own_framing_prob=0.25, keep_inside=touched_edges(mask))
    fg, (alpha, soft_out) = render_view(image, (mask, soft), view, cfg, rng, cv2.BORDER_CONSTANT)
    return fg, alpha, soft_out


def paste_person(canvas: np.ndarray, canvas_alpha: np.ndarray, canvas_soft: np.ndarray | None,
                 photo: tuple[np.ndarray, np.ndarray, np.ndarray | None], rng: np.random.Generator,
                 cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The person of PHOTO (image, mask, teacher soft | None) pasted onto CANVAS: (image, alpha, soft).

    The person's colours are pulled toward the canvas's (same room light); the cut-out edge is
    softened, and the alpha label is the alpha the pixels were blended with. The teacher's soft label
    of the person goes over the canvas's soft label with that same alpha.
    """
    fg, alpha, fg_soft = cut_out(*photo, rng, cfg)
    alpha = soften_edges(alpha, float(rng.uniform(*EDGE_SOFTNESS_PX)))
    fg = match_colour(fg, alpha, canvas, float(rng.uniform(*cfg.colour_match)))
    image = blend(canvas, fg, alpha)
    label = blend(canvas_alpha, np.full_like(alpha, 255), alpha)
    soft = None if canvas_soft is None or fg_soft is None else blend(canvas_soft, fg_soft, alpha)
    return image, label, soft


def composite(photo: tuple[np.ndarray, np.ndarray, np.ndarray | None], background: np.ndarray,
              rng: np.random.Generator, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One person pasted onto a person-free BACKGROUND: (image, alpha label, teacher soft label or None)."""
    nobody = np.zeros(background.shape[:2], np.uint8)
    return paste_person(background, nobody, None if photo[2] is None else nobody, photo, rng, cfg)


def occlude(image: np.ndarray, labels: tuple[np.ndarray | None, ...], texture: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, tuple[np.ndarray | None, ...]]:
    """An object (an ellipse of TEXTURE: a hand, a cup, a chair back) in front of the person, low in the frame.

    Every label is background where the object covers it.
    """
    h, w = image.shape[:2]
    size = float(rng.uniform(*OCCLUDER_SIZE)) * h
    cx, cy = float(rng.uniform(0.15, 0.85)) * w, float(rng.uniform(0.55, 1.0)) * h
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    ratio = float(np.exp(rng.uniform(-0.7, 0.7)))  # elongated: a chair back or an arm
    inside = ((xx - cx) / (size * ratio / 2)) ** 2 + ((yy - cy) / (size / ratio / 2)) ** 2 < 1
    cover = soften_edges((inside * 255).astype(np.uint8), 0.7)
    texture = cv2.resize(np.ascontiguousarray(texture), (w, h), interpolation=cv2.INTER_AREA)
    out = blend(image, texture, cover)
    keep = 1.0 - cover.astype(np.float32) / 255.0
    return out, tuple(None if label is None else (label * keep + 0.5).astype(np.uint8) for label in labels)
