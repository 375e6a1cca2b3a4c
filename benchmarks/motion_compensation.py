"""Does motion compensation help an older mask? Shift it by the motion estimated in its edge band, and compare.

    .venv/bin/python -m benchmarks.motion_compensation [--clips-dir build/bench-clips]
        [--out benchmarks/results/motion_compensation.json] [--lags 1,2,3] [--search 16]

Not a test: it prints a Markdown table and writes the JSON (with the machine, date and command). No browser:
the page's stages are re-done in numpy, at the model's size, on the benchmark's barcoded person clip
(benchmarks.pipeline.person_clip: 640x360, still / talk / move / fast, ground truth and offsets per frame).

How it measures. Every clip frame is downscaled as the page does (static/js/gl/shaders/downscale.frag.js: four
bilinear taps a quarter texel off centre, into an RGBA8 target), normalised from the manifest and run through
the shipped model (onnxruntime CPU, one thread), thresholded at 0.5. Then, for a lag d and each frame k of a
phase (k - d in the same phase), the mask used at frame k is one of:

- own: frame k's own mask (d = 0, the reference: what the page shows when the mask is on time);
- as is: the mask of frame k - d;
- estimated: that mask shifted by a global integer 2D translation, found by block matching the luma of
  frames k - d and k (mean absolute difference over the old mask's edge band, dilate minus erode with
  BAND_RADIUS_PX of static/js/gl/stages/mask_stage.js; search +-SEARCH_PX, smallest shift on ties);
- oracle: shifted by the clip's true offset difference, rounded to model pixels (the upper bound);
- deadline: the page's deadline path (refine.frag.js, DISTRUST): the mask of frame k - d with every pixel
  whose luma changed by DISTRUST_CHANGE_THRESHOLD or more since frame k - d, dilated by DISTRUST_RADIUS
  texels (square), called background;
- deadline + estimated / deadline + oracle: the same after the shift, with "changed" taken between frame k
  and frame k - d shifted by the same amount.

Reported per phase, lag and variant, averaged over frames: mask IoU against frame k's ground truth
(benchmarks.pipeline.downscale_truth), raw-room leak (share of the true background within NEAR_PERSON_PX camera
pixels of the person that the mask calls person: the room a viewer would see), person cut (share of the true
person the mask calls background), and the estimate's error in model pixels against the true offset.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy import ndimage

from benchmarks.pipeline import (
    DEFAULT_CLIPS_DIR, MODEL_NAME, NEAR_PERSON_PX, downscale_truth, iou, jsonable, machine_info, markdown_table,
    person_clip, rings_around,
)
from clips.y4m import read_y4m
from model_export.paths import REPO_ROOT, SHIPPED_MODELS_DIR

# ---------------------------------------------------------------- settings

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "motion_compensation.json"
STAGES_DIR = REPO_ROOT / "static" / "js" / "gl" / "stages"
LAGS = (1, 2, 3)  # frames: the deadline path starts when a frame's own mask is more than 2 frames late
# Model pixels each way (40 camera px): the range. The fast phase moves 25.6 camera px = 10.2 model px
# per frame, so from lag 2 on its motion lies beyond it; --search widens it to see what that costs.
SEARCH_PX = 16
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # the shaders' LUMA (refine.frag.js, gate.frag.js)
VARIANTS = ("own", "as is", "estimated", "oracle", "deadline", "deadline + estimated", "deadline + oracle")
TABLE_VARIANTS = ("as is", "estimated", "oracle", "deadline", "deadline + estimated", "deadline + oracle")


def js_constant(path: Path, name: str) -> float:
    """A numeric `const NAME = value;` from a JS module: the page's tunables are written once, there."""
    match = re.search(rf"\bconst {name} = ([0-9.]+);", path.read_text())
    if match is None:
        raise ValueError(f"{path}: no numeric const {name}")
    return float(match.group(1))


# ---------------------------------------------------------------- pure parts (unit-tested)


