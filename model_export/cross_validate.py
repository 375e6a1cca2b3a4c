"""Choose a recipe by 5-fold cross-validation over every labelled photo, with MediaPipe on the same folds.

    .venv/bin/python -m model_export.cross_validate --steps 9000 --teacher --out build/cv
    .venv/bin/python -m model_export.cross_validate --steps 9000 --teacher --out build/cv --fold 3   # one fold
    .venv/bin/python -m model_export.cross_validate --steps 9000 --teacher --out build/cv --fold 1 --stop-after 4000

Splits the labelled photos into 5 disjoint folds (model_export.splits.cv_folds: seeded, every photo
in exactly one fold, near-duplicates kept together), and for each fold trains the recipe on the other
four (``vbg train --holdout FOLD.json``, the same code and flags as the shipped model), exports its
final EMA weights (not the checkpoint that scored best on the fold, which would peek at the test
photos) and scores it, MediaPipe landscape and MediaPipe general on the fold's photos with the
evaluation protocol (model_export.evaluate). Writes under --out: folds/fold-K.json, runs/,
models/, fold-K.json (scores), and cv.md / cv.json: per-fold and mean mIoU and boundary F.

A fold takes a whole session on a 2-core machine, so a fold's run picks up where it stopped: when
runs/fold-K/last.pt exists, the same command resumes it (``vbg train --resume``: same schedule, same
samples), and a finished run is only exported and scored. ``--stop-after STEP`` checkpoints every fold
it trains at that step and leaves it unscored until a later run finishes it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from model_export import evaluate, overrides, splits
from model_export.dataset import DataConfig, add_source_flags, data_config_from_flags
from model_export.export import export_checkpoint
from model_export.files import write_atomic
from model_export.model import ModelConfig
from model_export.paths import BUILD_DIR
from model_export.sources import list_pairs
from model_export.train import TrainConfig, load_resumable, train

PEERS = ("mediapipe-landscape", "mediapipe-general")
# TrainConfig fields that change how fast or where a run goes, not what it learns.
SPEED_ONLY_FIELDS = ("name", "runs_dir", "threads", "workers", "device", "val_every")
SCORE_KEYS = ("miou", "boundary_f")


def write_folds(data_dir: Path, out: Path, k: int, seed: int) -> list[Path]:
    """Fold files out/folds/fold-K.json (JSON lists of stems); returns their paths."""
    pairs = list_pairs(data_dir)
    folds = splits.cv_folds([p[0] for p in pairs], k, seed, splits.near_duplicate_groups(pairs))
    paths = []
    for index, fold in enumerate(folds):
        path = out / "folds" / f"fold-{index}.json"
        write_atomic(path, json.dumps(fold) + "\n")
        paths.append(path)
    return paths


def recipe_fields(train_config: dict, model_config: dict | None = None) -> dict:
    """TRAIN_CONFIG (and MODEL_CONFIG, under 'model.') flattened to {'loss.distill': 0.5, ...},
    JSON-normalised, without the fields that only change speed or where files go (a fold may continue on
    another machine or with more threads)."""
    flat = {}

    def walk(prefix: str, node) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(f"{prefix}{key}.", value)
            else:
                flat[f"{prefix}{key}"] = json.loads(json.dumps(value))

    walk("", train_config)
    walk(f"{overrides.MODEL_PREFIX}.", model_config or {})
    return {k: v for k, v in flat.items() if k not in SPEED_ONLY_FIELDS}


def earlier_run(last: Path, cfg: TrainConfig, model_cfg: ModelConfig) -> int | None:
    """The step of a fold's earlier run at LAST (None when there is none); ValueError when it was made
    with settings other than CFG's and MODEL_CFG's, so continuing it would not be the same recipe."""
    if not last.is_file():
        return None
    checkpoint = load_resumable(last)
    saved = recipe_fields(checkpoint["train_config"], checkpoint.get("model_config"))
    wanted = recipe_fields(dataclasses.asdict(cfg), dataclasses.asdict(model_cfg))
    differs = {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}
    if differs:
        what = ", ".join(f"{k} {had}, not {asked}" for k, (had, asked) in sorted(differs.items()))
        raise ValueError(f"{last} was trained with other settings ({what}): remove its folder or choose another --out")
    return int(checkpoint["step"])


def run_fold(index: int, fold_file: Path, out: Path, cfg: TrainConfig, model_cfg: ModelConfig,
             progress: bool = True, stop_after: int | None = None, argv: list[str] | None = None) -> dict | None:
    """Train on the other folds (continuing an earlier run of this fold), then score ours and the peers
    on this fold; returns the fold's result, or None when STOP_AFTER left the training unfinished.
    ARGV is the command recorded in the run's provenance."""
    cfg = TrainConfig(**{**cfg.__dict__, "name": f"fold-{index}", "runs_dir": str(out / "runs"),
                         "data": DataConfig(**{**cfg.data.__dict__, "holdout": str(fold_file)})})
    last = out / "runs" / cfg.name / "last.pt"
    step = earlier_run(last, cfg, model_cfg)
    if step is None or step < cfg.steps:
        train(cfg, model_cfg, resume=None if step is None else last, stop_after=stop_after, progress=progress,
              argv=argv)
        step = int(load_resumable(last)["step"])
    if step < cfg.steps:
        return None
    manifest = export_checkpoint(out / "runs" / cfg.name / "last.pt", f"fold-{index}", out / "models")
    eval_cfg = evaluate.EvalConfig(data_dir=Path(cfg.data.data_dir), split_file=fold_file, out_dir=out,
                                   warmup_runs=0, latency_runs=1)
    segmenters = evaluate.load_models([str(manifest), *PEERS], threads=1, skip_missing=False)
    pairs = evaluate.select_pairs(eval_cfg)
    rows = evaluate.evaluate(eval_cfg, segmenters, pairs, progress=progress)
    names = ["ours", *PEERS]
    result = {"fold": index, "photos": len(pairs),
              "scores": {name: {k: getattr(row, k) for k in SCORE_KEYS} for name, row in zip(names, rows)}}
    write_atomic(out / f"fold-{index}.json", json.dumps(result, indent=1) + "\n")
    return result


