"""Tests for model_export/model.py: shapes at several resolutions, the parameter budget, config round trip."""
import dataclasses

import pytest
import torch

from model_export.model import GlobalContext, ModelConfig, build_model, count_macs, count_parameters, model_config_from_dict

MAX_PARAMETERS = 150_000  # issue 4: the shipped model has at most 150K parameters


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig()).eval()


@pytest.mark.parametrize("height,width", [(144, 256), (256, 256), (32, 48), (96, 160)])
def test_output_is_one_logit_map_at_input_size(model, height, width):
    with torch.no_grad():
        out = model(torch.randn(2, 3, height, width))
    assert out.shape == (2, 1, height, width)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_parameter_budget(model):
    assert count_parameters(model) <= MAX_PARAMETERS


def test_macs_are_counted(model):
    macs = count_macs(model, 144, 256)
    # 1x3x144x256 conv multiply-adds: tens of millions, not zero and not a big backbone.
    assert 10e6 < macs < 150e6
    assert not model.training  # count_macs restores the mode it found


def test_gradients_reach_every_parameter():
    model = build_model(ModelConfig()).train()
    logits, aux = model(torch.randn(2, 3, 64, 96), with_aux=True)
    (logits.mean() + sum(a.mean() for a in aux)).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_config_round_trips_through_a_dict():
    cfg = ModelConfig()
    as_lists = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}
    assert model_config_from_dict(as_lists) == cfg


def test_config_rejects_unknown_keys_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown ModelConfig keys"):
        model_config_from_dict({"not_a_knob": 1})
    with pytest.raises(ValueError, match="multiple of 16"):
        ModelConfig(input_height=100)


def test_untrained_output_has_no_checkerboard():
    # ICNR init: the four sub-pixel logits of each 1/2-resolution pixel start equal.
    model = build_model(ModelConfig()).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 96))
    blocks = out.reshape(1, 1, 32, 2, 48, 2)
    torch.testing.assert_close(blocks[:, :, :, 0, :, 0], blocks[:, :, :, 1, :, 1])


def test_training_heads_give_coarse_logits_and_can_be_dropped():
    model = build_model(ModelConfig()).train()
    logits, aux = model(torch.randn(2, 3, 64, 96), with_aux=True)
    assert logits.shape == (2, 1, 64, 96)
    assert [tuple(a.shape) for a in aux] == [(2, 1, 8, 12), (2, 1, 16, 24)]
    before = count_parameters(model)
    model.drop_training_heads()
    assert count_parameters(model) < before
    assert model(torch.randn(1, 3, 64, 96), with_aux=True)[1] == []


def test_global_context_lets_a_far_pixel_change_a_feature():
    # Squeeze-excite at 1/16: a change in one corner rescales the features in the opposite corner.
    torch.manual_seed(0)
    context = GlobalContext(56, 4).eval()
    x = torch.randn(1, 56, 9, 16)
    changed = x.clone()
    changed[..., 0, 0] += 5.0
    with torch.no_grad():
        assert (context(changed) - context(x))[..., -1, -1].abs().max() > 1e-3
    assert isinstance(build_model(ModelConfig()).context, GlobalContext)
    assert not isinstance(build_model(ModelConfig(context_reduction=0)).context, GlobalContext)


@pytest.mark.parametrize("downsample", ["inverted", "fused"])
def test_cheaper_half_resolution_variants_keep_the_contract(downsample):
    cfg = ModelConfig(stem_block=False, quarter_downsample=downsample, half_res_blocks=1)
    with torch.no_grad():
        out = build_model(cfg).eval()(torch.randn(1, 3, 144, 256))
    assert out.shape == (1, 1, 144, 256)
    with pytest.raises(ValueError, match="quarter_downsample"):
        ModelConfig(quarter_downsample="strided")
