"""The controls in a real Chromium: settings survive a reload, the gallery works by keyboard,
uploads are checked in the browser, never sent and remembered in it until removed, a recording holds
the composited picture, the layout fits a phone, and the UI modules keep their promises.

    .venv/bin/python -m pytest e2e_tests/test_controls.py -q
"""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from e2e_tests.conftest import watch, wait_until
from e2e_tests.test_pipeline import (  # noqa: F401  (still_clip is a fixture)
    CLIP_SIZE,
    MAGENTA,
    PERSON_MAX_MEAN_DIFF,
    _first_frame,
    _regions,
    start_page,
    still_clip,
)
from e2e_tests.test_pipeline import PAGE_TIMEOUT_S as RUNNING_TIMEOUT_S

PAGE_TIMEOUT_S = 30
PAGE_TIMEOUT_MS = PAGE_TIMEOUT_S * 1000
PHONE_VIEWPORT = {"width": 360, "height": 740}  # px, a small Android phone
SETTINGS_KEY = "vbg.settings.v1"
FRAMES_BEFORE_CHECK = 5
RECORDED_FRAMES = 45  # rendered frames to record, 1.5 s at 30 fps
# 8-bit levels: VP8/VP9's 4:2:0 and limited range on top of what the canvas itself shows
RECORDING_COLOUR_TOLERANCE = 20
UPLOAD_SETTLE_MS = 1000  # a request the page started on the file's arrival has been seen by then
UPLOAD_CHECKED = "document.querySelector('#background-gallery input[value=upload]')?.checked === true"
UPLOAD_TILE_SHOWN = "document.querySelector('#background-gallery input[value=upload]')?.closest('.tile-slot').hidden === false"
# Installed before the page's scripts: records whether the upload tile was ever shown.
UPLOAD_TILE_WATCH_JS = """window.uploadTileSeen = false;
new MutationObserver(() => {
  const input = document.querySelector('#background-gallery input[value=upload]');
  if (input && !input.closest('.tile-slot').hidden) window.uploadTileSeen = true;
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden'] });"""
# The size of the file backgrounds/upload_store.js remembers, or null (its own channel: the page hears nothing).
REMEMBERED_SIZE_JS = """import('/static/js/backgrounds/upload_store.js')
  .then(({ createUploadStore }) => createUploadStore({ channelName: 'vbg.test' }).read())
  .then((file) => file?.size ?? null)"""
# Puts a record into the upload store's database the way another version or a damaged write might leave it.
WRITE_RECORD_JS = """async (kind) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('vbg-backgrounds', 1);
    request.onupgradeneeded = () => request.result.createObjectStore('uploads');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const noise = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256);
  const record = kind === 'no-file' ? { file: 'not a file', name: 'x.png' }
    : { file: new File([noise], 'broken.png', { type: 'image/png' }), name: 'broken.png', savedAt: 0 };
  await new Promise((resolve, reject) => {
    const transaction = db.transaction('uploads', 'readwrite');
    transaction.objectStore('uploads').put(record, 'current');
    transaction.oncomplete = resolve;
    transaction.onerror = () => reject(transaction.error);
  });
  db.close();
}"""


def _wait_ready(page):
    wait_until(page, "window.vbg && window.vbg.state === 'idle'", PAGE_TIMEOUT_S)
    # The gallery is built by the controls module; its radios exist once it has run.
    wait_until(page, "document.querySelectorAll('#background-gallery input[type=radio]').length > 0", PAGE_TIMEOUT_S)


def _stored_settings(page) -> dict:
    return json.loads(page.evaluate(f"() => localStorage.getItem('{SETTINGS_KEY}')") or "{}")


def _checked_background(page) -> str:
    return page.evaluate("() => document.querySelector('#background-gallery input[type=radio]:checked')?.value ?? null")


def _png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _noise_png_bytes(width: int, height: int) -> bytes:
    """A picture no other file shares a byte run with (noise does not compress)."""
    pixels = np.random.default_rng(11).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


