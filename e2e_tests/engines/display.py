"""A virtual screen (Xvfb) for the headed engines: WebGL2 in Firefox, any window at all for WebKitGTK."""
import os
import shutil
import subprocess
from contextlib import contextmanager

SCREEN = "1280x1024x24"
START_TIMEOUT_S = 20


def missing() -> str | None:
    """Why no virtual screen can start here, or None."""
    return None if shutil.which("Xvfb") else "Xvfb is missing: apt-get install -y xvfb (scripts/test.sh installs it as root)"


@contextmanager
def virtual_display():
    """Start Xvfb on a free display number (it picks one itself) and yield ':N'."""
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                               pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # written once the server accepts connections
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
