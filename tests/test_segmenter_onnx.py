"""Tests for model_export/segmenter_onnx.py: the peers' Segmenter, our manifests, parameter counts."""
import json
from pathlib import Path

import numpy as np
import pytest

from model_export import segmenter_onnx

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


def _peer_or_skip(name: str) -> segmenter_onnx.Segmenter:
    try:
        return segmenter_onnx.load_segmenter(name)
    except FileNotFoundError as exc:
        pytest.skip(f"{name} is not available here: {exc}; run `.venv/bin/vbg teacher convert` (README, 'The shipped model')")


@pytest.mark.parametrize("name", segmenter_onnx.PEER_NAMES)
def test_peer_predicts_probability_at_image_size(name):
    segmenter = _peer_or_skip(name)
    image = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    prob = segmenter.predict(image)
    assert segmenter.name == name
    assert prob.shape == (37, 53) and prob.dtype == np.float32
    assert np.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1


def test_manifest_model_runs_with_its_normalisation(tmp_path):
    segmenter = segmenter_onnx.load_segmenter(write_tiny_model(tmp_path))
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
        segmenter_onnx.load_segmenter(tmp_path / "nothere.json")
    (tmp_path / "tiny.onnx").unlink()
    with pytest.raises(FileNotFoundError, match="tiny.onnx"):
        segmenter_onnx.load_segmenter(manifest)
    manifest = write_tiny_model(tmp_path)
    stale = json.loads(manifest.read_text()) | {"sha256": "0" * 64}
    manifest.write_text(json.dumps(stale))
    with pytest.raises(ValueError, match="sha256"):
        segmenter_onnx.load_segmenter(manifest)
    broken = tmp_path / "broken.json"
    broken.write_text('{"file": "x.onnx"}')
    with pytest.raises(ValueError, match="broken.json"):
        segmenter_onnx.load_segmenter(broken)
    with pytest.raises(ValueError, match="unknown model"):
        segmenter_onnx.load_segmenter("no-such-peer")


def test_predict_rejects_non_rgb_uint8(tmp_path):
    segmenter = segmenter_onnx.load_segmenter(write_tiny_model(tmp_path))
    with pytest.raises(ValueError, match="uint8"):
        segmenter.predict(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        segmenter.predict(np.zeros((8, 8), np.uint8))
