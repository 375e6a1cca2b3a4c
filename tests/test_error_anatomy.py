"""Tests for model_export/error_anatomy.py: wrong pixels sorted by kind and by distance from the outline."""
from __future__ import annotations

import numpy as np

from model_export import metrics
from model_export.error_anatomy import ERROR_KINDS, NEAR_TOLERANCES, THRESHOLDS, error_pixels, report


def test_wrong_pixels_are_sorted_by_kind_and_distance_from_the_outline():
    gt = np.zeros((200, 300), bool)
    gt[50:150, 100:200] = True
    near = NEAR_TOLERANCES * metrics.boundary_tolerance_px(gt.shape)  # ~8.6 px at 200x300
    pred = gt.copy()
    pred[50:150, 200:202] = True  # a 2-px fringe right of the person: false, near
    pred[0:10, 0:10] = True  # a blob in a far corner: false, far
    pred[95:105, 145:155] = False  # a hole at the person's centre: missed, far
    pred[50:52, 120:130] = False  # a nick at the top edge: missed, near
    assert near < 40
    assert error_pixels(pred, gt) == {"false_near": 200, "false_far": 100, "missed_near": 20, "missed_far": 100}


def test_a_perfect_mask_has_no_wrong_pixels():
    gt = np.zeros((40, 60), bool)
    gt[10:30, 20:40] = True
    assert error_pixels(gt, gt) == dict.fromkeys(ERROR_KINDS, 0)


def test_report_names_the_photos_lost_most():
    scores = {t: {"miou": 0.9, "boundary_f": 0.8} for t in THRESHOLDS}
    errors = dict.fromkeys(ERROR_KINDS, 0.5)
    result = {"ours": {"thresholds": scores, "errors_pct": errors, "per_photo": {"a": 0.5, "b": 0.9}},
              "peer": {"thresholds": scores, "errors_pct": errors, "per_photo": {"a": 0.9, "b": 0.8}}}
    text = report(result, worst=1)
    assert "| ours | 0.9000 / 0.8000 |" in text
    assert text.endswith("Photos where ours loses most mIoU to peer: a (-0.400)")
