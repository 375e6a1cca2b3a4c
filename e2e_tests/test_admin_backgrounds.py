"""The intranet admin's backgrounds in a real Chromium: a server started with --backgrounds-dir (a picture, a
looping video and a broken file, all made here), --default-background, --org-name and --org-logo.

    .venv/bin/python -m pytest e2e_tests/test_admin_backgrounds.py -q
"""
import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from e2e_tests.conftest import wait_until
from e2e_tests.test_pipeline import (  # noqa: F401  (still_clip is a fixture)
    PAGE_TIMEOUT_S,
    PERSON_MAX_MEAN_DIFF,
    SETTINGS_KEY,
    WARM_UP_FRAMES,
    _first_frame,
    _output,
    _regions,
    still_clip,
)
from tests.server_process import start_server, stop_server

ORG_NAME = "ACME Schools"
PICTURE_STEM, PICTURE_NAME = "harbour-at-dawn", "Harbour at dawn"
VIDEO_STEM, VIDEO_NAME = "sea_waves", "Sea waves"
# RGB, far from each other, from the clip's wallpaper and from its person.
PICTURE_COLOUR = (200, 40, 160)
VIDEO_COLOURS = ((240, 120, 20), (20, 90, 230))
VIDEO_SIZE, VIDEO_FPS, PHASE_S = (320, 180), 30, 1
VIDEO_PLAY_SAMPLES, VIDEO_SAMPLE_GAP_MS = 30, 250  # 7.5 s: several loops of the 2 s video
COLOUR_TOLERANCE = 20  # 8-bit levels: VP8's 4:2:0, light wrap near the edge
ADMIN_TILES = "document.querySelectorAll('#background-gallery input[value^=\"admin:\"]').length"
CHECKED = "document.querySelector('#background-gallery input[type=radio]:checked')?.value"


def _picture(path, colour, size=(640, 360)):
    Image.fromarray(np.full((size[1], size[0], 3), colour, np.uint8)).save(path)


def _video(path):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), VIDEO_FPS, VIDEO_SIZE)
    assert writer.isOpened(), "OpenCV cannot write VP8 WebM here"
    for colour in VIDEO_COLOURS:
        frame = np.empty((VIDEO_SIZE[1], VIDEO_SIZE[0], 3), np.uint8)
        frame[:] = colour[::-1]  # OpenCV writes BGR
        for _ in range(PHASE_S * VIDEO_FPS):
            writer.write(frame)
    writer.release()


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backgrounds")
    _picture(folder / f"{PICTURE_STEM}.png", PICTURE_COLOUR)
    _video(folder / f"{VIDEO_STEM}.webm")
    (folder / "minutes.png").write_text("meeting minutes, not a picture")
    logo = folder.parent / "logo.png"
    _picture(logo, (0, 80, 160), size=(64, 64))
    running = start_server(["--backgrounds-dir", str(folder), "--default-background", PICTURE_STEM,
                            "--org-name", ORG_NAME, "--org-logo", str(logo)])
    running.report = None
    yield running
    output = stop_server(running)
    # Checked last: the server named the broken file, and served the page all the same.
    assert "minutes.png" in output and "not a PNG, JPEG or WebP picture" in output, output


def _background_colour(page, background) -> np.ndarray:
    return _output(page)[background].mean(axis=0)


