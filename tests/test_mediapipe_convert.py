"""Tests for model_export/mediapipe_convert.py: the tf2onnx conversion of MediaPipe's models."""
import importlib.util

import numpy as np
import pytest

from model_export import mediapipe_convert, segmenter_onnx

HAVE_TF2ONNX = all(importlib.util.find_spec(m) is not None for m in ("tf2onnx", "tensorflow"))


@pytest.mark.skipif(not HAVE_TF2ONNX, reason="tf2onnx and TensorFlow are not installed (pip install "
                    "tf2onnx==1.17.0 tensorflow-cpu==2.21.0); they convert the MediaPipe .tflite files")
def test_conversion_matches_tflite(tmp_path):
    model = segmenter_onnx.MEDIAPIPE_MODELS["mediapipe-landscape"]
    if not model.tflite_path.is_file():
        pytest.skip(f"{model.tflite_path} missing: run `scripts/setup.sh` (npm ci installs it)")
    import onnx

    out = mediapipe_convert.convert_tflite(model.tflite_path, tmp_path / "landscape.onnx")
    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert "ConvTranspose" in ops and not any(op.startswith("TFL_") for op in ops)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)]
    assert mediapipe_convert.compare_with_tflite(model, images, out) < mediapipe_convert.CONVERSION_TOLERANCE


def test_transpose_conv_params_follow_mediapipe():
    params = mediapipe_convert.TransposeConvParams.from_bytes(bytes([1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]))
    assert params == mediapipe_convert.TransposeConvParams(mediapipe_convert.TFLITE_PADDING_SAME, 2, 2)
    assert params.pads(72, 128, 2, 2) == [0, 0, 0, 0]  # even sizes: output exactly 2x
    # SAME, 3x3 kernel: total padding 2 rows (top 1, bottom 1) and 1 column (all of it at the end).
    assert params.pads(5, 6, 3, 3) == [1, 0, 1, 1]
    assert mediapipe_convert.TransposeConvParams(mediapipe_convert.TFLITE_PADDING_VALID, 2, 2).pads(5, 5, 3, 3) == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        mediapipe_convert.TransposeConvParams.from_bytes(b"\x01\x00")
