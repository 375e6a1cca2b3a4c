"""Tests for model_export/train.py on a tiny synthetic bank (32x64 samples, a few steps)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model_export import train as train_mod
from model_export.data import Bank, DataConfig
from model_export.losses import LossWeights, total_loss
from model_export.model import ModelConfig, build_model

H, W = 32, 64


def tiny_bank(count: int = 16, seed: int = 0) -> Bank:
    """Bright rectangles on dark noise; mask = rectangle; half with teacher labels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (count, H, W, 3)).astype(np.uint8)
    masks = np.zeros((count, H, W), np.uint8)
    for i in range(count):
        y, x = rng.integers(0, H // 2), rng.integers(0, W // 2)
        masks[i, y : y + H // 2, x : x + W // 3] = 255
        images[i][masks[i] > 0] += 150
    has_soft = np.arange(count) % 2 == 0
    return Bank(images, masks, masks * has_soft[:, None, None], np.ones(count, bool), has_soft,
                np.zeros(count, np.uint8))


def tiny_val(count: int = 2):
    bank = tiny_bank(count, seed=1)
    return [(f"v{i}", bank.images[i], bank.masks[i]) for i in range(count)]


def tiny_config(tmp_path, **overrides) -> train_mod.TrainConfig:
    values = dict(name="tiny", minutes=10.0, batch_size=4, workers=0, runs_dir=str(tmp_path),
                  data=DataConfig(height=H, width=W))
    values.update(overrides)
    return train_mod.TrainConfig(**values)


def test_lr_schedule_warms_up_and_decays():
    cfg = train_mod.TrainConfig(lr=1e-3, warmup_fraction=0.1, final_lr_fraction=0.01)
    assert train_mod.lr_at(0.0, cfg) < 1e-4
    assert train_mod.lr_at(0.1, cfg) == pytest.approx(1e-3)
    assert train_mod.lr_at(0.5, cfg) < 1e-3
    assert train_mod.lr_at(1.0, cfg) == pytest.approx(1e-5)


def test_epoch_sampler_streams_whole_shuffled_passes():
    epochs = [list(train_mod.EpochSampler(10, 4, seed=0, epoch=e)) for e in range(5)]
    stream = [item for epoch in epochs for item in epoch]
    assert sorted(i for p, i in stream if p == 0) == list(range(10))  # first pass: each sample once
    assert [p for p, _ in stream[:10]] == [0] * 10 and stream[10][0] == 1
    assert epochs[2] == list(train_mod.EpochSampler(10, 4, seed=0, epoch=2))  # reproducible for resume


def test_steps_on_one_batch_decrease_the_loss():
    torch.manual_seed(0)
    bank = tiny_bank(8)
    cfg = ModelConfig(input_height=H, input_width=W)
    model = build_model(cfg).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = train_mod.to_input(bank.images, cfg)
    target = torch.from_numpy(bank.masks).float().div(255).unsqueeze(1)
    losses = []
    for _ in range(15):
        loss, _ = total_loss(model(x), target, LossWeights(consistency=0, distill=0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_train_writes_checkpoints_that_resume_reads(tmp_path):
    cfg = tiny_config(tmp_path)
    model_cfg = ModelConfig(input_height=H, input_width=W)
    best = train_mod.train(cfg, model_cfg, bank=tiny_bank(), val=tiny_val(), max_steps=3, progress=False)
    run = tmp_path / "tiny"
    for name in ("last.pt", "best.pt", "history.json", "curves.png"):
        assert (run / name).exists(), name
    ckpt = torch.load(run / "last.pt", weights_only=False)
    for key in ("model_config", "train_config", "state_dict", "optimizer", "step", "epoch", "seed", "history",
                "best_metrics"):
        assert key in ckpt, key
    assert ckpt["step"] == 3 and ckpt["epoch"] == 1
    assert set(ckpt["best_metrics"]) == {"val_miou", "val_iou", "val_boundary_f"}
    assert ckpt["best_metrics"] == best
    # export.py rebuilds the model from the checkpoint alone.
    model = build_model(ModelConfig(**ckpt["model_config"]))
    model.load_state_dict(ckpt["state_dict"])
    assert json.loads((run / "history.json").read_text())["epochs"][0]["step"] == 3

    train_mod.train(cfg, model_cfg, bank=tiny_bank(), val=tiny_val(), resume=True, max_steps=5, progress=False)
    resumed = torch.load(run / "last.pt", weights_only=False)
    assert resumed["step"] == 5 and resumed["epoch"] == 2 and len(resumed["history"]) == 2


def test_resume_without_checkpoint_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="last.pt"):
        train_mod.train(tiny_config(tmp_path), ModelConfig(input_height=H, input_width=W), bank=tiny_bank(),
                        val=tiny_val(), resume=True, progress=False)


def test_validate_scores_a_model_in_range():
    cfg = ModelConfig(input_height=H, input_width=W)
    scores = train_mod.validate(build_model(cfg), tiny_val(), cfg)
    assert set(scores) == {"val_iou", "val_miou", "val_boundary_f"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())
