"""Soak: the presenter's pipeline and a broadcast to N viewers for a whole lesson, sampling memory and
frame rate, to show that nothing grows without bound.

    # as root, so that media stays on loopback (a network namespace with only `lo`):
    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m benchmarks.soak [--minutes 30] [--viewers 4] [--sample-s 30]'

Not a test: writes benchmarks/results/soak.json and soak.png, and prints the memory growth per hour and
the frame rates over time.

The presenter (home page, fake camera playing a person clip, colour background by default, 640x360)
runs in one Chromium, the viewers in another (benchmarks/broadcast.py starts both). The clock starts
once every viewer has its first frame. Every --sample-s seconds it records:

- presenter JS heap: ``performance.memory.usedJSHeapSize`` of the page's main thread (exact only with
  --enable-precise-memory-info, which the presenter gets), read as it is, then again after a forced
  major GC (HeapProfiler.collectGarbage over the DevTools protocol): the retained heap, which a leak
  grows and garbage does not. Workers (the segmenter and its WASM memory) are not in it, but are in:
- presenter memory: RSS and PSS summed over the presenter Chromium's processes (benchmarks/processes.py);
- presenter fps: ``window.vbg.stats.fps`` (composited frames over the last second) and the mean over
  the interval from ``window.vbg.frames``;
- each viewer's received fps: ``window.vbg.framesReceived`` delta over the interval, and its state.

Growth per hour is the least-squares slope of each memory series after the warm-up (--warm-up-min,
by default the first 5 minutes, or a quarter of a shorter run), when caches, JIT code and the
encoders' buffers have filled.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks.broadcast import (
    PRESENTER_SETTINGS, SERVER_THREADS, launch_browser, open_viewer, presenter_camera_args, presenter_clip,
    start_broadcast, start_presenter,
)
from benchmarks.pipeline import jsonable, machine_info, markdown_table
from benchmarks.processes import browser_memory_bytes
from e2e_tests.network import LOOPBACK_ONLY
from model_export.paths import REPO_ROOT
from tests.server_process import start_server, stop_server

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "soak.json"
DEFAULT_MINUTES = 30.0  # a lesson
DEFAULT_VIEWERS = 4
DEFAULT_SAMPLE_S = 30.0
DEFAULT_WARM_UP_MIN = 5.0
SHORT_RUN_WARM_UP_FRACTION = 0.25  # of a run shorter than 4x the default warm-up
MODES = ("colour", "blur")
PRECISE_MEMORY_ARGS = ["--enable-precise-memory-info"]  # else usedJSHeapSize is bucketed and updated every ~20 min
SECONDS_PER_HOUR = 3600
MIB = 1 << 20
# Memory series in a sample (bytes) and their labels.
MEMORY_SERIES = {"heap_bytes": "JS heap", "heap_after_gc_bytes": "JS heap after GC",
                 "rss_bytes": "RSS (sum)", "pss_bytes": "PSS (sum)"}

PRESENTER_SAMPLE_JS = """() => ({
  heap: performance.memory.usedJSHeapSize, fps: window.vbg.stats.fps, frames: window.vbg.frames,
  quality: window.vbg.stats.quality, personVisible: window.vbg.stats.personVisible,
  viewers: window.vbg.share.viewers, share: window.vbg.share.state,
})"""
VIEWER_SAMPLE_JS = "() => ({frames: window.vbg.framesReceived, state: window.vbg.state})"


def slope_per_hour(times_s, values) -> float | None:
    """Least-squares slope of VALUES against TIMES_S, per hour; None with fewer than two points."""
    t = np.asarray(times_s, np.float64)
    v = np.asarray(values, np.float64)
    if t.size < 2 or np.ptp(t) == 0:
        return None
    slope, _ = np.polyfit(t, v, 1)
    return float(slope * SECONDS_PER_HOUR)


def default_warm_up_s(minutes: float) -> float:
    """The first 5 minutes, or a quarter of a run shorter than 20 minutes."""
    return 60 * min(DEFAULT_WARM_UP_MIN, minutes * SHORT_RUN_WARM_UP_FRACTION)


def _fps_summary(values) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(samples: list[dict], warm_up_s: float) -> dict:
    """Growth per hour of each memory series after WARM_UP_S (MiB/h), and the frame rates after it."""
    settled = [s for s in samples if s["t_s"] >= warm_up_s]
    times = [s["t_s"] for s in settled]
    growth = {}
    for key in MEMORY_SERIES:
        slope = slope_per_hour(times, [s[key] for s in settled])
        growth[key.replace("_bytes", "_mib_per_hour")] = None if slope is None else slope / MIB
    first, last = (settled[0], settled[-1]) if settled else (None, None)
    return {
        "warm_up_s": warm_up_s,
        "samples_after_warm_up": len(settled),
        "growth": growth,
        "memory_mib": {key.replace("_bytes", ""): {"first": first[key] / MIB, "last": last[key] / MIB}
                       for key in MEMORY_SERIES} if settled else None,
        "presenter_fps": _fps_summary([s["presenter_fps"] for s in settled]),
        "viewer_fps": _fps_summary([fps for s in settled for fps in s["viewer_fps"]]),
    }


def sample(presenter, cdp, viewers: list, pid: int, start: float, previous: dict | None) -> dict:
    """One row: memory, the presenter's fps and every viewer's received fps since PREVIOUS.

    Each counter is stamped with the moment it was read: on a loaded machine one read can wait
    seconds behind another, and a shared timestamp would turn that wait into a burst of fps."""
    def stamped(page, script):
        value = page.evaluate(script)
        return value, time.monotonic() - start

    began = time.monotonic()
    (page, t_s) = stamped(presenter, PRESENTER_SAMPLE_JS)
    seen = [stamped(viewer, VIEWER_SAMPLE_JS) for viewer in viewers]
    counters_done = time.monotonic()
    cdp.send("HeapProfiler.collectGarbage")
    after_gc = presenter.evaluate("performance.memory.usedJSHeapSize")
    gc_done = time.monotonic()
    memory = browser_memory_bytes(pid)
    row = {"t_s": t_s, "heap_bytes": page["heap"], "heap_after_gc_bytes": after_gc,
           "rss_bytes": memory["rss"], "pss_bytes": memory["pss"], "presenter_stats_fps": page["fps"],
           "presenter_frames": page["frames"], "quality": page["quality"], "person_visible": page["personVisible"],
           "viewers_connected": page["viewers"], "share_state": page["share"],
           "viewer_t_s": [t for _, t in seen], "viewer_frames": [v["frames"] for v, _ in seen],
           "viewer_states": [v["state"] for v, _ in seen],
           # Seconds spent reading the counters, collecting garbage, and reading /proc.
           "read_s": {"counters": counters_done - began, "gc": gc_done - counters_done,
                      "proc": time.monotonic() - gc_done}}
    if previous is None:
        row["presenter_fps"], row["viewer_fps"] = None, [None] * len(viewers)
    else:
        row["presenter_fps"] = (page["frames"] - previous["presenter_frames"]) / (t_s - previous["t_s"])
        row["viewer_fps"] = [(frames - frames_before) / (t - t_before) for frames, frames_before, t, t_before
                             in zip(row["viewer_frames"], previous["viewer_frames"], row["viewer_t_s"], previous["viewer_t_s"])]
    return row


def run(minutes: float, viewer_count: int, sample_s: float, mode: str) -> dict:
    """Present, broadcast to VIEWER_COUNT viewers and sample every SAMPLE_S for MINUTES."""
    from playwright.sync_api import sync_playwright

    clip = presenter_clip()
    server = start_server(["--threads", str(SERVER_THREADS)])
    samples, errors = [], []
    try:
        with sync_playwright() as driver:
            presenter_browser, pid = launch_browser(driver, "soak-presenter",
                                                    [*presenter_camera_args(clip), *PRECISE_MEMORY_ARGS])
            viewer_browser, _ = launch_browser(driver, "soak-viewers")
            presenter = start_presenter(presenter_browser, server.url, {**PRESENTER_SETTINGS, "mode": mode})
            presenter.on("pageerror", lambda exc: errors.append(f"presenter: {exc}"))
            cdp = presenter.context.new_cdp_session(presenter)
            link = start_broadcast(presenter)
            viewers, first_frames = [], []
            for _ in range(viewer_count):
                page, first_frame_s = open_viewer(viewer_browser, link)
                page.on("pageerror", lambda exc: errors.append(f"viewer: {exc}"))
                viewers.append(page)
                first_frames.append(first_frame_s)
            start = time.monotonic()
            previous, next_at = None, start
            while next_at <= start + minutes * 60:
                time.sleep(max(0.0, next_at - time.monotonic()))
                previous = sample(presenter, cdp, viewers, pid, start, previous)
                samples.append(previous)
                print(_progress_line(previous), flush=True)
                # A read that waited past the next slots (a loaded machine) skips them: no bunched samples.
                next_at += sample_s * max(1, math.ceil((time.monotonic() - next_at) / sample_s))
            presenter_browser.close()
            viewer_browser.close()
    finally:
        stop_server(server)
    return {"samples": samples, "page_errors": errors, "time_to_first_frame_s": first_frames}


def _progress_line(row: dict) -> str:
    viewer_fps = [f"{v:.1f}" for v in row["viewer_fps"] if v is not None]
    presenter_fps = f"{row['presenter_fps']:.1f}" if row["presenter_fps"] is not None else "-"
    reads = " ".join(f"{name} {seconds:.1f}" for name, seconds in row["read_s"].items())
    return (f"{row['t_s'] / 60:5.1f} min  read s: {reads}  heap {row['heap_bytes'] / MIB:6.1f} MiB"
            f" (after GC {row['heap_after_gc_bytes'] / MIB:6.1f})  RSS {row['rss_bytes'] / MIB:7.1f} MiB"
            f"  PSS {row['pss_bytes'] / MIB:7.1f} MiB  presenter {presenter_fps} fps  viewers {' '.join(viewer_fps) or '-'} fps")


def report_markdown(result: dict) -> str:
    """Growth per hour, then fps over time (one row per sample)."""
    summary = result["summary"]
    growth = summary["growth"]
    rows = [[label, _fmt(growth[key.replace("_bytes", "_mib_per_hour")], "+.1f")]
            for key, label in MEMORY_SERIES.items()]
    lines = [f"Soak: {result['minutes']:g} min, {result['viewers']} viewers, a sample every {result['sample_s']:g} s;"
             f" growth fitted after {summary['warm_up_s'] / 60:g} min of warm-up"
             f" ({summary['samples_after_warm_up']} samples).", "",
             markdown_table(["presenter memory", "growth (MiB/hour)"], rows), ""]
    rows = []
    for s in result["samples"]:
        received = [v for v in s["viewer_fps"] if v is not None]
        rows.append([f"{s['t_s'] / 60:.1f}", _fmt(s["presenter_fps"], ".1f"),
                     _fmt(min(received, default=None), ".1f"),
                     _fmt(statistics.median(received) if received else None, ".1f"),
                     f"{s['heap_after_gc_bytes'] / MIB:.1f}", f"{s['rss_bytes'] / MIB:.0f}"])
    lines.append(markdown_table(["minute", "presenter fps", "slowest viewer fps", "median viewer fps",
                                 "heap after GC (MiB)", "RSS (MiB)"], rows))
    return "\n".join(lines)


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def plot(result: dict, path: Path) -> Path:
    """A PNG: the presenter's memory and the frame rates against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = result["samples"]
    minutes = np.array([s["t_s"] for s in samples]) / 60
    fig, (heap_axes, process_axes, fps_axes) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for key, axes in (("heap_bytes", heap_axes), ("heap_after_gc_bytes", heap_axes),
                      ("rss_bytes", process_axes), ("pss_bytes", process_axes)):
        axes.plot(minutes, [s[key] / MIB for s in samples], marker=".", label=MEMORY_SERIES[key])
    fps_axes.plot(minutes, [s["presenter_fps"] for s in samples], marker=".", linewidth=2, label="presenter (processed)")
    for index in range(result["viewers"]):
        fps_axes.plot(minutes, [s["viewer_fps"][index] for s in samples], alpha=0.7, label=f"viewer {index + 1} (received)")
    heap_axes.set(ylabel="MiB", title="Presenter page's JS heap (main thread)", ylim=(0, None))
    process_axes.set(ylabel="MiB", title="Presenter Chromium, all processes", ylim=(0, None))
    fps_axes.set(xlabel="minutes since every viewer had a picture", ylabel="frames per second", title="Frame rate")
    for axes in (heap_axes, process_axes, fps_axes):
        axes.axvline(result["summary"]["warm_up_s"] / 60, color="grey", linestyle=":")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    fig.suptitle(f"Soak {result['date'][:10]}: {result['minutes']:g} min, {result['viewers']} viewers, 640x360,"
                 f" {result['mode']} background (dotted: end of warm-up)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    parser.add_argument("--viewers", type=int, default=DEFAULT_VIEWERS)
    parser.add_argument("--sample-s", type=float, default=DEFAULT_SAMPLE_S)
    parser.add_argument("--warm-up-min", type=float, default=None,
                        help=f"minutes left out of the growth fit (default {DEFAULT_WARM_UP_MIN:g}, or a quarter of a shorter run)")
    parser.add_argument("--mode", choices=MODES, default="colour")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not LOOPBACK_ONLY:
        raise SystemExit("run this inside a loopback-only network namespace (see the docstring): media stays on lo")
    warm_up_s = default_warm_up_s(args.minutes) if args.warm_up_min is None else 60 * args.warm_up_min
    result = {"minutes": args.minutes, "viewers": args.viewers, "sample_s": args.sample_s, "mode": args.mode,
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(),
              "command": "python -m benchmarks.soak " + " ".join(sys.argv[1:] if argv is None else argv)}
    result.update(run(args.minutes, args.viewers, args.sample_s, args.mode))
    result["summary"] = summarize(result["samples"], warm_up_s)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(result), indent=1, allow_nan=False) + "\n")
    png = plot(result, args.out.with_suffix(".png"))
    print(report_markdown(result))
    print(f"wrote {args.out} and {png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
