"""A presenter who switches to another tab keeps sending: viewers' frames keep arriving at 0.9 of
the rate they had while the tab was visible.

Two ways. Headless Chromium under Playwright never hides a page (every page counts as the active
tab), so the first test plays the part of a hidden tab the way Chromium treats one:
document.visibilityState becomes 'hidden' and requestVideoFrameCallback and requestAnimationFrame
stop calling back until the tab is shown again. The second runs a headed Chromium on a virtual
screen (Xvfb) and really hides the presenter's tab behind another one, with everything Chromium
does to a background tab (it found what the first could not: ticks piling up faster than a
deprioritised hidden tab could draw them, until its main thread never came free). Either way the
page must keep drawing from its worker ticker (static/js/frame_loop.js)."""
import json
import time

import pytest

from e2e_tests.conftest import wait_until
from e2e_tests.headed_chromium import XVFB, HeadedChromium
from e2e_tests.network import LOOPBACK_ONLY
from e2e_tests.sharing import MEDIA_TIMEOUT_S, PAGE_TIMEOUT_S, SETTINGS_KEY, frames_advance, present

MEASURE_S = 6.0  # per window: about 150 frames at the rates seen here
ALTERNATIONS = 2  # visible and hidden windows in turn, so a change in load weighs on both
MIN_HIDDEN_RATIO = 0.9  # the bar: 0.9 of the frame rate while hidden

# Runs before the page's own scripts, through DevTools (the page's CSP does not apply to it).
HIDE_TAB_SCRIPT = """(() => {
  let hidden = false;
  const parked = [];
  const park = (original) => function (callback) {
    return original.call(this, (...args) => (hidden ? parked.push(() => callback(...args)) : callback(...args)));
  };
  HTMLVideoElement.prototype.requestVideoFrameCallback = park(HTMLVideoElement.prototype.requestVideoFrameCallback);
  window.requestAnimationFrame = park(window.requestAnimationFrame);
  Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { get: () => hidden });
  window.__setTabHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event('visibilitychange'));
    if (!hidden) parked.splice(0).forEach((resume) => resume());
  };
})();"""

pytestmark = pytest.mark.skipif(not LOOPBACK_ONLY, reason="WebRTC tests run only in a loopback-only "
                                "network namespace: run scripts/test.sh as root")


def _received_rate(viewer) -> float:
    start = viewer.evaluate("window.vbg.framesReceived")
    time.sleep(MEASURE_S)
    return (viewer.evaluate("window.vbg.framesReceived") - start) / MEASURE_S


def _open_presenter(new_page, server):
    def hiding_page(url, **kwargs):
        return new_page(url, init_script=HIDE_TAB_SCRIPT, **kwargs)
    return present(hiding_page, server)


def test_a_hidden_presenter_tab_keeps_sending_frames(server, new_page):
    presenter, link = _open_presenter(new_page, server)
    viewer = new_page(link).page
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)

    # Visible and hidden windows take turns, so a change in what else the 2 shared cores are doing
    # weighs on both alike (CI once saw one 8 s visible window at 27.4/s, then 23/s for 16 s hidden;
    # rerun here, the hidden presenter drew at the camera's 30/s while viewers got 24-29/s in either
    # phase). A hidden tab that is really throttled stays low in every hidden window.
    visible_rate = hidden_rate = drawn_rate = 0.0
    for _ in range(ALTERNATIONS):
        visible_rate += _received_rate(viewer) / ALTERNATIONS
        presenter.evaluate("window.__setTabHidden(true)")
        assert presenter.evaluate("document.visibilityState") == "hidden"
        drawn_before = presenter.evaluate("window.vbg.frames")
        hidden_rate += _received_rate(viewer) / ALTERNATIONS
        drawn = presenter.evaluate("window.vbg.frames") - drawn_before
        assert drawn > 0, "the presenter stopped drawing while hidden"
        drawn_rate += drawn / MEASURE_S / ALTERNATIONS
        # Still the composited picture, never the raw camera, while hidden.
        assert presenter.evaluate("window.vbg.stats.personVisible")
        presenter.evaluate("window.__setTabHidden(false)")
        frames_advance(viewer)
    assert hidden_rate >= MIN_HIDDEN_RATIO * visible_rate, (
        f"viewer frames fell from {visible_rate:.1f}/s to {hidden_rate:.1f}/s with the presenter's tab hidden "
        f"(the presenter drew {drawn_rate:.1f}/s while hidden)")


@pytest.mark.skipif(XVFB is None, reason="needs Xvfb for a headed Chromium (Debian's xvfb; scripts/test.sh "
                    "installs it as root)")
def test_a_really_hidden_presenter_tab_keeps_sending_frames(server, new_page, share_clip):
    settings = json.dumps({"resolution": "640x360", "mode": "colour", "colour": "#ff00ff"})
    with HeadedChromium(clip=str(share_clip[0])) as chromium:
        presenter = chromium.open_tab(server.url)
        presenter.wait_until("window.vbg.state === 'idle'", PAGE_TIMEOUT_S)
        presenter.evaluate(f"localStorage.setItem({json.dumps(SETTINGS_KEY)}, {json.dumps(settings)})")
        presenter.call("Page.navigate", url=server.url)
        presenter.wait_until("window.vbg.state === 'idle'", PAGE_TIMEOUT_S)
        presenter.evaluate("document.getElementById('enable-camera').click()")
        presenter.wait_until("window.vbg.stats && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
        presenter.wait_until("!document.getElementById('share-start').disabled", PAGE_TIMEOUT_S)
        presenter.evaluate("document.getElementById('share-start').click()")
        link = presenter.wait_until("window.vbg.share.state === 'live' && window.vbg.share.link", PAGE_TIMEOUT_S)
        viewer = new_page(link).page
        wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
        frames_advance(viewer)
        visible_rate = _received_rate(viewer)

        chromium.open_tab(server.url + "healthz")  # the teacher switches to another tab
        presenter.wait_until("document.visibilityState === 'hidden'", PAGE_TIMEOUT_S)
        hidden_rate = _received_rate(viewer)
        # The page still answers at once (a backlog of ticks once kept its main thread busy for good),
        # and still shows the composited picture, never the raw camera.
        assert presenter.evaluate("document.visibilityState") == "hidden"
        assert presenter.evaluate("window.vbg.stats.personVisible")
        assert hidden_rate >= MIN_HIDDEN_RATIO * visible_rate, (
            f"viewer frames fell from {visible_rate:.1f}/s to {hidden_rate:.1f}/s with the presenter's tab hidden")

        chromium.bring_to_front(presenter)
        presenter.wait_until("document.visibilityState === 'visible'", PAGE_TIMEOUT_S)
        frames_advance(viewer)
