"""The segmenter (static/js/segmenter/) in a real Chromium: masks that match onnxruntime on the CPU, the
backend choice and its overrides, and every failure a user can meet, with the test-only fault hook.

    .venv/bin/python -m pytest e2e_tests/test_segmenter.py -q
"""
import hashlib
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from e2e_tests.conftest import synthetic_person_image, wait_until
from model_export.paths import PORTRAITS_DIR

PORTRAIT = PORTRAITS_DIR / "images" / "0157.jpg"  # a validation-split portrait (see clips/build.py)
# WASM, WebGPU and the native CPU build sum in different orders (measured here: 1e-7 apart in fp32); int8
# may differ by a quantisation step. The thresholded masks must agree almost everywhere in every case.
FP32_ATOL = 1e-3
INT8_ATOL = 0.08
MIN_MASK_AGREEMENT = 0.99  # fraction of pixels on the same side of 0.5
# A software WebGPU adapter (SwiftShader) takes seconds per run: give it room.
WEBGPU_TIMEOUT_MS = 30_000
# Result timeouts: generous where lateness is not the point (two shared cores here, other tests running),
# short in the fault tests yet well above one run on a loaded machine (p90 ~300 ms seen here).
RESULT_TIMEOUT_MS = 10_000
SHORT_TIMEOUT_MS = 1_000
WEBGPU_ARGS = ["--enable-unsafe-webgpu"]
PAGE_TIMEOUT_S = 60

CONFIG = "() => JSON.parse(document.getElementById('vbg-config').textContent)"

# Creates a segmenter as window.__segmenter (tests drive it step by step) and reports what it chose.
CREATE = """async ({options, manifestPatch}) => {
  const { createSegmenter } = await import('/static/js/segmenter/segmenter.js');
  const { fetchManifest } = await import('/static/js/model_manifest.js');
  const config = JSON.parse(document.getElementById('vbg-config').textContent);
  const manifest = { ...(await fetchManifest(config.modelManifestUrl)), ...manifestPatch };
  window.__failures = [];
  try {
    const segmenter = await createSegmenter({ ortBase: config.ortBase, manifest, ...options });
    segmenter.onfailure = (error) => window.__failures.push({ code: error.code, title: error.title, advice: error.advice });
    window.__segmenter = segmenter;
    return {
      ok: true, backend: segmenter.backend, choice: segmenter.choice, available: segmenter.available,
      shared: segmenter.input.buffer instanceof SharedArrayBuffer, inputLength: segmenter.input.length,
      busy: segmenter.busy, hasSetFault: typeof segmenter.setFault === 'function',
    };
  } catch (error) {
    return { ok: false, name: error.name, code: error.code, title: error.title, advice: error.advice, detail: error.detail };
  }
}"""

# One run on `input` (or on whatever is in segmenter.input); the mask comes back as a list.
RUN = """async ({input, frameId}) => {
  const segmenter = window.__segmenter;
  if (input) segmenter.input.set(input);
  try {
    const result = await segmenter.run(frameId);
    return { ok: true, frameId: result.frameId, mask: Array.from(result.mask), inferenceMs: result.inferenceMs,
             totalMs: result.totalMs, shared: result.mask.buffer instanceof SharedArrayBuffer, busy: segmenter.busy };
  } catch (error) {
    return { ok: false, name: error.name, code: error.code, title: error.title, advice: error.advice, busy: segmenter.busy };
  }
}"""


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        return response.read()


def _photo(height: int, width: int) -> np.ndarray:
    """A real portrait when the shared data is here, else a person-like drawing: (H, W, 3) uint8."""
    if PORTRAIT.is_file():
        return np.asarray(Image.open(PORTRAIT).convert("RGB").resize((width, height), Image.BILINEAR))
    return synthetic_person_image(height, width)


@pytest.fixture(scope="module")
def model(server):
    """The served model: manifest, a preprocessed photo (1, 3, H, W) and onnxruntime's mask for it."""
    ort = pytest.importorskip("onnxruntime", reason="the reference run needs onnxruntime (the train extra)")
    from webapp.config import Config

    name = Config.from_env().model
    try:
        manifest = json.loads(_fetch(f"{server.url}models/{name}.json"))
    except urllib.error.HTTPError as error:
        pytest.skip(f"no model {name!r} installed ({error}); export one, or set VBG_MODELS_DIR")
    weights = _fetch(f"{server.url}models/{manifest['sha256']}/{manifest['file']}")
    spec = manifest["input"]
    _, _, height, width = spec["shape"]
    pixels = _photo(height, width).astype(np.float32) * spec["scale"]
    network_input = ((pixels - np.array(spec["mean"])) / np.array(spec["std"])).transpose(2, 0, 1)[None]
    network_input = np.ascontiguousarray(network_input, dtype=np.float32)
    session = ort.InferenceSession(weights, providers=["CPUExecutionProvider"])
    expected = session.run([manifest["output"]["name"]], {spec["name"]: network_input})[0]
    channel = manifest["output"].get("channel", 0)
    return {"manifest": manifest, "input": network_input.ravel().tolist(),
            "expected": expected[0, channel].ravel(), "pixels": height * width}


