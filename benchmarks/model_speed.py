"""Time segmentation models in onnxruntime-web's WASM backend inside one headless Chromium page: ours against
MediaPipe's selfie landscape model, run by run on the same page, for 1 and 2 WASM threads.

    .venv/bin/python -m benchmarks.model_speed [--models name=path,...] [--threads 1,2] [--runs 200]
        [--warmup 20] [--reference mediapipe-landscape] [--out benchmarks/results/model_speed.json]

Not a test: prints a Markdown table and writes the JSON with the command, date, machine, Chromium and
onnxruntime-web versions and each model file's size and sha256. Other code imports `measure`:

    from benchmarks.model_speed import measure
    report = measure({"a": Path("a.onnx"), "mediapipe-landscape": peer}, threads=(1, 2), runs=100)
    report["results"]["1"]["a"]["ratio"]  # a's median over the reference's, 1 thread

How it measures. The app is served (its own create_app, so cross-origin isolated and with its CSP) with the
models and benchmarks/model_speed_worker.js beside its static files; for each thread count a fresh page starts
that worker, which imports the vendored onnxruntime-web (the app's bundle), sets ort.env.wasm.numThreads
before the first session, opens one session per model with the app's session options, and times
`session.run` on a fixed random float32 input of each model's own input shapes (read here from the ONNX
file, so NHWC peers get NHWC inputs). Models run in turn, A, B, C, A, B, C, ...: WARMUP rounds untimed,
then RUNS timed rounds, so load from elsewhere on the machine falls on every model alike. The worker runs
sessions the way the app's segmenter worker does, off the page's main thread. Thread counts run one after
the other (numThreads is fixed once per page), so compare models within a thread count (the ratios), and
thread counts with care on a machine others are using.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from model_export.files import sha256_file
from model_export.paths import REPO_ROOT, SHIPPED_MODELS_DIR
from model_export.segmenter_onnx import MEDIAPIPE_MODELS

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "model_speed.json"
DEFAULT_RUNS = 200  # timed runs per model and thread count
DEFAULT_WARMUP = 20  # untimed runs per model first: compilation, allocation, caches
DEFAULT_THREADS = (1, 2)
REFERENCE = "mediapipe-landscape"  # every median is also quoted as a ratio to this model's, same page
PERCENTILES = (10, 90)
INPUT_SEED = 1  # model i gets the random input of seed INPUT_SEED + i
WORKER_JS = Path(__file__).resolve().parent / "model_speed_worker.js"
# As static/js/segmenter/segmenter_worker.js: the one runtime file for WebGPU and WASM, full graph
# optimisation, and intra-op threads that sleep between runs instead of spinning.
ORT_BUNDLE = "ort.webgpu.min.mjs"
SESSION_OPTIONS = {"graphOptimizationLevel": "all", "extra": {"session": {"intra_op": {"allow_spinning": "0"}}}}
SESSION_START_S = 60  # per model: fetch and session creation on a loaded machine
RUN_LIMIT_S = 5  # per run: a run this slow means something is broken, so the page gives up
PAGE_HTML = "<!doctype html><meta charset=utf-8><title>model speed</title>"
ONNX_FLOAT = 1  # onnx.TensorProto.FLOAT
CONVERT_COMMAND = ".venv/bin/vbg teacher convert"

# Page side: start the worker, hand it the job, wait for its one answer.
RUN_WORKER_JS = """async ({ workerUrl, job, timeoutMs }) => new Promise((resolve, reject) => {
  const worker = new Worker(workerUrl, { type: 'module' });
  const finish = (settle, value) => { clearTimeout(timer); worker.terminate(); settle(value); };
  const timer = setTimeout(() => finish(reject, new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  worker.onmessage = ({ data }) => finish(resolve, data);
  worker.onerror = (event) => finish(reject, new Error(`the worker failed: ${event.message || 'it did not load'}`));
  worker.postMessage(job);
})"""
PAGE_FACTS_JS = "() => ({ isolated: crossOriginIsolated === true, cores: navigator.hardwareConcurrency })"


def default_models() -> dict[str, Path]:
    """Our shipped model, its int8 copy where there is one, and MediaPipe's landscape model (build/peers)."""
    models = {"vbg-portrait": SHIPPED_MODELS_DIR / "vbg-portrait.onnx"}
    int8 = SHIPPED_MODELS_DIR / "vbg-portrait-int8.onnx"
    if int8.is_file():
        models["vbg-portrait-int8"] = int8
    models[REFERENCE] = MEDIAPIPE_MODELS[REFERENCE].onnx_path
    return models


def parse_models(text: str) -> dict[str, Path]:
    """'name=path,name=path' (a bare path is named after its file) -> {name: path}."""
    models: dict[str, Path] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, path = item.rpartition("=")
        path = Path(path)
        name = name or path.stem
        if name in models:
            raise ValueError(f"model name {name!r} given twice")
        models[name] = path
    if not models:
        raise ValueError("no models given")
    return models


def check_files(models: dict[str, Path]) -> None:
    """Raise FileNotFoundError naming every model file that is not there (and how to make the peers)."""
    missing = {name: Path(path) for name, path in models.items() if not Path(path).is_file()}
    if missing:
        peers = {peer.onnx_path.resolve() for peer in MEDIAPIPE_MODELS.values()}
        hint = f" (convert the MediaPipe peers with `{CONVERT_COMMAND}`)" if any(
            path.resolve() in peers for path in missing.values()) else ""
        named = "; ".join(f"{name}: {path}" for name, path in missing.items())
        raise FileNotFoundError(f"model file missing: {named}{hint}")


def model_inputs(path: Path) -> list[dict]:
    """The graph inputs a run must feed: [{name, shape}], a symbolic dimension (batch) taken as 1."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    weights = {tensor.name for tensor in graph.initializer}
    inputs = []
    for value in graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        if tensor.elem_type != ONNX_FLOAT:
            raise ValueError(f"{path}: input {value.name} is {onnx.TensorProto.DataType.Name(tensor.elem_type)}; "
                             "only float32 inputs are supported")
        shape = [dim.dim_value if dim.dim_value > 0 else 1 for dim in tensor.shape.dim]
        inputs.append({"name": value.name, "shape": shape})
    return inputs


def describe_file(path: Path) -> dict:
    """Where a model file is, its size and its sha256."""
    path = Path(path).resolve()
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    return {"path": str(shown), "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def summarise(times_ms: list[float]) -> dict:
    """Median and the PERCENTILES of one model's timed runs, in ms."""
    times = np.asarray(times_ms, dtype=float)
    low, high = np.percentile(times, PERCENTILES)
    return {"median_ms": float(np.median(times)), f"p{PERCENTILES[0]}_ms": float(low),
            f"p{PERCENTILES[1]}_ms": float(high), "runs": int(times.size)}


def with_ratios(summaries: dict[str, dict], reference: str) -> dict[str, dict]:
    """Each summary plus `ratio`: its median over REFERENCE's (None when the reference was not run)."""
    base = summaries.get(reference, {}).get("median_ms")
    return {name: {**summary, "ratio": summary["median_ms"] / base if base else None}
            for name, summary in summaries.items()}


def _ort_base() -> str:
    from webapp.config import Config

    return f"/vendor/onnxruntime-web/{Config.from_env({}).ort_version}/"


def _run_page(browser, site: str, job: dict, timeout_s: float) -> dict:
    """One fresh page, one worker, one thread count: the worker's answer plus the page's own facts."""
    from benchmarks.pipeline import VIEWPORT
    from e2e_tests.engines.clip_server import CLIPS_URL_PATH

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
        page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
        page.goto(f"{site.rstrip('/')}{CLIPS_URL_PATH}model_speed.html")
        facts = page.evaluate(PAGE_FACTS_JS)
        if job["threads"] > 1 and not facts["isolated"]:
            raise RuntimeError("the page is not cross-origin isolated, so WASM threads cannot run")
        answer = page.evaluate(RUN_WORKER_JS, {"workerUrl": f"{CLIPS_URL_PATH}model_speed_worker.js", "job": job,
                                               "timeoutMs": int(timeout_s * 1000)})
        if not answer["ok"]:
            raise RuntimeError(f"the benchmark worker failed: {answer['error']}\n" + "\n".join(problems))
        if answer["threads"] != job["threads"]:
            raise RuntimeError(f"asked onnxruntime-web for {job['threads']} threads, it ran {answer['threads']}")
        return {**answer, "page": facts}
    finally:
        context.close()


def measure(models: dict[str, Path], threads=DEFAULT_THREADS, runs: int = DEFAULT_RUNS, warmup: int = DEFAULT_WARMUP,
            reference: str = REFERENCE) -> dict:
    """Time MODELS ({name: .onnx path}) in one Chromium, one fresh page per thread count; the report as a dict.

    report["results"][str(threads)][name] = {median_ms, p10_ms, p90_ms, runs, ratio, times_ms, started_ms}.
    """
    from benchmarks.pipeline import machine_info
    from e2e_tests.conftest import BASE_ARGS, CHROMIUM
    from e2e_tests.engines.clip_server import serve_with_clips

    if runs < 1 or warmup < 0:
        raise ValueError("runs must be at least 1 and warmup at least 0")
    check_files(models)
    if not Path(CHROMIUM).is_file():
        raise FileNotFoundError(f"{CHROMIUM} is missing: install Debian's chromium package "
                                "(apt-get install -y chromium) or point VBG_CHROMIUM at a Chromium")
    from playwright.sync_api import sync_playwright

    served = {f"model-{index}.onnx": Path(path) for index, path in enumerate(models.values())}
    job_models = [{"name": name, "url": f"model-{index}.onnx", "inputs": model_inputs(path)}
                  for index, (name, path) in enumerate(models.items())]
    timeout_s = len(models) * (SESSION_START_S + (runs + warmup) * RUN_LIMIT_S)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(), "cpus": os.cpu_count(),
        "backend": "wasm", "ort_bundle": ORT_BUNDLE, "session_options": SESSION_OPTIONS,
        "runs": runs, "warmup": warmup, "threads": list(threads), "reference": reference, "input_seed": INPUT_SEED,
        "models": {job["name"]: {**describe_file(models[job["name"]]), "inputs": job["inputs"]} for job in job_models},
        "pages": {}, "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="vbg-model-speed-") as folder:
        page_file = Path(folder) / "model_speed.html"
        page_file.write_text(PAGE_HTML)
        files = {**served, "model_speed_worker.js": WORKER_JS, "model_speed.html": page_file}
        with serve_with_clips(Path(folder) / "site", files) as site, sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(BASE_ARGS))
            try:
                report["chromium"] = browser.version
                for count in threads:
                    print(f"timing {len(models)} models with {count} thread(s)...", file=sys.stderr, flush=True)
                    job = {"ortBase": _ort_base(), "bundle": ORT_BUNDLE, "threads": count,
                           "sessionOptions": SESSION_OPTIONS, "models": job_models, "runs": runs, "warmup": warmup,
                           "seed": INPUT_SEED}
                    answer = _run_page(browser, site, job, timeout_s)
                    report["ort_web"] = answer["ortVersion"]
                    report["pages"][str(count)] = {**answer["page"], "worker_isolated": answer["isolated"]}
                    timed = answer["results"]
                    summaries = with_ratios({name: summarise(timed[name]["timesMs"]) for name in models}, reference)
                    report["results"][str(count)] = {
                        name: {**summaries[name], "times_ms": [round(t, 3) for t in timed[name]["timesMs"]],
                               "started_ms": [round(t, 3) for t in timed[name]["startedMs"]]}
                        for name in models}
            finally:
                browser.close()
    return report


def markdown_table(report: dict) -> str:
    """One row per model and thread count: median, p10-p90, runs and the ratio to the reference."""
    low, high = (f"p{q}_ms" for q in PERCENTILES)
    spread = f"p{PERCENTILES[0]}–p{PERCENTILES[1]} ms"
    rows = [f"| model | threads | median ms | {spread} | runs | ÷ {report['reference']} |",
            "|---|---|---|---|---|---|"]
    for count, results in report["results"].items():
        for name, result in results.items():
            ratio = "–" if result["ratio"] is None else f"{result['ratio']:.2f}"
            rows.append(f"| {name} | {count} | {result['median_ms']:.2f} | {result[low]:.2f}–{result[high]:.2f} | "
                        f"{result['runs']} | {ratio} |")
    return "\n".join(rows)


def _models(text: str) -> dict[str, Path]:
    try:
        return parse_models(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _threads(text: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in text.split(",") if part.strip())
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("thread counts are whole numbers from 1, e.g. 1,2")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=_models, default=None,
                        help="name=path,... (default: vbg-portrait, vbg-portrait-int8 if present, mediapipe-landscape)")
    parser.add_argument("--threads", type=_threads, default=DEFAULT_THREADS, help="WASM thread counts, e.g. 1,2")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="timed runs per model and thread count")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="untimed runs per model first")
    parser.add_argument("--reference", default=REFERENCE, help="the model every ratio divides by")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    models = args.models or default_models()
    try:
        report = measure(models, threads=args.threads, runs=args.runs, warmup=args.warmup, reference=args.reference)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = {"command": " ".join(["python -m benchmarks.model_speed", *(sys.argv[1:] if argv is None else argv)]),
              **report}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(markdown_table(report))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
