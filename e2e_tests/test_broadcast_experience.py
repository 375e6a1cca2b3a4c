"""The broadcast as a teacher and students meet it, in one real Chromium over loopback: the LIVE badge and
"You're live to N people", muting the microphone while live, the viewer told within seconds that the
presenter paused their camera (and the notice gone when it is back), the microphone turned on while live
by a presenter who started without it, "Tap for sound" and a labelled
mute toggle, a retryable passcode (spaces and emoji included), a readable and copyable link, a link
pasted with trailing characters, a viewer who arrives before the presenter, and what is left after the end.

Run: unshare -n sh -c 'ip link set lo up && .venv/bin/python -m pytest e2e_tests/test_broadcast_experience.py -q'
(phone screenshots of the viewer page land in pytest's tmp_path)."""
import json

import pytest

from e2e_tests.conftest import wait_until
from e2e_tests.network import LOOPBACK_ONLY
from e2e_tests.sharing import (
    MEDIA_TIMEOUT_S, PAGE_TIMEOUT_S, audio_arrives, frames_advance, present, sent_audio, sent_audio_once_heard,
    start_camera,
)

PHONE = {"width": 390, "height": 844}
# The presenter's pause reaches the viewer over the room socket: a few seconds at most, even on a busy machine.
PAUSE_NOTICE_S = 5
# Without that message (a camera that simply stops sending), the viewer notices missing frames:
# frame_watch.js STALL_MS (3 s) plus its check interval, with room for a busy machine.
FROZEN_NOTICE_S = 8
PASSCODE = "  blue owl 🦉 "  # spaces around it (trimmed on both sides), an emoji in it
RESUME_KEY = "vbg.share.v1"  # share_panel.js: the open broadcast a reloaded presenter resumes

pytestmark = pytest.mark.skipif(not LOOPBACK_ONLY, reason="WebRTC tests run only in a loopback-only "
                                "network namespace: run scripts/test.sh as root")


def _visible(page, selector) -> bool:
    return page.locator(selector).is_visible()


def _live_viewer(new_page, link, phone=True):
    viewer = new_page(link).page
    if phone:
        viewer.set_viewport_size(PHONE)
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
    return viewer