def cv_table(results: list[dict]) -> tuple[str, dict]:
    """Markdown table of per-fold and mean scores, and the means as a dict {model: {key: value}}."""
    models = list(results[0]["scores"])
    lines = ["| model | " + " | ".join(f"fold {r['fold']} mIoU / BF" for r in results) + " | mean mIoU | mean BF |",
             "|---|" + "---|" * len(results) + "---:|---:|"]
    means = {}
    for model in models:
        cells = [f"{r['scores'][model]['miou']:.4f} / {r['scores'][model]['boundary_f']:.4f}" for r in results]
        # Weighted by photos: every photo counts once over the 5 folds.
        weights = np.array([r["photos"] for r in results], float)
        means[model] = {k: float(np.average([r["scores"][model][k] for r in results], weights=weights))
                        for k in SCORE_KEYS}
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {means[model]['miou']:.4f} | "
                     f"{means[model]['boundary_f']:.4f} |")
    return "\n".join(lines) + "\n", means


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run the folds asked for, write the CV table when every fold has a result."""
    parser = argparse.ArgumentParser(prog="python -m model_export.cross_validate", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, required=True, help="the recipe's step budget per fold")
    parser.add_argument("--teacher", action=argparse.BooleanOptionalAction, required=True)
    parser.add_argument("--folds", type=int, default=splits.CV_FOLDS)
    parser.add_argument("--fold", type=int, action="append", default=None,
                        help="run only this fold (repeatable); the table is written once all folds have results")
    parser.add_argument("--seed", type=int, default=splits.VAL_SEED, help="fold assignment and training seed")
    add_source_flags(parser)
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "cv")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--workers", type=int, default=TrainConfig.workers)
    parser.add_argument("--val-every", type=int, default=TrainConfig.val_every)
    parser.add_argument("--device", default=TrainConfig.device, help="cpu, or cuda where a GPU is lent")
    parser.add_argument("--stop-after", type=int, default=None, metavar="STEP",
                        help="checkpoint each fold trained at this step and stop (the same command continues it)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change the recipe: a TrainConfig field by dotted path, e.g. loss.distill=1.0 or "
                             "data.kind_probs.pseudo=0.4, or a ModelConfig field under model., e.g. "
                             "model.stage_channels=[16,32,64] (repeatable; use a new --out for a changed recipe)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    data_cfg = data_config_from_flags(args)
    data_dir = Path(data_cfg.data_dir)
    fold_files = write_folds(data_dir, args.out, args.folds, args.seed)
    cfg = TrainConfig(steps=args.steps, teacher=args.teacher, seed=args.seed, batch_size=args.batch_size,
                      threads=args.threads, workers=args.workers, val_every=args.val_every, device=args.device, data=data_cfg)
    try:
        cfg, model_cfg = overrides.apply_recipe(cfg, args.set)
    except ValueError as exc:
        parser.error(str(exc))
    for index in args.fold if args.fold is not None else range(args.folds):
        command = ["python", "-m", "model_export.cross_validate", *(sys.argv[1:] if argv is None else argv)]
        result = run_fold(index, fold_files[index], args.out, cfg, model_cfg, progress=not args.quiet,
                          stop_after=args.stop_after, argv=command)
        if result is None:
            print(f"fold {index}: stopped at step {args.stop_after} of {args.steps}; the same command continues it")
            continue
        print(f"fold {index}: " + ", ".join(f"{m} {s['miou']:.4f} / {s['boundary_f']:.4f}"
                                            for m, s in result["scores"].items()))
    done = [args.out / f"fold-{i}.json" for i in range(args.folds)]
    if not all(p.is_file() for p in done):
        print(f"folds without results yet: {[p.name for p in done if not p.is_file()]}")
        return 0
    results = [json.loads(p.read_text()) for p in done]
    table, means = cv_table(results)
    caption = (f"{args.folds}-fold cross-validation over {sum(r['photos'] for r in results)} photos of "
               f"`{data_dir.name}`, {args.steps} steps per fold, teacher {'on' if args.teacher else 'off'}, "
               f"seed {args.seed}{''.join(f', {a}' for a in args.set)}; mIoU / boundary F per fold, "
               f"means weighted by photos.\n\n")
    write_atomic(args.out / "cv.md", caption + table)
    write_atomic(args.out / "cv.json", json.dumps({"folds": results, "means": means}, indent=1) + "\n")
    print(caption + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
