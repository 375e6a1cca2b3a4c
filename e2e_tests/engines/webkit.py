"""WebKitGTK, Safari's engine: Debian's WebKitWebDriver starts its MiniBrowser (headed, on a virtual
screen) and Selenium's plain Remote client drives it, so nothing is downloaded."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from e2e_tests.engines.base import ERROR_RECORDER_JS, INSTALL_HINT

WEBKIT_DRIVER = os.environ.get("VBG_WEBKIT_DRIVER", "/usr/bin/WebKitWebDriver")
MINIBROWSER = os.environ.get("VBG_MINIBROWSER", "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
START_TIMEOUT_S = 30
SCRIPT_TIMEOUT_S = 120  # software WebGL on a loaded machine answers slowly
# MiniBrowser in automation mode with WebKit's mock camera, WebRTC and WebGL on, media allowed to play.
BROWSER_ARGS = ["--automation", "--enable-webgl=true", "--autoplay-policy=allow"]
MEDIA_STREAM_ARG = "--enable-media-stream={}"  # false: no navigator.mediaDevices at all
# false: no RTCPeerConnection (Debian's WebKitGTK 2.50 is built without WebRTC, so it has none either way)
WEBRTC_ARG = "--enable-webrtc={}"
MOCK_CAMERA_ARG = "--enable-mock-capture-devices=true"
# The element scrolled into view, and its box in CSS px of the viewport (the window screenshot's frame).
ELEMENT_BOX_JS = """const element = document.querySelector(arguments[0]);
element.scrollIntoView({block: 'nearest', inline: 'nearest'});
const box = element.getBoundingClientRect();
return {left: box.left, top: box.top, right: box.right, bottom: box.bottom, ratio: window.devicePixelRatio};"""


def missing() -> str | None:
    if not Path(WEBKIT_DRIVER).exists() or not Path(MINIBROWSER).exists():
        return ("WebKitGTK's WebDriver is missing: apt-get install -y webkit2gtk-driver xvfb "
                f"({INSTALL_HINT})")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is missing: .venv/bin/pip install -e '.[test]' (scripts/test.sh does it)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebKitPage:
    """WebDriver classic has one session per browser; each page is a new window in it. Console errors
    are recorded from the moment the page has loaded (ERROR_RECORDER_JS), not before."""

    def __init__(self, engine: "WebKit", url: str):
        self._driver = engine.driver
        self._driver.switch_to.new_window("window")
        self.handle = self._driver.current_window_handle
        self.goto(url)

    def goto(self, url: str) -> None:
        self._select()
        self._driver.get(url)
        self._driver.execute_script(f"return {ERROR_RECORDER_JS}")

    def _select(self):
        if self._driver.current_window_handle != self.handle:
            self._driver.switch_to.window(self.handle)

    def evaluate(self, expression: str):
        self._select()
        # Promises are awaited, as the other engines' evaluate does.
        value = self._driver.execute_async_script(
            f"const done = arguments[arguments.length - 1]; Promise.resolve({expression})"
            ".then(done, (error) => done({__error: String(error)}))")
        if isinstance(value, dict) and "__error" in value:
            raise RuntimeError(f"WebKit: {value['__error']}")
        return value

    def click(self, selector: str) -> None:
        self._select()
        from selenium.webdriver.common.by import By

        self._driver.find_element(By.CSS_SELECTOR, selector).click()

    def screenshot(self, selector: str) -> bytes:
        """The element as the window shows it: a crop of the whole window's screenshot. WebKitGTK's own
        element screenshot leaves out most of a WebGL canvas's picture (measured: 73% of #output black; 0-2%
        of a canvas cleared to magenta, with preserveDrawingBuffer true or false)."""
        self._select()
        import io

        from PIL import Image

        box = self._driver.execute_script(ELEMENT_BOX_JS, selector)
        window = Image.open(io.BytesIO(self._driver.get_screenshot_as_png()))
        scale = box["ratio"]
        crop = window.crop(tuple(round(value * scale) for value in (box["left"], box["top"], box["right"], box["bottom"])))
        out = io.BytesIO()
        crop.save(out, format="PNG")
        return out.getvalue()

    def errors(self) -> list[str]:
        self._select()
        return self._driver.execute_script("return window.__vbgErrors ?? ['error recorder missing: the page reloaded']")

    def close(self) -> None:
        self._select()
        self._driver.close()
        self._driver.switch_to.window(self._driver.window_handles[0])


class WebKit:
    name = "webkit"

    def __init__(self, display: str | None, camera: bool, shared_array_buffer: bool, media_stream: bool = True,
                 webrtc: bool = True):
        from selenium import webdriver
        from selenium.webdriver.common.options import ArgOptions

        self._home = tempfile.mkdtemp(prefix="vbg-webkit-")
        env = {**os.environ, "HOME": self._home}
        if display:
            env["DISPLAY"] = display
        if shared_array_buffer:
            env["JSC_useSharedArrayBuffer"] = "1"  # else SharedArrayBuffer is undefined even when isolated
        port = _free_port()
        self._process = subprocess.Popen([WEBKIT_DRIVER, f"--port={port}", "--host=127.0.0.1"], env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_for_port(port)
        options = ArgOptions()
        options.set_capability("browserName", "MiniBrowser")
        # WebRTC first: turning it on turns media streams on too, so the media-stream setting must come after.
        args = [*BROWSER_ARGS, WEBRTC_ARG.format(str(webrtc).lower()), MEDIA_STREAM_ARG.format(str(media_stream).lower())]
        args += [MOCK_CAMERA_ARG] if camera else []
        options.set_capability("webkitgtk:browserOptions", {"binary": MINIBROWSER, "args": args})
        self.driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        self.driver.set_script_timeout(SCRIPT_TIMEOUT_S)
        self._blank = self.driver.current_window_handle

    def _wait_for_port(self, port: int):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self._process.kill()
        raise RuntimeError(f"WebKitWebDriver did not listen on port {port} within {START_TIMEOUT_S} s")

    def open(self, url: str) -> WebKitPage:
        return WebKitPage(self, url)

    def version(self) -> str:
        return f"webkitgtk/{self.driver.capabilities.get('browserVersion', '?')}"

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
            shutil.rmtree(self._home, ignore_errors=True)


def launch(display: str | None = None, camera: bool = True, shared_array_buffer: bool = True,
           media_stream: bool = True, webrtc: bool = True, **_ignored) -> WebKit:
    """MiniBrowser with WebKit's mock camera (or none; media_stream=False: no camera API at all;
    webrtc=False: no RTCPeerConnection)."""
    return WebKit(display, camera, shared_array_buffer, media_stream, webrtc)
