"""An uploaded video as the background, in a real Chromium with a fake camera: the background
region plays the video's frames while the person stays; a damaged video is refused with a clear
message; the upload is remembered across a reload until it is removed.

    .venv/bin/python -m pytest e2e_tests/test_video_background.py -q
"""
import base64
import time

import cv2
import numpy as np
import pytest

from e2e_tests.conftest import wait_until
from e2e_tests.test_pipeline import (  # noqa: F401  (still_clip is a fixture)
    PAGE_TIMEOUT_S,
    PERSON_MAX_MEAN_DIFF,
    _first_frame,
    _output,
    _regions,
    _start,
    still_clip,
)

VIDEO_SIZE = (320, 180)  # px, (width, height): small, and 16:9 like the camera
VIDEO_FPS = 30
PHASE_S = 1  # the video shows each colour for this long, then loops
# RGB; far from each other, from the clip's wallpaper and from the camera's person.
VIDEO_COLOURS = ((240, 120, 20), (20, 90, 230))
COLOUR_TOLERANCE = 20  # 8-bit levels: VP8's 4:2:0 and limited-range YUV, light wrap near the edge
UPLOADED_CHOICE = "document.querySelector('#background-gallery input[value=upload]')?.checked === true"
SAMPLE_INTERVAL_S = 0.3
SAMPLES = 20  # screenshots spread over more than one loop of the video


@pytest.fixture(scope="module")
def colour_video(tmp_path_factory):
    """A WebM (VP8) that shows one flat colour, then the other, PHASE_S each."""
    path = tmp_path_factory.mktemp("videos") / "two-colours.webm"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), VIDEO_FPS, VIDEO_SIZE)
    assert writer.isOpened(), "OpenCV cannot write VP8 WebM here"
    width, height = VIDEO_SIZE
    for colour in VIDEO_COLOURS:
        frame = np.empty((height, width, 3), np.uint8)
        frame[:] = colour[::-1]  # OpenCV writes BGR
        for _ in range(PHASE_S * VIDEO_FPS):
            writer.write(frame)
    writer.release()
    return path


def _closest_colour(mean) -> tuple[int, float]:
    distances = [float(np.abs(mean - np.array(colour)).max()) for colour in VIDEO_COLOURS]
    return int(np.argmin(distances)), min(distances)


