"""How long a second `scripts/serve.sh` takes to answer, with nothing to install (issue 14: under 3 s, no network).

    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m benchmarks.serve_start'   # as root: no network

Runs `scripts/serve.sh --port <free port>` ROUNDS times (the first setup has already happened: the venv and
node_modules exist and the setup stamp matches) and measures from the start of the process to the first 200 from
`/healthz`; prints the times and writes benchmarks/results/serve_start.json.
"""
import argparse
import json
import os
import signal
import subprocess
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from statistics import median

from benchmarks.broadcast import _commit
from tests.server_process import free_port

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "serve_start.json"
ROUNDS = 5
POLL_S = 0.02  # between /healthz attempts
GIVE_UP_S = 60


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def time_one_start() -> float:
    """Seconds from starting scripts/serve.sh to its first 200 from /healthz."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([str(REPO / "scripts" / "serve.sh"), "--port", str(port)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while not _healthy(f"http://127.0.0.1:{port}/healthz"):
            if process.poll() is not None or time.perf_counter() - started > GIVE_UP_S:
                raise RuntimeError(f"scripts/serve.sh did not answer (exit {process.returncode})")
            time.sleep(POLL_S)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    times = [time_one_start() for _ in range(args.rounds)]
    print("seconds to /healthz 200:", ", ".join(f"{t:.2f}" for t in times), f"(median {median(times):.2f})")
    RESULTS.write_text(json.dumps({
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **_commit(),
        "command": "python -m benchmarks.serve_start", "rounds": args.rounds,
        "seconds": times, "median_s": median(times),
    }, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
