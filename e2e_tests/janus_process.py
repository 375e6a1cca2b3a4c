"""Debian's Janus with this project's deploy/janus configuration, as a child process on a free loopback port:
what the Janus e2e test (e2e_tests/test_janus.py) and the broadcast benchmark (benchmarks/broadcast.py) run
against. Its ICE uses only the interface it is given (e2e_tests/network.py's media link in a test namespace)."""
import json
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.server_process import REPO_ROOT, free_port

JANUS = shutil.which("janus")
JANUS_CONFIG = REPO_ROOT / "deploy" / "janus"
JANUS_START_TIMEOUT_S = 20
JANUS_STOP_TIMEOUT_S = 10
START_POLL_S = 0.1
INFO_TIMEOUT_S = 1
LOG_TAIL_LINES = 60
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # Janus is here: no HTTP proxy


class JanusError(RuntimeError):
    """Janus did not start; the message ends with the tail of its log."""


@dataclass
class RunningJanus:
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self) -> str:
        """The last lines Janus logged."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def stop(self) -> None:
        """Janus's clean shutdown (SIGINT), then a kill if it hangs."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(JANUS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _answers(url: str) -> bool:
    try:
        with DIRECT.open(url + "/info", timeout=INFO_TIMEOUT_S) as answer:
            return json.load(answer).get("janus") == "server_info"
    except (OSError, ValueError):
        return False


def _set(path: Path, key: str, value: int) -> None:
    """Replace the number after `KEY =` in a Janus .jcfg file."""
    path.write_text(re.sub(rf"(?m)^(\s*{key}\s*=\s*)\d+", rf"\g<1>{value}", path.read_text()))


def start_janus(folder: Path, interface: str, session_timeout_s: int | None = None) -> RunningJanus:
    """Janus with a copy of deploy/janus (under FOLDER, with its log) on a free loopback port, its ICE on
    INTERFACE only; SESSION_TIMEOUT_S replaces the configuration's. Raises JanusError if it does not answer."""
    config = folder / "config"
    shutil.copytree(JANUS_CONFIG, config)
    port = free_port()
    _set(config / "janus.transport.http.jcfg", "port", port)
    if session_timeout_s is not None:
        _set(config / "janus.jcfg", "session_timeout", session_timeout_s)
    log = folder / "janus.log"
    command = [JANUS, "--configs-folder", str(config), "--log-file", str(log), "--disable-stdout", "--disable-colors",
               f"--ice-enforce-list={interface}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    running = RunningJanus(f"http://127.0.0.1:{port}/janus", process, log)
    deadline = time.monotonic() + JANUS_START_TIMEOUT_S
    while not _answers(running.url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise JanusError(f"Janus did not answer at {running.url} within {JANUS_START_TIMEOUT_S} s:\n"
                             f"{running.log_tail()}")
        time.sleep(START_POLL_S)
    return running
