"""Start and stop the real server (`vbg serve`, the production gunicorn path) as a child process."""
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT_S = 30


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def start_server(extra_args: list[str] = (), env: dict | None = None, scheme: str = "http") -> RunningServer:
    """Start `vbg serve` (the production server) on a free port and wait until it answers."""
    port = free_port()
    command = [sys.executable, "-m", "webapp.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *extra_args]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ, **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"{scheme}://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return RunningServer(url, process)
        except OSError:
            time.sleep(0.1)
    stop_server(RunningServer(url, process))
    raise RuntimeError(f"the server did not listen on port {port} within {SERVER_START_TIMEOUT_S} s")


def stop_server(server: RunningServer) -> str:
    """SIGTERM (graceful), then kill if it hangs; returns what the server printed."""
    server.process.send_signal(signal.SIGTERM)
    try:
        output, _ = server.process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        output, _ = server.process.communicate()
    return output
