"""Helpers for tests that share the picture by link: start a presenter, watch frames arrive, read a
remote picture. The fixtures that go with them (share_clip, share_browser, new_page) are in conftest.py."""
import io
import json
import time

import numpy as np
from PIL import Image

from e2e_tests.conftest import wait_until

CLIP_SIZE = (640, 360)
SETTINGS_KEY = "vbg.settings.v1"
PAGE_TIMEOUT_S = 90  # software WebGL and video coding on a shared 2-core machine are slow
MEDIA_TIMEOUT_S = 45  # from "Share" to frames at a viewer
FRAMES_ADVANCE = 10  # received frames that prove a picture moves, not a frozen first frame
MAGENTA = np.array((255, 0, 255), np.float32)  # the background presenters choose
BACKGROUND_DILATE_PX = 24  # judge the background this far from the person (codec blur at the edge)
BACKGROUND_MAX_DIFF = 40  # 8-bit levels from magenta after VP8 and 4:2:0 at a low bitrate


def start_camera(page, settings: dict, query: str = ""):
    """Store SETTINGS (640x360 unless told), reload, enable the camera, wait for the person to show."""
    page.evaluate("([key, value]) => localStorage.setItem(key, value)",
                  [SETTINGS_KEY, json.dumps({"resolution": "640x360", **settings})])
    if query:
        page.goto(page.url.split("?")[0] + query)
    else:
        page.reload()
    page.get_by_role("button", name="Enable camera").click()
    wait_until(page, "window.vbg.stats && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)


def present(new_page, server, passcode="", settings=None, query="", microphone=True):
    """A presenter page sharing its camera (magenta background unless told), with its microphone unless
    told: (page, viewers' link)."""
    presenter = new_page(server.url).page
    start_camera(presenter, settings or {"mode": "colour", "colour": "#ff00ff"}, query)
    if passcode:
        presenter.fill("#share-passcode", passcode)
    if not microphone:
        presenter.evaluate("document.getElementById('share-microphone').checked = false")
    presenter.get_by_role("button", name="Share by link").click()
    link = wait_until(presenter, "window.vbg.share.state === 'live' && window.vbg.share.link", PAGE_TIMEOUT_S)
    return presenter, link


def meeting_with_cameras(new_page, server, count):
    """COUNT pages in one new meeting (the first started it from /meet), each with its camera on (magenta,
    lowest tier: several pipelines share two cores) and none joined yet."""
    first = new_page(server.url + "meet").page  # the start page: a GET never creates a room
    first.get_by_role("button", name="Start a meeting").click()
    first.wait_for_url("**/meet/*")
    people = [first, *(new_page(first.url).page for _ in range(count - 1))]
    # Cameras first, then joining: a pipeline starting while video links already run starves on two cores.
    for person in people:
        start_camera(person, {"mode": "colour", "colour": "#ff00ff"}, query="?quality=lowest")
    return people


def live_viewers(new_page, presenter, link, count=2):
    """COUNT viewer pages on LINK, each live with its picture moving, and the presenter counting them."""
    viewers = [new_page(link).page for _ in range(count)]
    for viewer in viewers:
        wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
        frames_advance(viewer)
    wait_until(presenter, f"window.vbg.share.viewers === {count}", MEDIA_TIMEOUT_S)
    return viewers


def frames_advance(page, counter="window.vbg.framesReceived", frames=FRAMES_ADVANCE, timeout_s=MEDIA_TIMEOUT_S,
                   wait=wait_until):
    """Wait until COUNTER (a JS expression) grows by FRAMES (WAIT: as in audio_arrives)."""
    start = page.evaluate(counter)
    wait(page, f"{counter} > {start + frames}", timeout_s)


def remote_picture(page, selector) -> np.ndarray:
    """The element's picture resized to the clip's size: (H, W, 3) float32."""
    png = page.locator(selector).screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB").resize(CLIP_SIZE, Image.BILINEAR), np.float32)


def background_diff(picture, mask) -> float:
    """How far (8-bit levels, worst channel) the mean of PICTURE away from the person in MASK is from magenta."""
    from scipy import ndimage

    background = ~ndimage.binary_dilation(mask > 127, iterations=BACKGROUND_DILATE_PX)
    return float(np.abs(picture[background] - MAGENTA).mean(axis=0).max())


# The peer connections whose audio the tests judge, as JS expressions (arrays of RTCPeerConnection).
PRESENTER_CONNECTIONS = "[...window.vbg.share.broadcast.viewerLinks.values()].map((link) => link.pc)"
VIEWER_CONNECTIONS = "[window.vbg.viewer.link.pc]"
MEETING_CONNECTIONS = "[...window.vbg.meeting.session.links.values()].map((link) => link.pc)"
SENT_AUDIO_POLL_S = 0.2  # the energy counter follows the audio a little behind


def _audio_stat_js(connections: str, report_type: str, field: str) -> str:
    """A JS promise: FIELD summed over the audio REPORT_TYPE reports of CONNECTIONS' stats."""
    return f"""(async () => {{
  let total = 0;
  for (const pc of {connections}) {{
    (await pc.getStats()).forEach((report) => {{
      if (report.type === '{report_type}' && report.kind === 'audio') total += report['{field}'] ?? 0;
    }});
  }}
  return total;
}})()"""


def sends_track_js(connections: str, track: str) -> str:
    """A JS boolean: every one of CONNECTIONS (at least one) has a sender carrying TRACK (a JS expression)."""
    return (f"(() => {{ const pcs = {connections}, track = {track}; return pcs.length > 0 && Boolean(track) && "
            "pcs.every((pc) => pc.getSenders().some((sender) => sender.track?.id === track.id)); })()")


def received_audio_packets(page, connections: str) -> int:
    """Audio packets received so far over CONNECTIONS."""
    return page.evaluate(_audio_stat_js(connections, "inbound-rtp", "packetsReceived"))


def sent_audio(presenter) -> dict:
    """The presenter's broadcast: {links, energy (of the audio it sends: 0 for silence; Chromium's fake
    microphone beeps), sendsMicrophone (every link sends the microphone's own track)}."""
    return {
        "links": presenter.evaluate(f"{PRESENTER_CONNECTIONS}.length"),
        "energy": presenter.evaluate(_audio_stat_js(PRESENTER_CONNECTIONS, "media-source", "totalAudioEnergy")),
        "sendsMicrophone": presenter.evaluate(sends_track_js(PRESENTER_CONNECTIONS, "window.vbg.share.microphone")),
    }


def sent_audio_once_heard(presenter, timeout_s=MEDIA_TIMEOUT_S) -> dict:
    """sent_audio once its energy is above 0 (or as it is after TIMEOUT_S)."""
    deadline = time.monotonic() + timeout_s
    while (sent := sent_audio(presenter))["energy"] == 0 and time.monotonic() < deadline:
        time.sleep(SENT_AUDIO_POLL_S)
    return sent


def audio_arrives(page, connections=VIEWER_CONNECTIONS, timeout_s=MEDIA_TIMEOUT_S, wait=wait_until):
    """Wait until CONNECTIONS receive audio packets, and more of them a moment later (WAIT: the wait_until
    of PAGE's driver: Playwright's by default, e2e_tests.engines' for Firefox and WebKit pages)."""
    packets = _audio_stat_js(connections, "inbound-rtp", "packetsReceived")
    first = wait(page, packets, timeout_s)
    wait(page, f"{packets}.then((count) => count > {first})", timeout_s)


def drop_and_rejoin(viewer):
    """Cut a live viewer's signalling as a network failure would; it must come back live by itself."""
    viewer.evaluate("window.vbg.viewer.dropConnection()")
    wait_until(viewer, "window.vbg.state === 'reconnecting'", MEDIA_TIMEOUT_S)
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
