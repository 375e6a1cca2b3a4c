"""--set KEY=VALUE changes exactly the field it names (a TrainConfig field, or a ModelConfig field under
model.), and refuses what it cannot apply."""
import dataclasses

import pytest
import torch

from model_export import overrides
from model_export.cross_validate import earlier_run, recipe_fields
from model_export.model import ModelConfig
from model_export.train import TrainConfig


def test_a_float_an_int_a_nested_field_and_a_dict_entry_are_set():
    base = TrainConfig()
    cfg = overrides.apply(base, ["weight_decay=0.05", "lr=1", "loss.distill=1.0", "data.kind_probs.pseudo=0.4",
                                 "data.colour_match=[0.1, 0.5]", "teacher=false"])
    assert cfg.weight_decay == 0.05 and cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.loss.distill == 1.0 and cfg.data.kind_probs["pseudo"] == 0.4
    assert cfg.data.colour_match == (0.1, 0.5) and cfg.teacher is False
    # Nothing else moved, and the original is untouched.
    assert cfg.data.kind_probs["crop"] == base.data.kind_probs["crop"] and cfg.loss.bce == base.loss.bce
    assert base.loss.distill == 0.5 and base.data.kind_probs["pseudo"] == 0.2


def test_no_assignments_give_an_equal_config():
    assert overrides.apply(TrainConfig(), []) == TrainConfig()


@pytest.mark.parametrize("text, words", [
    ("loss.distil=1.0", "no field 'distil'"),
    ("data.kind_probs.psuedo=0.4", "no key 'psuedo'"),
    ("weight_decay=high", "is not a float"),
    ("steps=1.5", "is not a int"),
    ("teacher=1", "is not a bool"),
    ("data.colour_match=[0.1]", "is not a tuple"),
    ("lr.x=1", "has no fields"),
    ("lr", "expected KEY=VALUE"),
])
def test_a_typo_or_a_wrong_type_is_an_error_naming_the_key(text, words):
    with pytest.raises(ValueError, match=words):
        overrides.apply(TrainConfig(), [text])


DEEPER = ["model.stage_blocks=[1,3,4]", "model.deep_dilations=[2,4,8]", "model.stage_channels=[16,32,64]"]


def test_model_keys_change_the_architecture_in_any_order_and_the_rest_the_recipe():
    cfg, model_cfg = overrides.apply_recipe(TrainConfig(), [*DEEPER, "loss.distill=1.0", "data.height=160"])
    # More 1/16 blocks before their dilations: ModelConfig checks its fields together, once all are set.
    assert model_cfg.stage_blocks == (1, 3, 4) and model_cfg.deep_dilations == (2, 4, 8)
    assert model_cfg.stage_channels == (16, 32, 64) and model_cfg.decoder_channels == ModelConfig().decoder_channels
    assert (model_cfg.input_height, model_cfg.input_width) == (160, 256)  # the input size is the data's
    assert cfg.loss.distill == 1.0 and cfg.data.height == 160
    assert overrides.apply_recipe(TrainConfig(), []) == (TrainConfig(), ModelConfig())


@pytest.mark.parametrize("text, words", [
    ("model.stage_chanels=[16,32,64]", "model.stage_chanels: no field 'stage_chanels'"),
    ("model.input_height=160", "data.height"),
    ("model.deep_dilations=[2.5,4]", r"model.deep_dilations\[0\]: 2.5 is not a int"),
    ("model.stage_channels=[16,32]", "3 entries"),  # any length by type; ModelConfig wants three stages
    ("model=1", "name a model field"),
])
def test_a_wrong_model_key_or_value_is_an_error_naming_it(text, words):
    with pytest.raises(ValueError, match=words):
        overrides.apply_recipe(TrainConfig(), [text])


def test_the_cross_validation_compares_every_recipe_field_but_not_speed_settings():
    base = recipe_fields(dataclasses.asdict(TrainConfig()))
    changed = recipe_fields(dataclasses.asdict(overrides.apply(TrainConfig(), ["loss.distill=1.0"])))
    faster = recipe_fields(dataclasses.asdict(overrides.apply(TrainConfig(), ["threads=8", "workers=3"])))
    assert base != changed and {k for k in base if base[k] != changed[k]} == {"loss.distill"}
    assert base == faster
    assert "data.kind_probs.pseudo" in base


def test_a_fold_run_with_another_recipe_is_not_continued(tmp_path):
    last = tmp_path / "last.pt"
    torch.save({"train_config": dataclasses.asdict(overrides.apply(TrainConfig(), ["loss.distill=1.0"])),
                "model_config": dataclasses.asdict(ModelConfig()), "step": 10}, last)
    assert earlier_run(last, overrides.apply(TrainConfig(), ["loss.distill=1.0", "threads=4"]), ModelConfig()) == 10
    with pytest.raises(ValueError, match="loss.distill 1.0, not 0.5"):
        earlier_run(last, TrainConfig(), ModelConfig())


def test_a_fold_run_with_another_architecture_is_not_continued(tmp_path):
    last = tmp_path / "last.pt"
    cfg, deeper = overrides.apply_recipe(TrainConfig(), DEEPER)
    torch.save({"train_config": dataclasses.asdict(cfg), "model_config": dataclasses.asdict(deeper), "step": 10}, last)
    assert earlier_run(last, cfg, deeper) == 10
    with pytest.raises(ValueError, match=r"model.stage_channels \[16, 32, 64\], not \[16, 32, 56\]"):
        earlier_run(last, cfg, ModelConfig())