# Calls loadUploadedImage on a File built in the page and reports the outcome as plain data.
LOAD_UPLOAD_JS = """async ([base64, name, type, padToBytes]) => {
  const { loadUploadedImage, UploadError } = await import('/static/js/backgrounds/upload.js');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const parts = padToBytes ? [bytes, new Uint8Array(padToBytes - bytes.length)] : [bytes];
  try {
    const bitmap = await loadUploadedImage(new File(parts, name, { type }));
    return { ok: true, width: bitmap.width, height: bitmap.height };
  } catch (error) {
    return { ok: false, isUploadError: error instanceof UploadError, code: error.code, title: error.title, advice: error.advice };
  }
}"""


def _load_upload(page, data: bytes, name: str, mime: str, pad_to_bytes: int = 0) -> dict:
    return page.evaluate(LOAD_UPLOAD_JS, [base64.b64encode(data).decode(), name, mime, pad_to_bytes])


def test_settings_persist_across_reload(server, open_page):
    page = open_page(server.url).page
    _wait_ready(page)
    assert _checked_background(page) == "blur:light"  # first visit: the defaults

    page.get_by_role("radio", name="Sunset").check()
    page.get_by_role("switch", name="Show stats on the preview").check()
    page.get_by_label("Resolution").select_option("640x360")
    stored = _stored_settings(page)
    assert stored["mode"] == "image" and stored["imageId"] == "builtin:sunset"
    assert stored["showStats"] is True and stored["resolution"] == "640x360"

    page.reload()
    _wait_ready(page)
    assert _checked_background(page) == "builtin:sunset"
    assert page.get_by_role("switch", name="Show stats on the preview").is_checked()
    assert page.get_by_label("Resolution").input_value() == "640x360"
    assert page.locator("#stats").is_visible()

    # A choice of one's own picture with no picture remembered in this browser falls back to the first built-in.
    page.evaluate(f"""() => localStorage.setItem('{SETTINGS_KEY}', JSON.stringify(
        {{ ...JSON.parse(localStorage.getItem('{SETTINGS_KEY}')), mode: 'image', imageId: 'upload' }}))""")
    page.reload()
    _wait_ready(page)
    wait_until(page, "document.querySelector('#background-gallery input[type=radio]:checked')?.value === 'builtin:office'", PAGE_TIMEOUT_S)
    assert page.get_by_role("radio", name="Your image").count() == 0 or not page.get_by_role("radio", name="Your image").is_visible()

    # Corrupt storage costs only the broken values; everything else keeps working.
    page.evaluate(f"""() => localStorage.setItem('{SETTINGS_KEY}',
        JSON.stringify({{ mode: 'colour', colour: 'not-a-colour', backend: 'quantum', showStats: 'yes' }}))""")
    page.reload()
    _wait_ready(page)
    assert _checked_background(page) == "colour"
    assert page.locator(".tile-colour-input").input_value() == "#2f5d62"
    assert page.get_by_label("Inference backend").input_value() == "auto"
    page.evaluate(f"() => localStorage.setItem('{SETTINGS_KEY}', '{{not json')")
    page.reload()
    _wait_ready(page)
    assert _checked_background(page) == "blur:light"


def test_keyboard_selects_a_background(server, open_page):
    page = open_page(server.url).page
    _wait_ready(page)
    # From the camera button, Tab lands on the gallery's chosen radio (the tools are off until the camera runs).
    page.get_by_role("button", name="Enable camera").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.value") == "blur:light"
    # Arrow keys move the choice: light blur -> strong blur -> the first built-in picture.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert _checked_background(page) == "builtin:office"
    assert page.evaluate("() => document.activeElement.value") == "builtin:office"
    assert _stored_settings(page)["imageId"] == "builtin:office"
    assert "Soft office" in page.locator("#controls-live").inner_text()
    page.keyboard.press("ArrowLeft")
    assert _checked_background(page) == "blur:strong"
    assert _stored_settings(page)["mode"] == "blur" and _stored_settings(page)["blurLevel"] == "strong"
    # The stats switch works from the keyboard too.
    page.get_by_role("switch", name="Show stats on the preview").focus()
    page.keyboard.press("Space")
    assert page.locator("#stats").is_visible()


