"""Every shipped model runs in onnxruntime-web's WASM backend in Chromium and agrees with
onnxruntime on the CPU (Python) on the same input."""
import json
from pathlib import Path

import numpy as np
import pytest

from e2e_tests.conftest import REPO_ROOT, synthetic_person_image

MODELS_DIR = REPO_ROOT / "static" / "models"
MANIFESTS = sorted(MODELS_DIR.glob("*.json"))
# WASM and the native CPU build share kernels but not every SIMD path; int8 rounding may differ by
# a quantisation step, so int8 is compared on the thresholded mask as well.
FP32_ATOL = 1e-3
INT8_ATOL = 0.08
MIN_MASK_AGREEMENT = 0.99  # fraction of pixels on the same side of 0.5

RUN_IN_BROWSER = """async ({ortBase, modelUrl, input, shape, inputName, outputName}) => {
  const ort = await import(ortBase + 'ort.webgpu.min.mjs');
  ort.env.wasm.wasmPaths = ortBase;
  const session = await ort.InferenceSession.create(modelUrl, {executionProviders: ['wasm']});
  const outputs = await session.run({[inputName]: new ort.Tensor('float32', Float32Array.from(input), shape)});
  const data = Array.from(outputs[outputName].data);
  await session.release();
  return data;
}"""


def _network_input(manifest: dict) -> np.ndarray:
    _, _, height, width = manifest["input"]["shape"]
    pixels = synthetic_person_image(height, width).astype(np.float32) * manifest["input"]["scale"]
    mean, std = np.array(manifest["input"]["mean"]), np.array(manifest["input"]["std"])
    return ((pixels - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)  # (1, 3, H, W)


def test_a_model_is_shipped():
    assert MANIFESTS, f"no model manifest in {MODELS_DIR}"


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_model_runs_in_wasm_like_on_the_cpu(server, open_page, manifest_path: Path):
    ort = pytest.importorskip("onnxruntime", reason="the reference run needs onnxruntime (the train extra)")
    manifest = json.loads(manifest_path.read_text())
    network_input = _network_input(manifest)
    session = ort.InferenceSession(str(MODELS_DIR / manifest["file"]), providers=["CPUExecutionProvider"])
    expected = session.run([manifest["output"]["name"]], {manifest["input"]["name"]: network_input})[0].ravel()

    page = open_page(server.url, camera=False).page
    browser_output = np.array(page.evaluate(RUN_IN_BROWSER, {
        "ortBase": f"{server.url}vendor/onnxruntime-web/1.30.0/",
        "modelUrl": f"{server.url}models/{manifest['sha256']}/{manifest['file']}",
        "input": network_input.ravel().tolist(),
        "shape": manifest["input"]["shape"],
        "inputName": manifest["input"]["name"],
        "outputName": manifest["output"]["name"],
    }), dtype=np.float32)

    assert browser_output.shape == expected.shape
    assert browser_output.min() >= 0 and browser_output.max() <= 1
    atol = INT8_ATOL if manifest["precision"] == "int8" else FP32_ATOL
    np.testing.assert_allclose(browser_output, expected, atol=atol)
    assert np.mean((browser_output > 0.5) == (expected > 0.5)) >= MIN_MASK_AGREEMENT
