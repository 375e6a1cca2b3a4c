"""How good the teacher's labels are: the teacher and its parts scored against the human masks.

    python -m model_export.teacher_score [--split-file build/cv/folds/fold-0.json]

The teacher (model_export.teacher) is the mean of MediaPipe general and landscape, each averaged with
its prediction on the mirrored image, at the photo's own resolution. A student distilled from it can
hardly beat it, so its score is the ceiling that distillation aims at. Scored with the protocol of
model_export.metrics (> 0.5 is person; per-image mIoU and boundary F, averaged), on every labelled photo
or the stems of --split-file. Prints a table and writes it to --out/teacher.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from model_export import metrics, teacher
from model_export.evaluate import EvalConfig, select_pairs
from model_export.files import write_atomic
from model_export.paths import BUILD_DIR
from model_export.sources import load_pair

TEACHER_ROW = "teacher (general + landscape, flip-averaged)"


def score_teacher(pairs: list[tuple[str, Path, Path]], threads: int = 1) -> dict[str, dict[str, float]]:
    """Mean scores of the teacher and of each of its models (flip-averaged) over PAIRS, by row name."""
    segmenters = teacher.teacher_segmenters(threads)
    names = [TEACHER_ROW] + [f"{s.name} (flip-averaged)" for s in segmenters]
    scores: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for _, image_path, mask_path in pairs:
        image, mask = load_pair(image_path, mask_path)
        gt = mask > 127
        parts = [teacher.flip_averaged(s, image) for s in segmenters]
        for name, prob in zip(names, [sum(parts) / len(parts)] + parts):
            scores[name].append(metrics.image_scores(metrics.binarize(prob), gt))
    return {name: metrics.mean_scores(rows) for name, rows in scores.items()}


def markdown(results: dict[str, dict[str, float]], n_images: int, source: str) -> str:
    lines = [f"Teacher scored on {n_images} photos ({source}); mIoU / boundary F / person IoU.", "",
             "| labels | mIoU | boundary F | person IoU |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {r['miou']:.4f} | {r['boundary_f']:.4f} | {r['iou']:.4f} |" for name, r in results.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model_export.teacher_score", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=EvalConfig.data_dir, help="folder with images/ and masks/")
    parser.add_argument("--split-file", type=Path, help="JSON list of stems to score instead of every photo")
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "eval", help="folder for teacher.md")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        teacher.require_teachers()
        pairs = select_pairs(EvalConfig(data_dir=args.data, split_file=args.split_file))
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = markdown(score_teacher(pairs, args.threads), len(pairs), str(args.split_file or args.data))
    write_atomic(args.out / "teacher.md", table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
