"""Tests for model_export/geometry.py: views and warps keep every label on its pixels."""
from __future__ import annotations

import numpy as np
import pytest

from model_export import geometry
from model_export.dataset import DataConfig
from tests.synthetic_people import assert_aligned, assert_label_matches_pixels, person_photo, red_label

cv2 = pytest.importorskip("cv2")


@pytest.mark.parametrize("seed", range(6))
def test_views_keep_image_and_every_label_aligned(seed):
    cfg = DataConfig(height=48, width=80, tps_amplitude=0.05, max_rotation_deg=20)
    rng = np.random.default_rng(seed)
    image, mask = person_photo(120, 90, rng)
    soft = red_label(image)  # a "teacher" whose label is a linear function of the pixels
    for _ in range(5):
        view = geometry.sample_view(mask.shape, geometry.person_box(mask), rng, cfg, own_framing_prob=0.3,
                                    keep_inside=geometry.ALL_SIDES)
        out, (out_mask, out_soft, none) = geometry.render_view(image, (mask, soft, None), view, cfg, rng,
                                                               cv2.BORDER_REFLECT_101)
        assert out.shape == (48, 80, 3) and out_mask.shape == out_soft.shape == (48, 80) and none is None
        assert_aligned(out, out_mask)
        assert_label_matches_pixels(out, out_mask)  # the photo's red channel is its mask, linearly
        assert_label_matches_pixels(out, out_soft)


def test_thin_plate_warp_moves_interior_not_border():
    dx, dy = geometry.thin_plate_offsets(32, 48, 0.05, np.random.default_rng(0))
    assert dx.shape == dy.shape == (32, 48)
    assert np.abs(dx).max() > 1e-3
    assert np.abs(dx[0]).max() < 0.02 and np.abs(dy[:, 0]).max() < 0.02


def test_touched_edges_and_person_box():
    mask = np.zeros((10, 20), np.uint8)
    mask[4:, 5:9] = 255
    assert geometry.touched_edges(mask) == {"top": False, "bottom": True, "left": False, "right": False}
    assert geometry.person_box(mask) == (5.0, 4.0, 9.0, 10.0)
    assert geometry.person_box(np.zeros((10, 20), np.uint8)) == (0.0, 0.0, 20.0, 10.0)