def _create(page, options=None, manifest_patch=None):
    options = {"resultTimeoutMs": RESULT_TIMEOUT_MS, **(options or {})}
    return page.evaluate(CREATE, {"options": options, "manifestPatch": manifest_patch or {}})


def _run(page, input_=None, frame_id=1):
    return page.evaluate(RUN, {"input": input_, "frameId": frame_id})


def _assert_matches(result, model, atol):
    mask = np.array(result["mask"], dtype=np.float32)
    assert mask.shape == (model["pixels"],)
    assert mask.min() >= 0 and mask.max() <= 1
    expected = model["expected"]
    np.testing.assert_allclose(mask, expected, atol=atol)
    assert np.mean((mask > 0.5) == (expected > 0.5)) >= MIN_MASK_AGREEMENT


def _atol(model):
    return INT8_ATOL if model["manifest"]["precision"] == "int8" else FP32_ATOL


@pytest.mark.parametrize("share_memory", [True, False], ids=["shared-memory", "copied"])
def test_mask_of_a_photo_matches_onnxruntime(server, open_page, model, share_memory):
    page = open_page(server.url, camera=False).page
    created = _create(page, {"shareMemory": share_memory})
    assert created["ok"], created
    assert created["backend"] == "wasm" and created["available"] == ["wasm"]
    assert created["choice"]["reason"] == "only-option"
    assert created["choice"]["timings"]["wasm"] > 0
    assert created["shared"] is share_memory and created["inputLength"] == 3 * model["pixels"]
    assert not created["busy"] and not created["hasSetFault"], "the fault hook must be off without ?fault="

    first = _run(page, model["input"], frame_id=7)
    assert first["ok"], first
    assert first["frameId"] == 7 and first["shared"] is share_memory and not first["busy"]
    assert 0 < first["inferenceMs"] <= first["totalMs"]
    _assert_matches(first, model, _atol(model))
    # The next run reads the same input again and writes the other mask buffer.
    second = _run(page, None, frame_id=8)
    assert second["ok"] and second["frameId"] == 8
    _assert_matches(second, model, _atol(model))
    assert page.evaluate("window.__failures") == []


def test_a_second_run_while_busy_or_disposed_throws_at_once(server, open_page, model):
    page = open_page(server.url, camera=False).page
    assert _create(page)["ok"]
    outcome = page.evaluate("""async () => {
      const segmenter = window.__segmenter;
      const first = segmenter.run(1);
      const busy = segmenter.busy;
      let thrown = null;
      try { segmenter.run(2); } catch (error) { thrown = { name: error.name, code: error.code, title: error.title }; }
      const result = await first;
      const busyAfter = segmenter.busy;
      segmenter.dispose();
      let disposed = null;
      try { segmenter.run(3); } catch (error) { disposed = error.code; }
      return { busy, thrown, frameId: result.frameId, busyAfter, disposed };
    }""")
    assert outcome["busy"] is True
    assert outcome["thrown"] == {"name": "SegmenterError", "code": "busy",
                                 "title": "Segmentation is still working on the previous frame."}
    assert outcome["frameId"] == 1 and outcome["busyAfter"] is False
    assert outcome["disposed"] == "disposed"


