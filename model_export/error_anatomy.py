"""Where a segmenter's wrong pixels are, and whether its threshold is right, on labelled photos.

    .venv/bin/python -m model_export.error_anatomy --split-file build/cv/folds/fold-0.json \\
        build/cv/models/fold-0.json mediapipe-landscape

Per model: mIoU and boundary F at thresholds 0.3-0.7 (the protocol's is 0.5), and its wrong pixels split
into false person / missed person, each near the true outline (within NEAR_TOLERANCES boundary tolerances)
or far from it (whole wrong regions: a wall or a door taken for the person). With two models or more, the
photos where the first loses most to the second. Prints only: an analysis, not a benchmark.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from model_export import metrics
from model_export.evaluate import EvalConfig, select_pairs
from model_export.segmenter_onnx import load_segmenter
from model_export.sources import load_pair

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
NEAR_TOLERANCES = 3  # "near the outline": within this many boundary tolerances (0.8% of the diagonal each)
ERROR_KINDS = ("false_near", "false_far", "missed_near", "missed_far")


def error_pixels(pred: np.ndarray, gt: np.ndarray) -> dict[str, int]:
    """Counts of wrong pixels of a binary PRED against GT (bool (H, W)) by kind (ERROR_KINDS)."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    to_outline = np.where(gt, ndimage.distance_transform_edt(gt), ndimage.distance_transform_edt(~gt))
    near = to_outline <= NEAR_TOLERANCES * metrics.boundary_tolerance_px(gt.shape)
    false, missed = pred & ~gt, ~pred & gt
    return {"false_near": int((false & near).sum()), "false_far": int((false & ~near).sum()),
            "missed_near": int((missed & near).sum()), "missed_far": int((missed & ~near).sum())}


def anatomy(segmenters, pairs) -> dict[str, dict]:
    """{model: {"thresholds": {t: mean scores}, "errors_pct": {kind: % of all pixels}, "per_photo": {stem: mIoU}}}."""
    out = {}
    for seg in segmenters:
        scores = {t: [] for t in THRESHOLDS}
        errors, pixels, per_photo = dict.fromkeys(ERROR_KINDS, 0), 0, {}
        for stem, image_path, mask_path in pairs:
            image, mask = load_pair(image_path, mask_path)
            gt = mask > 127
            prob = seg.predict(image)
            for t in THRESHOLDS:
                scores[t].append(metrics.image_scores(metrics.binarize(prob, t), gt))
            for kind, count in error_pixels(metrics.binarize(prob), gt).items():
                errors[kind] += count
            pixels += gt.size
            per_photo[stem] = scores[metrics.THRESHOLD][-1]["miou"]
        out[seg.name] = {"thresholds": {t: metrics.mean_scores(s) for t, s in scores.items()},
                         "errors_pct": {k: 100 * v / pixels for k, v in errors.items()}, "per_photo": per_photo}
    return out


def report(result: dict[str, dict], worst: int = 5) -> str:
    """The analysis as markdown tables."""
    lines = ["| model | " + " | ".join(f"th {t} mIoU / BF" for t in THRESHOLDS) + " | "
             + " | ".join(f"{k} %" for k in ERROR_KINDS) + " |", "|---|" + "---|" * (len(THRESHOLDS) + len(ERROR_KINDS))]
    for name, r in result.items():
        cells = [f"{r['thresholds'][t]['miou']:.4f} / {r['thresholds'][t]['boundary_f']:.4f}" for t in THRESHOLDS]
        cells += [f"{r['errors_pct'][k]:.2f}" for k in ERROR_KINDS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    names = list(result)
    if len(names) > 1:
        first, second = result[names[0]]["per_photo"], result[names[1]]["per_photo"]
        gaps = sorted((first[s] - second[s], s) for s in first)[:worst]
        lines.append(f"\nPhotos where {names[0]} loses most mIoU to {names[1]}: "
                     + ", ".join(f"{stem} ({gap:+.3f})" for gap, stem in gaps))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, analyse, print."""
    parser = argparse.ArgumentParser(prog="python -m model_export.error_anatomy", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="manifests or peer names, as model_export.evaluate takes them")
    parser.add_argument("--split-file", type=Path, default=None, help="JSON list of stems (default: every photo)")
    parser.add_argument("--data", type=Path, default=EvalConfig.data_dir)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    pairs = select_pairs(EvalConfig(data_dir=args.data, split_file=args.split_file))
    segmenters = [load_segmenter(m, threads=args.threads) for m in args.models]
    print(f"{len(pairs)} photos of {args.data}")
    print(report(anatomy(segmenters, pairs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
