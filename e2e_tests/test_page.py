"""The first page in a real Chromium: isolation, the runtime, the camera path and its failures."""
import io

import numpy as np
import pytest
from PIL import Image

from e2e_tests.conftest import QUADRANT_COLOURS, wait_until
from e2e_tests.test_video_background import UPLOADED_CHOICE, colour_video  # noqa: F401  (a fixture)
from webapp.config import DEFAULT_MODEL, DEFAULT_WEBGPU_MODEL

# YUV 4:2:0 round trip plus canvas scaling: colours come back within a few levels.
COLOUR_TOLERANCE = 24  # 8-bit levels per channel
FRAMES_BEFORE_CHECK = 10
# A moved marker changes the middle row by at least this much even blurred (CI saw 53 at the
# strongest blur); a frame that did not change differs by under 10.
MOVED_MARKER_LEVELS = 30  # 8-bit levels
PAGE_TIMEOUT_S = 30
PAGE_TIMEOUT_MS = PAGE_TIMEOUT_S * 1000


def _wait_runtime(page):
    wait_until(page, "window.vbg && window.vbg.runtime !== null", PAGE_TIMEOUT_S)


def _canvas_pixels(page) -> np.ndarray:
    png = page.locator("#output").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _start_camera(page, frames=FRAMES_BEFORE_CHECK):
    page.get_by_role("button", name="Enable camera").click()
    wait_until(page, f"window.vbg.frames > {frames}", PAGE_TIMEOUT_S)


def test_page_is_isolated_and_reports_runtime(server, open_page, quadrant_clip):
    watched = open_page(server.url, clip=quadrant_clip)
    page = watched.page
    _wait_runtime(page)
    assert page.evaluate("crossOriginIsolated") is True
    runtime = page.evaluate("window.vbg.runtime")
    assert runtime["version"] == "1.30.0"
    assert "wasm" in runtime["backends"]
    assert runtime["threads"] >= 1
    page.locator("#status-details > summary").click()  # the technical facts wait behind "Details"
    assert page.locator('[data-status="isolated"]').inner_text() == "yes"
    assert page.locator('[data-status="ort-version"]').inner_text() == "1.30.0"
    assert "wasm" in page.locator('[data-status="backends"]').inner_text()
    # The shipped model loads through its manifest into the segmenter's worker: on WASM the weight-only
    # int8 one, on WebGPU its fp32 twin (webapp/config.py), and Details says which runs.
    model = wait_until(page, "window.vbg.model", PAGE_TIMEOUT_S)
    assert model["backend"] in runtime["backends"]
    if model["backend"] == "wasm":
        assert (model["name"], model["label"], model["precision"]) == (
            DEFAULT_MODEL, "vbg-portrait (int8 weights)", "int8")
    else:
        assert (model["name"], model["label"]) == (DEFAULT_WEBGPU_MODEL, "vbg-portrait (fp32)")
    assert page.locator('[data-status="model"]').inner_text() == f"{model['label']} · {model['backend']}"


def test_camera_frames_reach_the_canvas(server, open_page, quadrant_clip):
    page = open_page(server.url, clip=quadrant_clip).page
    _start_camera(page)
    first = _canvas_pixels(page)
    height, width = first.shape[:2]
    centres = [(height // 4, width // 4), (height // 4, 3 * width // 4),
               (3 * height // 4, width // 4), (3 * height // 4, 3 * width // 4)]
    for (y, x), expected in zip(centres, QUADRANT_COLOURS):
        patch = first[y - 4: y + 4, x - 4: x + 4].reshape(-1, 3).mean(axis=0)
        assert np.abs(patch - expected).max() <= COLOUR_TOLERANCE, (y, x, patch, expected)
    # The marker moves every frame, so a later picture differs along the middle row. The marker
    # sits in what the model calls background, so it arrives blurred: its change is softer than
    # white on colour, but far above the few levels a repeated frame varies by.
    frames = page.evaluate("window.vbg.frames")
    wait_until(page, f"window.vbg.frames > {frames + 5}", PAGE_TIMEOUT_S)
    later = _canvas_pixels(page)
    middle = slice(height // 2 - 4, height // 2 + 4)
    assert np.abs(later[middle].astype(int) - first[middle].astype(int)).max() > MOVED_MARKER_LEVELS
    assert page.locator('[data-status="camera"]').text_content().endswith("fps")


def test_no_request_leaves_the_origin(server, open_page, quadrant_clip, colour_video):
    """The camera running with an uploaded video behind it: the page only fetches from its own
    origin, and sends nothing to it either (no POST, no body, no socket, none of the video's bytes)."""
    watched = open_page(server.url, clip=quadrant_clip)
    _wait_runtime(watched.page)
    _start_camera(watched.page)
    wait_until(watched.page, "window.vbg.model !== null || !document.querySelector('#message').hidden", PAGE_TIMEOUT_S)
    watched.page.locator("#upload-input").set_input_files(colour_video)
    wait_until(watched.page, UPLOADED_CHOICE, PAGE_TIMEOUT_S)
    frames = watched.page.evaluate("window.vbg.frames")
    wait_until(watched.page, f"window.vbg.frames > {frames + FRAMES_BEFORE_CHECK}", PAGE_TIMEOUT_S)
    foreign = [url for url in watched.requests
               if not url.startswith(server.origin + "/") and not url.startswith(("data:", "blob:"))]
    assert watched.requests, "the page made no requests at all"
    assert not foreign, f"requests left the origin: {foreign}"
    watched.assert_nothing_sent(colour_video.read_bytes())


@pytest.mark.parametrize(
    "launch_kwargs, expected_title",
    [
        (dict(camera=True, accept_camera=False), "Camera access was denied."),
        (dict(camera=False, accept_camera=True), "No camera was found."),
    ],
    ids=["denied", "missing"],
)
def test_camera_failure_is_explained(server, open_page, launch_kwargs, expected_title):
    page = open_page(server.url, **launch_kwargs).page
    page.get_by_role("button", name="Enable camera").click()
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    assert expected_title in alert.inner_text()
    assert 'press "Enable camera" again' in alert.inner_text()
    # The user can try again without reloading.
    assert page.get_by_role("button", name="Enable camera").is_enabled()


def test_a_browser_without_webgl_is_told_what_to_do(server, open_page, quadrant_clip):
    """WebGL turned off (a policy, a blocklisted driver): a clear message, never the raw camera."""
    page = open_page(server.url, clip=quadrant_clip, args=["--disable-webgl"]).page
    page.get_by_role("button", name="Enable camera").click()
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    text = alert.inner_text()
    assert "This browser cannot draw the virtual background." in text
    assert "hardware acceleration" in text
    assert page.evaluate("window.vbg.state") == "camera-error"
    assert page.get_by_role("button", name="Enable camera").is_enabled()
