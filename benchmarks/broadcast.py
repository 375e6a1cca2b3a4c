"""Benchmark a classroom broadcast peer to peer: time to first frame at a viewer, and the presenter's CPU and
upload against the number of viewers (0, 1, 2, 4, 8), all on loopback in one run.

    # as root, so that media stays on loopback (a network namespace with only `lo`):
    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m benchmarks.broadcast [--viewers 1,2,4,8] [--seconds 10]'

Not a test: prints a Markdown table (pasted into the README) and writes benchmarks/results/broadcast.json.

The presenter runs in one Chromium (fake camera playing a person clip, colour background, 640x360), the viewers
in another, so the presenter's CPU is its own browser's processes only (benchmarks/processes.py). Upload is
the sum of ``bytesSent`` over the presenter's RTCPeerConnections (getStats, outbound-rtp), per second.
Viewers are added one step at a time; each new viewer's time to first frame runs from opening /watch/<room>
to its first decoded frame (requestVideoFrameCallback).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.pipeline import machine_info, markdown_table
from benchmarks.processes import browser_cpu_seconds, browser_pid
from clips.build import ClipSpec, build_clip, parse_script
from e2e_tests.conftest import wait_until
from e2e_tests.network import LOOPBACK_ONLY, WEBRTC_LOOPBACK_ARGS
from model_export.paths import BUILD_DIR, REPO_ROOT
from tests.server_process import start_server, stop_server

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "broadcast.json"
CHROMIUM = os.environ.get("VBG_CHROMIUM", "/usr/bin/chromium")
SETTINGS_KEY = "vbg.settings.v1"
BASE_ARGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
CLIP_SCRIPT = "talk:90,move:90"  # a person who talks, then moves: the encoder sees real motion
DEFAULT_VIEWERS = (1, 2, 4, 8)
DEFAULT_SECONDS = 10.0  # measured per step, after settling
SETTLE_S = 4.0  # after a viewer joins: bandwidth estimation ramps up
PAGE_TIMEOUT_S = 180
SERVER_THREADS = 64
BITS_PER_BYTE = 8
MS_PER_S = 1000
PRESENTER_SETTINGS = {"resolution": "640x360", "mode": "colour", "colour": "#2a6"}

UPLOAD_BYTES_JS = """async () => {
  let bytes = 0;
  for (const link of window.vbg.share.broadcast.viewerLinks.values()) {
    (await link.pc.getStats()).forEach((report) => { if (report.type === 'outbound-rtp') bytes += report.bytesSent; });
  }
  return bytes;
}"""


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


def _measure(presenter, pid: int, seconds: float) -> dict:
    cpu_start, bytes_start, wall_start = browser_cpu_seconds(pid), presenter.evaluate(UPLOAD_BYTES_JS), time.monotonic()
    fps = []
    while time.monotonic() - wall_start < seconds:
        time.sleep(1.0)
        fps.append(presenter.evaluate("window.vbg.stats.fps"))
    wall = time.monotonic() - wall_start
    cpu = browser_cpu_seconds(pid) - cpu_start
    sent = presenter.evaluate(UPLOAD_BYTES_JS) - bytes_start
    return {"cpu_cores": cpu / wall, "upload_mbit_s": sent * BITS_PER_BYTE / wall / 1e6,
            "presenter_fps": statistics.median(fps) if fps else None}


def run(viewer_steps, seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    clip = presenter_clip()
    server = start_server(["--threads", str(SERVER_THREADS)])
    steps, first_frames = [], []
    try:
        with sync_playwright() as driver:
            presenter_browser, presenter_pid = launch_browser(driver, "presenter", presenter_camera_args(clip))
            viewer_browser, _ = launch_browser(driver, "viewers")
            presenter = start_presenter(presenter_browser, server.url)
            link = start_broadcast(presenter)
            time.sleep(SETTLE_S)
            steps.append({"viewers": 0, **_measure(presenter, presenter_pid, seconds)})
            print(f"0 viewers: {steps[-1]}", flush=True)
            viewers = []
            for target in viewer_steps:
                while len(viewers) < target:
                    page, first_frame_s = open_viewer(viewer_browser, link)
                    viewers.append(page)
                    first_frames.append(first_frame_s)
                wait_until(presenter, f"window.vbg.share.viewers === {target}", PAGE_TIMEOUT_S)
                time.sleep(SETTLE_S)
                viewer_fps = []
                # Each count is timed where it is read: on a loaded machine the step runs longer than SECONDS.
                starts = [(page.evaluate("window.vbg.framesReceived"), time.monotonic()) for page in viewers]
                step = _measure(presenter, presenter_pid, seconds)
                for page, (start_frames, started) in zip(viewers, starts):
                    frames = page.evaluate("window.vbg.framesReceived")
                    viewer_fps.append((frames - start_frames) / (time.monotonic() - started))
                step.update(viewers=target, viewer_fps_median=statistics.median(viewer_fps))
                steps.append(step)
                print(f"{target} viewers: {step}", flush=True)
            presenter_browser.close()
            viewer_browser.close()
    finally:
        stop_server(server)
    derive(steps)
    return {"steps": steps, "time_to_first_frame_s": {
        "median": statistics.median(first_frames), "max": max(first_frames), "samples": first_frames}}


def derive(steps: list[dict]) -> None:
    """Per-viewer and per-frame figures. On a machine that the viewers' browser shares, the presenter's
    cores saturate and its frame rate falls, so CPU per processed frame is the comparable cost; the
    extra per viewer is over the no-viewer step."""
    base = steps[0]
    for step in steps:
        fps = step["presenter_fps"]
        step["cpu_ms_per_frame"] = step["cpu_cores"] * MS_PER_S / fps if fps else None
    for step in steps[1:]:
        step["cpu_cores_per_viewer"] = (step["cpu_cores"] - base["cpu_cores"]) / step["viewers"]
        step["upload_mbit_s_per_viewer"] = step["upload_mbit_s"] / step["viewers"]
        if step["cpu_ms_per_frame"] and base["cpu_ms_per_frame"]:
            step["cpu_ms_per_frame_per_viewer"] = (step["cpu_ms_per_frame"] - base["cpu_ms_per_frame"]) / step["viewers"]


def report_markdown(result: dict) -> str:
    rows = [[s["viewers"], f"{s['cpu_cores']:.2f}",
             f"{s['cpu_ms_per_frame']:.1f}" if s.get("cpu_ms_per_frame") else "-",
             f"{s['cpu_ms_per_frame_per_viewer']:+.1f}" if "cpu_ms_per_frame_per_viewer" in s else "-",
             f"{s['upload_mbit_s']:.2f}", f"{s.get('upload_mbit_s_per_viewer', 0):.2f}",
             f"{s['presenter_fps']:.1f}" if s["presenter_fps"] else "-",
             f"{s.get('viewer_fps_median', 0):.1f}" if s["viewers"] else "-"] for s in result["steps"]]
    table = markdown_table(["viewers", "presenter CPU (cores)", "CPU ms per frame", "extra ms per frame per viewer", "upload Mbit/s",
                            "Mbit/s per viewer", "presenter fps", "viewer fps (median)"], rows)
    first = result["time_to_first_frame_s"]
    return f"{table}\n\nTime to first frame at a viewer: median {first['median']:.2f} s, max {first['max']:.2f} s."


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default=",".join(map(str, DEFAULT_VIEWERS)))
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not LOOPBACK_ONLY:
        raise SystemExit("run this inside a loopback-only network namespace (see the docstring): media stays on lo")
    result = run([int(n) for n in args.viewers.split(",")], args.seconds)
    result.update(date=datetime.now(timezone.utc).isoformat(timespec="seconds"), machine=machine_info(),
                  command="python -m benchmarks.broadcast " + " ".join(argv or []))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(report_markdown(result))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
