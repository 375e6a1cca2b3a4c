"""The core checks in every engine: Debian's chromium, firefox-esr and WebKitGTK (Safari's engine).

No console error; the engine's own fake camera starts and the background is replaced where the segmenter
sees no person (Firefox's and WebKit's fake cameras are synthetic, moving patterns: the colour chosen fills
most of the picture, judged on the median of a few pictures); on a clip with a person (the page's test-only
`?camera=file:` playing a WebM made here from clips/build.py) the person is kept and the background replaced; before the first mask the whole picture is
the privacy blur (`?fault=slow-inference`: no mask ever arrives); a recording is a file or explained; a
refused camera is explained (not in WebKit: see its skip), and so is a test clip that never plays (Chromium); an engine without a camera, one without camera
support (WebKit with media streams off) and one without WebGL2 (truly headless Firefox) are told so; WebKit
without SharedArrayBuffer segments on one thread. One browser per engine for the module; an engine that is
not installed skips with the command that installs it (scripts/test.sh does, as root)."""
import time

import numpy as np
import pytest

from clips.build import ClipSpec, build_clip, parse_script
from e2e_tests.conftest import launch_engine_or_skip
from e2e_tests.engines import ENGINES, wait_until
from e2e_tests.engines.clip_server import CLIPS_URL_PATH, first_frame, serve_with_clips, y4m_to_webm
from e2e_tests.engines.studio import PAGE_TIMEOUT_S, open_studio, start_studio
from e2e_tests.engines.probes import CAPABILITIES_JS, RECORD_JS, picture
from e2e_tests.test_pipeline import PERSON_MAX_MEAN_DIFF, _regions, _sharpness