def tap_matrix(source: int, target: int) -> np.ndarray:
    """(target, source) weights of downscale.frag.js along one axis: the mean of two bilinear taps a quarter
    of a target texel either side of its centre, clamped to the edge (the shader's four taps are the product
    of two such pairs)."""
    weights = np.zeros((target, source), np.float64)
    rows = np.arange(target)
    for side in (-0.25, 0.25):
        x = (rows + 0.5 + side) * source / target - 0.5  # source texel coordinate of the tap
        left = np.floor(x).astype(int)
        frac = x - left
        np.add.at(weights, (rows, np.clip(left, 0, source - 1)), 0.5 * (1 - frac))
        np.add.at(weights, (rows, np.clip(left + 1, 0, source - 1)), 0.5 * frac)
    return weights


def downscale_frame(frame: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 camera frame -> (h, w, 3) uint8 at model size, as the page's RGBA8 target holds it."""
    small = np.einsum("yY,YXc,xX->yxc", rows, frame.astype(np.float64), cols, optimize=True)
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def model_input(small: np.ndarray, scale: float, mean, std) -> np.ndarray:
    """(h, w, 3) uint8 -> (1, 3, h, w) float32: (pixel * scale - mean) / std, as preprocess.frag.js."""
    normalised = (small.astype(np.float32) * np.float32(scale) - np.float32(mean)) / np.float32(std)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None])


