"""Evaluate our models and the peers side by side on a labelled folder (images/ + masks/, same stems).

    python -m model_export.evaluate --data ../shared/data/portraits --split val --out build/eval

Runs every shipped model that has a manifest (static/models/*.json: fp32 and int8) and the peers
(MediaPipe general and landscape, SINet) in one run, with the protocol of model_export.metrics:
person IoU, mIoU, boundary F (per image, averaged), plus model-only latency in onnxruntime on the
CPU (median of many single-image runs after warm-up), parameter count and file size. Writes
``evaluation.md`` and ``evaluation.csv`` under --out (atomically) and prints the table.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from model_export import metrics, splits
from model_export.dataset import DATA_ENV
from model_export.files import write_atomic
from model_export.paths import BUILD_DIR, PORTRAITS_DIR, SHIPPED_MODELS_DIR
from model_export.segmenter_onnx import PEER_NAMES, Segmenter, load_segmenter
from model_export.sources import list_pairs, load_pair
from model_export.timing import median_ms

COLUMNS = ("model", "input", "params", "size_kb", "iou", "miou", "boundary_f", "ms")


@dataclass
class EvalConfig:
    """What to measure and how."""

    data_dir: Path = Path(os.environ.get(DATA_ENV, str(PORTRAITS_DIR)))
    split: str = "all"  # "all" images, or "val": the seeded validation split model_export.data trains without
    split_file: Path | None = None  # a JSON list of stems, instead of --split
    out_dir: Path = BUILD_DIR / "eval"
    threads: int = 1  # onnxruntime intra-op threads, for accuracy runs and latency alike
    warmup_runs: int = 20
    latency_runs: int = 200  # latency = median over this many single-image runs


@dataclass
class ModelResult:
    """One row of the table."""

    model: str
    input: str
    params: int | None
    size_kb: float | None
    iou: float
    miou: float
    boundary_f: float
    ms: float


def default_models(models_dir: Path = SHIPPED_MODELS_DIR) -> list[str]:
    """Our manifests that exist (fp32 before int8), then the peers."""
    manifests = sorted(models_dir.glob("*.json"), key=lambda p: ("int8" in p.stem, p.stem))
    return [str(p) for p in manifests] + list(PEER_NAMES)


def select_pairs(cfg: EvalConfig) -> list[tuple[str, Path, Path]]:
    """The (stem, image, mask) triples to score; errors name the missing or mismatched file."""
    pairs = list_pairs(cfg.data_dir)
    if cfg.split_file is not None:
        try:
            stems = set(json.loads(Path(cfg.split_file).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"cannot read a JSON list of stems from {cfg.split_file}: {exc}") from exc
        unknown = sorted(stems - {stem for stem, _, _ in pairs})
        if unknown:
            raise ValueError(f"{cfg.split_file} names stems with no image in {cfg.data_dir}: {unknown[:5]}")
        pairs = splits.pairs_in(pairs, stems)
    elif cfg.split == "val":
        pairs = splits.pairs_in(pairs, splits.validation_stems(cfg.data_dir))
    elif cfg.split != "all":
        raise ValueError(f"unknown split {cfg.split!r}: expected 'val' or 'all'")
    if not pairs:
        raise ValueError(f"no images to evaluate in {cfg.data_dir} (split {cfg.split})")
    # Cheap header-only pass so a bad file fails the run before minutes of inference.
    for _, image_path, mask_path in pairs:
        sizes = []
        for path in (image_path, mask_path):
            try:
                with Image.open(path) as im:
                    sizes.append(im.size)
            except (OSError, ValueError, SyntaxError) as exc:
                raise ValueError(f"cannot read {path}: {exc}") from exc
        if sizes[0] != sizes[1]:
            raise ValueError(f"mask {mask_path} is {sizes[1][0]}x{sizes[1][1]} but its image "
                             f"{image_path} is {sizes[0][0]}x{sizes[0][1]}")
    return pairs


def measure_latency(segmenter: Segmenter, warmup: int, runs: int) -> float:
    """Median milliseconds of one model-only inference (preprocessed input, no resizing)."""
    rng = np.random.default_rng(0)
    x = segmenter.preprocess(rng.integers(0, 256, (segmenter.input_spec.height, segmenter.input_spec.width, 3),
                                          dtype=np.uint8))
    return median_ms(segmenter.session, {segmenter.input_spec.name: x}, runs, warmup)


def load_models(models: list[str], threads: int, skip_missing: bool) -> list[Segmenter]:
    """Segmenters for the models; with skip_missing, a model whose files are absent is left out."""
    segmenters = []
    for model in models:
        try:
            segmenters.append(load_segmenter(model, threads=threads))
        except FileNotFoundError as exc:
            if not skip_missing:
                raise
            print(f"warning: skipping {model}: {exc}", file=sys.stderr)
    if not segmenters:
        raise FileNotFoundError("none of the models could be loaded: " + ", ".join(models))
    return segmenters


def evaluate(cfg: EvalConfig, segmenters: list[Segmenter], pairs: list[tuple[str, Path, Path]],
             progress: bool = True) -> list[ModelResult]:
    """Score each model on the pairs (from select_pairs) and time it; one row per model."""
    scores: list[list[dict[str, float]]] = [[] for _ in segmenters]
    for i, (_, image_path, mask_path) in enumerate(pairs):
        image, mask = load_pair(image_path, mask_path)
        gt = mask > 127
        for seg, seg_scores in zip(segmenters, scores):
            seg_scores.append(metrics.image_scores(metrics.binarize(seg.predict(image)), gt))
        if progress:
            print(f"\r{i + 1}/{len(pairs)} images", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    results = []
    for seg, seg_scores in zip(segmenters, scores):
        mean = metrics.mean_scores(seg_scores)
        size = seg.path.stat().st_size / 1024 if seg.path is not None else None
        results.append(ModelResult(
            model=seg.name, input=f"{seg.input_spec.height}x{seg.input_spec.width}", params=seg.params,
            size_kb=size, iou=mean["iou"], miou=mean["miou"], boundary_f=mean["boundary_f"],
            ms=measure_latency(seg, cfg.warmup_runs, cfg.latency_runs),
        ))
    return results


def _fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(results: list[ModelResult], cfg: EvalConfig, n_images: int) -> str:
    """The results as a Markdown table with a one-line caption saying what was measured where."""
    import onnxruntime

    caption = (
        f"{n_images} images of `{cfg.data_dir.name}` (split: "
        f"{cfg.split_file.name if cfg.split_file else cfg.split}); ms = median of {cfg.latency_runs} runs, "
        f"onnxruntime {onnxruntime.__version__} CPU, {cfg.threads} thread(s), {platform.machine()} "
        f"{_cpu_name()}."
    )
    lines = [
        "| model | input (HxW) | params | size (KB) | person IoU | mIoU | boundary F | ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        params = "-" if r.params is None else f"{r.params / 1000:.1f}K"
        lines.append(f"| {r.model} | {r.input} | {params} | {_fmt(r.size_kb, 0)} | {r.iou:.4f} | "
                     f"{r.miou:.4f} | {r.boundary_f:.4f} | {r.ms:.2f} |")
    return caption + "\n\n" + "\n".join(lines) + "\n"


def csv_text(results: list[ModelResult]) -> str:
    """The results as CSV (full precision), one row per model."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in results:
        writer.writerow([getattr(r, c) if getattr(r, c) is not None else "" for c in COLUMNS])
    return buffer.getvalue()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: list[str] | None = None) -> int:
    """Evaluate models on --data and write evaluation.md / evaluation.csv under --out."""
    defaults = EvalConfig()
    parser = argparse.ArgumentParser(prog="python -m model_export.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=defaults.data_dir,
                        help=f"folder with images/ and masks/ (default: %(default)s, env {DATA_ENV})")
    parser.add_argument("--split", choices=("val", "all"), default=defaults.split,
                        help="all images, or the seeded validation split of model_export.data (default: all)")
    parser.add_argument("--split-file", type=Path, default=None, help="JSON list of stems to evaluate instead")
    parser.add_argument("--out", type=Path, default=defaults.out_dir, help="output folder (default: %(default)s)")
    parser.add_argument("--models", nargs="+", default=None,
                        help=f"names ({', '.join(PEER_NAMES)}) or manifest paths; default: our manifests + peers")
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--latency-runs", type=int, default=defaults.latency_runs)
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    cfg = EvalConfig(data_dir=args.data, split=args.split, split_file=args.split_file, out_dir=args.out,
                     threads=args.threads, latency_runs=args.latency_runs)
    try:
        pairs = select_pairs(cfg)
        segmenters = load_models(args.models or default_models(), cfg.threads, skip_missing=not args.models)
        results = evaluate(cfg, segmenters, pairs, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = markdown_table(results, cfg, len(pairs))
    write_atomic(cfg.out_dir / "evaluation.md", table)
    write_atomic(cfg.out_dir / "evaluation.csv", csv_text(results))
    print(table)
    print(f"wrote {cfg.out_dir / 'evaluation.md'} and {cfg.out_dir / 'evaluation.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