CLIP_FPS = 30
CLIP_SIZE = (640, 360)  # px, what clips/build.py writes by default
MAGENTA = (255, 0, 255)
COLOUR_MAX_DIFF = 16  # 8-bit levels from magenta over the true background (scaling, colour conversion)
COLOUR_SHARE_MIN = 0.5  # of a fake camera's picture that must be the colour (its pattern holds no person)
PATTERN_PICTURES = 5  # the fake cameras' patterns move (clocks, text): judge the median of this many pictures
PATTERN_PICTURE_GAP_S = 0.5  # between them
PRIVACY_SHARPNESS_RATIO = 0.35  # the privacy blur leaves at most this much of the camera's detail
STALLED_CLIP = "stalled.webm"  # a clip whose request the server never answers
COLOUR_SETTINGS = {"resolution": "640x360", "mode": "colour", "colour": "#ff00ff"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A still person in front of a detailed wallpaper: (webm, (N, H, W) masks, first frame as the
    engines decode it: (H, W, 3) float32, VP8's losses included)."""
    folder = tmp_path_factory.mktemp("engines")
    build_clip(folder / "still", ClipSpec(script=parse_script("still:60")))
    webm = y4m_to_webm(folder / "still.y4m", folder / "still.webm", CLIP_FPS)
    return webm, np.load(folder / "still.masks.npy"), first_frame(webm)


@pytest.fixture(scope="module")
def site(clip, tmp_path_factory):
    """The app's base URL, with the clip served at CLIPS_URL_PATH, and STALLED_CLIP never answered."""
    with serve_with_clips(tmp_path_factory.mktemp("site"), {"still.webm": clip[0]}, stalled=(STALLED_CLIP,)) as url:
        yield url


@pytest.fixture(scope="module", params=ENGINES)
def engine(request, display):
    """One browser per engine for the whole module."""
    running = launch_engine_or_skip(request.param, display, request)
    yield running
    running.close()


def _clip_url(site, query=""):
    return f"{site}?camera=file:{CLIPS_URL_PATH}still.webm{query}"


def _finish(page):
    """Fail on any console error or uncaught exception, then close the page."""
    errors = page.errors()
    page.close()
    assert not errors, "the page reported errors:\n" + "\n".join(errors)


def test_the_engines_fake_camera_starts_and_the_background_is_replaced(engine, site):
    page = start_studio(engine, site, COLOUR_SETTINGS)
    wait_until(page, "window.vbg.stats.segmentations > 2 && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    assert page.evaluate("window.vbg.state") == "running"
    shares = []
    for index in range(PATTERN_PICTURES):
        if index:
            time.sleep(PATTERN_PICTURE_GAP_S)
        output = picture(page, CLIP_SIZE)
        shares.append((np.abs(output - MAGENTA).max(axis=-1) < COLOUR_MAX_DIFF).mean())
    share = float(np.median(shares))
    assert share > COLOUR_SHARE_MIN, (f"only {share:.0%} of {engine.name}'s picture is the chosen colour "
                                      f"(median of {', '.join(f'{s:.0%}' for s in shares)})")
    _finish(page)


def test_the_person_is_kept_and_the_background_replaced(engine, site, clip):
    _, masks, camera = clip
    page = start_studio(engine, _clip_url(site), COLOUR_SETTINGS)
    wait_until(page, "window.vbg.stats.segmentations > 2 && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    output = picture(page, CLIP_SIZE)
    core, background = _regions(masks[0])
    person_diff = np.abs(output[core] - camera[core]).mean()
    assert person_diff < PERSON_MAX_MEAN_DIFF, f"{engine.name}: the person changed by {person_diff:.1f} levels"
    colour_diff = np.abs(output[background].mean(axis=0) - MAGENTA).max()
    assert colour_diff < COLOUR_MAX_DIFF, f"{engine.name}: the background is {colour_diff:.0f} levels from magenta"
    _finish(page)


def test_the_picture_is_the_privacy_blur_before_the_first_mask(engine, site, clip):
    _, masks, camera = clip
    page = start_studio(engine, _clip_url(site, "&fault=slow-inference"), COLOUR_SETTINGS)
    core, _ = _regions(masks[0])
    assert page.evaluate("window.vbg.stats.personVisible") is False
    output = picture(page, CLIP_SIZE)
    for region, name in ((core, "person"), (~core, "room")):
        ratio = _sharpness(output, region) / _sharpness(camera, region)
        assert ratio < PRIVACY_SHARPNESS_RATIO, f"{engine.name} shows {ratio:.0%} of the {name}'s detail"
    _finish(page)


def test_a_camera_clip_that_never_plays_is_explained(request, display, site):
    """The test-only clip camera on a clip that never arrives: it is loaded afresh a few times, then the
    page says so and can be retried, never "starting…" forever. In Chromium only: the retries are the
    page's own code, the same in every engine."""
    browser = launch_engine_or_skip("chromium", display, request)
    try:
        page = open_studio(browser, f"{site}?camera=file:{CLIPS_URL_PATH}{STALLED_CLIP}", COLOUR_SETTINGS)
        page.click("#enable-camera")
        assert page.evaluate("window.vbg.state") == "camera-starting"
        text = _alert(page)
        assert "The test camera clip did not play." in text and "did not start in 3 tries" in text, text
        assert page.evaluate("window.vbg.state") == "camera-error"
        assert page.evaluate("document.getElementById('enable-camera').disabled") is False
        _finish(page)
    finally:
        browser.close()


def _assert_threads_fit(offered):
    """Several WASM threads only with SharedArrayBuffer, and only with a core left for rendering."""
    several = offered["wasmThreads"] and offered["hardwareConcurrency"] > 2
    assert (offered["runtime"]["threads"] > 1) == several, offered


def test_the_page_uses_what_the_engine_offers(engine, site):
    """WASM threads only where SharedArrayBuffer exists; WebGPU only where an adapter does."""
    page = start_studio(engine, site, COLOUR_SETTINGS)
    wait_until(page, "window.vbg.model && window.vbg.stats.segmentations > 0", PAGE_TIMEOUT_S)
    offered = page.evaluate(CAPABILITIES_JS)
    assert offered["webgl2"] and offered["canvasCaptureStream"], offered
    _assert_threads_fit(offered)
    assert ("webgpu" in offered["runtime"]["backends"]) == offered["webgpu"], offered
    _finish(page)


def test_an_engine_without_shared_memory_segments_on_one_thread(request, display, site):
    """WebKitGTK without JSC_useSharedArrayBuffer: cross-origin isolated, yet no SharedArrayBuffer. The
    segmenter copies its buffers through postMessage and runs one WASM thread instead of failing."""
    unshared = launch_engine_or_skip("webkit", display, request, shared_array_buffer=False)
    try:
        page = start_studio(unshared, site, COLOUR_SETTINGS)
        wait_until(page, "window.vbg.model && window.vbg.stats.segmentations > 2", PAGE_TIMEOUT_S)
        offered = page.evaluate(CAPABILITIES_JS)
        assert offered["crossOriginIsolated"] and not offered["wasmThreads"], offered
        assert offered["runtime"]["threads"] == 1, offered
        _finish(page)
    finally:
        unshared.close()


EMPTY_RECORDING_TITLE = "This browser recorded no video."


def test_a_recording_is_a_file_or_explained(engine, site):
    """Never an empty file saved in silence: WebKitGTK's recorder here hands over 0 bytes for every source
    and codec, and the page says so."""
    page = start_studio(engine, site, COLOUR_SETTINGS)
    result = page.evaluate(RECORD_JS)
    assert result.get("size", 0) > 0 or result.get("title") == EMPTY_RECORDING_TITLE, f"{engine.name}: {result}"
    _finish(page)


def _alert(page) -> str:
    return wait_until(page, "!document.getElementById('message').hidden && document.getElementById('message').innerText",
                      PAGE_TIMEOUT_S)


def _assert_camera_error_explained(browser, site, title):
    """Enable camera in `browser` (closed afterwards): the page names the problem `title` and how to retry."""
    try:
        page = open_studio(browser, site, COLOUR_SETTINGS)
        page.click("#enable-camera")
        text = _alert(page)
        assert title in text and 'press "Enable camera" again' in text, text
        assert page.evaluate("window.vbg.state") == "camera-error"
        _finish(page)
    finally:
        browser.close()


@pytest.mark.parametrize("name", ENGINES)
def test_a_refused_camera_is_explained(name, request, display, site):
    if name == "webkit":
        pytest.skip("webkit: nothing here can refuse the camera. An automated WebKitGTK session decides camera "
                    "permission itself (Automation.setSessionPermissions) and WebKitWebDriver 2.50 exposes no "
                    "command for it (no W3C set-permission, no BiDi); a Permissions-Policy: camera=() header "
                    "does not stop getUserMedia in WebKitGTK (measured). The no-camera check runs in WebKit.")
    _assert_camera_error_explained(launch_engine_or_skip(name, display, request, deny_camera=True), site,
                                   "Camera access was denied.")


@pytest.mark.parametrize("name", ENGINES)
def test_an_engine_without_a_camera_is_told_so(name, request, display, site):
    """No fake or mock camera and no real one: chromium without its fake device, Firefox with
    media.navigator.streams.fake off, WebKit without --enable-mock-capture-devices (it rejects with
    OverconstrainedError, Chromium and Firefox with NotFoundError)."""
    _assert_camera_error_explained(launch_engine_or_skip(name, display, request, camera=False), site,
                                   "No camera was found.")


def test_an_engine_without_camera_support_is_told_so(request, display, site):
    """WebKitGTK with media streams off (--enable-media-stream=false) has no navigator.mediaDevices."""
    unsupported = launch_engine_or_skip("webkit", display, request, camera=False, media_stream=False)
    try:
        page = open_studio(unsupported, site, COLOUR_SETTINGS)
        assert page.evaluate("navigator.mediaDevices === undefined") is True
        page.click("#enable-camera")
        text = _alert(page)
        assert "This page cannot use a camera here." in text and "no camera support" in text, text
        assert page.evaluate("window.vbg.state") == "camera-error"
        _finish(page)
    finally:
        unsupported.close()


def test_an_engine_without_webgl2_is_told_so(request, site):
    """Truly headless Firefox has no WebGL at all."""
    headless = launch_engine_or_skip("firefox", None, request, headless=True)
    try:
        page = open_studio(headless, site, COLOUR_SETTINGS)
        assert page.evaluate("Boolean(document.createElement('canvas').getContext('webgl2'))") is False
        page.click("#enable-camera")
        text = _alert(page)
        assert "WebGL2" in text, text
        _finish(page)
    finally:
        headless.close()