def test_backend_plan_rules(server, open_page):
    """The choice rules on cases this machine cannot produce (a real GPU), straight from the module."""
    page = open_page(server.url, camera=False).page
    plans = page.evaluate("""async () => {
      const { planBackend, fastest } = await import('/static/js/segmenter/backend_choice.js');
      const both = ['wasm', 'webgpu'];
      return {
        auto: planBackend({ requested: 'auto', urlBackend: null, available: both }),
        software: planBackend({ requested: 'auto', urlBackend: null, available: both, softwareWebgpu: true }),
        user: planBackend({ requested: 'webgpu', urlBackend: null, available: both }),
        url: planBackend({ requested: 'webgpu', urlBackend: 'wasm', available: both }),
        missing: planBackend({ requested: 'webgpu', urlBackend: null, available: ['wasm'] }),
        fastest: fastest({ wasm: 12.5, webgpu: 4.1 }),
      };
    }""")
    assert plans["auto"] == {"candidates": ["wasm", "webgpu"], "reason": "measured", "unavailable": None, "skipped": {}}
    assert plans["software"]["candidates"] == ["wasm"] and plans["software"]["reason"] == "only-option"
    assert plans["user"]["candidates"] == ["webgpu"] and plans["user"]["reason"] == "user"
    assert plans["url"]["candidates"] == ["wasm"] and plans["url"]["reason"] == "url"
    assert plans["missing"] == {"candidates": ["wasm"], "reason": "only-option", "unavailable": "webgpu", "skipped": {}}
    assert plans["fastest"] == "webgpu"


def test_url_overrides_the_backend(server, open_page, model):
    watched = open_page(f"{server.url}?backend=wasm", camera=False)
    created = _create(watched.page, {"backend": "webgpu"})  # the URL beats the caller's setting
    assert created["ok"] and created["backend"] == "wasm"
    assert created["choice"]["reason"] == "url" and created["choice"]["timings"]["wasm"] > 0
    # Asking for WebGPU where there is no adapter falls back to WASM and says so.
    watched.page.goto(f"{server.url}?backend=webgpu")
    created = _create(watched.page)
    assert created["ok"] and created["backend"] == "wasm"
    assert created["choice"]["reason"] == "only-option" and created["choice"]["unavailable"] == "webgpu"
    # The caller's (UI) setting, without a URL override.
    watched.page.goto(server.url)
    created = _create(watched.page, {"backend": "wasm"})
    assert created["ok"] and created["choice"]["reason"] == "user"


def test_auto_leaves_a_software_webgpu_adapter_out(server, open_page, model):
    page = open_page(server.url, camera=False, args=WEBGPU_ARGS).page
    created = _create(page)
    assert created["ok"], created
    if "webgpu" not in created["available"]:
        pytest.skip("this Chromium offers no WebGPU adapter even with --enable-unsafe-webgpu")
    if created["choice"]["reason"] == "measured":  # a real GPU: both were timed and the faster won
        timings = created["choice"]["timings"]
        assert created["backend"] == min(timings, key=timings.get)
    else:
        assert created["backend"] == "wasm" and created["choice"]["reason"] == "only-option"
        assert "software" in created["choice"]["skipped"]["webgpu"]


def test_webgpu_from_the_url_then_device_loss_then_switch_to_wasm(server, open_page, model):
    page = open_page(f"{server.url}?backend=webgpu&fault=off", camera=False, args=WEBGPU_ARGS).page
    created = _create(page, {"resultTimeoutMs": WEBGPU_TIMEOUT_MS})
    assert created["ok"], created
    if "webgpu" not in created["available"]:
        pytest.skip("this Chromium offers no WebGPU adapter even with --enable-unsafe-webgpu")
    assert created["backend"] == "webgpu" and created["choice"]["reason"] == "url"
    assert created["choice"]["timings"]["webgpu"] > 0
    result = _run(page, model["input"])
    assert result["ok"], result
    _assert_matches(result, model, _atol(model))

    # The device goes away while idle: the caller hears of it (to fail closed), runs reject.
    page.evaluate("window.__segmenter.setFault('device-lost')")
    failures = wait_until(page, "window.__failures.length > 0 && window.__failures", PAGE_TIMEOUT_S)
    assert failures[0]["code"] == "device-lost" and "graphics device" in failures[0]["title"]
    assert _run(page)["code"] == "device-lost"

    # Switching to WASM restarts the worker; the choice says the user picked it.
    state = page.evaluate("""async () => {
      await window.__segmenter.switchBackend('wasm');
      return { backend: window.__segmenter.backend, choice: window.__segmenter.choice };
    }""")
    assert state["backend"] == "wasm" and state["choice"]["reason"] == "user"
    assert state["choice"]["timings"]["wasm"] > 0
    result = _run(page, model["input"])
    assert result["ok"], result
    _assert_matches(result, model, _atol(model))


def _only_missing_resources(watched):
    """The page may log the failed download itself, nothing else."""
    others = [e for e in watched.console_errors + watched.page_errors if "Failed to load resource" not in e]
    assert not others, others


