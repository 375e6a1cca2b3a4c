"""Tests for model_export/quantize.py: a loadable int8 model (weight-only by default, QDQ behind --mode qdq),
its manifest, the size budget, bad input."""
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
from model_export.quantize import MAX_INT8_BYTES, QuantizeConfig, compact, int8_metrics, main, quantize
from tests.test_export import write_checkpoint

# Weight-only int8 keeps fp32 arithmetic, so only the weights' rounding moves the output: the tiny untrained
# model's probabilities moved by at most 3e-5 on the test's random input (fp32 reordering alone: ~1e-7).
WEIGHT_ONLY_ATOL = 1e-3
# Those probabilities all sit near 0.5 (logits within +-0.01), so the logits are compared too, relative to
# their largest: weight rounding moved them by 1.4% of it; every scale 2% off moves them by 7%.
MAX_RELATIVE_LOGIT_ERROR = 0.04
# Relative slack on "within half a scale step": codes * scale is computed in fp32.
HALF_STEP_SLACK = 1e-5


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


def fast_config(data_dir: Path, mode: str = "weight-only") -> QuantizeConfig:
    return QuantizeConfig(mode=mode, data_dir=str(data_dir), val_fraction=0.5, calibration_count=2, eval_count=2,
                          latency_runs=3)


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


@pytest.fixture(scope="module")
def qdq_manifest(fp32_manifest, portraits, tmp_path_factory) -> Path:
    return quantize(fp32_manifest, "tiny-qdq", tmp_path_factory.mktemp("qdq"), fast_config(portraits, "qdq"))


def _initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {init.name: onnx.numpy_helper.to_array(init) for init in model.graph.initializer}


def _run(model_path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": x})[0]


def test_int8_model_loads_and_outputs_probabilities(int8_manifest):
    manifest = json.loads(int8_manifest.read_text())
    session = ort.InferenceSession(str(int8_manifest.parent / manifest["file"]), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).uniform(-1, 1, manifest["input"]["shape"]).astype(np.float32)
    out = session.run([manifest["output"]["name"]], {manifest["input"]["name"]: x})[0]
    assert out.shape == tuple(manifest["output"]["shape"])
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_every_conv_weight_is_int8_behind_a_dequantize_linear(int8_manifest):
    model = onnx.load(str(int8_manifest.with_suffix(".onnx")))
    inits = _initializers(model)
    producers = {node.output[0]: node for node in model.graph.node}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    assert convs
    for conv in convs:
        assert conv.input[1] not in inits, "a Conv still reads an fp32 weight initializer"
        dq = producers[conv.input[1]]
        assert dq.op_type == "DequantizeLinear"
        assert {a.name: a.i for a in dq.attribute} == {"axis": 0}
        codes, scale, zero_point = (inits[name] for name in dq.input)
        assert codes.dtype == np.int8 and codes.ndim == 4 and np.abs(codes.astype(int)).max() <= 127
        assert scale.dtype == np.float32 and scale.shape == (codes.shape[0],) and (scale > 0).all()
        assert zero_point.dtype == np.int8 and zero_point.shape == scale.shape and not zero_point.any()
        if len(conv.input) > 2:  # biases stay fp32
            assert inits[conv.input[2]].dtype == np.float32
    # Activations stay fp32: nothing is quantized at run time, and the model is valid at its opset.
    assert "QuantizeLinear" not in {node.op_type for node in model.graph.node}
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) == 17
    assert [i.name for i in model.graph.input] == ["image"] and [o.name for o in model.graph.output] == ["mask"]


def test_dequantized_weights_are_the_fp32_ones_within_half_a_step(int8_manifest, fp32_manifest):
    fp32 = onnx.load(str(fp32_manifest.with_suffix(".onnx")))
    int8 = onnx.load(str(int8_manifest.with_suffix(".onnx")))
    fp32_inits, int8_inits = _initializers(fp32), _initializers(int8)
    producers = {node.output[0]: node for node in int8.graph.node}
    fp32_convs = [n for n in fp32.graph.node if n.op_type == "Conv"]
    int8_convs = [n for n in int8.graph.node if n.op_type == "Conv"]
    assert len(fp32_convs) == len(int8_convs)
    for before, after in zip(fp32_convs, int8_convs):  # quantization keeps the nodes' order
        weight = fp32_inits[before.input[1]]
        codes, scale, _ = (int8_inits[name] for name in producers[after.input[1]].input)
        restored = codes.astype(np.float32) * scale[:, None, None, None]
        half_step = scale[:, None, None, None] / 2
        assert (np.abs(restored - weight) <= half_step * (1 + HALF_STEP_SLACK)).all(), before.name
        # Symmetric: each channel's largest weight is exactly representable at +-127.
        np.testing.assert_allclose(np.abs(restored).reshape(len(scale), -1).max(axis=1),
                                   np.abs(weight).reshape(len(scale), -1).max(axis=1), rtol=1e-6)