def luma(small: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 -> (h, w) float32 luma in 0..1, the shaders' weights."""
    return small.astype(np.float32) / 255 @ LUMA


def edge_band(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate minus erode of a bool mask with a square of RADIUS, edges clamped (band.frag.js)."""
    size = 2 * radius + 1
    return ndimage.maximum_filter(mask, size, mode="nearest") & ~ndimage.minimum_filter(mask, size, mode="nearest")


def shift(image: np.ndarray, dx: int, dy: int, fill=0) -> np.ndarray:
    """out[y, x] = image[y - dy, x - dx]: content moves right by dx and down by dy; FILL where nothing comes in."""
    out = np.full_like(image, fill)
    h, w = image.shape[:2]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    into = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))
    out[into] = image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def search_shifts(search: int) -> np.ndarray:
    """(S, 2) integer (dx, dy) within +-SEARCH, smallest first, so a tie keeps the smaller motion."""
    grid = np.stack(np.meshgrid(np.arange(-search, search + 1), np.arange(-search, search + 1), indexing="xy"), -1)
    grid = grid.reshape(-1, 2)
    return grid[np.lexsort((grid[:, 1], grid[:, 0], np.hypot(grid[:, 0], grid[:, 1])))]


def estimate_shift(before: np.ndarray, after: np.ndarray, band: np.ndarray, search: int) -> tuple[int, int]:
    """The integer (dx, dy) minimising the mean |before(p) - after(p + (dx, dy))| over the band's pixels p
    (positions past the frame clamp to its edge); (0, 0) for an empty band."""
    ys, xs = np.nonzero(band)
    if not len(ys):
        return 0, 0
    shifts = search_shifts(search)
    h, w = after.shape
    at_y = np.clip(ys[None] + shifts[:, 1:2], 0, h - 1)  # (S, P)
    at_x = np.clip(xs[None] + shifts[:, 0:1], 0, w - 1)
    cost = np.abs(after[at_y, at_x] - before[ys, xs][None]).mean(axis=1)
    best = shifts[int(np.argmin(cost))]  # argmin takes the first minimum: the smallest shift
    return int(best[0]), int(best[1])


def changed_pixels(now: np.ndarray, then: np.ndarray, threshold: float, radius: int) -> np.ndarray:
    """Pixels within RADIUS (square) of a luma change >= THRESHOLD between two frames (refine.frag.js,
    DISTRUST); NaN in THEN (nothing there to compare) counts as changed."""
    change = np.abs(now - then)
    changed = ~(change < threshold)  # NaN compares False: changed
    return ndimage.maximum_filter(changed, 2 * radius + 1, mode="nearest")


def mask_metrics(mask: np.ndarray, truth: np.ndarray, ring: np.ndarray) -> dict:
    """{iou, leak, cut} of one bool mask: leak = share of RING (true background near the person) called
    person, cut = share of the true person called background."""
    return {"iou": float(iou(mask, truth)),
            "leak": float((mask & ring).sum() / max(1, ring.sum())),
            "cut": float((~mask & truth).sum() / max(1, truth.sum()))}


# ---------------------------------------------------------------- the measurement


def load_model(models_dir: Path, name: str):
    """(onnxruntime session, manifest) of a shipped model, one CPU thread."""
    import onnxruntime as ort

    manifest = json.loads((models_dir / f"{name}.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(models_dir / manifest["file"]), options, providers=["CPUExecutionProvider"])
    return session, manifest


def segment_clip(clip, session, manifest) -> tuple[np.ndarray, np.ndarray]:
    """(N, h, w) luma and (N, h, w) bool masks (probability >= 0.5) of every clip frame at the model's size."""
    spec = manifest["input"]
    _, _, height, width = spec["shape"]
    activation = manifest["output"].get("activation", "none")
    if activation != "none":  # as segmenter_worker.js: the graph ends in its sigmoid, the output is a probability
        raise ValueError(f"output activation {activation!r} is not supported (only none)")
    rows = cols = None
    lumas, masks = [], []
    for frame in read_y4m(clip.y4m):
        if rows is None:
            rows, cols = tap_matrix(frame.shape[0], height), tap_matrix(frame.shape[1], width)
        small = downscale_frame(frame, rows, cols)
        if spec.get("color", "RGB") == "BGR":
            small = small[..., ::-1]
        output = session.run([manifest["output"]["name"]],
                             {spec["name"]: model_input(small, spec["scale"], spec["mean"], spec["std"])})[0]
        masks.append(output[0, manifest["output"].get("channel", 0)] >= 0.5)
        lumas.append(luma(small if spec.get("color", "RGB") == "RGB" else small[..., ::-1]))
    return np.stack(lumas), np.stack(masks)


def variants_at(k: int, d: int, lumas, masks, true_dx: float, settings: dict) -> tuple[dict, tuple[int, int]]:
    """{variant: mask used at frame k} for lag d, and the estimated shift."""
    old, old_luma, now = masks[k - d], lumas[k - d], lumas[k]
    band = edge_band(old, settings["band_radius"])
    estimated = estimate_shift(old_luma, now, band, settings["search"])
    oracle = (int(np.rint(true_dx)), 0)
    out = {"own": masks[k], "as is": old}
    for name, (dx, dy) in (("estimated", estimated), ("oracle", oracle)):
        moved = shift(old, dx, dy, False)
        changed = changed_pixels(now, shift(old_luma, dx, dy, np.nan), settings["threshold"], settings["radius"])
        out[name] = moved
        out[f"deadline + {name}"] = moved & ~changed
    out["deadline"] = old & ~changed_pixels(now, old_luma, settings["threshold"], settings["radius"])
    return out, estimated


def measure(clip, lumas, masks, lags, search: int = SEARCH_PX) -> tuple[dict, dict]:
    """Per phase and lag: mean metrics per variant and the estimate's error; and the settings used."""
    height, width = masks.shape[1:]
    model_per_camera = width / clip.info.width
    settings = {
        "band_radius": int(js_constant(STAGES_DIR / "mask_stage.js", "BAND_RADIUS_PX")),
        "threshold": js_constant(STAGES_DIR / "refine_stage.js", "DISTRUST_CHANGE_THRESHOLD"),
        "radius": int(js_constant(STAGES_DIR / "refine_stage.js", "DISTRUST_RADIUS")),
        "search": search,
        "near_person_model_px": NEAR_PERSON_PX * model_per_camera,
    }
    truth = downscale_truth(np.load(clip.y4m.with_name(clip.info.masks)), width, height)
    rings = rings_around(truth, settings["near_person_model_px"])
    offsets = np.asarray(clip.info.offsets_px, np.float64) * model_per_camera  # model px, horizontal
    results = {}
    for phase in clip.info.phases:
        for d in lags:
            frames = range(phase.start + d, phase.end)
            sums = {name: {"iou": [], "leak": [], "cut": []} for name in VARIANTS}
            errors, true_moves, estimates = [], [], []
            for k in frames:
                true_dx = offsets[k] - offsets[k - d]
                used, (ex, ey) = variants_at(k, d, lumas, masks, true_dx, settings)
                for name, mask in used.items():
                    for key, value in mask_metrics(mask, truth[k], rings[k]).items():
                        sums[name][key].append(value)
                errors.append(float(np.hypot(ex - true_dx, ey)))
                true_moves.append(abs(true_dx))
                estimates.append([ex, ey])
            results[f"{phase.kind}/{d}"] = {
                "phase": phase.kind, "lag": d, "frames": len(frames),
                "metrics": {name: {key: float(np.mean(v)) for key, v in m.items()} for name, m in sums.items()},
                "estimate_error_px": {"mean": float(np.mean(errors)), "p95": float(np.percentile(errors, 95)),
                                      "within_1px": float(np.mean(np.asarray(errors) <= 1.0))},
                "true_motion_px_mean": float(np.mean(true_moves)),
                "estimates": estimates,
            }
    return results, settings


def _cell(metrics: dict) -> str:
    return f"{100 * metrics['iou']:.1f} / {100 * metrics['leak']:.1f} / {100 * metrics['cut']:.1f}"


def report_markdown(results: dict, settings: dict) -> str:
    """One row per phase and lag; each variant's cell is IoU / leak / cut in %."""
    header = ["phase, lag", "true motion px", "estimate error px mean / p95", "own (lag 0)"] + list(TABLE_VARIANTS)
    rows = []
    for entry in results.values():
        error = entry["estimate_error_px"]
        rows.append([f"{entry['phase']}, {entry['lag']}", f"{entry['true_motion_px_mean']:.1f}",
                     f"{error['mean']:.2f} / {error['p95']:.1f}", _cell(entry["metrics"]["own"])]
                    + [_cell(entry["metrics"][name]) for name in TABLE_VARIANTS])
    intro = (f"Mask motion compensation at model size: cells are IoU / raw-room leak / person cut, % (leak: true "
             f"background within {NEAR_PERSON_PX} camera px = {settings['near_person_model_px']:.0f} model px of the "
             f"person; motion and error in model px, 1 model px = 2.5 camera px). Estimate: block matching in the "
             f"old mask's edge band (radius {settings['band_radius']}), +-{settings['search']} px; deadline: luma "
             f"change >= {settings['threshold']} dilated by {settings['radius']} px is background.")
    return intro + "\n\n" + markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-dir", type=Path, default=DEFAULT_CLIPS_DIR)
    parser.add_argument("--models-dir", type=Path, default=SHIPPED_MODELS_DIR)
    parser.add_argument("--model", default=MODEL_NAME)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--lags", default=",".join(map(str, LAGS)), help="comma-separated frame lags")
    parser.add_argument("--search", type=int, default=SEARCH_PX, help="block-matching range, model px each way")
    args = parser.parse_args(argv)
    lags = tuple(int(v) for v in args.lags.split(","))

    args.clips_dir.mkdir(parents=True, exist_ok=True)
    clip = person_clip(args.clips_dir)
    session, manifest = load_model(args.models_dir, args.model)
    started = time.perf_counter()
    lumas, masks = segment_clip(clip, session, manifest)
    segmented = time.perf_counter()
    results, settings = measure(clip, lumas, masks, lags, args.search)
    finished = time.perf_counter()
    band_pixels = [int(edge_band(m, settings["band_radius"]).sum()) for m in masks]
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m benchmarks.motion_compensation"]
                            + (argv if argv is not None else sys.argv[1:])),
        "machine": machine_info(),
        "model": {"name": args.model, "sha256": manifest.get("sha256"), "input_shape": manifest["input"]["shape"]},
        "clip": {"y4m": clip.y4m.name, "frames": clip.frames, "fps": clip.fps,
                 "phases": [{"kind": p.kind, "start": p.start, "end": p.end} for p in clip.info.phases]},
        "settings": settings,
        "lags": lags,
        "band_pixels_mean": float(np.mean(band_pixels)),
        "shifts_searched": int(len(search_shifts(settings["search"]))),
        "seconds": {"segment": segmented - started, "measure": finished - segmented},
        "results": results,
    }
    report["markdown"] = report_markdown(results, settings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(report), indent=1) + "\n")
    print(report["markdown"])
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
