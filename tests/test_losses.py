"""Tests for model_export/losses.py on hand-made predictions."""
from __future__ import annotations

import torch

from model_export import losses
from model_export.losses import LossWeights, total_loss


def square(size: int = 32, lo: int = 8, hi: int = 24) -> torch.Tensor:
    """(1, 1, size, size) target with a person square [lo, hi) x [lo, hi)."""
    t = torch.zeros(1, 1, size, size)
    t[..., lo:hi, lo:hi] = 1
    return t


def confident(target: torch.Tensor, margin: float = 20.0) -> torch.Tensor:
    """Logits that say TARGET with near certainty."""
    return (target * 2 - 1) * margin


def test_edge_band_location():
    band = losses.edge_band(square(), radius=2)[0, 0]
    # Within 2 px of the square's border, on either side.
    assert band[16, 6:10].eq(1).all() and band[16, 22:26].eq(1).all()
    assert band[16, 10:22].eq(0).all()  # deep inside
    assert band[16, :6].eq(0).all() and band[16, 26:].eq(0).all()  # far outside
    assert band[2, 2] == 0 and band[16, 16] == 0


def test_edge_band_empty_for_uniform_targets():
    assert losses.edge_band(torch.zeros(1, 1, 16, 16)).sum() == 0
    assert losses.edge_band(torch.ones(1, 1, 16, 16)).sum() == 0


def test_perfect_prediction_costs_about_nothing():
    t = square()
    logits = confident(t)
    weights = LossWeights(dice=1.0)
    loss, parts = total_loss(logits, t, weights, soft=t, has_soft=torch.tensor([True]), logits_changed=logits)
    assert loss.item() < 1e-3
    assert set(parts) == {"bce", "dice", "boundary", "lovasz", "distill", "consistency"}
    assert all(v < 1e-3 for v in parts.values())


def test_inverted_prediction_costs_a_lot():
    t = square()
    loss, parts = total_loss(confident(1 - t), t, LossWeights(consistency=0, distill=0))
    assert parts["bce"] > 10 and parts["dice"] > 0.99 and parts["boundary"] > 10 and parts["lovasz"] > 10
    assert loss.item() > 20


def test_boundary_loss_only_sees_the_band():
    t = square()
    logits = confident(t)
    wrong_far = logits.clone()
    wrong_far[..., 0:3, 0:3] = 20  # a mistake far from the contour
    wrong_edge = logits.clone()
    wrong_edge[..., 8, 8:24] = -20  # a mistake on the contour
    assert losses.boundary_per_image(wrong_far, t).item() < 1e-3
    # The band is a small part of the image, so an edge mistake weighs more there than in plain BCE.
    assert losses.boundary_per_image(wrong_edge, t).item() > 2 * losses.bce_per_image(wrong_edge, t).item()


def test_dice_handles_empty_masks():
    empty = torch.zeros(1, 1, 16, 16)
    assert losses.dice_per_image(confident(empty), empty).item() < 1e-3
    assert losses.dice_per_image(confident(1 - empty), empty).item() > 0.99


def test_ohem_focuses_on_hard_pixels():
    t = square()
    logits = confident(t)
    logits[..., 0, 0] = 20  # one wrong pixel
    plain = losses.bce_per_image(logits, t).item()
    hard = losses.bce_per_image(logits, t, ohem_fraction=0.01).item()
    assert hard > 10 * plain


def test_consistency_zero_for_equal_and_grows_with_difference():
    a = torch.randn(2, 1, 8, 8)
    assert losses.consistency_loss(a, a).item() == 0
    assert losses.consistency_loss(a, a + 1).item() > losses.consistency_loss(a, a + 0.1).item()


def test_distillation_zero_at_the_teacher_and_positive_elsewhere():
    soft = torch.rand(2, 1, 8, 8) * 0.8 + 0.1
    at_teacher = torch.logit(soft)
    assert losses.distillation_per_image(at_teacher, soft).abs().max().item() < 1e-4
    assert (losses.distillation_per_image(at_teacher + 2, soft) > 0.05).all()


