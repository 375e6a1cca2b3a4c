"""The meeting and the studio as people meet them, in one real Chromium: a lobby that says truthfully who
is already in, the others first (on the first screen of a laptop and of a phone) with one's own picture a
small self view, plain words with the technical facts behind "Details", touch words and touch-sized
targets on a phone, and a friendly page for a room link that leads nowhere.

    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m pytest e2e_tests/test_meeting_experience.py -q'
"""
import pytest

from e2e_tests.conftest import watch, wait_until
from e2e_tests.network import LOOPBACK_ONLY
from e2e_tests.sharing import MEDIA_TIMEOUT_S, PAGE_TIMEOUT_S, start_camera

DESKTOP = {"width": 1280, "height": 800}  # px, a laptop
PHONE = {"width": 390, "height": 844}  # px, a phone held upright
PRESENCE_TIMEOUT_S = 15  # the lobby asks every 3 s; a loaded 2-core machine answers late
TOUCH_TARGET_PX = 44  # the smallest comfortable touch target (WCAG 2.5.5, Apple's and Google's guides)
SELF_VIEW_MAX_SHARE = 0.5  # one's own picture is at most half as wide as another participant's tile
STATS_MAX_SHARE_OF_PICTURE = 0.25  # of the preview's area the stats overlay may cover on a phone
DEVELOPER_WORDS = ("ONNX", "WASM", "Cross-origin", "Inference backend", "skipped", "lowest")
OVERFLOW_JS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
PRESENCE_JS = "document.getElementById('meeting-presence').textContent"
COLOUR = {"mode": "colour", "colour": "#ff00ff"}


def _start_meeting(new_page, server):
    """A meeting created from the start page; returns its first page (not joined yet)."""
    host = new_page(server.url + "meet").page
    host.get_by_role("button", name="Start a meeting").click()
    host.wait_for_url("**/meet/*")
    return host


def _join(page, name):
    """Enable the camera (lowest tier: several pipelines share two cores), then join as NAME."""
    start_camera(page, COLOUR, query="?quality=lowest")
    page.fill("#meeting-name", name)
    page.get_by_role("button", name="Join meeting").click()
    wait_until(page, "window.vbg.meeting.state === 'joined'", MEDIA_TIMEOUT_S)


def _within(box, viewport) -> bool:
    return (box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            and box["y"] + box["height"] <= viewport["height"])


def test_the_lobby_says_who_is_already_in(server, new_page):
    host = _start_meeting(new_page, server)
    invitee = new_page(host.url).page
    wait_until(invitee, f"{PRESENCE_JS} === 'Nobody is here yet'", PRESENCE_TIMEOUT_S)
    _join(host, "Teacher")
    wait_until(invitee, f"{PRESENCE_JS} === '1 person is in this meeting'", PRESENCE_TIMEOUT_S)
    text = invitee.inner_text("main")
    assert "Nobody else is here yet" not in text and "Nobody is here yet" not in text
    # On a phone, joining is on the first screen and comes before the gallery.
    invitee.set_viewport_size(PHONE)
    join = invitee.get_by_role("button", name="Join meeting").bounding_box()
    assert _within(join, PHONE), join
    assert join["y"] < invitee.locator("#background-gallery").bounding_box()["y"]


@pytest.mark.skipif(not LOOPBACK_ONLY, reason="WebRTC tests run only in a loopback-only network namespace: "
                    "run scripts/test.sh as root")
def test_the_others_come_first_on_a_laptop_and_a_phone(server, new_page):
    host = _start_meeting(new_page, server)
    guest = new_page(host.url).page
    _join(host, "Teacher")
    _join(guest, "Student")
    wait_until(guest, "window.vbg.meeting.grid.tiles.size === 1", MEDIA_TIMEOUT_S)
    assert "Teacher" in guest.inner_text("#participant-grid")
    for viewport in (DESKTOP, PHONE):
        guest.set_viewport_size(viewport)
        guest.evaluate("window.scrollTo(0, 0)")
        other = guest.locator(".participant").first.bounding_box()
        assert _within(other, viewport), (viewport, other)
        own = guest.locator("#output").bounding_box()
        assert own["width"] <= SELF_VIEW_MAX_SHARE * other["width"], (viewport, own, other)
        assert own["y"] > other["y"]  # the others first, one's own picture after them
        assert guest.evaluate(OVERFLOW_JS) <= 0, viewport