def test_first_visit_gets_the_default_and_the_gallery_names_the_admins_files(admin_server, open_page, still_clip):
    y4m, masks, _ = still_clip
    page = open_page(admin_server.url, clip=y4m).page
    wait_until(page, f"{ADMIN_TILES} === 2", PAGE_TIMEOUT_S)
    assert page.get_by_role("radio", name=PICTURE_NAME).is_visible()
    assert page.get_by_role("radio", name=VIDEO_NAME).is_visible()
    assert page.get_by_role("radio", name="Minutes").count() == 0
    # The default is chosen for a first visit.
    wait_until(page, f"{CHECKED} === 'admin:{PICTURE_STEM}'", PAGE_TIMEOUT_S)
    header = page.locator("header")
    assert ORG_NAME in header.inner_text()
    assert page.evaluate("document.querySelector('header .org-logo').naturalWidth") == 64

    page.get_by_role("button", name="Enable camera").click()
    wait_until(page, f"window.vbg.frames > {WARM_UP_FRAMES} && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    camera = _first_frame(y4m)
    core, background = _regions(masks[0])
    output = _output(page)
    assert np.abs(output[core] - camera[core]).mean() < PERSON_MAX_MEAN_DIFF
    picture = output[background].mean(axis=0)
    assert np.abs(picture - PICTURE_COLOUR).max() < COLOUR_TOLERANCE, picture

    # Choosing the video changes the composited background to the video's picture.
    page.get_by_role("radio", name=VIDEO_NAME).check()
    wait_until(page, f"{CHECKED} === 'admin:{VIDEO_STEM}'", PAGE_TIMEOUT_S)
    frames = page.evaluate("window.vbg.frames")
    wait_until(page, f"window.vbg.frames > {frames + 10}", PAGE_TIMEOUT_S)
    # It plays in a loop: both of its colours show within a few loops (a still would show only the first).
    seen = set()
    for _ in range(VIDEO_PLAY_SAMPLES):
        colour = _background_colour(page, background)
        seen.update(i for i, c in enumerate(VIDEO_COLOURS) if np.abs(colour - np.array(c)).max() < COLOUR_TOLERANCE)
        if len(seen) == len(VIDEO_COLOURS):
            break
        page.wait_for_timeout(VIDEO_SAMPLE_GAP_MS)
    assert seen == set(range(len(VIDEO_COLOURS))), f"colours seen: {seen}, last {colour}"

    # The user's choice is kept: a reload does not bring the default back.
    page.reload()
    wait_until(page, f"{ADMIN_TILES} === 2", PAGE_TIMEOUT_S)
    page.wait_for_timeout(500)
    assert page.evaluate(CHECKED) == f"admin:{VIDEO_STEM}"


def _page_with_saved_choice(admin_server, open_page, image_id):
    """The studio after a reload with `image_id` as the user's saved choice."""
    page = open_page(admin_server.url).page
    # The first visit stores the default once the admin's list arrives: write the choice after that, or
    # that late write replaces it.
    wait_until(page, f"{CHECKED} === 'admin:{PICTURE_STEM}'", PAGE_TIMEOUT_S)
    page.evaluate("([key, value]) => localStorage.setItem(key, value)",
                  [SETTINGS_KEY, json.dumps({"mode": "image", "imageId": image_id})])
    page.reload()
    return page


def test_a_saved_choice_wins_over_the_default(admin_server, open_page):
    page = _page_with_saved_choice(admin_server, open_page, "builtin:aurora")
    wait_until(page, f"{ADMIN_TILES} === 2", PAGE_TIMEOUT_S)
    page.wait_for_timeout(500)
    assert page.evaluate(CHECKED) == "builtin:aurora"


def test_a_choice_the_admin_removed_falls_back_to_the_default(admin_server, open_page):
    page = _page_with_saved_choice(admin_server, open_page, "admin:gone-since")
    wait_until(page, f"{CHECKED} === 'admin:{PICTURE_STEM}'", PAGE_TIMEOUT_S)


def test_the_listing_and_files_keep_our_headers(admin_server, open_page):
    page = open_page(admin_server.url).page
    listing = page.evaluate("fetch('/api/backgrounds').then((r) => r.json())")
    entry = next(e for e in listing["backgrounds"] if e["id"] == PICTURE_STEM)
    response = page.request.get(admin_server.origin + entry["url"])
    assert response.headers["cross-origin-resource-policy"] == "same-origin"
    assert "immutable" in response.headers["cache-control"]
    assert Image.open(io.BytesIO(response.body())).size == (640, 360)
