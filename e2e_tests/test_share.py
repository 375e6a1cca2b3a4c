"""Share by link in one real Chromium over loopback: a presenter broadcasts its composited picture
to viewers (who see the chosen background, never the raw room), late joiners get it too, ending
tells everyone; meetings of three see each other, and one who joined without sound turns the microphone on; bad passcodes, unknown rooms and malformed
signalling messages are handled without breaking anyone, and a signal a viewer or participant cannot use (a
candidate nobody can parse) leaves it watching, its state and LIVE badge unchanged."""
import io
import json
import time
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

from e2e_tests.conftest import wait_until
from e2e_tests.network import LOOPBACK_ONLY
from e2e_tests.sharing import (
    BACKGROUND_MAX_DIFF, MEDIA_TIMEOUT_S, MEETING_CONNECTIONS, PAGE_TIMEOUT_S, audio_arrives, background_diff,
    drop_and_rejoin, frames_advance, live_viewers, meeting_with_cameras, present, received_audio_packets,
    remote_picture, sends_track_js,
)

QR_PASSCODE = "blue owl/ü🦉"  # a space, a slash, a 2-byte and a 4-byte character: all must survive the QR code
QR_UPSCALES = (4, 3, 5, 2)  # the 176 px card image, enlarged (nearest) so each module spans several pixels for OpenCV

pytestmark = pytest.mark.skipif(not LOOPBACK_ONLY, reason="WebRTC tests run only in a loopback-only "
                                "network namespace: run scripts/test.sh as root")


