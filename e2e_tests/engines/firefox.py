"""Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core (firefox_bridge.mjs, a Node
process that takes one JSON command per line). Headed on a virtual screen: headless Firefox has no WebGL."""
import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from e2e_tests.engines.base import INSTALL_HINT

FIREFOX = os.environ.get("VBG_FIREFOX", "/usr/bin/firefox-esr")
BRIDGE = Path(__file__).with_name("firefox_bridge.mjs")
PUPPETEER = Path(__file__).resolve().parents[2] / "node_modules" / "puppeteer-core"
COMMAND_TIMEOUT_S = 150  # one command; the bridge's own protocol timeout is 120 s
START_TIMEOUT_S = 60

# A synthetic fake camera granted without a prompt; no update checks, telemetry or first-run pages.
BASE_PREFS = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "app.update.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "network.captive-portal-service.enabled": False,
    # ICE host candidates as addresses, not mDNS names nothing in a test namespace resolves (Chromium's
    # tests turn off WebRtcHideLocalIpsWithMdns for the same reason).
    "media.peerconnection.ice.obfuscate_host_addresses": False,
}
# The permission prompt on, and the camera refused for every site: what a user who clicks "Block" gets.
DENY_CAMERA_PREFS = {"media.navigator.permission.disabled": False, "permissions.default.camera": 2}
# No camera at all: the fake one off and no real device behind it.
NO_CAMERA_PREFS = {"media.navigator.streams.fake": False, "media.video_loopback_dev": "/dev/null-none"}
# WebRTC switched off as a user or a policy does it in about:config: no RTCPeerConnection at all.
NO_WEBRTC_PREFS = {"media.peerconnection.enabled": False}


def missing() -> str | None:
    if not Path(FIREFOX).exists():
        return f"{FIREFOX} is missing: apt-get install -y firefox-esr ({INSTALL_HINT})"
    if not shutil.which("node"):
        return "node is missing: install Node.js 20 (apt-get install -y nodejs npm)"
    if not PUPPETEER.exists():
        return "node_modules/puppeteer-core is missing: run scripts/setup.sh (npm ci)"
    return None


class FirefoxPage:
    def __init__(self, engine: "Firefox", page_id: int):
        self._engine, self._id = engine, page_id

    def goto(self, url: str) -> None:
        self._engine.call("goto", page=self._id, url=url)

    def evaluate(self, expression: str):
        return self._engine.call("evaluate", page=self._id, expression=f"({expression})")

    def click(self, selector: str) -> None:
        self._engine.call("click", page=self._id, selector=selector)

    def screenshot(self, selector: str) -> bytes:
        return base64.b64decode(self._engine.call("screenshot", page=self._id, selector=selector))

    def errors(self) -> list[str]:
        return self._engine.call("errors", page=self._id)

    def close(self) -> None:
        self._engine.call("close", page=self._id)


class Firefox:
    name = "firefox"

    def __init__(self, display: str | None, headless: bool, prefs: dict):
        self._profile_home = tempfile.mkdtemp(prefix="vbg-firefox-")
        env = {**os.environ, "HOME": self._profile_home, "MOZ_CRASHREPORTER_DISABLE": "1"}
        if display:
            env["DISPLAY"] = display
        options = {"executablePath": FIREFOX, "headless": headless, "prefs": prefs}
        self._process = subprocess.Popen(["node", str(BRIDGE), json.dumps(options)], env=env, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next_id = 1
        self._lock = threading.Lock()
        self._await(0, START_TIMEOUT_S)

    def _read(self):
        for line in self._process.stdout:
            self._answers.put(json.loads(line))
        self._answers.put(None)  # the bridge exited

    def _await(self, request_id: int, timeout_s: float):
        while True:
            try:
                answer = self._answers.get(timeout=timeout_s)
            except queue.Empty:
                raise TimeoutError(f"Firefox did not answer within {timeout_s} s") from None
            if answer is None:
                raise RuntimeError(f"the Firefox bridge exited ({self._process.poll()})")
            if answer["id"] == request_id:
                if not answer["ok"]:
                    raise RuntimeError(f"Firefox: {answer['error']}")
                return answer["value"]

    def call(self, cmd: str, **args):
        with self._lock:
            request_id = self._next_id
            self._next_id += 1
            self._process.stdin.write(json.dumps({"id": request_id, "cmd": cmd, **args}) + "\n")
            self._process.stdin.flush()
            return self._await(request_id, COMMAND_TIMEOUT_S)

    def open(self, url: str) -> FirefoxPage:
        return FirefoxPage(self, self.call("open", url=url))

    def version(self) -> str:
        return self.call("version")

    def close(self) -> None:
        try:
            self._process.stdin.close()  # the bridge closes the browser and exits
            self._process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
        shutil.rmtree(self._profile_home, ignore_errors=True)


def launch(display: str | None = None, camera: bool = True, deny_camera: bool = False, headless: bool = False,
           webgpu: bool = False, webrtc: bool = True, **_ignored) -> Firefox:
    """firefox-esr with a fake camera (or none, or refused); headless=True has no WebGL at all;
    webrtc=False: WebRTC turned off."""
    prefs = dict(BASE_PREFS)
    if not webrtc:
        prefs.update(NO_WEBRTC_PREFS)
    if deny_camera:
        prefs.update(DENY_CAMERA_PREFS)
    if not camera:
        prefs.update(NO_CAMERA_PREFS)
    if webgpu:
        prefs.update({"dom.webgpu.enabled": True, "gfx.webgpu.ignore-blocklist": True})
    return Firefox(display, headless, prefs)
