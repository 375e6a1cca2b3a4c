"""Tests for model_export/cross_validate.py: folds on disk and a two-step smoke run of the whole CV loop."""
from __future__ import annotations

import json

import numpy as np
import pytest
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
