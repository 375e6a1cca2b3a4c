"""Fixtures for end-to-end tests: the real server, Debian's Chromium with a fake camera, and
pages that fail the test on any console error, page error or request to another origin."""
import base64
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from clips.y4m import quadrant_frames, write_y4m
from tests.server_process import start_server, stop_server

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("VBG_CHROMIUM", "/usr/bin/chromium")
# Clip size Chromium's fake camera plays; small so software decoding and WebGL stay cheap here.
CLIP_WIDTH, CLIP_HEIGHT, CLIP_FPS = 640, 360, 30
QUADRANT_COLOURS = ((220, 40, 40), (40, 200, 60), (40, 70, 220), (230, 210, 40))

# Without the background-networking flags Chromium keeps trying to reach Google's hosts.
BASE_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
FAKE_CAMERA_ARGS = ["--use-fake-device-for-media-stream"]
AUTO_ACCEPT_CAMERA_ARGS = ["--use-fake-ui-for-media-stream"]

pytestmark = [pytest.mark.e2e]


def pytest_collection_modifyitems(items):
    """Every test in this folder drives a real browser: mark it e2e and slow."""
    for item in items:
        if Path(item.fspath).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)


# Every page of the suite comes from 127.0.0.1, standing in for many people: the per-address room limit
# (20, each kept 10 minutes after it empties) would refuse the later tests' rooms. tests/webapp tests the limit.
SUITE_ROOMS_PER_ADDRESS = 1000


@pytest.fixture(scope="session")
def server():
    running = start_server(["--max-rooms-per-address", str(SUITE_ROOMS_PER_ADDRESS)])
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def quadrant_clip(tmp_path_factory) -> Path:
    """A 2-second clip: four coloured quadrants and a marker that moves every frame."""
    path = tmp_path_factory.mktemp("clips") / "quadrants.y4m"
    write_y4m(path, quadrant_frames(CLIP_WIDTH, CLIP_HEIGHT, 2 * CLIP_FPS, QUADRANT_COLOURS), CLIP_FPS)
    return path


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def launch(playwright_driver):
    """launch(clip=None, camera=True, accept_camera=True, args=()) -> Browser, closed after the test."""
    browsers = []

    def _launch(clip: Path | None = None, camera: bool = True, accept_camera: bool = True, args=()):
        launch_args = list(BASE_ARGS)
        if camera:
            launch_args += FAKE_CAMERA_ARGS
            if clip is not None:
                launch_args.append(f"--use-file-for-fake-video-capture={clip}")
        if accept_camera:
            launch_args += AUTO_ACCEPT_CAMERA_ARGS
        launch_args += list(args)
        browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=launch_args)
        browsers.append(browser)
        return browser

    yield _launch
    for browser in browsers:
        browser.close()


POLL_INTERVAL_S = 0.05


def synthetic_person_image(height: int, width: int):
    """A person-like drawing (head and torso on a gradient): (H, W, 3) uint8, deterministic."""
    import numpy as np

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([xx / width * 255, yy / height * 255, np.full_like(xx, 90)], axis=-1)
    head = (xx - width * 0.5) ** 2 + (yy - height * 0.35) ** 2 < (height * 0.18) ** 2
    body = (np.abs(xx - width * 0.5) < width * 0.17) & (yy > height * 0.5)
    image[head | body] = (200, 160, 140)
    return image.astype(np.uint8)


def wait_until(page, expression: str, timeout_s: float = 30.0):
    """Poll a JS expression until it is truthy and return its value.

    Playwright's wait_for_function compiles its predicate with eval, which our CSP rightly
    forbids; page.evaluate goes through the DevTools protocol and is not subject to the CSP.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(f"() => ({expression})")
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_s} s: {expression}\n{_page_state(page)}")
        time.sleep(POLL_INTERVAL_S)


# What a timed-out wait reports about the page: its stats and the message it shows the user.
PAGE_STATE_JS = """() => ({
  stats: window.vbg?.stats ?? null,
  message: document.getElementById('message')?.hidden === false
    ? document.getElementById('message').innerText : null,
  model: window.vbg?.model ? { backend: window.vbg.model.backend } : null,
})"""


def _page_state(page) -> str:
    """The page's stats and visible message, for a timeout's report (never raises)."""
    try:
        return f"page state: {page.evaluate(PAGE_STATE_JS)}"
    except Exception as error:  # a crashed or closed page: say so instead of hiding the timeout
        return f"page state unavailable: {error}"


@dataclass
class WatchedPage:
    """A page plus everything it said and asked for."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    sent: list = field(default_factory=list)  # the same requests as Playwright Requests (method, body)
    sockets: list[str] = field(default_factory=list)  # WebSocket URLs

    def assert_clean(self) -> None:
        """Fail on any console error or uncaught exception."""
        problems = self.console_errors + self.page_errors
        assert not problems, "the page reported errors:\n" + "\n".join(problems)

    def assert_nothing_sent(self, payload: bytes) -> None:
        """Fail if the page sent anything to a server: a request other than a GET without a body, a
        WebSocket, or a request whose URL or body carries part of `payload` (raw, base64 or hex)."""
        fragments = _fragments(payload)
        problems = [f"WebSocket {url}" for url in self.sockets]
        for request in self.sent:
            if request.url.startswith(("data:", "blob:")):
                continue  # never leaves the browser
            shown = request.url[:MAX_URL_SHOWN]
            body = request.post_data_buffer or b""
            if request.method != "GET" or body:
                problems.append(f"{request.method} {shown} with {len(body)} bytes")
            if any(fragment in body or fragment in request.url.encode() for fragment in fragments):
                problems.append(f"{request.method} {shown} carries the file's bytes")
        assert not problems, "the page sent data to a server:\n" + "\n".join(problems)