def test_pseudo_labelled_samples_weigh_less_and_skip_distillation():
    t = torch.cat([square(), square()])
    logits = torch.cat([confident(t[:1]), confident(1 - t[1:])])  # second sample wrong
    has_mask = torch.tensor([True, False])
    soft = t.clone()
    full, _ = total_loss(logits, t, LossWeights(pseudo=1.0, consistency=0, distill=0))
    less, _ = total_loss(logits, t, LossWeights(pseudo=0.2, consistency=0, distill=0), has_mask=has_mask)
    assert less < full
    _, parts = total_loss(logits, t, LossWeights(), has_mask=has_mask, soft=soft, has_soft=torch.tensor([True, True]))
    assert parts["distill"] < 1e-3  # only the human-labelled, correct sample is distilled
    _, parts = total_loss(logits, t, LossWeights(), soft=soft, has_soft=torch.tensor([False, False]))
    assert "distill" not in parts


def test_gradients_flow():
    t = square()
    logits = torch.zeros_like(t, requires_grad=True)
    loss, _ = total_loss(logits, t, LossWeights(), soft=t, has_soft=torch.tensor([True]))
    loss.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_lovasz_weighs_a_large_wrong_region_more_than_the_same_pixels_scattered_at_low_margin():
    t = square()
    assert losses.lovasz_hinge_per_image(confident(t), t).item() < 1e-6
    region = confident(t)
    region[..., 0:6, 0:6] = 1.0  # a wall marked as person, 36 pixels
    thin = confident(t)
    thin[..., 0:6, 0:6] = -0.5  # the same pixels right but inside the margin
    assert losses.lovasz_hinge_per_image(region, t).item() > 3 * losses.lovasz_hinge_per_image(thin, t).item() > 0


def test_lovasz_equals_the_iou_loss_for_unit_margin_predictions():
    # At logits of +-1 on a wrong pixel set, the hinge errors are 2 (wrong) or 0 (right), and the Lovász
    # extension then gives 2 * (1 - IoU) of the predicted mask.
    t = square()
    logits = t * 2 - 1
    logits[..., 0:4, 0:4] = 1.0  # 16 false positives
    iou = (16 * 16) / (16 * 16 + 16)
    assert abs(losses.lovasz_hinge_per_image(logits, t).item() - 2 * (1 - iou)) < 1e-5


def test_distillation_skips_the_edge_band_of_human_masks():
    t = square()
    soft = torch.zeros_like(t)  # a teacher that disagrees everywhere
    logits = confident(t)
    weight = losses.distillation_weight(t, torch.tensor([True]), radius=2)
    assert weight[0, 0, 16, 8] == 0 and weight[0, 0, 16, 16] == 1 and weight[0, 0, 0, 0] == 1
    inside_only = logits.clone()
    band = losses.edge_band(t, 2).bool()
    inside_only[band] = -20  # agree with the teacher only in the band
    full = losses.distillation_per_image(inside_only, soft)
    masked = losses.distillation_per_image(inside_only, soft, weight)
    assert masked > full  # what agrees in the band no longer dilutes the disagreement elsewhere
    no_mask = losses.distillation_weight(t, torch.tensor([False]), radius=2)
    assert no_mask.eq(1).all()  # teacher-only samples are distilled everywhere


def test_deep_supervision_scores_the_coarse_heads_against_the_downscaled_label():
    t = square()
    small = [confident(torch.nn.functional.adaptive_avg_pool2d(t, s)) for s in (4, 8)]
    wrong = [-a for a in small]
    assert losses.deep_supervision_per_image(wrong, t).item() > 5 * losses.deep_supervision_per_image(small, t).item()
    _, parts = total_loss(confident(t), t, LossWeights(), aux_logits=wrong)
    assert parts["aux"] > 1
    _, parts = total_loss(confident(t), t, LossWeights(aux=0), aux_logits=wrong)
    assert "aux" not in parts
