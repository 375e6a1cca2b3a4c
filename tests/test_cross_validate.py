"""Tests for model_export/cross_validate.py: folds on disk and a two-step smoke run of the whole CV loop."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from model_export import cross_validate
from tests.synthetic_people import PASTED_BG, make_folder
from tests.test_segmenter_onnx import write_tiny_model

pytest.importorskip("cv2")


def test_fold_files_cover_every_photo_once(tmp_path):
    root = make_folder(tmp_path / "portraits", count=12)
    paths = cross_validate.write_folds(root, tmp_path / "cv", k=5, seed=0)
    folds = [json.loads(p.read_text()) for p in paths]
    assert sorted(s for f in folds for s in f) == [f"{i:04d}" for i in range(12)]


def test_cv_table_weights_folds_by_photos():
    results = [{"fold": 0, "photos": 1, "scores": {"ours": {"miou": 1.0, "boundary_f": 0.0}}},
               {"fold": 1, "photos": 3, "scores": {"ours": {"miou": 0.0, "boundary_f": 1.0}}}]
    table, means = cross_validate.cv_table(results)
    assert means["ours"] == {"miou": 0.25, "boundary_f": 0.75}
    assert "| ours | 1.0000 / 0.0000 | 0.0000 / 1.0000 | 0.2500 | 0.7500 |" in table


@pytest.mark.slow
def test_smoke_run_trains_scores_and_writes_the_table(tmp_path, monkeypatch):
    """5 folds of 2 photos, 2 steps each, a stand-in peer (the MediaPipe files need not be here)."""
    root = make_folder(tmp_path / "portraits", count=10)
    backgrounds = tmp_path / "backgrounds"
    backgrounds.mkdir()
    Image.fromarray(np.full((90, 160, 3), PASTED_BG, np.uint8)).save(backgrounds / "green.png")
    monkeypatch.setattr(cross_validate, "PEERS", (str(write_tiny_model(tmp_path / "peer")),))
    out = tmp_path / "cv"
    code = cross_validate.main(["--steps", "2", "--no-teacher", "--data", str(root), "--backgrounds", str(backgrounds),
                                "--out", str(out), "--batch-size", "2", "--workers", "0", "--threads", "1",
                                "--quiet"])
    assert code == 0
    result = json.loads((out / "cv.json").read_text())
    assert [f["photos"] for f in result["folds"]] == [2] * 5
    assert set(result["means"]) == {"ours", str(tmp_path / "peer" / "tiny.json")}
    assert "mean mIoU" in (out / "cv.md").read_text()
    assert json.loads((out / "runs" / "fold-0" / "history.json").read_text())["validations"][-1]["step"] == 2


def _cv_args(tmp_path, *extra):
    """Flags of a one-fold run on 10 synthetic photos (made on the first call)."""
    root, backgrounds = tmp_path / "portraits", tmp_path / "backgrounds"
    if not root.exists():
        make_folder(root, count=10)
        backgrounds.mkdir()
        Image.fromarray(np.full((90, 160, 3), PASTED_BG, np.uint8)).save(backgrounds / "green.png")
    return ["--no-teacher", "--data", str(root), "--backgrounds", str(backgrounds), "--out", str(tmp_path / "cv"),
            "--batch-size", "2", "--workers", "0", "--threads", "1", "--quiet", "--fold", "0", *extra]


@pytest.mark.slow
def test_a_stopped_fold_is_continued_by_the_same_command_and_scored_once_finished(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cross_validate, "PEERS", (str(write_tiny_model(tmp_path / "peer")),))
    out = tmp_path / "cv"
    assert cross_validate.main(["--steps", "2", "--stop-after", "1", *_cv_args(tmp_path)]) == 0
    assert "fold 0: stopped at step 1 of 2" in capsys.readouterr().out
    assert not (out / "fold-0.json").exists()

    assert cross_validate.main(["--steps", "2", *_cv_args(tmp_path)]) == 0
    assert json.loads((out / "fold-0.json").read_text())["photos"] == 2
    sessions = torch.load(out / "runs" / "fold-0" / "last.pt", weights_only=True)["provenance"]["sessions"]
    assert [s["from_step"] for s in sessions] == [0, 1]  # continued, not started again
    assert "model_export.cross_validate" in sessions[0]["command"]


@pytest.mark.slow
def test_an_earlier_fold_run_with_other_settings_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(cross_validate, "PEERS", (str(write_tiny_model(tmp_path / "peer")),))
    cross_validate.main(["--steps", "2", "--stop-after", "1", *_cv_args(tmp_path)])
    with pytest.raises(ValueError, match="steps 2, not 3"):
        cross_validate.main(["--steps", "3", *_cv_args(tmp_path)])
