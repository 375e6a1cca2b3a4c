"""Tests for model_export/composite.py: pasted people, their labels, real backgrounds, occluders."""
from __future__ import annotations

import numpy as np
import pytest

from model_export import composite
from model_export.dataset import DataConfig
from tests.synthetic_people import PASTED_BG, assert_aligned, person_photo, redness

pytest.importorskip("cv2")


def _cfg() -> DataConfig:
    return DataConfig(height=48, width=80, colour_match=(0.0, 0.0))  # keep the colour code readable


@pytest.mark.parametrize("seed", range(6))
def test_composite_aligned_and_attached(seed):
    rng = np.random.default_rng(seed)
    image, mask = person_photo(120, 160, rng, touch_bottom=True)
    soft = np.clip(redness(image) * 255 // 210, 0, 255).astype(np.uint8)
    background = np.full((48, 80, 3), PASTED_BG, np.uint8)
    for _ in range(5):
        out, alpha, out_soft = composite.composite((image, mask, soft), background, rng, _cfg())
        assert_aligned(out, alpha)
        assert_aligned(out, out_soft)
        # The person touched the bottom edge, so it still does (no floating torso).
        if (alpha > 127).any():
            assert (alpha[-1] > 127).any()


def test_second_person_adds_to_the_label():
    rng = np.random.default_rng(3)
    background = np.full((48, 80, 3), PASTED_BG, np.uint8)
    photo = (*person_photo(120, 160, rng), None)
    image, alpha, soft = composite.composite(photo, background, rng, _cfg())
    image2, alpha2, _ = composite.paste_person(image, alpha, soft, photo, rng, _cfg())
    assert soft is None and (alpha2 >= alpha.astype(int) - 1).all()
    assert_aligned(image2, alpha2)


def test_soften_edges_blurs_only_near_the_edge():
    alpha = np.zeros((40, 40), np.uint8)
    alpha[:, 20:] = 255
    soft = composite.soften_edges(alpha, 1.0)
    assert 0 < soft[0, 19] < 255 and soft[0, 0] == 0 and soft[0, 39] == 255
    assert composite.soften_edges(alpha, 0.0) is alpha


def test_person_free_regions_hold_no_person():
    image, mask = person_photo(60, 200, np.random.default_rng(0))
    regions = composite.person_free_regions(image, mask > 16)
    assert regions
    for region in regions:
        assert not (redness(region) > 100).any()


def test_occluder_covers_image_and_clears_labels():
    rng = np.random.default_rng(1)
    image = np.full((48, 80, 3), (230, 20, 20), np.uint8)
    label = np.full((48, 80), 255, np.uint8)
    texture = np.full((30, 30, 3), PASTED_BG, np.uint8)
    out, (occluded, none) = composite.occlude(image, (label, None), texture, rng)
    assert none is None and (occluded < 128).any()
    assert_aligned(out, occluded)
