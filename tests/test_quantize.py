"""Tests for model_export/quantize.py: a loadable int8 model, its manifest, the size budget, bad input."""
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from model_export.export import export_checkpoint
from model_export.model import ModelConfig
from model_export.quantize import MAX_INT8_BYTES, QuantizeConfig, compact, quantize
from tests.test_export import write_checkpoint


def write_portraits(folder: Path, count: int = 4, size: tuple[int, int] = (120, 90)) -> Path:
    """A labelled folder (images/*.jpg + masks/*.png) of random photos with an ellipse 'person'."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    width, height = size
    yy, xx = np.mgrid[:height, :width]
    for i in range(count):
        person = ((xx - width / 2) / (width / 4)) ** 2 + ((yy - height) / (height * 0.7)) ** 2 < 1
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "images" / f"{i:04d}.jpg")
        Image.fromarray((person * 255).astype(np.uint8)).save(folder / "masks" / f"{i:04d}.png")
    return folder


def fast_config(data_dir: Path) -> QuantizeConfig:
    return QuantizeConfig(data_dir=str(data_dir), val_fraction=0.5, calibration_count=2, eval_count=2, latency_runs=3)


@pytest.fixture(scope="module")
def fp32_manifest(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("quantize")
    checkpoint = write_checkpoint(folder / "best.pt", ModelConfig(input_height=64, input_width=112))
    return export_checkpoint(checkpoint, "tiny", folder / "models")


@pytest.fixture(scope="module")
def portraits(tmp_path_factory) -> Path:
    return write_portraits(tmp_path_factory.mktemp("data") / "portraits")


@pytest.fixture(scope="module")
def int8_manifest(fp32_manifest, portraits) -> Path:
    return quantize(fp32_manifest, "tiny-int8", cfg=fast_config(portraits))


def test_int8_model_loads_and_outputs_probabilities(int8_manifest):
    manifest = json.loads(int8_manifest.read_text())
    session = ort.InferenceSession(str(int8_manifest.parent / manifest["file"]), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).uniform(-1, 1, manifest["input"]["shape"]).astype(np.float32)
    out = session.run([manifest["output"]["name"]], {manifest["input"]["name"]: x})[0]
    assert out.shape == tuple(manifest["output"]["shape"])
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_int8_graph_is_quantized_and_compact(int8_manifest):
    graph = onnx.load(str(int8_manifest.with_suffix(".onnx")))
    ops = {node.op_type for node in graph.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert [i.name for i in graph.graph.input] == ["image"] and [o.name for o in graph.graph.output] == ["mask"]
    blobs = [(i.data_type, tuple(i.dims), onnx.numpy_helper.to_array(i).tobytes()) for i in graph.graph.initializer]
    assert len(blobs) == len(set(blobs))


def test_int8_manifest(int8_manifest, fp32_manifest):
    manifest = json.loads(int8_manifest.read_text())
    fp32 = json.loads(fp32_manifest.read_text())
    assert manifest["precision"] == "int8" and manifest["file"] == "tiny-int8.onnx"
    assert hashlib.sha256(int8_manifest.with_suffix(".onnx").read_bytes()).hexdigest() == manifest["sha256"]
    assert manifest["input"] == fp32["input"] and manifest["output"] == fp32["output"]
    assert manifest["faster_variant"]["onnxruntime-cpu-1-thread"] in ("fp32", "int8")
    check = manifest["metrics"]["int8_check"]
    assert check["images"] == 2 and {"miou", "ms", "bytes"} <= check["int8"].keys()
    assert manifest["quantization"]["source_sha256"] == fp32["sha256"]


def test_compact_keeps_the_outputs(fp32_manifest):
    path = fp32_manifest.with_suffix(".onnx")
    original = onnx.load(str(path))
    shrunk = compact(onnx.load(str(path)))
    x = {"image": np.random.default_rng(2).standard_normal((1, 3, 64, 112)).astype(np.float32)}
    before = ort.InferenceSession(original.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, x)[0]
    after = ort.InferenceSession(shrunk.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, x)[0]
    np.testing.assert_array_equal(before, after)


@pytest.mark.slow  # ~1 s idle, 5-7 s on the shared machine under load
def test_default_model_fits_the_int8_budget(tmp_path, portraits):
    checkpoint = write_checkpoint(tmp_path / "best.pt", ModelConfig())
    manifest = export_checkpoint(checkpoint, "full", tmp_path / "models")
    int8 = quantize(manifest, "full-int8", cfg=fast_config(portraits))
    assert int8.with_suffix(".onnx").stat().st_size <= MAX_INT8_BYTES


def test_missing_manifest_names_the_file(tmp_path, portraits):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        quantize(tmp_path / "nope.json", "x", cfg=fast_config(portraits))
    assert list(tmp_path.iterdir()) == []


def test_model_that_does_not_match_its_manifest_is_rejected(fp32_manifest, portraits, tmp_path):
    manifest = json.loads(fp32_manifest.read_text())
    (tmp_path / manifest["file"]).write_bytes(fp32_manifest.with_suffix(".onnx").read_bytes() + b"x")
    copied = tmp_path / fp32_manifest.name
    copied.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="does not match the sha256"):
        quantize(copied, "x", cfg=fast_config(portraits))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([manifest["file"], copied.name])


def test_wrong_data_folder_names_it_and_writes_nothing(fp32_manifest, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        quantize(fp32_manifest, "x", out, fast_config(tmp_path / "no-such-folder"))
    assert not out.exists()


def test_over_budget_model_is_refused_and_nothing_is_written(fp32_manifest, portraits, tmp_path, monkeypatch):
    monkeypatch.setattr("model_export.quantize.MAX_INT8_BYTES", 1_000)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="over the 1,000-byte budget"):
        quantize(fp32_manifest, "x", out, fast_config(portraits))
    assert not out.exists()
