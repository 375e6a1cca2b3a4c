"""Tests for model_export/export.py: parity with the eager model, the manifest, and bad checkpoints."""
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from model_export.export import (
    NOTHING_HELD_OUT,
    ExportConfig,
    ProbabilityModel,
    check_parity,
    export_checkpoint,
    load_checkpoint,
    main,
    model_from_checkpoint,
    validation_metrics,
)
from model_export.model import ModelConfig, build_model

# A small input keeps export and onnxruntime runs well under a second.
TINY = ModelConfig(input_height=64, input_width=112)
MANIFEST_KEYS = {"file", "sha256", "precision", "input", "output", "params", "training", "metrics", "license", "provenance"}
INPUT_KEYS = {"name", "shape", "layout", "color", "resize", "scale", "mean", "std"}
OUTPUT_KEYS = {"name", "shape", "activation", "channel"}
TRAINING_KEYS = {"data", "settings", "seed", "git_commit", "provenance", "best_step"}


def write_checkpoint(path: Path, cfg: ModelConfig = TINY, seed: int = 0) -> Path:
    """An untrained checkpoint in train.py's format, with BatchNorm statistics that are not the identity."""
    torch.manual_seed(seed)
    model = build_model(cfg).train()
    with torch.no_grad():  # a few train-mode passes give BatchNorm non-trivial running statistics
        for _ in range(2):
            model(torch.randn(2, 3, cfg.input_height, cfg.input_width))
    torch.save({
        "model_config": dataclasses.asdict(cfg),
        "train_config": {"data_dir": "portraits", "steps": 3, "lr": 1e-3},
        "state_dict": model.state_dict(),
        "optimizer": {},
        "step": 3,
        "epoch": 0,
        "seed": seed,
        "history": [{"step": 3, "loss": 0.7}],
        "best_metrics": {"val_miou": 0.5, "val_iou": 0.4, "val_boundary_f": 0.3},
    }, path)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoint, manifest) of a tiny untrained model exported to a temporary folder."""
    folder = tmp_path_factory.mktemp("export")
    checkpoint = write_checkpoint(folder / "best.pt")
    return checkpoint, export_checkpoint(checkpoint, "tiny", folder / "models")


def test_manifest_has_every_required_key(exported):
    _, manifest_path = exported
    manifest = json.loads(manifest_path.read_text())
    assert MANIFEST_KEYS <= manifest.keys()
    assert INPUT_KEYS <= manifest["input"].keys()
    assert OUTPUT_KEYS <= manifest["output"].keys()
    assert TRAINING_KEYS <= manifest["training"].keys()
    assert manifest["file"] == "tiny.onnx"
    assert manifest["precision"] == "fp32"
    assert manifest["input"] | {"mean": None, "std": None} == {
        "name": "image", "shape": [1, 3, 64, 112], "layout": "NCHW", "color": "RGB", "resize": "stretch",
        "scale": 1 / 255, "mean": None, "std": None,
    }
    assert manifest["input"]["mean"] == list(TINY.mean) and manifest["input"]["std"] == list(TINY.std)
    assert manifest["output"] == {"name": "mask", "shape": [1, 1, 64, 112], "activation": "none", "channel": 0}
    assert manifest["training"]["best_step"] == 3
    assert manifest["metrics"]["val_miou"] == 0.5
    onnx_path = manifest_path.parent / manifest["file"]
    assert hashlib.sha256(onnx_path.read_bytes()).hexdigest() == manifest["sha256"]


def test_a_model_trained_on_every_photo_claims_no_validation_score():
    nothing_held_out = {"best_metrics": {"val_miou": -1.0}, "provenance": {"held_out_photos": 0}}
    assert validation_metrics(nothing_held_out) == {"held_out_photos": 0, "note": NOTHING_HELD_OUT}
    held_out = {"best_metrics": {"val_miou": 0.5}, "provenance": {"held_out_photos": 30}}
    assert validation_metrics(held_out) == {"val_miou": 0.5}


def test_onnx_matches_the_eager_model(exported):
    checkpoint, manifest_path = exported
    cfg, model = model_from_checkpoint(load_checkpoint(checkpoint))
    session = ort.InferenceSession(str(manifest_path.with_suffix(".onnx")), providers=["CPUExecutionProvider"])
    x = torch.randn(1, 3, cfg.input_height, cfg.input_width, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = ProbabilityModel(model)(x)
    actual = torch.from_numpy(session.run(["mask"], {"image": x.numpy()})[0])
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=1e-3)
    assert 0.0 <= float(actual.min()) and float(actual.max()) <= 1.0


def test_graph_is_checked_and_has_no_duplicate_weights(exported):
    _, manifest_path = exported
    graph = onnx.load(str(manifest_path.with_suffix(".onnx")))
    onnx.checker.check_model(graph, full_check=True)
    assert graph.opset_import[0].version == 17
    blobs = [onnx.numpy_helper.to_array(init).tobytes() for init in graph.graph.initializer if init.dims]
    assert len(blobs) == len(set(blobs))
    assert not {"BatchNormalization"} & {node.op_type for node in graph.graph.node}  # folded into Conv


def test_parity_check_raises_when_the_graph_differs(exported, tmp_path):
    checkpoint, manifest_path = exported
    cfg, model = model_from_checkpoint(load_checkpoint(checkpoint))
    with torch.no_grad():
        model.head.bias += 1.0  # the eager model now disagrees with the exported graph
    with pytest.raises(RuntimeError, match="differs from the eager model"):
        check_parity(model, cfg, manifest_path.with_suffix(".onnx"), ExportConfig())


def test_cli_writes_to_out_dir(exported, tmp_path):
    checkpoint, _ = exported
    assert main(["--checkpoint", str(checkpoint), "--name", "cli", "--out-dir", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.json", "cli.onnx"]


def test_missing_checkpoint_names_the_file_and_writes_nothing(tmp_path):
    missing = tmp_path / "runs" / "nope" / "best.pt"
    out = tmp_path / "models"
    with pytest.raises(FileNotFoundError, match="nope/best.pt"):
        export_checkpoint(missing, "x", out)
    assert not out.exists()


@pytest.mark.parametrize("content", [b"not a checkpoint at all", b""])
def test_corrupt_checkpoint_names_the_file_and_writes_nothing(tmp_path, content):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(content)
    out = tmp_path / "models"
    with pytest.raises(ValueError, match="corrupt.pt"):
        export_checkpoint(corrupt, "x", out)
    assert not out.exists()


def test_checkpoint_without_required_keys_is_rejected(tmp_path):
    partial = tmp_path / "partial.pt"
    torch.save({"state_dict": {}}, partial)
    with pytest.raises(ValueError, match="partial.pt lacks"):
        load_checkpoint(partial)


def test_checkpoint_of_another_architecture_is_rejected(tmp_path):
    path = write_checkpoint(tmp_path / "other.pt")
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["model_config"]["half_res_blocks"] = 3  # state_dict no longer fits
    with pytest.raises(ValueError, match="does not fit"):
        model_from_checkpoint(checkpoint, path)


def test_failed_export_leaves_the_output_folder_as_it_was(exported, tmp_path, monkeypatch):
    checkpoint, _ = exported
    out = tmp_path / "models"
    out.mkdir()
    (out / "keep.txt").write_text("unchanged")

    def broken_parity(*args, **kwargs):
        raise RuntimeError("simulated parity failure")

    monkeypatch.setattr("model_export.export.check_parity", broken_parity)
    with pytest.raises(RuntimeError, match="simulated"):
        export_checkpoint(checkpoint, "x", out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_exported_model_accepts_real_image_range(exported):
    _, manifest_path = exported
    session = ort.InferenceSession(str(manifest_path.with_suffix(".onnx")), providers=["CPUExecutionProvider"])
    pixels = np.random.default_rng(0).integers(0, 256, (1, 3, 64, 112)).astype(np.float32)
    mean = np.asarray(TINY.mean, np.float32)[None, :, None, None]
    std = np.asarray(TINY.std, np.float32)[None, :, None, None]
    out = session.run(["mask"], {"image": (pixels / 255 - mean) / std})[0]
    assert out.shape == (1, 1, 64, 112) and np.isfinite(out).all()
