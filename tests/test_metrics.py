"""Tests for model_export/metrics.py on hand-made masks whose scores are known."""
import math

import numpy as np
import pytest

from model_export import metrics


def box(shape, top, left, bottom, right) -> np.ndarray:
    """A bool mask with [top:bottom, left:right] set."""
    mask = np.zeros(shape, bool)
    mask[top:bottom, left:right] = True
    return mask


def test_iou_of_overlapping_boxes():
    a = box((100, 100), 0, 0, 50, 40)  # 2000 px
    b = box((100, 100), 0, 20, 50, 60)  # 2000 px, overlap 50 x 20 = 1000
    assert metrics.iou(a, b) == pytest.approx(1000 / 3000)
    assert metrics.iou(a, a) == 1.0
    assert metrics.iou(a, ~a) == 0.0


def test_miou_is_mean_of_person_and_background_iou():
    a = box((100, 100), 0, 0, 50, 40)
    b = box((100, 100), 0, 20, 50, 60)
    background = (10_000 - 3000) / (10_000 - 1000)  # both background / either background
    assert metrics.miou(a, b) == pytest.approx(0.5 * (1000 / 3000 + background))


def test_empty_masks_are_a_perfect_match():
    empty = np.zeros((10, 10), bool)
    assert metrics.iou(empty, empty) == 1.0
    assert metrics.miou(empty, empty) == 1.0
    assert metrics.boundary_f(empty, empty) == 1.0
    assert metrics.boundary_f(empty, box((10, 10), 2, 2, 6, 6)) == 0.0


def test_boundary_is_the_inner_edge_without_the_frame():
    mask = box((10, 10), 5, 0, 10, 10)  # bottom half, touching three frame edges
    edge = metrics.boundary(mask)
    assert edge[5].all() and edge.sum() == 10  # only the row facing the background
    square = box((10, 10), 2, 2, 6, 6)
    assert metrics.boundary(square).sum() == 12  # 4x4 square: its 12 outer pixels


def test_boundary_f_tolerance_is_a_fraction_of_the_diagonal():
    shape = (600, 800)  # diagonal 1000 px -> tolerance 8 px
    assert metrics.boundary_tolerance_px(shape) == pytest.approx(8.0)
    gt = box(shape, 100, 100, 500, 700)
    assert metrics.boundary_f(gt, gt) == 1.0
    assert metrics.boundary_f(np.roll(gt, 8, axis=1), gt) == 1.0  # every edge pixel within 8 px
    far = metrics.boundary_f(np.roll(gt, 20, axis=1), gt)
    # Shifted 20 px right: horizontal edges still match except 20-px ends; vertical edges do not.
    assert 0.5 < far < 0.75
    assert metrics.boundary_tolerance_px((3, 4)) == 1.0  # never below one pixel


def test_image_scores_and_mean():
    gt = box((40, 40), 10, 10, 30, 30)
    scores = [metrics.image_scores(gt, gt), metrics.image_scores(np.zeros_like(gt), gt)]
    assert scores[0] == {"iou": 1.0, "miou": 1.0, "boundary_f": 1.0}
    assert scores[1]["iou"] == 0.0 and scores[1]["boundary_f"] == 0.0
    assert scores[1]["miou"] == pytest.approx(0.5 * (1200 / 1600))
    mean = metrics.mean_scores(scores)
    assert mean["iou"] == 0.5 and mean["miou"] == pytest.approx(0.5 * (1 + 0.375))
    with pytest.raises(ValueError):
        metrics.mean_scores([])


def test_binarize_is_strictly_above_one_half():
    prob = np.array([[0.5, 0.51], [0.0, 1.0]], np.float32)
    assert metrics.binarize(prob).tolist() == [[False, True], [False, True]]


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        metrics.iou(np.zeros((4, 5), bool), np.zeros((5, 4), bool))
    assert math.isclose(metrics.miou(np.ones((3, 3)), np.ones((3, 3), bool)), 1.0)
