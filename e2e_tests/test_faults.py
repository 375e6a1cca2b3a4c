"""Injected faults, judged where it matters: at a viewer of the presenter's broadcast. Whatever
breaks, the viewer never sees the raw room; the presenter's page says what happened; and the
picture comes back when the fault clears.

Faults (static/js/segmenter/protocol.js, active only with ?fault= in the page URL): inference that
throws on every call, a segmenter worker that exits or reports an error (and whose replacements then
cannot start), results that arrive late, a corrupt or missing (404) model file; and the WebGL context
lost (WEBGL_lose_context) and restored.

The tests after "faults injected mid-run" inject each fault at the moment it happens in real use, not
from page load: mid-run, on a still person the motion gate skips (the worker idle), after which the
person sways, so a stale silhouette would show the room beside them; a backend switch during motion;
Stop camera with a run in flight. They judge what a viewer receives (the share of the picture showing
the raw room, every check of a few seconds) and, through the presenter's probe (?bench=1), that every
frame composited after the page learned of the failure is the privacy blur."""
import time

import numpy as np
import pytest
from scipy import ndimage

import e2e_tests.test_pipeline as pipeline_tests  # a module, so its tests are not collected twice here
from clips.build import FRAME_CODE_BITS, FRAME_CODE_BLOCK_FRACTION, ClipSpec, build_clip, parse_script
from clips.y4m import read_y4m
from e2e_tests.bench_probe import read_arrays
from e2e_tests.conftest import AUTO_ACCEPT_CAMERA_ARGS, BASE_ARGS, CHROMIUM, CLIP_FPS, FAKE_CAMERA_ARGS, page_opener, wait_until
from e2e_tests.network import LOOPBACK_ONLY, WEBRTC_LOOPBACK_ARGS
from e2e_tests.sharing import MEDIA_TIMEOUT_S, PAGE_TIMEOUT_S, frames_advance, present, remote_picture, start_camera

MAGENTA = (255, 0, 255)
PRIVACY_SHARPNESS_RATIO = 0.35  # the privacy blur leaves at most this much of the room's detail
RECOVERED_MAX_DIFF = 40  # 8-bit levels from magenta once masks flow again (codec, 4:2:0)
CHECKS = 3  # pictures judged while the fault is active
LOST_AGAIN_SETTLE_S = 0.5  # lets the second loss's events run before the restore

pytestmark = pytest.mark.skipif(not LOOPBACK_ONLY, reason="WebRTC tests run only in a loopback-only "
                                "network namespace: run scripts/test.sh as root")


def _start_faulty_presenter(new_page, server, fault):
    """A presenter sharing with FAULT active from the start (the page never gets a good mask)."""
    # A 404 is logged by the browser itself as a console error: expected for that fault only.
    presenter = new_page(server.url, expect_errors=fault == "model-404").page
    presenter.evaluate("localStorage.setItem('vbg.settings.v1', JSON.stringify({resolution: '640x360', mode: 'colour', colour: '#ff00ff'}))")
    presenter.goto(f"{server.url}?fault={fault}")
    presenter.get_by_role("button", name="Enable camera").click()
    wait_until(presenter, "window.vbg.frames > 30", PAGE_TIMEOUT_S)
    presenter.get_by_role("button", name="Share by link").click()
    link = wait_until(presenter, "window.vbg.share.state === 'live' && window.vbg.share.link", PAGE_TIMEOUT_S)
    return presenter, link


def _broadcast_to_one_viewer(new_page, server):
    """A healthy presenter (magenta background) and one viewer receiving moving frames."""
    presenter, link = present(new_page, server)
    viewer = new_page(link).page
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
    return presenter, viewer


def _faulty_broadcast(new_page, server, share_clip, fault):
    """A presenter with FAULT, a live viewer, the clip's first camera frame and its background region."""
    y4m, masks = share_clip
    _, background = pipeline_tests._regions(masks[0])
    presenter, link = _start_faulty_presenter(new_page, server, fault)
    viewer = new_page(link).page
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    return presenter, viewer, pipeline_tests._first_frame(y4m), background


