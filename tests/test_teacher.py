"""Tests for model_export/teacher.py: the tf2onnx conversion, the peers' Segmenter, manifests, soft labels."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from model_export import teacher

HAVE_TF2ONNX = all(importlib.util.find_spec(m) is not None for m in ("tf2onnx", "tensorflow"))
TINY_SHAPE = (1, 3, 16, 32)  # (N, C, H, W) of the hand-made manifest model


def write_tiny_model(folder: Path, name: str = "tiny") -> Path:
    """An ONNX model in our manifest format (person probability = sigmoid of a 1x1 conv); returns the manifest."""
    import onnx
    from onnx import TensorProto, helper

    weights = helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 1, 1], [1.0, -1.0, 0.5])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["logits"]), helper.make_node("Sigmoid", ["logits"], ["mask"])],
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(TINY_SHAPE))],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, *TINY_SHAPE[2:]])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, folder / f"{name}.onnx")
    manifest = {
        "file": f"{name}.onnx",
        "precision": "fp32",
        "input": {"name": "image", "shape": list(TINY_SHAPE), "layout": "NCHW", "color": "RGB", "resize": "stretch",
                  "scale": 1 / 255, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        "output": {"name": "mask", "shape": [1, 1, *TINY_SHAPE[2:]], "activation": "none", "channel": 0},
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(manifest))
    return path


def _peer_or_skip(name: str) -> teacher.Segmenter:
    try:
        return teacher.load_segmenter(name)
    except FileNotFoundError as exc:
        pytest.skip(f"{name} is not available here: {exc}")


@pytest.mark.skipif(not HAVE_TF2ONNX, reason="tf2onnx and TensorFlow are not installed (pip install "
                    "tf2onnx==1.17.0 tensorflow-cpu==2.21.0); they convert the MediaPipe .tflite files")
def test_conversion_matches_tflite(tmp_path):
    model = teacher.MEDIAPIPE_MODELS["mediapipe-landscape"]
    if not model.tflite_path.is_file():
        pytest.skip(f"{model.tflite_path} missing (npm install)")
    import onnx

    out = teacher.convert_tflite(model.tflite_path, tmp_path / "landscape.onnx")
    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert "ConvTranspose" in ops and not any(op.startswith("TFL_") for op in ops)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)]
    assert teacher.compare_with_tflite(model, images, out) < teacher.CONVERSION_TOLERANCE


def test_transpose_conv_params_follow_mediapipe():
    params = teacher.TransposeConvParams.from_bytes(bytes([1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]))
    assert params == teacher.TransposeConvParams(teacher.TFLITE_PADDING_SAME, 2, 2)
    assert params.pads(72, 128, 2, 2) == [0, 0, 0, 0]  # even sizes: output exactly 2x
    # SAME, 3x3 kernel: total padding 2 rows (top 1, bottom 1) and 1 column (all of it at the end).
    assert params.pads(5, 6, 3, 3) == [1, 0, 1, 1]
    assert teacher.TransposeConvParams(teacher.TFLITE_PADDING_VALID, 2, 2).pads(5, 5, 3, 3) == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        teacher.TransposeConvParams.from_bytes(b"\x01\x00")


@pytest.mark.parametrize("name", teacher.PEER_NAMES)
def test_peer_predicts_probability_at_image_size(name):
    segmenter = _peer_or_skip(name)
    image = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    prob = segmenter.predict(image)
    assert segmenter.name == name
    assert prob.shape == (37, 53) and prob.dtype == np.float32
    assert np.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1


def test_manifest_model_runs_with_its_normalisation(tmp_path):
    segmenter = teacher.load_segmenter(write_tiny_model(tmp_path))
    assert segmenter.name == "tiny" and segmenter.params == 3
    image = np.zeros((16, 32, 3), np.uint8)
    image[..., 0] = 255  # red only: x = ((1, 0, 0) - 0.5) / 0.25 = (2, -2, -2)
    prob = segmenter.predict(image)
    expected = 1 / (1 + np.exp(-(2 * 1.0 + -2 * -1.0 + -2 * 0.5)))  # sigmoid(w . x) = sigmoid(3)
    np.testing.assert_allclose(prob, expected, rtol=1e-5)
    assert segmenter.predict(np.zeros((7, 9, 3), np.uint8)).shape == (7, 9)


def test_bad_manifests_name_the_file(tmp_path):
    manifest = write_tiny_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="nothere.json"):
        teacher.load_segmenter(tmp_path / "nothere.json")
    (tmp_path / "tiny.onnx").unlink()
    with pytest.raises(FileNotFoundError, match="tiny.onnx"):
        teacher.load_segmenter(manifest)
    manifest = write_tiny_model(tmp_path)
    stale = json.loads(manifest.read_text()) | {"sha256": "0" * 64}
    manifest.write_text(json.dumps(stale))
    with pytest.raises(ValueError, match="sha256"):
        teacher.load_segmenter(manifest)
    broken = tmp_path / "broken.json"
    broken.write_text('{"file": "x.onnx"}')
    with pytest.raises(ValueError, match="broken.json"):
        teacher.load_segmenter(broken)
    with pytest.raises(ValueError, match="unknown model"):
        teacher.load_segmenter("no-such-peer")


def test_predict_rejects_non_rgb_uint8(tmp_path):
    segmenter = teacher.load_segmenter(write_tiny_model(tmp_path))
    with pytest.raises(ValueError, match="uint8"):
        segmenter.predict(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        segmenter.predict(np.zeros((8, 8), np.uint8))


def test_teacher_probs_is_the_mean_of_both_mediapipe_models():
    for name in teacher.MEDIAPIPE_MODELS:
        _peer_or_skip(name)
    images = np.random.default_rng(2).integers(0, 256, (2, 24, 40, 3), dtype=np.uint8)
    probs = teacher.teacher_probs(images)
    assert probs.shape == (2, 24, 40) and probs.dtype == np.float32
    general, landscape = (teacher.load_segmenter(n) for n in teacher.MEDIAPIPE_MODELS)
    np.testing.assert_allclose(probs[1], (general.predict(images[1]) + landscape.predict(images[1])) / 2, atol=1e-6)
    with pytest.raises(ValueError):
        teacher.teacher_probs(images[0])
