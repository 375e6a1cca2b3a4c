"""A headed Chromium on a virtual screen (Xvfb), driven over the raw DevTools protocol.

Playwright keeps every page it drives visible and focused (focus emulation), so it cannot show what
a really hidden tab does. Here Chromium runs as a user's would, and a tab opened in front of the
page hides it: `document.visibilityState` is 'hidden' and Chromium throttles it as it does for a
teacher who switched to the slides."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass

import websocket

from e2e_tests.conftest import AUTO_ACCEPT_CAMERA_ARGS, BASE_ARGS, CHROMIUM, FAKE_CAMERA_ARGS, POLL_INTERVAL_S
from e2e_tests.network import WEBRTC_LOOPBACK_ARGS
from tests.server_process import free_port

XVFB = shutil.which("Xvfb")
SCREEN = "1280x900x24"
# Headed Chromium does not fall back to software WebGL by itself (headless does).
SOFTWARE_GL_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
START_TIMEOUT_S = 30
CALL_TIMEOUT_S = 60  # one DevTools call; a page whose main thread never frees up fails here


class DevToolsTab:
    """One page target: evaluate expressions (with a user gesture, so clicks count) and poll them."""

    def __init__(self, target: dict):
        self.target_id = target["id"]
        self._socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=CALL_TIMEOUT_S)
        self._next_id = 0

    def call(self, method: str, **params):
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._socket.recv())
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, userGesture=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout_s: float):
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value = self.evaluate(f"(() => {{ try {{ return {expression}; }} catch {{ return false; }} }})()")
            except RuntimeError as error:  # between two documents there is no context to evaluate in
                if "context" not in str(error):
                    raise
                value = False
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout_s} s: {expression}")
            time.sleep(POLL_INTERVAL_S)

    def close(self):
        self._socket.close()


@dataclass
class HeadedChromium:
    """Xvfb plus Chromium with a fake camera playing CLIP, its DevTools endpoint on loopback."""

    clip: str

    def __enter__(self):
        self._profile = tempfile.mkdtemp(prefix="vbg-headed-")
        display_number = free_port() % 1000 + 100  # a display nobody else here uses
        self._xvfb = subprocess.Popen(["Xvfb", f":{display_number}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._port = free_port()
        args = [CHROMIUM, "--no-sandbox", f"--user-data-dir={self._profile}", f"--remote-debugging-port={self._port}",
                "--remote-debugging-address=127.0.0.1", "--window-size=1200,800", *BASE_ARGS, *SOFTWARE_GL_ARGS,
                *FAKE_CAMERA_ARGS, *AUTO_ACCEPT_CAMERA_ARGS, *WEBRTC_LOOPBACK_ARGS,
                f"--use-file-for-fake-video-capture={self.clip}", "about:blank"]
        self._chromium = subprocess.Popen(args, env={**os.environ, "DISPLAY": f":{display_number}"},
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._tabs = []
        self._wait_for_devtools()
        return self

    def __exit__(self, *exc):
        for tab in self._tabs:
            tab.close()
        for process in (self._chromium, self._xvfb):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _request(self, path: str, method: str = "GET"):
        """GET or PUT a DevTools HTTP endpoint: its JSON answer, or its text where it answers plain text."""
        request = urllib.request.Request(f"http://127.0.0.1:{self._port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT_S) as response:
            body = response.read().decode()
        try:
            return json.loads(body)
        except ValueError:
            return body  # /json/activate answers "Target activated"

    def _wait_for_devtools(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self._request("/json/version")
                return
            except OSError:
                if self._chromium.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("headed Chromium did not start under Xvfb") from None
                time.sleep(POLL_INTERVAL_S)

    def open_tab(self, url: str) -> DevToolsTab:
        """A new tab in front (the tab that was in front is now hidden)."""
        tab = DevToolsTab(self._request(f"/json/new?{url}", method="PUT"))
        self._tabs.append(tab)
        return tab

    def bring_to_front(self, tab: DevToolsTab):
        self._request(f"/json/activate/{tab.target_id}")
