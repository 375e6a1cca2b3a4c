"""Chromium CPU time per composited frame, this checkout against an older commit, alternating rounds in one
session: the A/B for making frames cheaper on software GL (the GPU process's SwiftShader dominates).

    .venv/bin/python -m benchmarks.frame_cost --base a1b1c53 [--rounds 4] [--seconds 10] [--quality lowest]
        [--out benchmarks/results/frame_cost.json]

Each round opens the home page in a fresh headless Chromium on the benchmark's person clip (640x360 @ 30 fps,
light blur), waits 90 composited frames and 2 s, then counts the CPU seconds of every Chromium process and the
frames composited over SECONDS. The base commit is checked out with `git worktree` into a temporary folder
(sharing this checkout's .venv and node_modules) and served from there. Prints a Markdown table of medians.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from benchmarks.pipeline import CHROMIUM, DEFAULT_CLIPS_DIR, SETTINGS_KEY, VIEWPORT, _launch_args, machine_info, person_clip
from benchmarks.processes import chromium_cpu_seconds
from model_export.paths import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "frame_cost.json"
WARM_UP_FRAMES = 90  # composited frames before measuring: first masks in, the pinned tier's passes compiled
SETTLE_S = 2.0
POLL_S = 0.3
SERVER_START_S = 60


def _serve(tree: Path):
    """`vbg serve` from TREE's own sources on a free port: (process, url)."""
    from tests.server_process import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "webapp.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "healthz", timeout=2)
            return process, url
        except OSError:
            time.sleep(POLL_S)
    process.kill()
    raise RuntimeError(f"the server in {tree} did not start")


def measure(driver, url: str, clip, seconds: float, quality: str) -> dict:
    """One round: {cpu_ms_per_frame, by_process, fps}."""
    browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=_launch_args(clip, ()))
    try:
        context = browser.new_context(viewport=VIEWPORT)
        settings = json.dumps({"resolution": "640x360", "mode": "blur", "blurLevel": "light"})
        context.add_init_script(script=f"localStorage.setItem({json.dumps(SETTINGS_KEY)}, {json.dumps(settings)});")
        page = context.new_page()
        page.goto(f"{url}?quality={quality}")
        while not page.evaluate("window.vbg && window.vbg.state === 'idle'"):
            time.sleep(POLL_S)
        page.get_by_role("button", name="Enable camera").click()
        while not page.evaluate(f"window.vbg.frames > {WARM_UP_FRAMES} && window.vbg.stats.personVisible"):
            time.sleep(POLL_S)
        time.sleep(SETTLE_S)
        frames0, cpu0, t0 = page.evaluate("window.vbg.frames"), chromium_cpu_seconds(os.getpid(), by_type=True), time.monotonic()
        time.sleep(seconds)
        frames1, cpu1, t1 = page.evaluate("window.vbg.frames"), chromium_cpu_seconds(os.getpid(), by_type=True), time.monotonic()
    finally:
        browser.close()
    frames = max(1, frames1 - frames0)
    by_process = {kind: 1000 * (cpu1[kind] - cpu0.get(kind, 0.0)) / frames for kind in cpu1}
    return {"cpu_ms_per_frame": sum(by_process.values()), "by_process": by_process, "fps": frames / (t1 - t0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the older commit to compare with")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quality", default="lowest", help="the pinned quality tier (?quality=)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    clip = person_clip(DEFAULT_CLIPS_DIR)
    base_rev = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=REPO_ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    head_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip())
    results: dict[str, list] = {"base": [], "this": []}
    with tempfile.TemporaryDirectory(prefix="vbg-frame-cost-") as folder:
        base_tree = Path(folder) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base_tree), args.base], cwd=REPO_ROOT, check=True)
        try:
            for name in (".venv", "node_modules"):
                (base_tree / name).symlink_to(REPO_ROOT / name)
            servers = {"base": _serve(base_tree), "this": _serve(REPO_ROOT)}
            try:
                with sync_playwright() as driver:
                    for round_ in range(args.rounds):
                        order = ("base", "this") if round_ % 2 == 0 else ("this", "base")
                        for name in order:
                            result = measure(driver, servers[name][1], clip, args.seconds, args.quality)
                            results[name].append(result)
                            print(f"round {round_ + 1} {name}: {result['cpu_ms_per_frame']:.1f} ms CPU per frame, "
                                  f"{result['fps']:.1f} fps", file=sys.stderr, flush=True)
            finally:
                for process, _ in servers.values():
                    process.terminate()
                    process.wait()
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=REPO_ROOT, check=False)

    def median(name, key):
        return float(np.median([r[key] for r in results[name]]))

    summary = {name: {"cpu_ms_per_frame_median": median(name, "cpu_ms_per_frame"), "fps_median": median(name, "fps"),
                      "gpu_process_ms_median": float(np.median([r["by_process"].get("gpu-process", 0.0) for r in results[name]]))}
               for name in results}
    report = {"command": "python -m benchmarks.frame_cost " + " ".join(sys.argv[1:] if argv is None else argv),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(),
              "base": base_rev, "this": head_rev + ("+uncommitted" if dirty else ""), "quality": args.quality,
              "seconds_per_round": args.seconds, "rounds": results, "summary": summary,
              "ratio_cpu": summary["this"]["cpu_ms_per_frame_median"] / summary["base"]["cpu_ms_per_frame_median"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"| | {base_rev} (base) | {report['this']} |\n|---|---|---|")
    print(f"| Chromium CPU ms per frame, median of {args.rounds} | {summary['base']['cpu_ms_per_frame_median']:.1f} | "
          f"{summary['this']['cpu_ms_per_frame_median']:.1f} ({report['ratio_cpu']:.2f}x) |")
    print(f"| of it GPU process | {summary['base']['gpu_process_ms_median']:.1f} | {summary['this']['gpu_process_ms_median']:.1f} |")
    print(f"| composited fps | {summary['base']['fps_median']:.1f} | {summary['this']['fps_median']:.1f} |")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
