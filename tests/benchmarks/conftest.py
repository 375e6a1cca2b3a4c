"""Fixtures for the benchmark scripts' tests."""
import importlib.util

import pytest

from model_export.segmenter_onnx import MEDIAPIPE_MODELS

CONVERT_COMMAND = ".venv/bin/vbg teacher convert"
HAVE_TF2ONNX = all(importlib.util.find_spec(m) is not None for m in ("tf2onnx", "tensorflow"))


@pytest.fixture(scope="session")
def mediapipe_peers():
    """The MediaPipe peers as ONNX in build/peers, converted here when missing: no test waits for another to convert them."""
    missing = [model for model in MEDIAPIPE_MODELS.values() if not model.onnx_path.is_file()]
    if not missing:
        return MEDIAPIPE_MODELS
    if not HAVE_TF2ONNX:
        pytest.skip("the MediaPipe peers are not converted and tf2onnx is not installed: run "
                    f"`scripts/setup.sh test,train,convert` (scripts/test.sh does) or `{CONVERT_COMMAND}`")
    for model in missing:
        if not model.tflite_path.is_file():
            pytest.skip(f"{model.tflite_path} is missing: run `scripts/setup.sh` (npm ci installs it)")
    from model_export.mediapipe_convert import convert_mediapipe

    convert_mediapipe()
    return MEDIAPIPE_MODELS