def test_video_plays_behind_the_person(server, open_page, still_clip, colour_video):
    y4m, masks, _ = still_clip
    page = _start(open_page, server, y4m, {"mode": "blur"}).page
    page.locator("#upload-input").set_input_files(colour_video)
    wait_until(page, UPLOADED_CHOICE, PAGE_TIMEOUT_S)
    assert page.get_by_role("radio", name="Your video").is_visible()
    wait_until(page, "window.vbg.stats.segmentations > 2 && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)

    camera = _first_frame(y4m)
    core, background = _regions(masks[0])
    seen = set()
    for _ in range(SAMPLES):
        output = _output(page)
        person_diff = np.abs(output[core] - camera[core]).mean()
        assert person_diff < PERSON_MAX_MEAN_DIFF, f"the person changed by {person_diff:.1f} levels"
        index, distance = _closest_colour(output[background].mean(axis=0))
        assert distance < COLOUR_TOLERANCE, f"background {output[background].mean(axis=0)} is not a video colour"
        seen.add(index)
        if len(seen) == len(VIDEO_COLOURS):
            break
        time.sleep(SAMPLE_INTERVAL_S)
    # Both colours showed: the texture follows the playing video, not just its first frame.
    assert seen == {0, 1}, seen

    # Another background stops using the video; the upload tile brings it back.
    page.get_by_role("radio", name="Aurora").check()
    wait_until(page, "document.querySelector('#background-gallery input[value=upload]').checked === false", PAGE_TIMEOUT_S)
    page.get_by_role("radio", name="Your video").check()
    frames = page.evaluate("window.vbg.frames")
    wait_until(page, f"window.vbg.frames > {frames + 10}", PAGE_TIMEOUT_S)
    _, distance = _closest_colour(_output(page)[background].mean(axis=0))
    assert distance < COLOUR_TOLERANCE

    # Remembered in this browser: after a reload it is still the chosen background, until removed.
    page.reload()
    wait_until(page, "window.vbg && window.vbg.state === 'idle'", PAGE_TIMEOUT_S)
    wait_until(page, UPLOADED_CHOICE, PAGE_TIMEOUT_S)
    assert page.get_by_role("radio", name="Your video").is_visible()
    page.get_by_role("button", name="Remove your video").click()
    wait_until(page, "document.querySelector('#background-gallery input[type=radio]:checked')?.value === 'builtin:office'", PAGE_TIMEOUT_S)
    assert not page.get_by_role("radio", name="Your video").is_visible()


def test_corrupt_video_is_refused_with_a_clear_message(server, open_page, tmp_path):
    page = open_page(server.url).page
    wait_until(page, "window.vbg && window.vbg.state === 'idle'", PAGE_TIMEOUT_S)
    wait_until(page, "document.querySelectorAll('#background-gallery input[type=radio]').length > 0", PAGE_TIMEOUT_S)
    before = page.evaluate("document.querySelector('#background-gallery input[type=radio]:checked')?.value")
    broken = tmp_path / "holiday.webm"
    broken.write_bytes(np.random.default_rng(5).integers(0, 256, 64 * 1024, dtype=np.uint8).tobytes())
    page.locator("#upload-input").set_input_files(broken)
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible", timeout=PAGE_TIMEOUT_S * 1000)
    assert "This video could not be played." in alert.inner_text()
    assert page.evaluate("document.querySelector('#background-gallery input[type=radio]:checked')?.value") == before
    assert page.get_by_role("radio", name="Your video").count() == 0 or not page.get_by_role("radio", name="Your video").is_visible()


# Calls loadUploadedVideo on a File built in the page and reports the outcome as plain data.
LOAD_VIDEO_JS = """async ([base64, name, type]) => {
  const { loadUploadedVideo } = await import('/static/js/backgrounds/video.js');
  const { UploadError } = await import('/static/js/backgrounds/upload.js');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  try {
    const clip = await loadUploadedVideo(new File([bytes], name, { type }));
    const result = { ok: true, width: clip.width, height: clip.height, playing: !clip.video.paused, loop: clip.video.loop, muted: clip.video.muted };
    clip.release();
    return result;
  } catch (error) {
    return { ok: false, isUploadError: error instanceof UploadError, code: error.code, title: error.title };
  }
}"""


def test_video_loader_checks(server, open_page, colour_video):
    page = open_page(server.url).page
    wait_until(page, "window.vbg && window.vbg.state === 'idle'", PAGE_TIMEOUT_S)

    def load(data: bytes, name: str, mime: str) -> dict:
        return page.evaluate(LOAD_VIDEO_JS, [base64.b64encode(data).decode(), name, mime])

    good = load(colour_video.read_bytes(), "clip.webm", "video/webm")
    assert good == {"ok": True, "width": VIDEO_SIZE[0], "height": VIDEO_SIZE[1], "playing": True, "loop": True, "muted": True}
    # Without a MIME type the extension decides.
    assert load(colour_video.read_bytes(), "clip.webm", "")["ok"] is True
    wrong_type = load(b"\x00" * 64, "clip.mov", "video/quicktime")
    assert wrong_type["ok"] is False and wrong_type["code"] == "type" and wrong_type["isUploadError"]
    empty = load(b"", "clip.webm", "video/webm")
    assert empty["ok"] is False and empty["code"] == "corrupt"
    truncated = load(colour_video.read_bytes()[:200], "clip.webm", "video/webm")
    assert truncated["ok"] is False and truncated["code"] == "corrupt", truncated