def test_a_missing_or_corrupt_model_or_runtime_gives_a_clear_error(server, open_page, model):
    watched = open_page(server.url, camera=False, expect_errors=True)
    page = watched.page
    manifest = model["manifest"]

    missing = _create(page, manifest_patch={"url": f"{server.url}models/{manifest['sha256']}/missing.onnx"})
    assert not missing["ok"] and missing["name"] == "SegmenterError" and missing["code"] == "model-missing"
    assert missing["title"] == "The segmentation model is missing on the server."
    assert "setup command" in missing["advice"] and "404" in missing["detail"]

    damaged = _create(page, manifest_patch={"sha256": "0" * 64})
    assert not damaged["ok"] and damaged["code"] == "model-damaged"
    assert damaged["title"] == "The segmentation model file is damaged."

    # Bytes that match their hash but are no model (the stylesheet): the runtime itself rejects them.
    stylesheet = f"{server.url}static/css/app.css"
    rejected = _create(page, manifest_patch={"url": stylesheet, "sha256": hashlib.sha256(_fetch(stylesheet)).hexdigest()})
    assert not rejected["ok"] and rejected["code"] == "model-rejected"
    assert rejected["title"] == "The segmentation model could not be opened."

    no_runtime = _create(page, {"ortBase": f"{server.url}vendor/onnxruntime-web/0.0.0/"})
    assert not no_runtime["ok"] and no_runtime["code"] == "runtime-missing"
    assert no_runtime["title"] == "The segmentation runtime did not load."

    # The fault hook produces the same failures from the real model URL, for the page's own tests.
    for fault, code in (("model-404", "model-missing"), ("model-corrupt", "model-damaged")):
        page.goto(f"{server.url}?fault={fault}")
        assert _create(page)["code"] == code
    _only_missing_resources(watched)


def test_inference_that_throws_rejects_every_run_then_recovers(server, open_page, model):
    page = open_page(f"{server.url}?fault=inference-throws", camera=False).page
    created = _create(page)
    assert created["ok"] and created["hasSetFault"]
    for frame_id in range(3):
        result = _run(page, model["input"], frame_id)
        assert not result["ok"] and result["code"] == "inference-failed" and not result["busy"]
        assert result["title"] == "Segmentation failed."
    page.evaluate("window.__segmenter.setFault(null)")
    result = _run(page, model["input"])
    assert result["ok"], result
    _assert_matches(result, model, _atol(model))
    assert page.evaluate("window.__failures") == []  # a failed run is not a dead worker


def test_a_late_result_rejects_the_run_and_the_worker_stays(server, open_page, model):
    page = open_page(f"{server.url}?fault=slow-inference", camera=False).page
    assert _create(page, {"resultTimeoutMs": SHORT_TIMEOUT_MS})["ok"]
    late = page.evaluate("""async () => {
      const segmenter = window.__segmenter;
      const started = performance.now();
      try { await segmenter.run(1); return { ok: true }; } catch (error) {
        return { code: error.code, title: error.title, afterMs: performance.now() - started, busy: segmenter.busy };
      }
    }""")
    assert late["code"] == "late" and late["title"] == "Segmentation is running late."
    assert late["afterMs"] >= SHORT_TIMEOUT_MS
    assert late["busy"] is True, "the worker still owns the input until its late answer arrives"
    wait_until(page, "!window.__segmenter.busy", PAGE_TIMEOUT_S)
    page.evaluate("window.__segmenter.setFault(null)")
    result = _run(page, model["input"])
    assert result["ok"], result
    _assert_matches(result, model, _atol(model))
    assert page.evaluate("window.__failures") == []


def test_a_worker_that_dies_mid_run_rejects_it_and_reports_failure(server, open_page, model):
    page = open_page(f"{server.url}?fault=off", camera=False).page
    assert _create(page, {"resultTimeoutMs": SHORT_TIMEOUT_MS})["ok"]
    page.evaluate("window.__segmenter.setFault('worker-exits')")
    pending = _run(page, model["input"])
    assert not pending["ok"] and pending["code"] == "late"
    failures = wait_until(page, "window.__failures.length > 0 && window.__failures", PAGE_TIMEOUT_S)
    assert [f["code"] for f in failures] == ["worker-died"]
    assert failures[0]["title"] == "Segmentation stopped."
    after = _run(page, model["input"])
    assert not after["ok"] and after["code"] == "worker-died" and not after["busy"]
    # Once the fault clears, switching backend (to the same one) starts a fresh worker.
    page.evaluate("window.__segmenter.setFault(null)")
    page.evaluate("window.__segmenter.switchBackend('wasm')")
    result = _run(page, model["input"])
    assert result["ok"], result
    _assert_matches(result, model, _atol(model))