def test_live_badge_mute_tap_for_sound_and_the_end(server, new_page, tmp_path):
    presenter, link = present(new_page, server)
    viewer = _live_viewer(new_page, link)
    wait_until(presenter, "window.vbg.share.viewers === 1", MEDIA_TIMEOUT_S)

    # The teacher: LIVE on the preview, "You're live to 1 person", a microphone switch that works while live.
    assert _visible(presenter, "#share-live-badge") and "live" in presenter.inner_text("#share-live-badge").lower()
    assert "You're live to 1 person" in presenter.inner_text("#share-viewers")
    mute = presenter.get_by_role("button", name="Mute microphone")
    assert mute.is_visible() and presenter.evaluate("window.vbg.share.microphone.enabled")
    mute.click()
    unmute = presenter.get_by_role("button", name="Unmute microphone")
    assert unmute.get_attribute("aria-pressed") == "true"
    assert presenter.evaluate("window.vbg.share.microphone.enabled") is False  # the track sends silence
    wait_until(viewer, "window.vbg.presenter.muted", PAUSE_NOTICE_S)
    assert "microphone off" in viewer.inner_text("#watch-live")
    unmute.click()
    assert presenter.evaluate("window.vbg.share.microphone.enabled")
    wait_until(viewer, "!window.vbg.presenter.muted", PAUSE_NOTICE_S)

    # The student: LIVE and the presenter named, sound off until a tap, then a labelled toggle both ways.
    assert _visible(viewer, "#watch-live") and "Presenter" in viewer.inner_text("#watch-live")
    assert viewer.evaluate("document.getElementById('remote').muted")
    tap = viewer.get_by_role("button", name="Tap for sound")
    assert tap.is_visible()
    viewer.screenshot(path=tmp_path / "viewer-phone-live.png")
    tap.click()
    assert viewer.evaluate("document.getElementById('remote').muted") is False and not tap.is_visible()
    viewer.get_by_role("button", name="Mute", exact=True).click()
    assert viewer.evaluate("document.getElementById('remote').muted")
    viewer.get_by_role("button", name="Unmute", exact=True).click()
    assert viewer.evaluate("document.getElementById('remote').muted") is False

    # The presenter stops the camera: the viewer is told at once, the teacher's card says what viewers see.
    presenter.get_by_role("button", name="Stop camera").click()
    wait_until(viewer, "window.vbg.paused === 'camera'", PAUSE_NOTICE_S)
    assert "The presenter paused their camera" in viewer.inner_text("#watch-paused")
    assert "paused their camera" in presenter.inner_text("#share-viewers-see")
    assert "camera paused" in presenter.inner_text("#share-live-badge").lower()
    viewer.screenshot(path=tmp_path / "viewer-phone-paused.png")
    presenter.get_by_role("button", name="Enable camera").click()
    wait_until(viewer, "window.vbg.paused === null", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
    assert not _visible(viewer, "#watch-paused")
    assert presenter.inner_text("#share-viewers-see").startswith("Viewers see your picture")

    presenter.get_by_role("button", name="End broadcast").click()
    wait_until(viewer, "window.vbg.state === 'ended'", MEDIA_TIMEOUT_S)
    assert "The broadcast has ended." in viewer.inner_text("#watch-status")
    for gone in ("#watch-live", "#tap-for-sound", "#sound", "#fullscreen", "#watch-paused"):
        assert not _visible(viewer, gone), f"{gone} is still shown after the end"
    assert not _visible(presenter, "#share-live-badge")
    viewer.screenshot(path=tmp_path / "viewer-phone-ended.png")


def test_a_presenter_who_started_without_sound_turns_the_microphone_on_while_live(server, new_page):
    """Silence goes out in the microphone's place, so turning it on later reaches the viewers already
    watching and those who join after, with no new link and no renegotiation."""
    presenter, link = present(new_page, server, microphone=False)
    viewer = _live_viewer(new_page, link, phone=False)
    wait_until(viewer, "window.vbg.presenter.muted", PAUSE_NOTICE_S)
    assert "microphone off" in viewer.inner_text("#watch-live")
    assert not _visible(viewer, "#tap-for-sound")  # nothing to tap for yet; the sound toggle stays
    assert _visible(viewer, "#sound")
    assert "without sound" in presenter.inner_text("#share-viewers-see")
    assert not presenter.get_by_role("button", name="Mute microphone").is_visible()
    before = sent_audio(presenter)
    assert before["links"] == 1 and before["energy"] == 0 and not before["sendsMicrophone"], before

    presenter.get_by_role("button", name="Turn on microphone").click()
    wait_until(presenter, "window.vbg.share.microphone !== null", PAUSE_NOTICE_S)
    wait_until(viewer, "!window.vbg.presenter.muted", PAUSE_NOTICE_S)
    assert "microphone off" not in viewer.inner_text("#watch-live")
    assert _visible(viewer, "#tap-for-sound")  # now there is sound to tap for
    assert presenter.get_by_role("button", name="Mute microphone").is_visible()
    assert not presenter.get_by_role("button", name="Turn on microphone").is_visible()
    wait_until(presenter, "window.vbg.share.silence === null", PAUSE_NOTICE_S)
    late = _live_viewer(new_page, link, phone=False)  # joins after: gets the microphone too
    wait_until(presenter, "window.vbg.share.viewers === 2", MEDIA_TIMEOUT_S)
    frames_advance(viewer)  # the first viewer's picture never stopped
    after = sent_audio_once_heard(presenter)
    assert after["links"] == 2 and after["energy"] > 0 and after["sendsMicrophone"], after
    for each in (viewer, late):
        audio_arrives(each)
    assert not late.evaluate("window.vbg.presenter.muted")


def test_a_camera_that_stops_sending_is_noticed_from_the_frames(server, new_page):
    presenter, link = present(new_page, server)
    viewer = _live_viewer(new_page, link, phone=False)
    # The presenter page says nothing (as with a crashed capture): only the missing frames tell.
    presenter.evaluate("window.vbg.share.broadcast.setState = () => {}")
    presenter.get_by_role("button", name="Stop camera").click()
    wait_until(viewer, "window.vbg.paused === 'frozen'", FROZEN_NOTICE_S)
    assert "The picture has stopped" in viewer.inner_text("#watch-paused")
    presenter.get_by_role("button", name="Enable camera").click()
    wait_until(viewer, "window.vbg.paused === null", MEDIA_TIMEOUT_S)


def test_a_wrong_passcode_can_be_retried_and_the_owner_sees_theirs(server, new_page, tmp_path):
    presenter, link = present(new_page, server, passcode=PASSCODE)
    typed = PASSCODE.strip()
    # The teacher sees the passcode they set, hidden until asked.
    assert typed not in presenter.inner_text("#share-passcode-row")
    presenter.get_by_role("button", name="Show passcode").click()
    assert presenter.inner_text("#share-passcode-value") == typed
    presenter.get_by_role("button", name="Hide passcode").click()
    assert typed not in presenter.inner_text("#share-passcode-row")

    # A student pastes the link with the full stop that ended the teacher's sentence.
    viewer = new_page(link + ".").page
    viewer.set_viewport_size(PHONE)
    assert viewer.url == link
    field = viewer.locator("#passcode-input")
    assert field.is_visible() and "You are watching" not in viewer.inner_text("main")
    field.fill("blue owl 🐺")
    viewer.get_by_role("button", name="Watch").click()
    wait_until(viewer, "window.vbg.state === 'failed'", PAGE_TIMEOUT_S)
    assert "Wrong passcode, try again" in viewer.get_by_role("alert").inner_text()
    assert field.input_value() == "" and viewer.evaluate("document.activeElement.id") == "passcode-input"
    assert "You are watching" not in viewer.inner_text("main")
    viewer.screenshot(path=tmp_path / "viewer-phone-wrong-passcode.png")
    field.fill(f" {typed}  ")  # spaces around it do not count, here or on the teacher's side
    viewer.get_by_role("button", name="Watch").click()
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
    assert not field.is_visible()


def test_the_link_is_readable_copyable_and_the_loopback_advice_is_for_teachers(server, new_page):
    presenter, link = present(new_page, server)
    presenter.context.grant_permissions(["clipboard-read", "clipboard-write"])
    box = presenter.locator("#share-link")
    assert box.input_value() == link
    # All of it on screen: nothing scrolled out of the box sideways or below.
    assert presenter.evaluate("""(() => {
      const box = document.getElementById('share-link');
      return box.scrollWidth <= box.clientWidth && box.scrollHeight <= box.clientHeight;
    })()""")
    presenter.get_by_role("button", name="Copy link").click()
    assert presenter.evaluate("navigator.clipboard.readText()") == link

    advice = presenter.locator("#share-loopback")
    assert advice.is_visible() and "only works on this computer" in advice.inner_text()
    assert "--tls" not in advice.inner_text()  # the server's flags wait behind "For whoever runs the server"
    advice.get_by_text("For whoever runs the server").click()
    assert "--host 0.0.0.0 --tls" in advice.inner_text().replace("\u00a0", " ")


def test_a_viewer_who_arrives_before_the_presenter_waits_and_it_starts_by_itself(server, new_page, tmp_path):
    presenter = new_page(server.url).page
    room = presenter.evaluate("""async () => {
      const response = await fetch('/api/rooms', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                  body: JSON.stringify({kind: 'broadcast'})});
      return response.json();
    }""")
    # The teacher's tab holds the broadcast it made (as after "Share by link" and a closed tab).
    presenter.evaluate("([key, room]) => sessionStorage.setItem(key, room)", [RESUME_KEY, json.dumps(room)])
    viewer = new_page(server.url + room["url"].lstrip("/") + ")").page  # a link pasted from "(…)"
    viewer.set_viewport_size(PHONE)
    wait_until(viewer, "window.vbg.state === 'waiting'", MEDIA_TIMEOUT_S)
    assert "Waiting for the presenter to start" in viewer.inner_text("#watch-status")
    viewer.screenshot(path=tmp_path / "viewer-phone-waiting.png")

    start_camera(presenter, {"mode": "colour", "colour": "#ff00ff"})
    presenter.get_by_role("button", name="Resume sharing").click()
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
