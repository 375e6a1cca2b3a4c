"""--set KEY=VALUE changes exactly the field it names, and refuses what it cannot apply."""
import dataclasses

import pytest
import torch

from model_export import overrides
from model_export.cross_validate import earlier_run, recipe_fields
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


def test_the_cross_validation_compares_every_recipe_field_but_not_speed_settings():
    base = recipe_fields(dataclasses.asdict(TrainConfig()))
    changed = recipe_fields(dataclasses.asdict(overrides.apply(TrainConfig(), ["loss.distill=1.0"])))
    faster = recipe_fields(dataclasses.asdict(overrides.apply(TrainConfig(), ["threads=8", "workers=3"])))
    assert base != changed and {k for k in base if base[k] != changed[k]} == {"loss.distill"}
    assert base == faster
    assert "data.kind_probs.pseudo" in base


def test_a_fold_run_with_another_recipe_is_not_continued(tmp_path):
    last = tmp_path / "last.pt"
    torch.save({"train_config": dataclasses.asdict(overrides.apply(TrainConfig(), ["loss.distill=1.0"])), "step": 10},
               last)
    assert earlier_run(last, overrides.apply(TrainConfig(), ["loss.distill=1.0", "threads=4"])) == 10
    with pytest.raises(ValueError, match="loss.distill 1.0, not 0.5"):
        earlier_run(last, TrainConfig())