def test_upload_checks_reject_bad_files_with_clear_messages(server, open_page):
    page = open_page(server.url).page
    _wait_ready(page)
    rng = np.random.default_rng(5)

    corrupt = _load_upload(page, rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "holiday.png", "image/png")
    assert corrupt["ok"] is False and corrupt["isUploadError"] and corrupt["code"] == "corrupt"
    assert corrupt["title"] == "This image could not be read."

    too_wide = _load_upload(page, _png_bytes(17000, 10), "panorama.png", "image/png")
    assert too_wide["ok"] is False and too_wide["code"] == "dimensions"
    assert "17000 x 10" in too_wide["title"] and "16384" in too_wide["advice"]

    too_heavy = _load_upload(page, _png_bytes(8, 8), "huge.png", "image/png", pad_to_bytes=26 * 1024 * 1024)
    assert too_heavy["ok"] is False and too_heavy["code"] == "size" and "25.0 MB" in too_heavy["advice"]

    not_an_image = _load_upload(page, b"hello", "notes.txt", "text/plain")
    assert not_an_image["ok"] is False and not_an_image["code"] == "type"

    # A good picture comes back downscaled so its long side is 1920 px.
    good = _load_upload(page, _png_bytes(3840, 1000), "wide.png", "image/png")
    assert good == {"ok": True, "width": 1920, "height": 500}


def test_upload_through_the_file_input(server, open_page, tmp_path):
    watched = open_page(server.url)
    page = watched.page
    _wait_ready(page)
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(np.random.default_rng(9).integers(0, 256, 2048, dtype=np.uint8).tobytes())
    page.locator("#upload-input").set_input_files(corrupt)
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    assert "This image could not be read." in alert.inner_text()
    assert _checked_background(page) == "blur:light"  # a refused file changes nothing

    good = tmp_path / "beach.png"
    good.write_bytes(_noise_png_bytes(640, 360))
    page.locator("#upload-input").set_input_files(good)
    wait_until(page, "document.querySelector('#background-gallery input[value=upload]')?.checked === true", PAGE_TIMEOUT_S)
    assert page.get_by_role("radio", name="Your image").is_visible()
    assert "This image could not be read." not in (page.locator("#message").inner_text() or "")
    # The picture itself is never stored, nor sent: not to another origin, not to ours.
    assert "data:" not in json.dumps(_stored_settings(page))
    page.wait_for_timeout(UPLOAD_SETTLE_MS)
    watched.assert_nothing_sent(good.read_bytes())


def test_an_uploaded_picture_is_remembered_in_this_browser_until_removed(server, open_page, tmp_path):
    watched = open_page(server.url)
    page = watched.page
    _wait_ready(page)
    picture = tmp_path / "lake.png"
    picture.write_bytes(_noise_png_bytes(640, 360))
    page.locator("#upload-input").set_input_files(picture)
    wait_until(page, UPLOAD_CHECKED, PAGE_TIMEOUT_S)
    wait_until(page, f"{REMEMBERED_SIZE_JS}.then((size) => size === {picture.stat().st_size})", PAGE_TIMEOUT_S)

    # A reload opens it again: its tile, with its thumbnail, still chosen.
    page.reload()
    _wait_ready(page)
    wait_until(page, UPLOAD_CHECKED, PAGE_TIMEOUT_S)
    assert page.get_by_role("radio", name="Your image").is_visible()
    thumb_ink = page.evaluate("""() => {
      const canvas = document.querySelector('#background-gallery input[value=upload]').closest('.tile-slot').querySelector('canvas');
      return canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data.reduce((sum, v) => sum + v, 0);
    }""")
    assert thumb_ink > 0, "the remembered picture's thumbnail is blank"

    # Removing forgets it: the tile goes, the default picture is chosen, the browser keeps nothing.
    page.get_by_role("button", name="Remove your image").click()
    wait_until(page, f"!({UPLOAD_TILE_SHOWN})", PAGE_TIMEOUT_S)
    assert _checked_background(page) == "builtin:office"
    assert page.evaluate("document.activeElement.id") == "upload-button"  # the focus did not fall to the page
    assert "Your image removed" in page.locator("#controls-live").inner_text()
    wait_until(page, f"{REMEMBERED_SIZE_JS}.then((size) => size === null)", PAGE_TIMEOUT_S)
    page.reload()
    _wait_ready(page)
    assert _checked_background(page) == "builtin:office"
    assert not page.get_by_role("radio", name="Your image").is_visible()
    # Remembered, never sent: not to another origin, not to ours.
    page.wait_for_timeout(UPLOAD_SETTLE_MS)
    watched.assert_nothing_sent(picture.read_bytes())


