"""Benchmark the same page, model and clip in each browser engine: Debian's chromium, firefox-esr and
WebKitGTK (Safari's engine), one after the other, and what each offers the page.

    .venv/bin/python -m benchmarks.engines [--seconds 20] [--engines chromium,firefox,webkit]
        [--out benchmarks/results/engines.json]

Not a test: prints a Markdown table (the README's "what works in which engine") and writes the JSON with the
machine, date, versions and command. Each engine plays the same WebM clip (a talking then swaying person
from clips/build.py, 640x360 @ 30 fps) through the page's test-only `?camera=file:` camera, with the light
blur and the motion gate off (`?gate=off`), so every frame is segmented and the inference count does not
depend on how still the clip is. After WARM_UP_S, the page's own stats (window.vbg.stats: composited fps
and inference ms, each over the page's last second) are sampled every SAMPLE_INTERVAL_S; the medians are
quoted. Then the page's recorder (recorder.js) records the outgoing stream for 2 s: a file, or the message
that explains why there is none. Firefox and WebKit run headed on Xvfb (software WebGL through llvmpipe);
Chromium headless (SwiftShader), as the e2e tests run them."""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from clips.build import ClipSpec, build_clip, parse_script
from e2e_tests.engines import ENGINES, launch, missing, wait_until
from e2e_tests.engines.clip_server import CLIPS_URL_PATH, serve_with_clips, y4m_to_webm
from e2e_tests.engines.display import virtual_display
from e2e_tests.engines.probes import CAPABILITIES_JS, RECORD_JS

REPO_ROOT = Path(__file__).resolve().parent.parent
CLIP_SCRIPT = "talk:90,move:90"  # 6 s, looped by the page
CLIP_FPS = 30
WARM_UP_S = 8.0  # model start-up and the first masks, before sampling
SAMPLE_INTERVAL_S = 0.5
START_TIMEOUT_S = 180
SETTINGS = {"resolution": "640x360", "mode": "blur", "blurLevel": "light"}
CAPABILITY_COLUMNS = ("requestVideoFrameCallback", "wasmThreads", "wasmSimd", "webgpu", "canvasCaptureStream",
                      "mediaRecorderWebm")
FAKE_CAMERA = {"chromium": "y4m file or pattern", "firefox": "synthetic pattern", "webkit": "mock pattern"}


def measure(name: str, url: str, seconds: float, display: str) -> dict:
    """One engine: its versions, capabilities and the page's median fps and inference ms."""
    engine = launch(name, display=display)
    try:
        page = engine.open(url)
        page.evaluate(f"localStorage.setItem('vbg.settings.v1', {json.dumps(json.dumps(SETTINGS))})")
        page.goto(url)
        wait_until(page, "window.vbg && window.vbg.state === 'idle'", START_TIMEOUT_S)
        page.click("#enable-camera")
        wait_until(page, "window.vbg.stats && window.vbg.stats.segmentations > 0", START_TIMEOUT_S)
        time.sleep(WARM_UP_S)
        fps, inference = [], []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            stats = page.evaluate("window.vbg.stats")
            fps.append(stats["fps"])
            inference.append(stats["inferenceMs"])
            time.sleep(SAMPLE_INTERVAL_S)
        offered = page.evaluate(CAPABILITIES_JS)
        recording = page.evaluate(RECORD_JS)
        errors = page.errors()
        page.close()
        return {
            "engine": name, "version": engine.version(), "capabilities": offered, "errors": errors,
            "fake_camera": FAKE_CAMERA[name], "samples": len(fps), "recording": recording,
            "fps_p50": statistics.median(fps), "inference_ms_p50": statistics.median(inference),
            "inference_ms_p95": statistics.quantiles(inference, n=20)[-1] if len(inference) > 1 else inference[0],
        }
    finally:
        engine.close()


def _yes(value) -> str:
    return "yes" if value else "no"


def _recorded(recording: dict) -> str:
    if recording.get("size"):
        return f"yes, {recording['type']}"
    return f"no: {recording.get('title', 'empty file')}"


def table(results: list[dict]) -> str:
    """The README's Markdown table: one column per engine."""
    header = "| | " + " | ".join(f"{r['engine']} ({r['version']})" for r in results) + " |"
    rows = [header, "|---|" + "---|" * len(results)]
    for column in CAPABILITY_COLUMNS:
        rows.append(f"| {column} | " + " | ".join(_yes(r["capabilities"][column]) for r in results) + " |")
    # navigator.hardwareConcurrency: WebKitGTK reported 4 on this 2-CPU machine, so it runs more threads.
    rows.append("| cores reported | " + " | ".join(str(r["capabilities"]["hardwareConcurrency"]) for r in results) + " |")
    rows.append("| WASM threads used | " + " | ".join(str(r["capabilities"]["runtime"]["threads"]) for r in results) + " |")
    rows.append("| backend | " + " | ".join(r["capabilities"]["backend"] or "-" for r in results) + " |")
    rows.append("| records video (2 s) | " + " | ".join(_recorded(r["recording"]) for r in results) + " |")
    rows.append("| fake camera | " + " | ".join(r["fake_camera"] for r in results) + " |")
    rows.append("| composited fps (p50) | " + " | ".join(f"{r['fps_p50']:.1f}" for r in results) + " |")
    rows.append("| inference ms p50 / p95 | "
                + " | ".join(f"{r['inference_ms_p50']:.1f} / {r['inference_ms_p95']:.1f}" for r in results) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="sampling time per engine after warm-up")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "engines.json")
    args = parser.parse_args(argv)

    names = [name for name in args.engines.split(",") if name]
    for name in names:
        if reason := missing(name):
            print(f"skipping {name}: {reason}", file=sys.stderr)
    names = [name for name in names if not missing(name)]
    with tempfile.TemporaryDirectory(prefix="vbg-engines-") as folder:
        folder = Path(folder)
        build_clip(folder / "bench", ClipSpec(script=parse_script(CLIP_SCRIPT)))
        webm = y4m_to_webm(folder / "bench.y4m", folder / "bench.webm", CLIP_FPS)
        with virtual_display() as display, serve_with_clips(folder / "site", {"bench.webm": webm}) as site:
            url = f"{site}?camera=file:{CLIPS_URL_PATH}bench.webm&gate=off"
            results = []
            for name in names:
                print(f"measuring {name} for {args.seconds:.0f} s...", file=sys.stderr)
                results.append(measure(name, url, args.seconds, display))
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "command": " ".join([sys.executable, "-m", "benchmarks.engines", *(argv or sys.argv[1:])]),
        "clip": {"script": CLIP_SCRIPT, "fps": CLIP_FPS, "settings": SETTINGS, "gate": "off"},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
