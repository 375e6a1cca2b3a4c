"""Tests for model_export/train.py on tiny synthetic sources (32x64 samples, a few steps)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model_export import provenance, teacher
from model_export import train as train_mod
from model_export.dataset import DataConfig, Sources
from model_export.export import export_checkpoint
from model_export.losses import LossWeights, total_loss
from model_export.model import ModelConfig, build_model
from tests.synthetic_people import person_photo

pytest.importorskip("cv2")
H, W = 32, 64
TINY_MODEL = ModelConfig(input_height=H, input_width=W)


def tiny_sources(count: int = 4, seed: int = 0, soft: bool = False) -> Sources:
    """Red 'people' on blue photos (masks and, with SOFT, teacher labels), one green wallpaper."""
    rng = np.random.default_rng(seed)
    photos = []
    for _ in range(count):
        image, mask = person_photo(48, 96, rng)
        photos.append((image, mask, mask.copy() if soft else None))
    return Sources(photos, [], [], [np.full((40, 70, 3), (20, 230, 20), np.uint8)], [])


def tiny_val(count: int = 2):
    rng = np.random.default_rng(1)
    return [(f"v{i}", *person_photo(40, 72, rng)) for i in range(count)]


def tiny_config(tmp_path, **overrides) -> train_mod.TrainConfig:
    values = dict(name="tiny", steps=4, teacher=False, batch_size=2, workers=0, threads=1, val_every=100,
                  runs_dir=str(tmp_path), data=DataConfig(height=H, width=W))
    values.update(overrides)
    return train_mod.TrainConfig(**values)


def run(cfg, **kwargs):
    return train_mod.train(cfg, TINY_MODEL, sources=kwargs.pop("sources", tiny_sources()), val=tiny_val(),
                           progress=False, **kwargs)


def test_lr_schedule_is_a_function_of_the_step():
    cfg = train_mod.TrainConfig(steps=1000, lr=1e-3, warmup_fraction=0.1, final_lr_fraction=0.01)
    assert train_mod.lr_at(0, cfg) < 1e-4
    assert train_mod.lr_at(100, cfg) == pytest.approx(1e-3)
    assert train_mod.lr_at(500, cfg) < 1e-3
    assert train_mod.lr_at(1000, cfg) == pytest.approx(1e-5)


def test_steps_on_one_batch_decrease_the_loss():
    torch.set_num_threads(1)  # the shared cores: more threads only spin
    torch.manual_seed(0)
    images = np.stack([person_photo(H, W, np.random.default_rng(i))[0] for i in range(8)])
    masks = np.stack([person_photo(H, W, np.random.default_rng(i))[1] for i in range(8)])
    model = build_model(TINY_MODEL).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x = train_mod.to_input(images, TINY_MODEL)
    target = torch.from_numpy(masks).float().div(255).unsqueeze(1)
    losses = []
    for _ in range(15):
        loss, _ = total_loss(model(x), target, LossWeights(consistency=0, distill=0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_train_writes_checkpoints_with_everything_resume_needs(tmp_path):
    best = run(tiny_config(tmp_path, steps=3))
    folder = tmp_path / "tiny"
    for name in ("last.pt", "best.pt", "history.json", "curves.png"):
        assert (folder / name).exists(), name
    ckpt = torch.load(folder / "last.pt", weights_only=True)  # export.py reads it this way
    for key in ("model_config", "train_config", "state_dict", "train_state_dict", "optimizer", "rng_states", "step",
                "seed", "history", "best_metrics", "provenance"):
        assert key in ckpt, key
    assert ckpt["step"] == 3 and ckpt["best_metrics"] == best
    assert json.loads((folder / "history.json").read_text())["validations"][-1]["step"] == 3


def test_resume_continues_the_same_schedule_and_weights(tmp_path):
    """4 steps in one go == 2 steps, stop, --resume, 2 more: same learning rates, same weights."""
    straight = tiny_config(tmp_path, name="straight")
    run(straight)
    split = tiny_config(tmp_path, name="split")
    run(split, stop_after=2)
    halfway = torch.load(tmp_path / "split" / "last.pt", weights_only=False)
    assert halfway["step"] == 2
    run(split, resume=tmp_path / "split" / "last.pt")
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "split" / "last.pt", weights_only=False)
    assert a["step"] == b["step"] == 4
    assert [t["lr"] for t in a["trace"]] == [t["lr"] for t in b["trace"]]
    assert len({t["lr"] for t in a["trace"]}) == 4  # the schedule moves every step
    for key in ("train_state_dict", "state_dict"):
        for name, value in a[key].items():
            torch.testing.assert_close(b[key][name], value, atol=1e-6, rtol=1e-5, msg=f"{key}.{name}")
    assert len(b["provenance"]["sessions"]) == 2
    assert [s["from_step"] for s in b["provenance"]["sessions"]] == [0, 2]


def test_resume_refuses_another_step_budget(tmp_path):
    cfg = tiny_config(tmp_path)
    run(cfg, stop_after=1)
    with pytest.raises(ValueError, match="schedule"):
        run(tiny_config(tmp_path, steps=8), resume=tmp_path / "tiny" / "last.pt")
    with pytest.raises(FileNotFoundError, match="nothere.pt"):
        run(cfg, resume=tmp_path / "nothere.pt")


def test_teacher_flag_fails_loudly_without_the_teacher(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(teacher, "PEERS_BUILD_DIR", tmp_path / "no-peers")
    with pytest.raises(teacher.TeacherMissing, match="mediapipe-general.onnx"):
        run(tiny_config(tmp_path, teacher=True))
    code = train_mod.main(["--name", "t", "--steps", "2", "--teacher", "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "no-peers/mediapipe-general.onnx" in err and "vbg teacher convert" in err
    assert not (tmp_path / "t" / "last.pt").exists()


def test_teacher_must_be_chosen_explicitly(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_mod.main(["--name", "t", "--steps", "2", "--runs-dir", str(tmp_path)])
    assert "--teacher or --no-teacher" in capsys.readouterr().err


def test_manifest_provenance_is_filled_from_the_run(tmp_path, monkeypatch):
    fake_teacher = {"models": [{"name": "mediapipe-general", "licence": "Apache-2.0", "onnx_sha256": "ab"}]}
    monkeypatch.setattr(teacher, "teacher_info", lambda: fake_teacher)
    argv = ["vbg", "train", "--name", "tiny", "--steps", "3", "--teacher"]
    cfg = tiny_config(tmp_path, steps=3, teacher=True)
    train_mod.train(cfg, TINY_MODEL, sources=tiny_sources(soft=True), val=tiny_val(), argv=argv, progress=False)
    manifest = json.loads(export_checkpoint(tmp_path / "tiny" / "best.pt", "tiny", tmp_path / "models").read_text())
    training = manifest["training"]
    record = training["provenance"]
    assert record["teacher"] == fake_teacher
    assert record["steps"] == record["step_budget"] == 3
    assert record["samples_seen"] == 3 * cfg.batch_size
    assert record["wall_time_s"] > 0
    session = record["sessions"][0]
    assert session["command"] == "vbg train --name tiny --steps 3 --teacher"
    assert session["git_commit"] == training["git_commit"] == provenance.git_commit()
    assert isinstance(session["training_code_dirty"], bool) and isinstance(session["repo_dirty"], bool)
    assert session["training_code_dirty"] == bool(provenance.dirty_files("model_export"))
    assert training["settings"]["teacher"] is True and training["settings"]["steps"] == 3


def test_without_teacher_the_manifest_says_so(tmp_path):
    run(tiny_config(tmp_path, steps=1))
    ckpt = torch.load(tmp_path / "tiny" / "last.pt", weights_only=True)
    assert ckpt["provenance"]["teacher"] is None and ckpt["train_config"]["teacher"] is False


def test_validate_scores_a_model_in_range():
    scores = train_mod.validate(build_model(TINY_MODEL), tiny_val(), TINY_MODEL)
    assert set(scores) == {"val_iou", "val_miou", "val_boundary_f"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_cli_stops_and_resumes_with_the_checkpoints_own_settings(tmp_path, capsys):
    from tests.test_dataset import small_config

    cfg = small_config(tmp_path)
    common = ["--data", cfg.data_dir, "--backgrounds", cfg.backgrounds_dir, "--unlabelled", cfg.unlabelled_dir,
              "--videos", cfg.videos_dir, "--workers", "0", "--threads", "1", "--runs-dir", str(tmp_path / "runs")]
    assert train_mod.main(["--name", "cli", "--steps", "2", "--no-teacher", "--batch-size", "2", "--stop-after", "1",
                           *common]) == 0
    last = tmp_path / "runs" / "cli" / "last.pt"
    assert torch.load(last, weights_only=True)["step"] == 1
    with pytest.raises(SystemExit):  # another budget is another schedule
        train_mod.main(["--resume", str(last), "--steps", "3"])
    assert "differs from the checkpoint" in capsys.readouterr().err
    assert train_mod.main(["--resume", str(last), "--workers", "0", "--threads", "1"]) == 0
    ckpt = torch.load(last, weights_only=True)
    assert ckpt["step"] == 2 and ckpt["train_config"]["batch_size"] == 2
    assert ckpt["provenance"]["sessions"][1]["command"] == f"vbg train --resume {last} --workers 0 --threads 1"
