"""share/webrtc_support.js: a browser without WebRTC is told so on every page that needs it, and loses nothing.

Real browsers with WebRTC really off: Firefox with media.peerconnection.enabled false (what about:config, a
privacy add-on or a company policy does) and WebKitGTK with --enable-webrtc=false (Debian's build has none
anyway). The viewer's page says why at once instead of "Connecting…" forever; "Share by link" explains
instead of opening a room nobody could watch, and the studio goes on; a meeting page says so at once and
"Join meeting" stays off. None of them throws."""
import json
import urllib.request

import pytest

from e2e_tests.conftest import launch_engine_or_skip
from e2e_tests.engines import wait_until
from e2e_tests.engines.studio import PAGE_TIMEOUT_S, WARM_UP_FRAMES, start_studio

MORE_FRAMES = 10  # the studio keeps composing after the refusal
COLOUR_SETTINGS = {"resolution": "640x360", "mode": "colour", "colour": "#ff00ff"}
WATCH_HEADLINE = "This browser cannot play the live picture."
SHARE_HEADLINE = "This browser cannot share live video."
MEET_HEADLINE = "This browser cannot join meetings."
ADVICE_NAMES = "WebRTC"


def _create_room(server, kind: str) -> str:
    """A new room's page URL (what "Share by link" or "Start a meeting" would hand out)."""
    request = urllib.request.Request(f"{server.url}api/rooms", data=json.dumps({"kind": kind}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return server.url.rstrip("/") + json.load(response)["url"]


def _assert_no_errors(page):
    errors = page.errors()
    assert not errors, "the page reported errors:\n" + "\n".join(errors)


@pytest.mark.parametrize("name", ["firefox", "webkit"])
def test_a_viewer_without_webrtc_is_told_so(name, request, display, server):
    link = _create_room(server, "broadcast")
    engine = launch_engine_or_skip(name, display, request, camera=False, webrtc=False)
    try:
        page = engine.open(link)
        assert page.evaluate("typeof RTCPeerConnection") == "undefined"
        wait_until(page, "window.vbg && window.vbg.state === 'unsupported'", PAGE_TIMEOUT_S)
        status = page.evaluate("document.getElementById('watch-status').innerText")
        advice = page.evaluate("document.getElementById('watch-advice').innerText")
        assert status == WATCH_HEADLINE
        assert ADVICE_NAMES in advice
        _assert_no_errors(page)
    finally:
        engine.close()


@pytest.fixture(scope="module")
def firefox_without_webrtc(request, display):
    engine = launch_engine_or_skip("firefox", display, request, webrtc=False)
    yield engine
    engine.close()


def test_a_presenter_without_webrtc_is_told_so_and_keeps_the_studio(firefox_without_webrtc, server):
    page = start_studio(firefox_without_webrtc, server.url, COLOUR_SETTINGS)
    wait_until(page, "!document.getElementById('share-start').disabled", PAGE_TIMEOUT_S)
    page.click("#share-start")
    text = wait_until(page, "document.querySelector('#message [data-topic=\"share\"]')?.innerText", PAGE_TIMEOUT_S)
    assert SHARE_HEADLINE in text and ADVICE_NAMES in text
    assert page.evaluate("window.vbg.share.state") == "idle"
    assert page.evaluate("window.vbg.share.room") is None  # no room was made for nobody to watch
    assert page.evaluate("document.getElementById('share-live').hidden")
    frames = page.evaluate("window.vbg.frames")
    wait_until(page, f"window.vbg.frames > {frames + MORE_FRAMES}", PAGE_TIMEOUT_S)
    _assert_no_errors(page)
    page.close()


def test_a_participant_without_webrtc_is_told_so_and_cannot_join(firefox_without_webrtc, server):
    link = _create_room(server, "meeting")
    page = firefox_without_webrtc.open(link)
    text = wait_until(page, "document.querySelector('#message [data-topic=\"meeting\"]')?.innerText", PAGE_TIMEOUT_S)
    assert MEET_HEADLINE in text and ADVICE_NAMES in text
    page.click("#enable-camera")
    wait_until(page, f"window.vbg.frames > {WARM_UP_FRAMES}", PAGE_TIMEOUT_S)
    assert page.evaluate("document.getElementById('meeting-join').disabled")
    assert page.evaluate("window.vbg.meeting.state") == "idle"
    _assert_no_errors(page)
    page.close()