@pytest.mark.parametrize("record", ["no-file", "undecodable"])
def test_a_damaged_remembered_upload_is_forgotten_quietly(server, open_page, record):
    page = open_page(server.url).page
    _wait_ready(page)
    page.evaluate(WRITE_RECORD_JS, record)
    page.evaluate(f"""() => localStorage.setItem('{SETTINGS_KEY}', JSON.stringify({{ mode: 'image', imageId: 'upload' }}))""")
    page.add_init_script(UPLOAD_TILE_WATCH_JS)
    page.reload()
    _wait_ready(page)
    wait_until(page, "document.querySelector('#background-gallery input[type=radio]:checked')?.value === 'builtin:office'", PAGE_TIMEOUT_S)
    assert not page.get_by_role("radio", name="Your image").is_visible()
    # Not even for a moment: the tile comes with the opened file, never ahead of it under a guessed name.
    assert not page.evaluate("window.uploadTileSeen"), "the upload tile showed before its file opened"
    wait_until(page, f"{REMEMBERED_SIZE_JS}.then((size) => size === null)", PAGE_TIMEOUT_S)
    assert page.get_by_role("alert").count() == 0 or not page.get_by_role("alert").is_visible()


def test_phone_layout_has_no_horizontal_overflow(server, launch):
    browser = launch()
    context = browser.new_context(viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True)
    watched = watch(context.new_page())
    page = watched.page
    page.goto(server.url)
    _wait_ready(page)
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(f"() => {overflow}") <= 0
    page.get_by_role("switch", name="Show stats on the preview").check()
    page.get_by_role("button", name="Enable camera").click()
    wait_until(page, f"window.vbg.frames > {FRAMES_BEFORE_CHECK}", PAGE_TIMEOUT_S)
    # Running: long camera names, the stats overlay and the tools are all on screen.
    compare = page.get_by_role("button", name="Show original")
    compare.click()
    assert compare.get_attribute("aria-pressed") == "true"
    assert page.locator("#compare-badge").is_visible()
    assert page.evaluate(f"() => {overflow}") <= 0
    compare.click()
    assert compare.get_attribute("aria-pressed") == "false"
    for selector in ["#output", "#stats", "#snapshot-button", "#record-button", "#background-gallery"]:
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_VIEWPORT["width"], (selector, box)
    watched.assert_clean()


def test_builtin_backgrounds_paint_at_camera_size(server, open_page):
    page = open_page(server.url).page
    _wait_ready(page)
    result = page.evaluate("""async () => {
      const { builtinBackgrounds, renderBuiltinBackground } = await import('/static/js/backgrounds/builtin.js');
      const canvas = new OffscreenCanvas(1280, 720);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      const out = [];
      for (const { id, label } of builtinBackgrounds) {
        const bitmap = await renderBuiltinBackground(id, 1280, 720);
        ctx.drawImage(bitmap, 0, 0);
        const { data } = ctx.getImageData(0, 0, 1280, 720);
        let sum = 0, sumSquares = 0;
        for (let i = 0; i < data.length; i += 4 * 97) { sum += data[i + 1]; sumSquares += data[i + 1] ** 2; }
        const n = Math.ceil(data.length / (4 * 97));
        out.push({ id, label, width: bitmap.width, height: bitmap.height,
                   opaque: data[3] === 255 && data[data.length - 1] === 255,
                   spread: Math.sqrt(sumSquares / n - (sum / n) ** 2) });
        bitmap.close();
      }
      return out;
    }""")
    assert len(result) >= 4
    for background in result:
        assert (background["width"], background["height"]) == (1280, 720), background
        assert background["opaque"], background
        assert background["spread"] > 3, background  # a picture, not a flat fill


