"""Shared fixtures: a Flask app on a throwaway models folder, and its test client."""
import json
from pathlib import Path

import pytest

from webapp import create_app
from webapp.config import TestConfig

ONNX_BYTES = b"\x08\x07fake-onnx-bytes-for-routing-tests"


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A models folder holding one manifest and its weights file (routing only; never run)."""
    import hashlib

    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "tiny.onnx").write_bytes(ONNX_BYTES)
    manifest = {
        "file": "tiny.onnx",
        "sha256": hashlib.sha256(ONNX_BYTES).hexdigest(),
        "precision": "fp32",
        "input": {"name": "image", "shape": [1, 3, 144, 256]},
        "output": {"name": "mask", "shape": [1, 1, 144, 256]},
    }
    (folder / "tiny.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def app(models_dir: Path, tmp_path: Path):
    return create_app(TestConfig(model="tiny", models_dir=models_dir, instance_dir=tmp_path / "instance"))


@pytest.fixture
def client(app):
    return app.test_client()
