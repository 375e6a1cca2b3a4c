"""Segmentation metrics on binary person masks: person IoU, mIoU and boundary F-score.

The protocol (shared by evaluate.py and train.py's validation): a model's probability map, resized
back to the mask's size, is a person where it is > 0.5; per image, mIoU is the mean of the person
IoU and the background IoU; boundary F compares the two masks' edge pixels with a distance
tolerance of 0.8% of the image diagonal; every number is averaged over images.

    from model_export.metrics import image_scores, mean_scores
    scores = mean_scores([image_scores(prob > 0.5, mask > 127) for prob, mask in pairs])
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

THRESHOLD = 0.5  # probability above which a pixel is person
BOUNDARY_TOLERANCE = 0.008  # boundary match distance, as a fraction of the image diagonal
SCORE_KEYS = ("iou", "miou", "boundary_f")


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f"expected two (H, W) masks of the same shape, got {pred.shape} and {gt.shape}")
    return pred, gt


def binarize(prob: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Person where the probability is above the threshold (bool (H, W))."""
    return np.asarray(prob) > threshold


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Intersection over union of two binary masks; 1.0 when both are empty."""
    pred, gt = _check_pair(pred, gt)
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def miou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean of person IoU and background IoU for one image."""
    pred, gt = _check_pair(pred, gt)
    return 0.5 * (iou(pred, gt) + iou(~pred, ~gt))


def boundary(mask: np.ndarray) -> np.ndarray:
    """Edge pixels of a binary mask: inside pixels with a 4-neighbour outside (frame edge excluded)."""
    mask = np.asarray(mask, bool)
    # border_value=1: a person cut by the frame has no boundary along the frame edge.
    return mask & ~ndimage.binary_erosion(mask, border_value=1)


def boundary_tolerance_px(shape: tuple[int, int], fraction: float = BOUNDARY_TOLERANCE) -> float:
    """The match distance in pixels for an image of this (H, W): fraction of the diagonal, at least 1."""
    return max(1.0, fraction * math.hypot(shape[0], shape[1]))


def boundary_f(pred: np.ndarray, gt: np.ndarray, tolerance: float = BOUNDARY_TOLERANCE) -> float:
    """Boundary F-score: precision/recall of edge pixels matched within tolerance x diagonal."""
    pred, gt = _check_pair(pred, gt)
    pred_edge, gt_edge = boundary(pred), boundary(gt)
    n_pred, n_gt = np.count_nonzero(pred_edge), np.count_nonzero(gt_edge)
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0
    tol = boundary_tolerance_px(pred.shape, tolerance)
    # Euclidean distance from every pixel to the nearest edge pixel of the other mask.
    dist_to_gt = ndimage.distance_transform_edt(~gt_edge)
    dist_to_pred = ndimage.distance_transform_edt(~pred_edge)
    precision = np.count_nonzero(dist_to_gt[pred_edge] <= tol) / n_pred
    recall = np.count_nonzero(dist_to_pred[gt_edge] <= tol) / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def image_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """{"iou", "miou", "boundary_f"} for one image's binary prediction and ground truth."""
    pred, gt = _check_pair(pred, gt)
    return {"iou": iou(pred, gt), "miou": miou(pred, gt), "boundary_f": boundary_f(pred, gt)}


def mean_scores(scores: list[dict[str, float]]) -> dict[str, float]:
    """Per-image scores averaged over images (each key of SCORE_KEYS)."""
    if not scores:
        raise ValueError("no scores to average")
    return {key: float(np.mean([s[key] for s in scores])) for key in SCORE_KEYS}
