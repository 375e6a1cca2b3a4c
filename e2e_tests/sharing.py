"""Helpers for tests that share the picture by link: start a presenter, watch frames arrive, read a
remote picture. The fixtures that go with them (share_clip, share_browser, new_page) are in conftest.py."""
import io
import json

import numpy as np
from PIL import Image

from e2e_tests.conftest import wait_until

CLIP_SIZE = (640, 360)
SETTINGS_KEY = "vbg.settings.v1"
PAGE_TIMEOUT_S = 90  # software WebGL and video coding on a shared 2-core machine are slow
MEDIA_TIMEOUT_S = 45  # from "Share" to frames at a viewer
FRAMES_ADVANCE = 10  # received frames that prove a picture moves, not a frozen first frame


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


def live_viewers(new_page, presenter, link, count=2):
    """COUNT viewer pages on LINK, each live with its picture moving, and the presenter counting them."""
    viewers = [new_page(link).page for _ in range(count)]
    for viewer in viewers:
        wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
        frames_advance(viewer)
    wait_until(presenter, f"window.vbg.share.viewers === {count}", MEDIA_TIMEOUT_S)
    return viewers


def frames_advance(page, counter="window.vbg.framesReceived", frames=FRAMES_ADVANCE, timeout_s=MEDIA_TIMEOUT_S):
    """Wait until COUNTER (a JS expression) grows by FRAMES."""
    start = page.evaluate(counter)
    wait_until(page, f"{counter} > {start + frames}", timeout_s)


def remote_picture(page, selector) -> np.ndarray:
    """The element's picture resized to the clip's size: (H, W, 3) float32."""
    png = page.locator(selector).screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB").resize(CLIP_SIZE, Image.BILINEAR), np.float32)


# The audio the presenter sends: energy of the audio track on each link to viewers (0 for silence; Chromium's
# fake microphone beeps), and whether every link's audio sender carries the microphone's own track.
SENT_AUDIO_JS = """async () => {
  const share = window.vbg.share;
  const links = [...share.broadcast.viewerLinks.values()];
  let energy = 0;
  for (const { pc } of links) {
    (await pc.getStats()).forEach((report) => {
      if (report.type === 'media-source' && report.kind === 'audio') energy += report.totalAudioEnergy ?? 0;
    });
  }
  const sendsMicrophone = links.length > 0 && links.every(({ pc }) => pc.getSenders()
    .some((sender) => sender.track && share.microphone && sender.track.id === share.microphone.id));
  return { links: links.length, energy, sendsMicrophone };
}"""


def sent_audio(presenter) -> dict:
    """{links, energy, sendsMicrophone} of the presenter's broadcast (SENT_AUDIO_JS)."""
    return presenter.evaluate(SENT_AUDIO_JS)


RECEIVED_AUDIO_PACKETS_JS = """async () => {
  let packets = 0;
  (await window.vbg.viewer.link.pc.getStats()).forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind === 'audio') packets += report.packetsReceived;
  });
  return packets;
}"""


def audio_arrives(viewer, timeout_s=MEDIA_TIMEOUT_S):
    """Wait until a viewer's link receives audio packets, and more of them a moment later."""
    first = wait_until(viewer, f"({RECEIVED_AUDIO_PACKETS_JS})()", timeout_s)
    wait_until(viewer, f"({RECEIVED_AUDIO_PACKETS_JS})().then((packets) => packets > {first})", timeout_s)


def drop_and_rejoin(viewer):
    """Cut a live viewer's signalling as a network failure would; it must come back live by itself."""
    viewer.evaluate("window.vbg.viewer.dropConnection()")
    wait_until(viewer, "window.vbg.state === 'reconnecting'", MEDIA_TIMEOUT_S)
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    frames_advance(viewer)
