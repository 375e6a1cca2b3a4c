"""Training losses for the portrait segmenter, all on LOGITS (B, 1, H, W) and targets in [0, 1].

- segmentation: BCE + soft Dice against the label (a human mask, or the teacher's for pseudo-labelled
  images), optionally with online hard example mining (OHEM) on the BCE;
- boundary: BCE restricted to the edge band (dilate minus erode of the label, via max-pooling), as in
  PortraitNet and MODNet: the band is where boundary F is won or lost;
- consistency: the prediction on a photometrically changed copy must match the prediction on the
  sample (PortraitNet's consistency constraint);
- distillation: BCE against the teacher's soft labels where there are any.

Used by train.py; tests in tests/test_losses.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class LossWeights:
    """Weights of the loss terms (0 turns a term off) and their settings."""

    bce: float = 1.0
    dice: float = 0.5
    boundary: float = 1.0
    consistency: float = 0.5
    distill: float = 0.5
    pseudo: float = 0.7  # weight of segmentation terms on samples labelled only by the teacher
    band_radius: int = 3  # edge band half-width, output px (144x256 input: ~1% of the diagonal)
    ohem_fraction: float = 0.0  # > 0: BCE averages only the hardest fraction of pixels per image


def edge_band(target: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """(B, 1, H, W) float mask of the band within RADIUS px of the 0.5 contour of TARGET."""
    hard = (target > 0.5).float()
    k = 2 * radius + 1
    dilated = F.max_pool2d(hard, k, stride=1, padding=radius)
    eroded = -F.max_pool2d(-hard, k, stride=1, padding=radius)
    return dilated - eroded


def _per_image_mean(values: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    # (B, 1, H, W) -> (B,), a weighted mean over the pixels of each image.
    if weight is None:
        return values.flatten(1).mean(1)
    return (values * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1.0)


def bce_per_image(logits: torch.Tensor, target: torch.Tensor, ohem_fraction: float = 0.0) -> torch.Tensor:
    """(B,) binary cross-entropy per image; with OHEM only the hardest fraction of pixels counts."""
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1)
    if 0 < ohem_fraction < 1:
        k = max(1, int(loss.shape[1] * ohem_fraction))
        loss = loss.topk(k, dim=1).values
    return loss.mean(1)


def dice_per_image(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """(B,) soft Dice loss 1 - 2|P.T| / (|P| + |T|) per image (EPS keeps empty masks finite)."""
    prob = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    inter = (prob * t).sum(1)
    return 1 - (2 * inter + eps) / (prob.sum(1) + t.sum(1) + eps)


def boundary_per_image(logits: torch.Tensor, target: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """(B,) BCE averaged over the edge band of TARGET (0 for images without a boundary)."""
    band = edge_band(target, radius)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return _per_image_mean(loss, band) * (band.flatten(1).sum(1) > 0)


def consistency_loss(logits: torch.Tensor, logits_changed: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the two probability maps; the first is the (detached) reference."""
    return (torch.sigmoid(logits_changed) - torch.sigmoid(logits).detach()).pow(2).mean()


def distillation_per_image(logits: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """(B,) BCE against the teacher's soft labels, minus the teacher's own entropy (0 at a perfect match)."""
    bce = F.binary_cross_entropy_with_logits(logits, soft, reduction="none")
    p = soft.clamp(1e-6, 1 - 1e-6)
    entropy = -(p * p.log() + (1 - p) * (1 - p).log())
    return (bce - entropy).flatten(1).mean(1)


def _masked_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (values * weight).sum() / weight.sum().clamp_min(1e-6)


def total_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weights: LossWeights,
    *,
    has_mask: torch.Tensor | None = None,
    soft: torch.Tensor | None = None,
    has_soft: torch.Tensor | None = None,
    logits_changed: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted sum of all terms and each term's value (for logging).

    logits, target, soft: (B, 1, H, W); has_mask, has_soft: (B,) bool. Samples without a human mask
    (has_mask False) count with weight ``weights.pseudo`` in the segmentation terms. logits_changed
    (b, 1, H, W) with b <= B holds predictions on photometrically changed copies of the first b samples.
    """
    b = logits.shape[0]
    if has_mask is None:
        has_mask = torch.ones(b, dtype=torch.bool, device=logits.device)
    sample_w = torch.where(has_mask, 1.0, weights.pseudo).to(logits.dtype)
    parts: dict[str, torch.Tensor] = {}
    if weights.bce:
        parts["bce"] = _masked_mean(bce_per_image(logits, target, weights.ohem_fraction), sample_w)
    if weights.dice:
        parts["dice"] = _masked_mean(dice_per_image(logits, target), sample_w)
    if weights.boundary:
        parts["boundary"] = _masked_mean(boundary_per_image(logits, target, weights.band_radius), sample_w)
    if weights.distill and soft is not None:
        teach_w = (has_soft if has_soft is not None else torch.ones_like(has_mask)) & has_mask
        if teach_w.any():
            parts["distill"] = _masked_mean(distillation_per_image(logits, soft), teach_w.to(logits.dtype))
    if weights.consistency and logits_changed is not None and len(logits_changed):
        parts["consistency"] = consistency_loss(logits[: len(logits_changed)], logits_changed)
    total = sum(getattr(weights, name) * value for name, value in parts.items())
    return total, {name: float(value.detach()) for name, value in parts.items()}