def test_weight_only_output_is_close_to_fp32(int8_manifest, fp32_manifest):
    x = np.random.default_rng(3).uniform(-1, 1, (1, 3, 64, 112)).astype(np.float32)
    expected = _run(fp32_manifest.with_suffix(".onnx"), x)
    got = _run(int8_manifest.with_suffix(".onnx"), x)
    np.testing.assert_allclose(got, expected, atol=WEIGHT_ONLY_ATOL)
    logit = lambda p: np.log(p.astype(np.float64) / (1 - p))  # noqa: E731
    error = np.abs(logit(got) - logit(expected)).max() / np.abs(logit(expected)).max()
    assert error <= MAX_RELATIVE_LOGIT_ERROR, f"logits moved by {error:.1%} of their largest"


def test_int8_graph_is_compact(int8_manifest, qdq_manifest):
    for manifest in (int8_manifest, qdq_manifest):
        graph = onnx.load(str(manifest.with_suffix(".onnx"))).graph
        blobs = [(i.data_type, tuple(i.dims), onnx.numpy_helper.to_array(i).tobytes()) for i in graph.initializer]
        assert len(blobs) == len(set(blobs))
        assert not graph.value_info


def test_qdq_mode_quantizes_activations_too(qdq_manifest):
    graph = onnx.load(str(qdq_manifest.with_suffix(".onnx"))).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.node}
    assert [i.name for i in graph.input] == ["image"] and [o.name for o in graph.output] == ["mask"]
    quantization = json.loads(qdq_manifest.read_text())["quantization"]
    assert quantization["kind"] == "static int8 QDQ" and quantization["arithmetic"] == "int8"
    assert quantization["calibration"].startswith("2 validation photos")


def test_int8_manifest(int8_manifest, fp32_manifest):
    manifest = json.loads(int8_manifest.read_text())
    fp32 = json.loads(fp32_manifest.read_text())
    assert manifest["precision"] == "int8" and manifest["file"] == "tiny-int8.onnx"
    assert hashlib.sha256(int8_manifest.with_suffix(".onnx").read_bytes()).hexdigest() == manifest["sha256"]
    assert manifest["input"] == fp32["input"] and manifest["output"] == fp32["output"]
    assert manifest["faster_variant"]["onnxruntime-cpu-1-thread"] in ("fp32", "int8")
    check = manifest["metrics"]["int8_check"]
    assert check["images"] == 2 and {"miou", "ms", "bytes", "gzip_bytes"} <= check["int8"].keys()
    assert check["int8"]["bytes"] == int8_manifest.with_suffix(".onnx").stat().st_size
    assert manifest["quantization"]["source_sha256"] == fp32["sha256"]


def test_int8_of_a_model_trained_on_every_photo_reports_only_the_agreement_check():
    fp32 = {"metrics": {"held_out_photos": 0, "note": "trained on every labelled photo"}}
    metrics = int8_metrics(fp32, {"miou": 0.9}, {"images": 30})
    assert "val_miou" not in metrics and metrics["held_out_photos"] == 0
    assert metrics["int8_check"] == {"images": 30, "photos_were_trained_on": True}
    assert int8_metrics({"metrics": {"val_miou": 0.8}}, {"miou": 0.9}, {"images": 30})["val_miou"] == 0.9


def test_int8_manifest_names_the_kind_of_quantization(int8_manifest):
    manifest = json.loads(int8_manifest.read_text())
    quantization = manifest["quantization"]
    assert quantization["kind"] == "weight-only int8"
    assert quantization["weights"].startswith("int8 symmetric per output channel")
    assert quantization["activations"] == "fp32" and quantization["arithmetic"] == "fp32"
    assert quantization["biases"] == "fp32" and "DequantizeLinear" in quantization["dequantize"]
    assert "calibration" not in quantization  # nothing is calibrated: the weights alone set the scales
    assert manifest["label"] == "tiny (int8 weights)"  # what the page shows


def test_unknown_mode_is_refused_before_anything_is_written(fp32_manifest, portraits, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="unknown quantization mode 'int4'"):
        quantize(fp32_manifest, "x", out, fast_config(portraits, "int4"))
    assert not out.exists()


def test_command_line_takes_the_mode(fp32_manifest, portraits, tmp_path, capsys):
    args = ["--model", str(fp32_manifest), "--name", "cli-int8", "--out-dir", str(tmp_path), "--data", str(portraits),
            "--eval-count", "1", "--latency-runs", "2"]
    with pytest.raises(SystemExit):
        main([*args, "--mode", "int4"])
    assert main(args) == 0
    assert json.loads((tmp_path / "cli-int8.json").read_text())["quantization"]["kind"] == "weight-only int8"
    assert "gzipped" in capsys.readouterr().out


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