MAX_URL_SHOWN = 120  # characters of a URL in a failure message
PAYLOAD_FRAGMENT_BYTES = 48  # long enough to be unique to the file, a multiple of 3 so base64 aligns


def _fragments(payload: bytes) -> list[bytes]:
    """A slice from the middle of `payload` in the encodings a page might send it in."""
    start = len(payload) // 2 // 3 * 3
    raw = payload[start:start + PAYLOAD_FRAGMENT_BYTES]
    assert len(raw) == PAYLOAD_FRAGMENT_BYTES, "the payload is too short to recognise"
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), raw.hex().encode()]


def watch(page) -> WatchedPage:
    """Record a page's console errors, page errors and requests."""
    watched = WatchedPage(page)
    page.on("console", lambda msg: msg.type == "error" and watched.console_errors.append(f"console: {msg.text} @ {msg.location}"))
    page.on("pageerror", lambda exc: watched.page_errors.append(f"pageerror: {exc}"))
    page.on("request", lambda request: (watched.requests.append(request.url), watched.sent.append(request)))
    page.on("websocket", lambda socket: watched.sockets.append(socket.url))
    return watched


@pytest.fixture
def open_page(launch):
    """open_page(url, clip=..., **launch_kwargs) -> WatchedPage that must stay free of errors."""
    pages: list[WatchedPage] = []

    def _open(url: str, clip: Path | None = None, expect_errors: bool = False, **launch_kwargs) -> WatchedPage:
        browser = launch(clip=clip, **launch_kwargs)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        watched = watch(context.new_page())
        if not expect_errors:
            pages.append(watched)
        watched.page.goto(url)
        return watched

    yield _open
    for watched in pages:
        watched.assert_clean()


# ---------------------------------------------------------------- sharing by link (helpers: sharing.py)


@pytest.fixture(scope="module")
def share_clip(tmp_path_factory):
    """A talking person: (y4m path, (N, H, W) uint8 ground-truth masks)."""
    import numpy as np

    from clips.build import ClipSpec, build_clip, parse_script

    folder = tmp_path_factory.mktemp("share")
    build_clip(folder / "talk", ClipSpec(script=parse_script("talk:60")))
    return folder / "talk.y4m", np.load(folder / "talk.masks.npy")


@pytest.fixture
def share_browser(playwright_driver, share_clip):
    """One Chromium for every page of a test: presenters use its fake camera, viewers do not."""
    from e2e_tests.network import WEBRTC_LOOPBACK_ARGS

    args = [*BASE_ARGS, *FAKE_CAMERA_ARGS, *AUTO_ACCEPT_CAMERA_ARGS, *WEBRTC_LOOPBACK_ARGS,
            f"--use-file-for-fake-video-capture={share_clip[0]}"]
    running = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield running
    running.close()


@contextmanager
def page_opener(browser):
    """open(url, expect_errors=False, init_script=None) -> WatchedPage in its own context of BROWSER (own
    storage, like another person's laptop); at exit, fails on any console or page error they had."""
    watched_pages = []

    def _open(url, expect_errors=False, init_script=None):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        if init_script:
            context.add_init_script(init_script)
        watched = watch(context.new_page())
        if not expect_errors:
            watched_pages.append(watched)
        watched.page.goto(url)
        return watched

    yield _open
    for watched in watched_pages:
        watched.assert_clean()


@pytest.fixture
def new_page(share_browser):
    """new_page(url, init_script=None) -> WatchedPage (page_opener) in the shared sharing browser."""
    with page_opener(share_browser) as _open:
        yield _open


# ---------------------------------------------------------------- other engines (drivers: e2e_tests/engines)

HEADED_ENGINES = {"firefox", "webkit"}  # need a virtual screen (WebGL in Firefox; any window in WebKit)


@pytest.fixture(scope="module")
def display():
    """A virtual screen for the headed engines (None when Xvfb is missing: they skip)."""
    from e2e_tests.engines.display import missing as display_missing
    from e2e_tests.engines.display import virtual_display

    if display_missing():
        yield None
        return
    with virtual_display() as number:
        yield number


def launch_engine_or_skip(name, display, request, **options):
    """Engine NAME (e2e_tests.engines.launch OPTIONS), or skip the test with the command that installs it."""
    from e2e_tests.engines import launch as launch_engine
    from e2e_tests.engines import missing
    from e2e_tests.engines.display import missing as display_missing

    reason = missing(name) or (display_missing() if name in HEADED_ENGINES else None)
    if reason:
        pytest.skip(f"{name}: {reason}")
    if name == "chromium":
        options["playwright"] = request.getfixturevalue("playwright_driver")
    return launch_engine(name, display=display, **options)