def test_the_studio_speaks_plain_words_and_keeps_the_details(server, new_page):
    page = new_page(server.url).page
    start_camera(page, {**COLOUR, "showStats": True}, query="?quality=lowest")
    wait_until(page, "window.vbg.model && document.querySelector('[data-stat=background] dd').textContent !== '–'",
               PAGE_TIMEOUT_S)
    wait_until(page, "document.getElementById('status-summary').textContent.startsWith('Running')", PAGE_TIMEOUT_S)
    text = page.inner_text("main")
    assert not [word for word in DEVELOPER_WORDS if word in text], text
    assert "Background quality" in text and "reduced to keep up" in text
    assert "Arrow keys move between choices." in page.inner_text("#background-hint")  # a laptop has keys
    # Behind "Details": the technical facts and the backend picker, for whoever needs them.
    page.locator("#status-details > summary").click()
    page.locator("#stats .stats-details > summary").click()
    details = page.inner_text("main")
    assert "ONNX Runtime Web" in details and "Cross-origin isolated" in details and "Inference backend" in details
    assert "skipped" in details or "Gate" in details
    assert page.get_by_label("Inference backend").is_visible()


def test_a_phone_gets_touch_words_big_targets_a_small_overlay_and_no_sideways_scroll(server, share_browser):
    context = share_browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    watched = watch(context.new_page())
    page = watched.page
    page.goto(server.url)
    start_camera(page, {**COLOUR, "showStats": True})
    hint = page.inner_text("#background-hint")
    assert "Arrow keys" not in hint and "Tap" in hint, hint
    colour = page.locator(".tile-colour-input").bounding_box()
    assert colour["width"] >= TOUCH_TARGET_PX and colour["height"] >= TOUCH_TARGET_PX, colour
    stats = page.locator("#stats").bounding_box()
    picture = page.locator("#output").bounding_box()
    share = stats["width"] * stats["height"] / (picture["width"] * picture["height"])
    assert share <= STATS_MAX_SHARE_OF_PICTURE, (stats, picture)
    assert page.evaluate(OVERFLOW_JS) <= 0
    watched.assert_clean()
    context.close()


@pytest.mark.parametrize("path, heading, advice", [
    ("watch/nosuchroom0000000000000", "This broadcast has ended or the link is wrong", "Ask the presenter for a new link"),
    ("meet/nosuchroom0000000000000", "This meeting has ended or the link is wrong", "Ask whoever invited you"),
])
def test_a_link_that_leads_nowhere_tells_the_student_what_to_do(server, new_page, path, heading, advice):
    page = new_page("about:blank", expect_errors=True).page  # the browser logs the 404 as a console error
    response = page.goto(server.url + path)
    assert response.status == 404
    text = page.inner_text("main")
    assert heading in text and advice in text
    assert "Not Found" not in text and "virtual background" not in text
    assert page.locator("a[href='/']").count() == 0  # no way into the camera studio
    page.set_viewport_size(PHONE)
    assert page.evaluate(OVERFLOW_JS) <= 0


# Builds the Performance card's summary from facts as the studio reports them, then from the session's pace.
STATUS_SUMMARY_JS = """async () => {
  const { createStatusPanel } = await import('/static/js/ui/status_panel.js');
  const card = document.createElement('div');
  card.innerHTML = '<dl><dd data-status="model">loading…</dd><dd data-status="camera">off</dd><dd data-status="ort-version">loading…</dd></dl>';
  const summary = document.getElementById('status-summary');
  const panel = createStatusPanel(card.querySelector('dl'));
  const seen = [];
  const read = () => seen.push(summary.textContent);
  panel.set('camera', 'starting…'); read();
  panel.set('camera', 'fake · 640x360 @ 30 fps'); read();
  panel.set('model', 'vbg-portrait · int8 · wasm'); read();
  panel.setPace({ fps: 29.5, cameraFps: 30, quality: 'high' }); read();
  panel.setPace({ fps: 29.5, cameraFps: 30, quality: 'lowest' }); read();
  panel.setPace({ fps: 12, cameraFps: 30, quality: 'high' }); read();
  panel.set('model', 'failed, retrying…', 'bad'); read();
  return seen;
}"""


def test_the_status_line_says_running_smoothly_only_when_it_keeps_up(server, new_page):
    page = new_page(server.url).page
    wait_until(page, "window.vbg && window.vbg.state === 'idle'", PAGE_TIMEOUT_S)
    assert page.evaluate(STATUS_SUMMARY_JS) == [
        "Starting the camera…",
        "Loading the background effect… Your picture stays blurred until then.",
        "Running",  # no numbers yet: no claim about smoothness
        "Running smoothly",
        "Running · background quality reduced to keep up",
        "Running, slower than the camera",
        "The background effect is restarting…",
    ]
