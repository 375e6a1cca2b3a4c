"""Benchmark a classroom broadcast peer to peer and through Janus, side by side: the presenter's upload and
CPU, Janus's CPU, the viewers' frame rate and time to first frame, against the number of viewers.

    # as root, so that media stays on loopback (a network namespace with only `lo`; the Janus mode adds
    # a veth pair inside it for Janus's ICE, as e2e_tests/test_janus.py does):
    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m benchmarks.broadcast [--modes p2p,janus | --sfu janus] [--viewers 1,10,30] [--seconds 10] [--pages-per-browser 5] [--first-frame-timeout-s 45]'

Not a test: prints a Markdown table (pasted into the README) and writes benchmarks/results/broadcast.json
after every step, so a run cut short keeps what it measured; its "manifest" says what the run did.

Each mode gets its own server (`vbg serve`; with `--sfu janus`, Debian's Janus on deploy/janus's
configuration, e2e_tests/janus_process.py) and its own presenter in one Chromium (fake camera playing a
person clip, colour background, 640x360), so the presenter's CPU is its own browser's processes only
(benchmarks/processes.py). The viewers are watch pages spread over further Chromiums, --pages-per-browser
each (benchmarks/viewer_pool.py), all on the same machine. Upload is the sum of ``bytesSent`` over the
presenter's RTCPeerConnections (getStats, outbound-rtp: one per viewer peer to peer, one to Janus), sampled
every second. Viewers are added step by step after a step without any; a new viewer's time to first frame
runs from opening /watch/<room> to the first frame its <video> presents. A viewer with no frame in time is
counted as failed and the run goes on; a mode that breaks is recorded with its error and the next one runs.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.pipeline import machine_info, markdown_table
from benchmarks.processes import browser_cpu_seconds, browser_memory_bytes, browser_pid, process_cpu_seconds
from benchmarks.viewer_pool import FIRST_FRAME_TIMEOUT_S, ViewerPool
from clips.build import ClipSpec, build_clip, parse_script
from e2e_tests.conftest import wait_until
from e2e_tests.janus_process import JANUS, start_janus
from e2e_tests.network import LOOPBACK_ONLY, WEBRTC_LOOPBACK_ARGS, add_media_link, remove_media_link
from model_export.paths import BUILD_DIR, REPO_ROOT
from tests.server_process import start_server, stop_server
from webapp.config import HTTP_RESERVED_THREADS, JANUS_SHARE_OF_THREADS

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "broadcast.json"
CHROMIUM = os.environ.get("VBG_CHROMIUM", "/usr/bin/chromium")
SETTINGS_KEY = "vbg.settings.v1"
BASE_ARGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
CLIP_SCRIPT = "talk:90,move:90"  # a person who talks, then moves: the encoder sees real motion
MODES = {"p2p": "peer to peer", "janus": "Janus"}  # --modes names: how the table names them
DEFAULT_VIEWERS = (1, 10, 30)
# Viewer pages per viewer Chromium: 30 viewers in 6 browsers. Measured here (PSS): a viewer browser about
# 185 MB and each page in it about 82 MB, so 30 pages take about 3.6 GB beside the presenter's 0.8 GB.
DEFAULT_PAGES_PER_BROWSER = 5
DEFAULT_SECONDS = 10.0  # measured per step, after settling
SETTLE_S = 4.0  # after a viewer joins: bandwidth estimation ramps up
STATS_INTERVAL_S = 1.0  # presenter fps and upload samples during a step
PAGE_TIMEOUT_S = 180
VIEWER_COUNT_TIMEOUT_S = 30  # for the presenter to count the viewers that got a frame
SERVER_THREADS = 64  # at the least; more for many viewers (server_args)
SPARE_SOCKETS_PER_ADDRESS = 4  # a viewer that reconnects holds a second room socket for a moment
BITS_PER_BYTE = 8
MS_PER_S = 1000
PRESENTER_SETTINGS = {"resolution": "640x360", "mode": "colour", "colour": "#2a6"}

# {link/report id: bytesSent} over the presenter's outgoing links: one per viewer peer to peer, one to Janus.
UPLOAD_BYTES_JS = """async () => {
  const sent = {};
  for (const [key, link] of window.vbg.share.broadcast.viewerLinks) {
    (await link.pc.getStats()).forEach((report) => {
      if (report.type === 'outbound-rtp') sent[`${key}/${report.id}`] = report.bytesSent;
    });
  }
  return sent;
}"""
PRESENTER_FPS_JS = "window.vbg.stats.fps"


def launch_browser(driver, marker: str, extra=()):
    """A headless Chromium for loopback WebRTC, tagged with MARKER: (browser, its browser process's pid)."""
    args = [*BASE_ARGS, *WEBRTC_LOOPBACK_ARGS, f"--vbg-bench={marker}", *extra]
    browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    return browser, browser_pid(f"--vbg-bench={marker}")


def presenter_clip() -> Path:
    """The person clip the presenter's fake camera plays, built once under build/."""
    folder = BUILD_DIR / "bench-clips" / "broadcast"
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / "talk.y4m"
    if not clip.exists():
        build_clip(folder / "talk", ClipSpec(script=parse_script(CLIP_SCRIPT)))
    return clip


def presenter_camera_args(clip: Path) -> list[str]:
    """Chromium flags for a presenter whose fake camera plays CLIP, permission granted."""
    return [*CAMERA_ARGS, f"--use-file-for-fake-video-capture={clip}"]


def start_presenter(browser, url: str, settings: dict = PRESENTER_SETTINGS):
    """Open the home page with SETTINGS stored, enable the camera and wait for the person to show."""
    presenter = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    presenter.goto(url)
    presenter.evaluate("([key, value]) => localStorage.setItem(key, value)", [SETTINGS_KEY, json.dumps(settings)])
    presenter.reload()
    presenter.get_by_role("button", name="Enable camera").click()
    wait_until(presenter, "window.vbg.stats && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
    return presenter


def start_broadcast(presenter) -> str:
    """Share the presenter's picture by link (no microphone); returns the viewers' link once live."""
    presenter.uncheck("#share-microphone", force=True)
    presenter.get_by_role("button", name="Share by link").click()
    return wait_until(presenter, "window.vbg.share.state === 'live' && window.vbg.share.link", PAGE_TIMEOUT_S)


def open_viewer(browser, link: str):
    """A viewer in its own context of BROWSER, once its first frame arrived: (page, seconds from
    opening the link to that frame)."""
    page = browser.new_context().new_page()
    opened = time.monotonic()
    page.goto(link)
    wait_until(page, "window.vbg.framesReceived > 0", PAGE_TIMEOUT_S)
    return page, time.monotonic() - opened


# --- figures from samples (pure: tests/benchmarks/test_broadcast_bench.py) ---

def sent_bytes(samples: list[dict[str, int]]) -> int:
    """Bytes sent over the samples of UPLOAD_BYTES_JS, in order: the growth of each link's counter between
    one sample and the next. A link that appears was opened in between (all its bytes count); one that
    disappears (a viewer left) counts up to its last sample."""
    total = 0
    for before, after in zip(samples, samples[1:]):
        for key, value in after.items():
            total += max(0, value - before.get(key, 0))
    return total


def upload_mbit_s(samples: list[tuple[float, dict[str, int]]]) -> float | None:
    """Mean upload over (monotonic s, UPLOAD_BYTES_JS) samples, in Mbit/s; None with under two samples."""
    if len(samples) < 2 or samples[-1][0] <= samples[0][0]:
        return None
    sent = sent_bytes([counters for _, counters in samples])
    return sent * BITS_PER_BYTE / (samples[-1][0] - samples[0][0]) / 1e6


def frame_rates(start: list[tuple[int | None, float]], end: list[tuple[int | None, float]]) -> list[float]:
    """Frames per second of each viewer between two ViewerPool.frame_counts() readings; a viewer that could
    not be read at either end, or that joined in between, is left out."""
    return [(frames_end - frames_start) / (t_end - t_start)
            for (frames_start, t_start), (frames_end, t_end) in zip(start, end)
            if frames_start is not None and frames_end is not None and t_end > t_start]


def first_frame_summary(seconds: list[float]) -> dict:
    """Median and max of the viewers' times to first frame (s), with the samples."""
    return {"median": statistics.median(seconds) if seconds else None, "max": max(seconds, default=None),
            "samples": seconds}


def server_args(max_viewers: int, janus_url: str | None = None) -> list[str]:
    """`vbg serve` flags for one presenter and MAX_VIEWERS viewers, all from 127.0.0.1: per-address caps that
    let this one address hold every room socket (and in Janus mode as many Janus long polls), and enough
    threads that the caps stay below what the threads allow (webapp/config.py)."""
    per_address = max_viewers + 1 + SPARE_SOCKETS_PER_ADDRESS
    long_lived = per_address + 1  # the caps must be below this
    threads = max(SERVER_THREADS, HTTP_RESERVED_THREADS + math.ceil(long_lived / JANUS_SHARE_OF_THREADS))
    args = ["--threads", str(threads), "--max-sockets-per-address", str(per_address),
            "--max-viewers", str(max(1, max_viewers))]
    if janus_url:
        args += ["--sfu", "janus", "--janus-url", janus_url, "--max-janus-sessions-per-address", str(per_address)]
    return args


def derive(steps: list[dict]) -> None:
    """Per-viewer and per-frame figures. On a machine that the viewers' browsers share, the presenter's
    cores saturate and its frame rate falls, so CPU per processed frame is the comparable cost; the
    extra per viewer is over the no-viewer step, per viewer whose picture moved during the step."""
    base = steps[0]
    for step in steps:
        fps = step["presenter_fps"]
        step["cpu_ms_per_frame"] = step["cpu_cores"] * MS_PER_S / fps if fps else None
    for step in steps[1:]:
        viewers = step.get("viewers_receiving", step["viewers"])
        if not viewers:
            continue
        step["cpu_cores_per_viewer"] = (step["cpu_cores"] - base["cpu_cores"]) / viewers
        if step["upload_mbit_s"] is not None:
            step["upload_mbit_s_per_viewer"] = step["upload_mbit_s"] / viewers
        if step["cpu_ms_per_frame"] and base["cpu_ms_per_frame"]:
            step["cpu_ms_per_frame_per_viewer"] = (step["cpu_ms_per_frame"] - base["cpu_ms_per_frame"]) / viewers


def _number(value, form: str) -> str | None:
    return None if value is None else format(value, form)


def report_markdown(result: dict) -> str:
    """The table of every mode's steps, the same viewer counts next to each other, and a line per mode on
    the time to first frame and the viewers that got none."""
    records = {mode: result["janus"] if mode == "janus" else result for mode in result["manifest"]["modes"]}
    rows = []
    for mode, record in records.items():
        for step in record.get("steps", []):
            fps = step.get("viewer_fps", {})
            viewer_fps = (f"{fps['median']:.1f} ({fps['min']:.1f})" if fps.get("median") is not None else None)
            rows.append((step["viewers"], list(MODES).index(mode), [
                step["viewers"], MODES[mode], step.get("viewers_receiving", 0),
                _number(step["upload_mbit_s"], ".2f"), _number(step.get("upload_mbit_s_per_viewer"), ".2f"),
                _number(step["cpu_cores"], ".2f"), _number(step.get("cpu_ms_per_frame"), ".1f"),
                _number(step["presenter_fps"], ".1f"), viewer_fps, _number(step.get("janus_cpu_cores"), ".2f")]))
    table = markdown_table(["viewers", "mode", "receiving", "upload Mbit/s", "Mbit/s per viewer", "presenter CPU (cores)",
                            "CPU ms per frame", "presenter fps", "viewer fps median (min)", "Janus CPU (cores)"],
                           [row for _, _, row in sorted(rows, key=lambda row: row[:2])])
    lines = [table, ""]
    for mode, record in records.items():
        first = record.get("time_to_first_frame_s") or {}
        run = result["manifest"]["modes"][mode]
        counts = f"{run.get('viewers_failed', 0)} of {run.get('viewers_opened', 0)} viewers got no frame"
        if first.get("median") is not None:
            lines.append(f"{MODES[mode]}: time to first frame median {first['median']:.2f} s, "
                         f"max {first['max']:.2f} s; {counts}.")
        else:
            lines.append(f"{MODES[mode]}: no viewer got a frame; {counts}.")
        if run.get("error"):
            lines.append(f"{MODES[mode]} stopped early: {run['error']}")
    return "\n".join(lines)


# --- running one mode ---

def _measure(presenter, presenter_pid: int, pool: ViewerPool, janus_pid: int | None, seconds: float) -> dict:
    """One step: the presenter's CPU, upload, fps and memory, Janus's CPU, the viewers' fps, and the CPU and
    memory of the viewers' browsers."""
    viewer_pids = [pid for _, pid in pool.browsers if pid is not None]
    counts_start = pool.frame_counts()
    cpu_start, janus_start = browser_cpu_seconds(presenter_pid), process_cpu_seconds(janus_pid) if janus_pid else 0.0
    viewers_cpu_start = sum(map(browser_cpu_seconds, viewer_pids))
    wall_start = time.monotonic()
    sent, fps = [(wall_start, presenter.evaluate(UPLOAD_BYTES_JS))], []
    while time.monotonic() - wall_start < seconds:
        time.sleep(STATS_INTERVAL_S)
        fps.append(presenter.evaluate(PRESENTER_FPS_JS))
        sent.append((time.monotonic(), presenter.evaluate(UPLOAD_BYTES_JS)))
    wall = time.monotonic() - wall_start
    step = {"cpu_cores": (browser_cpu_seconds(presenter_pid) - cpu_start) / wall,
            "upload_mbit_s": upload_mbit_s(sent),
            "presenter_fps": statistics.median(fps) if fps else None,
            "presenter_pss_bytes": browser_memory_bytes(presenter_pid)["pss"], "seconds": wall}
    if janus_pid:
        step["janus_cpu_cores"] = (process_cpu_seconds(janus_pid) - janus_start) / wall
    if pool.viewers:
        rates = frame_rates(counts_start, pool.frame_counts())
        memory = pool.memory_bytes()
        step.update(viewer_fps={"median": statistics.median(rates) if rates else None, "min": min(rates, default=None)},
                    viewers_receiving=sum(rate > 0 for rate in rates),
                    viewers_cpu_cores=(sum(map(browser_cpu_seconds, viewer_pids)) - viewers_cpu_start) / wall,
                    viewer_browsers=len(viewer_pids), viewer_memory_bytes=memory,
                    viewer_pss_bytes_per_page=memory["pss"] / len(pool.viewers))
        if rates:  # the key the peer-to-peer results always had
            step["viewer_fps_median"] = step["viewer_fps"]["median"]
    return step


def _progress(mode: str, step: dict, started: float) -> None:
    """One line per step while the benchmark runs."""
    print(f"[{time.monotonic() - started:4.0f} s] {MODES[mode]}, {step['viewers']} viewers "
          f"({step.get('viewers_receiving', 0)} receiving): upload {_number(step['upload_mbit_s'], '.2f')} Mbit/s, "
          f"presenter {step['cpu_cores']:.2f} cores at {_number(step['presenter_fps'], '.1f')} fps", flush=True)


def _quietly(close):
    """CLOSE(), ignoring a browser that has already gone: teardown must not hide the run's own error."""
    try:
        close()
    except Exception:  # noqa: BLE001
        pass


def _with_janus(stack: contextlib.ExitStack):
    """Janus on deploy/janus's configuration with its veth pair, both undone when STACK closes."""
    interface = add_media_link()
    stack.callback(remove_media_link)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vbg-bench-janus-")))
    janus = start_janus(folder, interface)
    stack.callback(janus.stop)
    return janus


def run_mode(mode: str, viewer_steps: list[int], seconds: float, pages_per_browser: int, first_frame_timeout_s: float,
             record: dict, run: dict, checkpoint) -> None:
    """Measure MODE ('p2p' or 'janus'), filling RECORD (steps, times to first frame) and RUN (what ran) as it
    goes and calling CHECKPOINT() after each step."""
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    steps, first_frames = record.setdefault("steps", []), []
    run.update(viewer_steps=viewer_steps, pages_per_browser=pages_per_browser, viewer_browsers=0,
               viewers_opened=0, viewers_connected=0, viewers_failed=0, failures=[])
    with contextlib.ExitStack() as stack:
        janus = _with_janus(stack) if mode == "janus" else None
        janus_pid = janus.process.pid if janus else None
        if janus:
            run["janus_version"] = subprocess.run([JANUS, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        server = start_server(server_args(max(viewer_steps, default=0), janus.url if janus else None))
        stack.callback(stop_server, server)
        driver = stack.enter_context(sync_playwright())
        presenter_browser, presenter_pid = launch_browser(driver, f"{mode}-presenter", presenter_camera_args(presenter_clip()))
        stack.callback(_quietly, presenter_browser.close)
        run["chromium"] = presenter_browser.version
        pool = ViewerPool(lambda index: launch_browser(driver, f"{mode}-viewers-{index}"), pages_per_browser)
        stack.callback(pool.close)
        presenter = start_presenter(presenter_browser, server.url)
        link = start_broadcast(presenter)
        time.sleep(SETTLE_S)
        steps.append({"viewers": 0, **_measure(presenter, presenter_pid, pool, janus_pid, seconds)})
        derive(steps)
        checkpoint()
        _progress(mode, steps[-1], started)
        for target in viewer_steps:
            joined = []
            while len(pool.viewers) < target:
                viewer = pool.open(link, target, first_frame_timeout_s)
                joined.append(viewer)
                if viewer.error:
                    run["failures"].append({"viewer": len(pool.viewers), "step": target, "error": viewer.error})
                    print(f"{mode}: viewer {len(pool.viewers)} failed: {viewer.error}", flush=True)
                else:
                    first_frames.append(viewer.first_frame_s)
            connected = sum(viewer.first_frame_s is not None for viewer in pool.viewers)
            run.update(viewer_browsers=len(pool.browsers), viewers_opened=len(pool.viewers),
                       viewers_connected=connected, viewers_failed=len(pool.viewers) - connected)
            try:
                wait_until(presenter, f"window.vbg.share.viewers >= {connected}", VIEWER_COUNT_TIMEOUT_S)
            except TimeoutError:
                print(f"{mode}: the presenter does not count {connected} viewers yet", flush=True)
            time.sleep(SETTLE_S)
            step = _measure(presenter, presenter_pid, pool, janus_pid, seconds)
            step.update(viewers=target, viewers_connected=connected, presenter_counted=presenter.evaluate(
                "window.vbg.share.viewers"), time_to_first_frame_s=first_frame_summary(
                [viewer.first_frame_s for viewer in joined if viewer.first_frame_s is not None]))
            steps.append(step)
            derive(steps)
            record["time_to_first_frame_s"] = first_frame_summary(first_frames)
            checkpoint()
            _progress(mode, step, started)


# --- the command ---

def _commit() -> dict:
    """The checked-out commit, and whether the working tree differs from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain"))}


def assemble(records: dict, manifest: dict, started: dict) -> dict:
    """The results file: the peer-to-peer record at the top (the format it always had), the Janus one under
    "janus", and what ran."""
    result = dict(records.get("p2p", {}))
    if "janus" in records:
        result["janus"] = records["janus"]
    return {**result, **started, "manifest": manifest}


def _write(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default=",".join(map(str, DEFAULT_VIEWERS)), help="viewer counts, one step each")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--modes", default=",".join(MODES), help=f"of {', '.join(MODES)}, run in this order")
    which.add_argument("--sfu", choices=("none", "janus"), help="one mode, named as `vbg serve --sfu` names it")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="measured per step")
    parser.add_argument("--pages-per-browser", type=int, default=DEFAULT_PAGES_PER_BROWSER)
    parser.add_argument("--first-frame-timeout-s", type=float, default=FIRST_FRAME_TIMEOUT_S,
                        help="a viewer without a frame this long after opening the link counts as failed")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    modes = ["janus" if args.sfu == "janus" else "p2p"] if args.sfu else args.modes.split(",")
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown or args.pages_per_browser < 1:
        parser.error(f"--modes takes {', '.join(MODES)}; --pages-per-browser at least 1")
    if not LOOPBACK_ONLY:
        raise SystemExit("run this inside a loopback-only network namespace (see the docstring): media stays on lo")
    if "janus" in modes and JANUS is None:
        raise SystemExit("the Janus mode needs Debian's Janus: apt-get install -y janus")
    viewer_steps = [int(n) for n in args.viewers.split(",")]

    started_at = time.monotonic()
    started = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(),
               "command": "python -m benchmarks.broadcast " + " ".join(argv)}
    manifest = {**_commit(), "modes": {mode: {} for mode in modes}, "seconds_per_step": args.seconds,
                "first_frame_timeout_s": args.first_frame_timeout_s, "complete": False}
    records = {mode: {} for mode in modes}

    def checkpoint():
        manifest["duration_s"] = time.monotonic() - started_at
        _write(args.out, assemble(records, manifest, started))

    for mode in modes:
        mode_start, run = time.monotonic(), manifest["modes"][mode]
        try:
            run_mode(mode, viewer_steps, args.seconds, args.pages_per_browser, args.first_frame_timeout_s,
                     records[mode], run, checkpoint)
        except Exception as error:  # noqa: BLE001 (recorded; the next mode still runs)
            traceback.print_exc()
            run["error"] = f"{type(error).__name__}: {error}".splitlines()[0]
        run["duration_s"] = time.monotonic() - mode_start
        checkpoint()
    manifest["complete"] = not any(run.get("error") for run in manifest["modes"].values())
    checkpoint()
    print(report_markdown(assemble(records, manifest, started)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