def test_stats_overlay_writes_at_most_four_times_a_second(server, open_page):
    page = open_page(server.url).page
    _wait_ready(page)
    writes = page.evaluate("""async () => {
      const { createStatsOverlay } = await import('/static/js/ui/stats_overlay.js');
      const element = document.createElement('div');
      document.body.append(element);
      const overlay = createStatsOverlay(element);
      let mutations = 0;
      new MutationObserver((records) => { mutations += records.length; })
        .observe(element, { subtree: true, childList: true, characterData: true });
      const sample = { fps: 30, cameraFps: 30, inferenceMs: 9.5, backend: 'wasm', gateState: 'skipping',
                       skipRate: 0.5, droppedFrames: 0, latencyMs: 20, quality: 'high' };
      for (let i = 0; i < 200; i += 1) { sample.fps = 20 + (i % 10); overlay.update(sample); }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const first = element.querySelector('[data-stat=fps] dd').textContent;
      const gate = element.querySelector('[data-stat=gate] dd').textContent;
      const burst = mutations;
      await new Promise((resolve) => setTimeout(resolve, 300));
      overlay.update(sample);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { first, gate, burst, later: element.querySelector('[data-stat=fps] dd').textContent };
    }""")
    # 200 updates in one burst write the DOM once (one mutation per row at most: 3 plain rows and 5 behind
    # "Details"), with the first sample.
    assert writes["first"] == "20.0 / 30"
    assert writes["gate"] == "skipping · 50% skipped"
    assert writes["burst"] <= 8
    assert writes["later"] == "29.0 / 30"


def _decode_webm(path) -> list[np.ndarray]:
    """Every frame of a WebM file, resized to the clip's size: [(H, W, 3) float32 RGB]."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), CLIP_SIZE).astype(np.float32))
    capture.release()
    return frames


def test_recording_holds_the_composited_picture(server, open_page, still_clip):
    """The WebM shows what the canvas shows: the person in front of the chosen colour, never the
    camera's own room."""
    y4m, masks, _ = still_clip
    page = start_page(open_page, server, y4m, {"mode": "colour", "colour": "#ff00ff"}).page
    wait_until(page, "window.vbg.stats.personVisible", RUNNING_TIMEOUT_S)
    page.get_by_role("button", name="Record").click()
    frames = page.evaluate("window.vbg.frames")
    wait_until(page, f"window.vbg.frames > {frames + RECORDED_FRAMES}", RUNNING_TIMEOUT_S)
    with page.expect_download() as recording:
        page.get_by_role("button", name="Stop recording").click()
    assert recording.value.suggested_filename.endswith(".webm")

    decoded = _decode_webm(recording.value.path())
    assert len(decoded) >= RECORDED_FRAMES // 3, f"only {len(decoded)} frames decoded"
    camera = _first_frame(y4m)
    core, background = _regions(masks[0])
    for index, frame in enumerate(decoded):
        colour = frame[background].mean(axis=0)
        assert np.abs(colour - MAGENTA).max() < RECORDING_COLOUR_TOLERANCE, f"frame {index}: background {colour}"
        person_diff = np.abs(frame[core] - camera[core]).mean()
        assert person_diff < PERSON_MAX_MEAN_DIFF, f"frame {index}: the person changed by {person_diff:.1f} levels"
