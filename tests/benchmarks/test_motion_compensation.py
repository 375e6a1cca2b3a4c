"""benchmarks/motion_compensation.py: the pure parts (downscale taps, shift, shift estimate, change test, metrics)."""
import numpy as np
import pytest

from benchmarks.motion_compensation import (
    STAGES_DIR, changed_pixels, edge_band, estimate_shift, js_constant, mask_metrics, model_input, search_shifts,
    shift, tap_matrix,
)


def _texture(h=48, w=64, seed=0):
    """Smooth random luma in 0..1: block matching needs structure wider than a pixel."""
    from scipy import ndimage

    noise = np.random.default_rng(seed).random((h, w))
    smooth = ndimage.gaussian_filter(noise, 1.5)
    return ((smooth - smooth.min()) / np.ptp(smooth)).astype(np.float32)


def _disc(h=48, w=64, cy=24, cx=32, r=12):
    y, x = np.mgrid[:h, :w]
    return (y - cy) ** 2 + (x - cx) ** 2 <= r * r


def test_shift_moves_content_and_fills_what_comes_in():
    image = np.arange(12).reshape(3, 4)
    right = shift(image, 1, 0, fill=-1)
    assert right.tolist() == [[-1, 0, 1, 2], [-1, 4, 5, 6], [-1, 8, 9, 10]]
    up_left = shift(image, -2, -1, fill=-1)
    assert up_left.tolist() == [[6, 7, -1, -1], [10, 11, -1, -1], [-1, -1, -1, -1]]
    assert (shift(image, 4, 0, fill=0) == 0).all()  # moved off the frame entirely
    mask = _disc()
    assert shift(mask, 0, 0, False).tolist() == mask.tolist() and shift(mask, 3, 0, False).dtype == bool


@pytest.mark.parametrize("dx, dy", [(0, 0), (5, 0), (-7, 2), (3, -4)])
def test_estimate_finds_the_shift_of_a_textured_frame(dx, dy):
    before = _texture()
    after = shift(before, dx, dy, fill=0.5)
    band = edge_band(_disc(), 5)
    assert estimate_shift(before, after, band, search=8) == (dx, dy)


def test_estimate_keeps_the_smallest_shift_on_ties_and_an_empty_band():
    flat = np.full((20, 20), 0.3, np.float32)
    band = edge_band(_disc(20, 20, 10, 10, 5), 2)
    assert estimate_shift(flat, flat, band, search=4) == (0, 0)  # every shift fits a flat frame equally
    assert estimate_shift(_texture(), _texture(seed=1), np.zeros((48, 64), bool), search=4) == (0, 0)
    shifts = search_shifts(3)
    assert len(shifts) == 49 and tuple(shifts[0]) == (0, 0)
    assert np.all(np.diff(np.hypot(shifts[:, 0], shifts[:, 1])) >= 0)


def test_edge_band_is_dilate_minus_erode():
    mask = np.zeros((11, 11), bool)
    mask[3:8, 3:8] = True  # a 5x5 square
    band = edge_band(mask, 1)
    expected = np.zeros_like(mask)
    expected[2:9, 2:9] = True
    expected[4:7, 4:7] = False
    assert band.tolist() == expected.tolist()


def test_changed_pixels_threshold_dilation_and_nan():
    then = np.zeros((9, 9), np.float32)
    now = then.copy()
    now[4, 4] = 0.05  # over the 0.04 threshold
    now[0, 0] = 0.03  # under it
    changed = changed_pixels(now, then, 0.04, 1)
    assert changed.sum() == 9 and changed[3:6, 3:6].all()
    then[8, 8] = np.nan  # nothing to compare with: changed
    assert changed_pixels(now, then, 0.04, 0)[8, 8]


def test_mask_metrics_iou_leak_and_cut():
    truth = np.zeros((10, 10), bool)
    truth[2:6, 2:6] = True  # 16 person pixels
    ring = ~truth
    ring[8:, :] = False  # background near the person: 100 - 16 - 20 = 64 pixels
    mask = truth.copy()
    mask[2, 2:6] = False  # 4 person pixels lost
    mask[6, 2:6] = True  # 4 ring pixels gained
    got = mask_metrics(mask, truth, ring)
    assert got["iou"] == pytest.approx(12 / 20)
    assert got["leak"] == pytest.approx(4 / 64)
    assert got["cut"] == pytest.approx(4 / 16)
    assert mask_metrics(truth, truth, ring) == {"iou": 1.0, "leak": 0.0, "cut": 0.0}


def test_tap_matrix_is_the_four_tap_box_of_downscale_frag():
    weights = tap_matrix(640, 256)  # 2.5 camera px per model px; taps at +-0.625 px of the centre
    assert weights.shape == (256, 640)
    assert np.allclose(weights.sum(axis=1), 1.0)
    assert np.allclose(weights[0, :3], [0.4375, 0.375, 0.1875])
    same = tap_matrix(8, 8)  # same size: the taps a quarter texel off centre blur a little
    assert np.allclose(same[4, 3:6], [0.125, 0.75, 0.125]) and np.allclose(same[0, :2], [0.875, 0.125])


def test_model_input_is_nchw_and_normalised():
    small = np.zeros((4, 6, 3), np.uint8)
    small[..., 0] = 255
    x = model_input(small, 1 / 255, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    assert x.shape == (1, 3, 4, 6) and x.dtype == np.float32
    assert np.allclose(x[0, 0], 1.0) and np.allclose(x[0, 1:], -1.0)


def test_page_constants_are_read_from_the_js():
    assert js_constant(STAGES_DIR / "refine_stage.js", "DISTRUST_CHANGE_THRESHOLD") > 0
    assert js_constant(STAGES_DIR / "mask_stage.js", "BAND_RADIUS_PX") >= 1
