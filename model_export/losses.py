"""Training losses for the portrait segmenter, all on LOGITS (B, 1, H, W) and targets in [0, 1].

- segmentation: BCE + soft Dice against the label (a human mask, or the teacher's for pseudo-labelled
  images), optionally with online hard example mining (OHEM) on the BCE;
- boundary: BCE restricted to the edge band (dilate minus erode of the label, via max-pooling), as in
  PortraitNet and MODNet: the band is where boundary F is won or lost;
- consistency: the prediction on a photometrically changed copy must match the prediction on the
  sample (PortraitNet's consistency constraint);
- distillation: BCE against the teacher's soft labels where there are any, except in the edge band of a
  human mask, where the human outline is better than the teacher's;
- lovasz: the Lovász hinge (Berman et al. 2018), a convex surrogate of each image's IoU: it weighs a
  wrong region by what it costs the IoU, so large wrong regions (a wall marked as person) dominate;
- deep supervision: BCE + Dice of coarse logits (1/8, 1/4 of the decoder) against the downscaled label,
  in training only.

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
    lovasz: float = 0.5
    aux: float = 0.4  # deep supervision: weight of each coarse head's BCE + Dice
    distill_outside_band: bool = True  # no distillation within band_radius of a human mask's outline


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


def distillation_per_image(logits: torch.Tensor, soft: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """(B,) BCE against the teacher's soft labels, minus the teacher's own entropy (0 at a perfect match),
    averaged over the pixels WEIGHT (B, 1, H, W) selects (all when None)."""
    bce = F.binary_cross_entropy_with_logits(logits, soft, reduction="none")
    p = soft.clamp(1e-6, 1 - 1e-6)
    entropy = -(p * p.log() + (1 - p) * (1 - p).log())
    return _per_image_mean(bce - entropy, weight)


def distillation_weight(target: torch.Tensor, has_mask: torch.Tensor, radius: int) -> torch.Tensor:
    """(B, 1, H, W) 1 where the teacher is distilled: everywhere, except the edge band of a human mask."""
    keep = 1.0 - edge_band(target, radius)
    return torch.where(has_mask.view(-1, 1, 1, 1), keep, torch.ones_like(keep))


def lovasz_hinge_per_image(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) Lovász hinge of each image against its binarised target (0 when all pixels are right by a margin)."""
    signs = 2.0 * (target > 0.5).float().flatten(1) - 1.0
    errors = 1.0 - logits.flatten(1) * signs
    errors_sorted, order = errors.sort(dim=1, descending=True)
    truth = (signs > 0).float().gather(1, order)
    # The Lovász extension's gradient of the Jaccard loss at the sorted errors.
    positives = truth.sum(1, keepdim=True)
    intersection = positives - truth.cumsum(1)
    union = positives + (1.0 - truth).cumsum(1)
    jaccard = 1.0 - intersection / union
    grad = torch.cat([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], dim=1)
    return (F.relu(errors_sorted) * grad).sum(1)


def deep_supervision_per_image(aux_logits: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """(B,) mean over the coarse heads of BCE + Dice against the label area-averaged to each head's size."""
    total = torch.zeros(target.shape[0], device=target.device, dtype=target.dtype)
    for logits in aux_logits:
        small = F.adaptive_avg_pool2d(target, logits.shape[-2:])
        total = total + bce_per_image(logits, small) + dice_per_image(logits, small)
    return total / max(1, len(aux_logits))


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
    aux_logits: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted sum of all terms and each term's value (for logging).

    logits, target, soft: (B, 1, H, W); has_mask, has_soft: (B,) bool. Samples without a human mask
    (has_mask False) count with weight ``weights.pseudo`` in the segmentation terms. logits_changed
    (b, 1, H, W) with b <= B holds predictions on photometrically changed copies of the first b samples;
    aux_logits the coarse heads' (B, 1, h, w) logits for deep supervision.
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
    if weights.lovasz:
        parts["lovasz"] = _masked_mean(lovasz_hinge_per_image(logits, target), sample_w)
    if weights.aux and aux_logits:
        parts["aux"] = _masked_mean(deep_supervision_per_image(aux_logits, target), sample_w)
    if weights.distill and soft is not None:
        teach_w = (has_soft if has_soft is not None else torch.ones_like(has_mask)) & has_mask
        if teach_w.any():
            pixels = distillation_weight(target, has_mask, weights.band_radius) if weights.distill_outside_band else None
            parts["distill"] = _masked_mean(distillation_per_image(logits, soft, pixels), teach_w.to(logits.dtype))
    if weights.consistency and logits_changed is not None and len(logits_changed):
        parts["consistency"] = consistency_loss(logits[: len(logits_changed)], logits_changed)
    total = sum(getattr(weights, name) * value for name, value in parts.items())
    return total, {name: float(value.detach()) for name, value in parts.items()}