def _assert_no_raw_room(viewer, camera, background):
    for _ in range(CHECKS):
        picture = remote_picture(viewer, "#remote")
        ratio = pipeline_tests._sharpness(picture, background) / pipeline_tests._sharpness(camera, background)
        assert ratio < PRIVACY_SHARPNESS_RATIO, f"the viewer sees {ratio:.0%} of the room's detail"
        frames_advance(viewer, frames=3)


@pytest.mark.parametrize("fault", ["inference-throws", "worker-exits"])
def test_viewers_never_see_the_room_and_the_picture_recovers(server, new_page, share_clip, fault):
    presenter, viewer, camera, background = _faulty_broadcast(new_page, server, share_clip, fault)
    frames_advance(viewer)

    _assert_no_raw_room(viewer, camera, background)
    assert presenter.evaluate("window.vbg.stats.personVisible") is False
    alert = presenter.get_by_role("alert")
    assert alert.is_visible() and alert.inner_text().strip()

    presenter.evaluate("window.vbg.setFault(null)")
    wait_until(presenter, "window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    wait_until(presenter, "document.getElementById('message').hidden", MEDIA_TIMEOUT_S)  # the message goes too
    frames_advance(viewer)
    picture = remote_picture(viewer, "#remote")
    diff = abs(picture[background].mean(axis=0) - MAGENTA).max()
    assert diff < RECOVERED_MAX_DIFF, f"after recovery the viewer's background is {diff:.0f} levels from magenta"


@pytest.mark.parametrize("fault", ["model-corrupt", "model-404"])
def test_a_model_that_cannot_load_keeps_the_viewers_picture_blurred(server, new_page, share_clip, fault):
    presenter, viewer, camera, background = _faulty_broadcast(new_page, server, share_clip, fault)
    _assert_no_raw_room(viewer, camera, background)
    assert "model" in presenter.get_by_role("alert").inner_text().lower()


def test_a_lost_webgl_context_holds_the_picture_and_is_rebuilt(server, new_page, share_clip):
    y4m, masks = share_clip
    camera = pipeline_tests._first_frame(y4m)
    _, background = pipeline_tests._regions(masks[0])
    presenter, viewer = _broadcast_to_one_viewer(new_page, server)

    presenter.evaluate("""() => {
      window.__loseContext = document.getElementById('output').getContext('webgl2').getExtension('WEBGL_lose_context');
      window.__loseContext.loseContext();
    }""")
    wait_until(presenter, "!document.getElementById('message').hidden", MEDIA_TIMEOUT_S)
    assert "graphics" in presenter.get_by_role("alert").inner_text().lower()
    for _ in range(CHECKS):  # held on the last composited frame: magenta, never the room
        picture = remote_picture(viewer, "#remote")
        assert abs(picture[background].mean(axis=0) - MAGENTA).max() < RECOVERED_MAX_DIFF
        assert pipeline_tests._sharpness(picture, background) < PRIVACY_SHARPNESS_RATIO * pipeline_tests._sharpness(camera, background)

    drawn = presenter.evaluate("window.vbg.frames")
    presenter.evaluate("window.__loseContext.restoreContext()")
    wait_until(presenter, f"window.vbg.frames > {drawn + 30} && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    assert presenter.evaluate("document.getElementById('message').hidden")
    frames_advance(viewer)
    picture = remote_picture(viewer, "#remote")
    assert abs(picture[background].mean(axis=0) - MAGENTA).max() < RECOVERED_MAX_DIFF

    # Lost again while its stages are rebuilt: no error escapes, the next restore brings the picture back.
    presenter.evaluate("""() => {
      window.__loseContext.loseContext();
      window.addEventListener('webglcontextrestored', () => window.__loseContext.loseContext(), { capture: true, once: true });
    }""")
    wait_until(presenter, "!document.getElementById('message').hidden", MEDIA_TIMEOUT_S)
    presenter.evaluate("window.__loseContext.restoreContext()")
    wait_until(presenter, "document.getElementById('output').getContext('webgl2').isContextLost()", MEDIA_TIMEOUT_S)
    time.sleep(LOST_AGAIN_SETTLE_S)
    assert "graphics were reset" in presenter.get_by_role("alert").inner_text().lower()
    drawn = presenter.evaluate("window.vbg.frames")
    presenter.evaluate("window.__loseContext.restoreContext()")
    wait_until(presenter, f"window.vbg.frames > {drawn + 30} && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    assert presenter.evaluate("document.getElementById('message').hidden")


def test_an_unplugged_camera_is_reported_and_the_picture_comes_back(server, new_page, share_clip):
    y4m, masks = share_clip
    _, background = pipeline_tests._regions(masks[0])
    presenter, viewer = _broadcast_to_one_viewer(new_page, server)

    # What Chromium does when a camera is unplugged: the track ends and fires 'ended'.
    presenter.evaluate("""() => {
      const track = document.querySelector('video.compare-video').srcObject.getVideoTracks()[0];
      track.stop();
      track.dispatchEvent(new Event('ended'));
    }""")
    wait_until(presenter, "window.vbg.state === 'idle'", MEDIA_TIMEOUT_S)
    assert "camera stopped" in presenter.get_by_role("alert").inner_text().lower()
    # The viewer is told, as for a camera the presenter stopped...
    wait_until(viewer, "window.vbg.paused === 'camera'", MEDIA_TIMEOUT_S)
    assert "paused their camera" in viewer.inner_text("#watch-paused")
    # ...and under the notice the last composited frame is held: magenta, never the room.
    viewer.evaluate("document.getElementById('watch-paused').style.visibility = 'hidden'")
    picture = remote_picture(viewer, "#remote")
    viewer.evaluate("document.getElementById('watch-paused').style.visibility = ''")
    assert abs(picture[background].mean(axis=0) - MAGENTA).max() < RECOVERED_MAX_DIFF

    presenter.get_by_role("button", name="Enable camera").click()
    wait_until(presenter, "window.vbg.state === 'running' && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    wait_until(viewer, "!window.vbg.paused", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
    picture = remote_picture(viewer, "#remote")
    assert abs(picture[background].mean(axis=0) - MAGENTA).max() < RECOVERED_MAX_DIFF


# ---------------------------------------------------------------- faults injected mid-run

STILL_FRAMES, MOVE_FRAMES = 210, 90  # 7 s still (the gate skips, the worker idles), then two sways
MOVING_SCRIPT = f"still:{STILL_FRAMES},move:{MOVE_FRAMES}"
LOOP_FRAMES = STILL_FRAMES + MOVE_FRAMES  # the fake camera plays the clip in a loop
SETTLED_SKIP_RATE = 0.7  # the gate skips ~93% of still frames; above this it has been skipping for a while
MS_PER_S = 1000
INJECT_TIMEOUT_MS = 4 * LOOP_FRAMES * MS_PER_S // CLIP_FPS  # a missed moment comes back once per loop: 4 loops
VIEWER_WATCH_S = 3.0  # the viewer's picture is checked back to back for at least this long
MIN_VIEWER_CHECKS = 5
STALE_RESULT_WAIT_S = 1.0  # after Stop camera: the run in flight (150 ms late by its fault) has answered
MIN_JUDGED_FRAMES = 3  # composited frames that must fall in a window for its check to mean anything

# The raw room at a viewer, as a share of the picture's pixels. A picture that shows the person over the
# magenta background: every pixel that is not magenta but has the room's colour there (the person's
# colours are not the wallpaper's). A picture without magenta, the privacy blur: every pixel whose
# fine detail (luma minus a blur of it) follows the room's own detail around it, where the room has detail.
MAGENTA_TOL = 64  # 8-bit levels from magenta that still count as the background colour (codec, 4:2:0)
PERSON_SHOWN_MAGENTA = 0.3  # share of magenta pixels above which the picture shows the person over the colour
ROOM_COLOUR_TOL = 24  # 8-bit levels: the raw room after the codec
DETAIL_SIGMA_PX = 2.0
WINDOW_SIGMA_PX = 3.0  # the neighbourhood over which detail is compared
ROOM_DETAIL_MIN = 3.0  # RMS room detail in that neighbourhood, 8-bit levels (about half the room has more)
ROOM_MATCH = 0.5  # correlation above which a pixel shows the raw room
# Share of the picture a viewer may see as raw room: a healthy mask's stray pixels stay far below it; the
# old silhouette of a person who swayed by a tenth of the width leaves 3-15% (measured on the old code).
RAW_ROOM_MAX = 0.01
EDGE_MARGIN_PX = 4  # the feathered rim around the person is neither person nor room
BACKGROUND_MARGIN_PX = 16  # around every place the person ever reaches: background in every frame

# Polls the presenter page every few ms until its newest composited frame is clip frame FIRST..LAST-1 and
# the gate's skip rate is at least MIN_SKIP, then sets FAULT in the same task, and from then on records
# when the page counts a failure (window.__faultWatch.failedAt, performance.now() ms).
FAULT_AT_CLIP_FRAME = """([fault, first, last, minSkip, timeoutMs]) => new Promise((resolve, reject) => {
  const started = performance.now();
  const timer = setInterval(() => {
    const records = window.vbg.bench.records, stats = window.vbg.stats;
    const code = records.count ? records.frameCode[records.count - 1] : -1;
    if (code >= first && code < last && stats.skipRate >= minSkip) {
      clearInterval(timer);
      const watch = window.__faultWatch = { failures: stats.failures, setAt: performance.now(), failedAt: null };
      window.vbg.setFault(fault);
      const poll = setInterval(() => {
        if (window.vbg.stats.failures === watch.failures) return;
        watch.failedAt = performance.now();
        clearInterval(poll);
      });
      resolve({ code, skipRate: stats.skipRate });
    } else if (performance.now() - started > timeoutMs) {
      clearInterval(timer);
      reject(new Error(`never at clip frames ${first}-${last - 1} with the gate skipping: frame ${code}, skip rate ${stats.skipRate}`));
    }
  });
})"""

# Resolves once the newest composited frame is clip frame FIRST..LAST-1.
AT_CLIP_FRAME = """([first, last, timeoutMs]) => new Promise((resolve, reject) => {
  const started = performance.now();
  const timer = setInterval(() => {
    const records = window.vbg.bench.records;
    const code = records.count ? records.frameCode[records.count - 1] : -1;
    if (code >= first && code < last) {
      clearInterval(timer);
      resolve(code);
    } else if (performance.now() - started > timeoutMs) {
      clearInterval(timer);
      reject(new Error(`never at clip frames ${first}-${last - 1}: frame ${code}`));
    }
  });
})"""

# During motion (clip frames FIRST..LAST-1), right after a mask arrived and the next run started (the
# gate runs on every moving frame; with delayed-inference its result is 150 ms away), click Stop camera.
STOP_WITH_A_RUN_IN_FLIGHT = """([first, last, timeoutMs]) => new Promise((resolve, reject) => {
  const started = performance.now();
  let masks = window.vbg.stats.segmentations;
  const timer = setInterval(() => {
    const records = window.vbg.bench.records, stats = window.vbg.stats;
    const code = records.count ? records.frameCode[records.count - 1] : -1;
    const fresh = stats.segmentations > masks;
    masks = stats.segmentations;
    if (fresh && stats.gateState === 'segmenting' && code >= first && code < last) {
      clearInterval(timer);
      document.getElementById('stop-camera').click();
      resolve(code);
    } else if (performance.now() - started > timeoutMs) {
      clearInterval(timer);
      reject(new Error(`no run started at clip frames ${first}-${last - 1}: frame ${code}, ${JSON.stringify(stats)}`));
    }
  });
})"""

# When the user picks another backend: the moment (after the page's own change handler ran) and how many
# masks had arrived by then.
RECORD_BACKEND_SWITCH = """() => document.getElementById('backend-select').addEventListener('change', () => {
  window.__backendSwitch = { at: performance.now(), masks: window.vbg.bench.records.maskCount };
}, { once: true })"""


class _Room:
    """The room behind the person in a clip, and how much of a picture shows it raw."""

    def __init__(self, y4m, masks):
        height, width = masks.shape[1:]
        self.colours = np.zeros((height, width, 3), np.float32)
        self.seen = np.zeros((height, width), bool)
        for frame, mask in zip(read_y4m(y4m), masks):
            clear = ~ndimage.binary_dilation(mask > 0, iterations=EDGE_MARGIN_PX) & ~self.seen
            self.colours[clear] = frame[clear]
            self.seen |= clear
        code = round(width * FRAME_CODE_BLOCK_FRACTION)
        self.seen[:code, :FRAME_CODE_BITS * code] = False  # the frame code changes every frame
        self.detail = _detail(self.colours)
        self.energy = ndimage.gaussian_filter(self.detail ** 2, WINDOW_SIGMA_PX)
        self.textured = self.seen & (self.energy >= ROOM_DETAIL_MIN ** 2)
        # Never reached by the person, with a margin: background in every frame.
        self.always_background = ~ndimage.binary_dilation((masks > 0).any(axis=0), iterations=BACKGROUND_MARGIN_PX)
        self.always_background[:code, :FRAME_CODE_BITS * code] = False

    def raw_share(self, picture) -> float:
        """Share of PICTURE's pixels, (H, W, 3), that show the raw room."""
        coloured = np.abs(picture - MAGENTA).max(axis=-1) >= MAGENTA_TOL
        if 1 - coloured.mean() >= PERSON_SHOWN_MAGENTA:
            raw = self.seen & coloured & (np.abs(picture - self.colours).max(axis=-1) < ROOM_COLOUR_TOL)
        else:
            detail = _detail(picture)
            together = ndimage.gaussian_filter(detail * self.detail, WINDOW_SIGMA_PX)
            energy = ndimage.gaussian_filter(detail ** 2, WINDOW_SIGMA_PX)
            raw = self.textured & (together > ROOM_MATCH * np.sqrt(energy * self.energy))
        return float(raw.mean())


def _detail(image):
    """Luma minus its blur: texture, whatever the colours. (H, W) float32."""
    luma = image @ np.array([0.299, 0.587, 0.114], np.float32)
    return luma - ndimage.gaussian_filter(luma, DETAIL_SIGMA_PX)


@pytest.fixture(scope="module")
def still_then_moving(tmp_path_factory):
    """A still person who then sways, each frame carrying its index: (y4m path, _Room)."""
    folder = tmp_path_factory.mktemp("still-then-moving")
    info = build_clip(folder / "clip", ClipSpec(fps=CLIP_FPS, script=parse_script(MOVING_SCRIPT), barcode=True))
    return folder / info.y4m, _Room(folder / info.y4m, np.load(folder / info.masks, mmap_mode="r"))


@pytest.fixture
def moving_page(playwright_driver, still_then_moving):
    """new_page (conftest.py) in a Chromium whose fake camera plays still_then_moving."""
    args = [*BASE_ARGS, *FAKE_CAMERA_ARGS, *AUTO_ACCEPT_CAMERA_ARGS, *WEBRTC_LOOPBACK_ARGS,
            f"--use-file-for-fake-video-capture={still_then_moving[0]}"]
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    try:
        with page_opener(browser) as _open:
            yield _open
    finally:
        browser.close()


def _moving_broadcast(moving_page, server, query, settings=None):
    """A presenter on the still-then-moving clip with QUERY (magenta background unless told), one live viewer."""
    presenter, link = present(moving_page, server, settings=settings, query=query)
    viewer = moving_page(link).page
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
    return presenter, viewer


def _clip_frame(presenter) -> int:
    """The clip frame of the presenter's newest composited frame."""
    return presenter.evaluate("(r => r.count ? r.frameCode[r.count - 1] : -1)(window.vbg.bench.records)")


def _watch_viewer(viewer, room, done=lambda: True) -> list[float]:
    """Raw-room shares of the viewer's picture, checked back to back for VIEWER_WATCH_S at least and until DONE()."""
    shares = []
    deadline = time.monotonic() + VIEWER_WATCH_S
    give_up = deadline + MEDIA_TIMEOUT_S
    while time.monotonic() < deadline or len(shares) < MIN_VIEWER_CHECKS or not done():
        assert time.monotonic() < give_up, f"the moment to stop watching never came ({len(shares)} checks)"
        shares.append(room.raw_share(remote_picture(viewer, "#remote")))
    return shares


def _in_second_sway(presenter) -> bool:
    """The presenter composites the move phase's second half: the person has swayed both ways."""
    return STILL_FRAMES + MOVE_FRAMES // 2 <= _clip_frame(presenter) < LOOP_FRAMES


def _assert_viewer_never_saw_the_room(shares):
    worst = max(shares)
    assert worst < RAW_ROOM_MAX, (f"the viewer saw the raw room in {worst:.0%} of the picture "
                                  f"({sum(s >= RAW_ROOM_MAX for s in shares)} of {len(shares)} checks)")


def _assert_viewer_background_is_magenta(viewer, room):
    """Masks flow again: where the person never goes, the viewer sees the colour."""
    frames_advance(viewer)
    picture = remote_picture(viewer, "#remote")
    diff = abs(picture[room.always_background].mean(axis=0) - MAGENTA).max()
    assert diff < RECOVERED_MAX_DIFF, f"after recovery the viewer's background is {diff:.0f} levels from magenta"


def test_a_worker_error_while_idle_blurs_from_the_next_frame_until_a_replacement_works(server, moving_page, still_then_moving):
    """The worker reports an error while the gate skips a still person, and its replacements cannot start."""
    room = still_then_moving[1]
    presenter, viewer = _moving_broadcast(moving_page, server, "?fault=off&bench=1")

    presenter.evaluate(FAULT_AT_CLIP_FRAME, ["worker-error", STILL_FRAMES // 2, STILL_FRAMES - 2 * CLIP_FPS,
                                             SETTLED_SKIP_RATE, INJECT_TIMEOUT_MS])
    shares = _watch_viewer(viewer, room, lambda: _in_second_sway(presenter))  # the fault stays set meanwhile
    cleared_at = presenter.evaluate("() => { window.vbg.setFault(null); return performance.now(); }")
    watch = presenter.evaluate("window.__faultWatch")
    records = read_arrays(presenter)

    assert watch["failedAt"] is not None, (f"no failure was counted after the worker's error (the viewer "
                                           f"saw the raw room in up to {max(shares):.0%} of the picture)")
    judged = (records["finishedAt"] > watch["failedAt"]) & (records["finishedAt"] < cleared_at)
    assert judged.sum() >= MIN_JUDGED_FRAMES, f"only {judged.sum()} frames composited while the fault was set"
    shown = judged & (records["personVisible"] == 1)
    assert not shown.any(), (f"{shown.sum()} of {judged.sum()} frames composited after the failure showed the person, "
                             f"the first {records['finishedAt'][shown][0] - watch['failedAt']:.0f} ms after it")
    _assert_viewer_never_saw_the_room(shares)

    wait_until(presenter, "window.vbg.stats.personVisible", PAGE_TIMEOUT_S)  # a replacement without the fault
    _assert_viewer_background_is_magenta(viewer, room)


def test_a_worker_dying_silently_while_idle_never_shows_the_room(server, moving_page, still_then_moving):
    """The worker dies at its next run (forced by the gate within 500 ms), just as the person starts to move."""
    room = still_then_moving[1]
    presenter, viewer = _moving_broadcast(moving_page, server, "?fault=off&bench=1")

    presenter.evaluate(FAULT_AT_CLIP_FRAME, ["worker-exits", STILL_FRAMES - CLIP_FPS // 5, STILL_FRAMES,
                                             SETTLED_SKIP_RATE, INJECT_TIMEOUT_MS])
    shares = _watch_viewer(viewer, room, lambda: _in_second_sway(presenter))
    wait_until(presenter, "window.__faultWatch.failedAt !== null", MEDIA_TIMEOUT_S)  # the death was noticed
    _assert_viewer_never_saw_the_room(shares)

    presenter.evaluate("window.vbg.setFault(null)")
    wait_until(presenter, "window.vbg.stats.personVisible", PAGE_TIMEOUT_S)


def test_switching_the_backend_during_motion_blurs_until_the_new_segmenter_answers(server, moving_page, still_then_moving):
    """WASM to Automatic in the settings while the person moves: the model reloads, the old mask is not trusted."""
    room = still_then_moving[1]
    settings = {"mode": "colour", "colour": "#ff00ff", "backend": "wasm"}
    presenter, viewer = _moving_broadcast(moving_page, server, "?bench=1", settings)
    presenter.evaluate(RECORD_BACKEND_SWITCH)
    presenter.locator("#status-details > summary").click()  # the backend picker waits behind "Details"

    presenter.evaluate(AT_CLIP_FRAME, [STILL_FRAMES, STILL_FRAMES + CLIP_FPS // 2, INJECT_TIMEOUT_MS])
    presenter.get_by_label("Inference backend").select_option("auto")
    switch = wait_until(presenter, "window.__backendSwitch", MEDIA_TIMEOUT_S)
    shares = _watch_viewer(viewer, room, lambda: presenter.evaluate(
        f"window.vbg.bench.records.maskCount > {switch['masks']} && window.vbg.stats.personVisible"))
    records = read_arrays(presenter)

    judged = (records["finishedAt"] > switch["at"]) & (records["maskSerial"] < switch["masks"])
    assert judged.sum() >= MIN_JUDGED_FRAMES, f"only {judged.sum()} frames composited while the model reloaded"
    shown = judged & (records["personVisible"] == 1)
    assert not shown.any(), (f"{shown.sum()} of {judged.sum()} frames composited between the switch and the new "
                             f"segmenter's first mask showed the person with an old mask")
    _assert_viewer_never_saw_the_room(shares)


def test_a_mask_in_flight_at_stop_camera_is_never_used_after_enable_camera(server, moving_page):
    """Stop camera while a (late) run is in flight; its result arrives while the camera is off."""
    page = moving_page(server.url).page
    start_camera(page, {"mode": "colour", "colour": "#ff00ff"}, "?fault=delayed-inference&bench=1")

    page.evaluate(STOP_WITH_A_RUN_IN_FLIGHT, [STILL_FRAMES, LOOP_FRAMES, INJECT_TIMEOUT_MS])
    wait_until(page, "window.vbg.state === 'idle'", MEDIA_TIMEOUT_S)
    time.sleep(STALE_RESULT_WAIT_S)
    before = page.evaluate("({ frames: window.vbg.bench.records.count, masks: window.vbg.bench.records.maskCount })")
    page.get_by_role("button", name="Enable camera").click()
    wait_until(page, f"window.vbg.bench.records.maskCount > {before['masks'] + 2} && window.vbg.stats.personVisible",
               PAGE_TIMEOUT_S)
    records = read_arrays(page)

    after = slice(before["frames"], None)
    visible, serial = records["personVisible"][after] == 1, records["maskSerial"][after]
    stale = visible & (serial < before["masks"])
    assert not stale.any(), (f"{stale.sum()} frames after Enable camera showed the person with a mask computed before "
                             f"the restart, from composited frame {np.argmax(stale) + 1} after it")
    assert visible.any(), "the person never came back after Enable camera"