def test_viewers_see_the_composited_picture_and_are_told_when_it_ends(server, new_page, share_clip):
    _, masks = share_clip
    presenter, link = present(new_page, server)
    viewers = live_viewers(new_page, presenter, link)
    assert "live to 2 people" in presenter.inner_text("#share-viewers")

    # Only the composited picture leaves: the room behind the person is magenta at every viewer.
    for viewer in viewers:
        diff = background_diff(remote_picture(viewer, "#remote"), masks[0])
        assert diff < BACKGROUND_MAX_DIFF, f"the viewer's background is {diff:.0f} levels from magenta"

    late = new_page(link).page
    wait_until(late, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(late)
    wait_until(presenter, "window.vbg.share.viewers === 3", MEDIA_TIMEOUT_S)

    presenter.get_by_role("button", name="End broadcast").click()
    for viewer in [*viewers, late]:
        wait_until(viewer, "window.vbg.state === 'ended'", MEDIA_TIMEOUT_S)
        assert "ended" in viewer.inner_text("#watch-status")
    gone = presenter.request.get(link.split("#")[0])
    assert gone.status == 404 and "ended" in gone.text()


def test_a_viewer_whose_connection_drops_gets_the_picture_back(server, new_page):
    _, link = present(new_page, server)
    viewer = new_page(link).page
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    drop_and_rejoin(viewer)


def test_passcode_is_required_and_a_wrong_one_is_refused(server, new_page):
    _, link = present(new_page, server, passcode="blue-owl-42")
    wrong = new_page(link).page
    assert wrong.locator("#passcode-form").is_visible()
    wrong.fill("#passcode-input", "red-fox")
    wrong.get_by_role("button", name="Watch").click()
    wait_until(wrong, "window.vbg.state === 'failed'", PAGE_TIMEOUT_S)
    assert "Wrong passcode" in wrong.get_by_role("alert").inner_text()
    assert wrong.locator("#passcode-form").is_visible()
    wrong.fill("#passcode-input", "blue-owl-42")
    wrong.get_by_role("button", name="Watch").click()
    wait_until(wrong, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)


def test_an_unknown_room_gives_a_clear_page(server, new_page):
    for path in ("watch/nosuchroom0000000000000", "meet/nosuchroom0000000000000"):
        page = new_page(server.url + path, expect_errors=True).page
        text = page.inner_text("main")
        assert "has ended or the link is wrong" in text and "Traceback" not in text


def test_a_malformed_signalling_message_does_not_break_the_room(server, new_page):
    presenter, link = present(new_page, server)
    viewer = new_page(link).page
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    room = link.split("/watch/")[1].split("#")[0]
    # A hostile client in the same room: garbage, unknown types, misrouted signals, oversize.
    replies = viewer.evaluate("""async (room) => {
      const socket = new WebSocket(location.origin.replace('http', 'ws') + '/ws');
      const replies = [];
      socket.onmessage = (event) => replies.push(JSON.parse(event.data));
      await new Promise((resolve) => { socket.onopen = resolve; });
      socket.send(JSON.stringify({type: 'join', room, role: 'viewer'}));
      for (const bad of ['not json', '[]', '{"type": "launch-missiles"}', '{"type": "signal", "to": "nobody", "data": {}}',
                         '{"type": "signal", "to": 5, "data": "x"}', 'x'.repeat(200000)]) socket.send(bad);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      socket.close();
      return replies;
    }""", room)
    errors = [reply for reply in replies if reply["type"] == "error"]
    assert len(errors) >= 5, replies
    assert all(error["message"] for error in errors)
    frames_advance(viewer)
    another = new_page(link).page
    wait_until(another, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    assert presenter.evaluate("window.vbg.share.state") == "live"


# On the presenter's page: its link to the viewer sends a candidate no browser can parse, as a buggy or
# foreign presenter might (the event goes through the page's own icecandidate listener, so through signalling).
BAD_CANDIDATE_JS = """(() => {
  const link = [...window.vbg.share.broadcast.viewerLinks.values()][0];
  const candidate = new RTCIceCandidate({candidate: 'candidate:not a candidate', sdpMid: '0', sdpMLineIndex: 0});
  link.pc.dispatchEvent(new RTCPeerConnectionIceEvent('icecandidate', {candidate}));
})()"""


def test_a_signal_the_viewer_cannot_use_leaves_it_watching(server, new_page):
    presenter, link = present(new_page, server)
    viewer = new_page(link).page
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    viewer.evaluate("""() => {
      window.badSignals = 0;
      const add = RTCPeerConnection.prototype.addIceCandidate;
      RTCPeerConnection.prototype.addIceCandidate = function (candidate) {
        if (String(candidate?.candidate).includes('not a candidate')) window.badSignals += 1;
        return add.call(this, candidate);
      };
    }""")
    presenter.evaluate(BAD_CANDIDATE_JS)
    wait_until(viewer, "window.badSignals === 1", MEDIA_TIMEOUT_S)
    time.sleep(0.5)  # the rejection settles
    assert viewer.evaluate("window.vbg.state") == "live"
    assert viewer.is_visible("#watch-live")  # the LIVE badge stays
    frames_advance(viewer)


def test_a_signal_a_participant_cannot_use_leaves_the_meeting_going(server, new_page):
    people = meeting_with_cameras(new_page, server, 2)
    for person in people:
        person.get_by_role("button", name="Join meeting").click()
    for person in people:
        wait_until(person, "window.vbg.meeting.session.links.size === 1", MEDIA_TIMEOUT_S)
    peer = people[1].evaluate("[...window.vbg.meeting.grid.tiles.keys()][0]")
    frames_advance(people[1], f"window.vbg.meeting.grid.tiles.get('{peer}').frames")
    state = people[1].evaluate("window.vbg.meeting.state")
    people[0].evaluate(BAD_CANDIDATE_JS.replace("window.vbg.share.broadcast.viewerLinks", "window.vbg.meeting.session.links"))
    time.sleep(1)  # the signal arrives and its rejection settles
    assert people[1].evaluate("window.vbg.meeting.state") == state
    frames_advance(people[1], f"window.vbg.meeting.grid.tiles.get('{peer}').frames")


def test_meeting_participants_see_each_other_and_a_leaver_disappears(server, new_page):
    people = meeting_with_cameras(new_page, server, 3)  # three pipelines, six video links: the lowest tier keeps up
    for index, person in enumerate(people):
        person.fill("#meeting-name", f"Person {index + 1}")
        person.get_by_role("button", name="Join meeting").click()
    for person in people:
        wait_until(person, "window.vbg.meeting.grid.tiles.size === 2", MEDIA_TIMEOUT_S)
        for peer in person.evaluate("[...window.vbg.meeting.grid.tiles.keys()]"):
            frames_advance(person, f"window.vbg.meeting.grid.tiles.get('{peer}').frames")
    assert "Person 1" in people[1].inner_text("#participant-grid")
    people[0].get_by_role("button", name="Mute").click()
    people[0].get_by_role("button", name="Camera off").click()
    marks = "document.querySelector('#participant-grid').innerText"
    for person in people[1:]:
        wait_until(person, f"{marks}.includes('muted') && {marks}.includes('camera off')", MEDIA_TIMEOUT_S)

    people[2].get_by_role("button", name="Leave").click()
    for person in people[:2]:
        wait_until(person, "window.vbg.meeting.grid.tiles.size === 1", MEDIA_TIMEOUT_S)
    people[1].context.close()  # a crash: no goodbye, the socket just closes
    wait_until(people[0], "window.vbg.meeting.grid.tiles.size === 0", MEDIA_TIMEOUT_S)
    assert "only one here" in people[0].inner_text("#meeting-count")


SILENCE_CHECK_S = 2  # long enough for a few audio packets (20 ms each) to arrive if any are sent


def test_a_participant_who_joined_without_sound_turns_the_microphone_on(server, new_page):
    people = meeting_with_cameras(new_page, server, 2)
    first = people[0]
    first.evaluate("document.getElementById('meeting-microphone').checked = false")
    for index, person in enumerate(people):
        person.fill("#meeting-name", f"Person {index + 1}")
        person.get_by_role("button", name="Join meeting").click()
    for person in people:
        wait_until(person, "window.vbg.meeting.grid.tiles.size === 1", MEDIA_TIMEOUT_S)
    other = people[1]
    marks = "document.querySelector('#participant-grid').innerText"
    wait_until(other, f"{marks}.includes('muted')", MEDIA_TIMEOUT_S)
    assert not first.get_by_role("button", name="Mute").is_visible()
    time.sleep(SILENCE_CHECK_S)
    assert received_audio_packets(other, MEETING_CONNECTIONS) == 0  # nothing is sent for a missing microphone

    first.get_by_role("button", name="Turn on microphone").click()
    wait_until(first, "window.vbg.meeting.microphone !== null", MEDIA_TIMEOUT_S)
    assert first.get_by_role("button", name="Mute").is_visible()
    wait_until(other, f"!{marks}.includes('muted')", MEDIA_TIMEOUT_S)
    audio_arrives(other, MEETING_CONNECTIONS)
    # the microphone itself, not the silence it replaced
    assert first.evaluate(sends_track_js(MEETING_CONNECTIONS, "window.vbg.meeting.microphone"))


def test_viewers_are_told_when_the_server_stops(new_page):
    from tests.server_process import start_server, stop_server

    own_server = start_server()  # this test stops it
    try:
        _, link = present(new_page, own_server)
        viewer = new_page(link).page
        wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    finally:
        stop_server(own_server)  # SIGTERM: graceful, every socket hears why
    wait_until(viewer, "window.vbg.state === 'ended'", MEDIA_TIMEOUT_S)
    assert "server was stopped" in viewer.inner_text("#watch-status")


def test_a_presenter_who_reloads_resumes_the_same_broadcast(server, new_page):
    presenter, link = present(new_page, server)
    viewer = new_page(link).page
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)

    presenter.reload()  # the room waits for its presenter; viewers are told to wait
    wait_until(viewer, "window.vbg.state === 'waiting'", MEDIA_TIMEOUT_S)
    presenter.get_by_role("button", name="Enable camera").click()
    wait_until(presenter, "window.vbg.stats && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    presenter.get_by_role("button", name="Resume sharing").click()
    assert wait_until(presenter, "window.vbg.share.state === 'live' && window.vbg.share.link", PAGE_TIMEOUT_S) == link
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)



def _shown_qr_code(page, not_src: str = "") -> tuple[str, str]:
    """Once the share card shows a loaded QR code (other than `not_src`): its src and its text, read from
    the screen as a phone's camera would."""
    import cv2

    src = wait_until(page, f"""(() => {{
      const img = document.getElementById('share-qr');
      return img.src !== {json.dumps(not_src)} && img.complete && img.naturalWidth > 0 && img.src;
    }})()""", PAGE_TIMEOUT_S)
    picture = np.asarray(Image.open(io.BytesIO(page.locator("#share-qr").screenshot())).convert("L"))
    # Scaled to 176 px, a module is about 4 px with blended edges: back to black and white, then larger.
    _, picture = cv2.threshold(picture, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # OpenCV's finder misses some codes at one scale and reads them at another (the link, so the code,
    # differs every run), as a phone's camera tries again from a little nearer: the first reading counts.
    # Its classic finder alone missed 5 of 150 random links drawn at this size; with the ArUco-based
    # finder as a second reader, none.
    for upscale in QR_UPSCALES:
        larger = cv2.resize(picture, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_NEAREST)
        for reader in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            text, _, _ = reader.detectAndDecode(larger)
            if text:
                return src, text
    return src, ""


def test_the_qr_code_is_drawn_in_the_page_and_holds_the_link(server, new_page):
    presenter, link = present(new_page, server, passcode=QR_PASSCODE)
    asked = []
    presenter.on("request", lambda request: asked.append(request.url))
    src, text = _shown_qr_code(presenter)
    assert src.startswith("data:image/svg+xml,") and text == link and "#" not in link
    assert not [url for url in asked if "/qr" in url], asked  # at most the library's own module
    asked.clear()

    presenter.get_by_role("switch", name="Put the passcode in the link").check()
    with_passcode = wait_until(presenter, "window.vbg.share.link.includes('#') && window.vbg.share.link", PAGE_TIMEOUT_S)
    assert parse_qs(urlsplit(with_passcode).fragment)["passcode"] == [QR_PASSCODE]
    src, text = _shown_qr_code(presenter, not_src=src)
    assert src.startswith("data:image/svg+xml,") and text == with_passcode
    # The link that carries the passcode went nowhere: no request at all since the card showed it.
    assert asked == []
