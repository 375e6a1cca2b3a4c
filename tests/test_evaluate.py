"""Tests for model_export/evaluate.py: bad folders fail naming the file and write nothing; a tiny run works."""
import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from model_export import evaluate
from tests.test_segmenter_onnx import write_tiny_model


def make_folder(root: Path, stems=("a", "b"), size=(40, 24)) -> Path:
    """A labelled folder: images/<stem>.jpg and masks/<stem>.png of the given (W, H) size."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for stem in stems:
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(root / "images" / f"{stem}.jpg")
        mask = np.zeros((size[1], size[0]), np.uint8)
        mask[size[1] // 3:, size[0] // 4: 3 * size[0] // 4] = 255
        Image.fromarray(mask).save(root / "masks" / f"{stem}.png")
    return root


def run(tmp_path: Path, data: Path, *extra: str) -> int:
    manifest = write_tiny_model(tmp_path / "models")
    return evaluate.main(["--data", str(data), "--out", str(tmp_path / "out"), "--models", str(manifest),
                          "--latency-runs", "3", "--quiet", *extra])


def assert_fails_naming(tmp_path, capsys, data: Path, fragment: str, *extra: str):
    assert run(tmp_path, data, *extra) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written half-way


def test_tiny_run_writes_markdown_and_csv(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    assert run(tmp_path, data) == 0
    table = (tmp_path / "out" / "evaluation.md").read_text()
    assert "| tiny | 16x32 |" in table and "2 images of `data`" in table
    assert table in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "out" / "evaluation.csv").open()))
    assert [r["model"] for r in rows] == ["tiny"]
    for key in ("iou", "miou", "boundary_f"):
        assert 0.0 <= float(rows[0][key]) <= 1.0
    assert float(rows[0]["ms"]) > 0 and rows[0]["params"] == "3"


def test_split_file_selects_stems(tmp_path):
    data = make_folder(tmp_path / "data", stems=("a", "b", "c"))
    split = tmp_path / "split.json"
    split.write_text(json.dumps(["b"]))
    assert run(tmp_path, data, "--split-file", str(split)) == 0
    assert "1 images of `data`" in (tmp_path / "out" / "evaluation.md").read_text()


def test_wrong_path(tmp_path, capsys):
    assert_fails_naming(tmp_path, capsys, tmp_path / "nowhere", "nowhere")


def test_empty_folder(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    assert_fails_naming(tmp_path, capsys, data, str(data / "images"))


def test_missing_mask(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    (data / "masks" / "b.png").unlink()
    assert_fails_naming(tmp_path, capsys, data, "b.jpg")


def test_mask_without_image(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    (data / "images" / "a.jpg").unlink()
    assert_fails_naming(tmp_path, capsys, data, "a.png")


def test_unreadable_image(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    (data / "images" / "a.jpg").write_bytes(b"not a jpeg")
    assert_fails_naming(tmp_path, capsys, data, "a.jpg")


def test_mask_of_another_size(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(data / "masks" / "b.png")
    assert_fails_naming(tmp_path, capsys, data, "b.png")


def test_split_file_with_unknown_stem(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    split = tmp_path / "split.json"
    split.write_text(json.dumps(["zzz"]))
    assert_fails_naming(tmp_path, capsys, data, "zzz", "--split-file", str(split))


def test_missing_manifest_model(tmp_path, capsys):
    data = make_folder(tmp_path / "data")
    code = evaluate.main(["--data", str(data), "--out", str(tmp_path / "out"), "--quiet",
                          "--models", str(tmp_path / "missing.json")])
    assert code == 2 and "missing.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
