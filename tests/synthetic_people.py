"""Synthetic 'people' whose colour encodes their label, so alignment survives any warp.

Person pixels are red, the photo's own background blue, pasted backgrounds green; a label is
aligned with its image when sure-person pixels are red and sure-background pixels are not.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

PERSON, PHOTO_BG, PASTED_BG = (230, 20, 20), (20, 20, 230), (20, 230, 20)


def person_photo(h: int, w: int, rng: np.random.Generator, touch_bottom: bool = True):
    """An (h, w, 3) image and its mask: an ellipse 'person', whose colour encodes the mask."""
    yy, xx = np.mgrid[:h, :w]
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.4, 0.6)
    mask = ((xx - cx) / (w * 0.2)) ** 2 + ((yy - cy) / (h * 0.3)) ** 2 < 1
    if touch_bottom:
        mask |= (yy > h * 0.7) & (np.abs(xx - cx) < w * 0.25)  # a torso down to the bottom edge
    image = np.where(mask[..., None], PERSON, PHOTO_BG).astype(np.uint8)
    return image, (mask * 255).astype(np.uint8)


def make_folder(root, count: int = 8, size=(96, 128), seed: int = 0):
    """A labelled folder (images/*.png, masks/*.png) of synthetic 'people'."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(count):
        image, mask = person_photo(*size, rng)
        Image.fromarray(image).save(root / "images" / f"{i:04d}.png")
        Image.fromarray(mask).save(root / "masks" / f"{i:04d}.png")
    return root


def redness(image: np.ndarray) -> np.ndarray:
    """Red minus the larger of green and blue, per pixel (int)."""
    return image[..., 0].astype(int) - image[..., 1:].max(-1)


def assert_aligned(image: np.ndarray, label: np.ndarray) -> None:
    """Confidently-person pixels of LABEL are red in IMAGE and confidently-background pixels are not."""
    red = redness(image) > 100
    sure_person, sure_bg = label > 240, label < 15
    assert sure_person.any() or sure_bg.any()
    if sure_person.any():
        assert red[sure_person].mean() > 0.97
    if sure_bg.any():
        assert red[sure_bg].mean() < 0.03


def red_label(image: np.ndarray) -> np.ndarray:
    """A label that is a linear function of the red channel (person 230 -> 255, background 20 -> 0).

    Bilinear warps commute with linear functions, so a label warped with the image's own maps equals
    red_label of the warped image up to rounding; any other map shows up along every edge.
    """
    return np.clip((image[..., 0].astype(np.float32) - 20) * 255 / 210 + 0.5, 0, 255).astype(np.uint8)


def assert_label_matches_pixels(image: np.ndarray, label: np.ndarray, tolerance: int = 3,
                                share: float = 0.99) -> None:
    """LABEL equals red_label(IMAGE) within TOLERANCE on at least SHARE of the pixels."""
    diff = np.abs(red_label(image).astype(int) - label.astype(int))
    assert (diff <= tolerance).mean() >= share, f"{(diff > tolerance).mean():.1%} of pixels disagree, max {diff.max()}"
