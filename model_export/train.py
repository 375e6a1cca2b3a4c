"""Train the portrait segmenter for a fixed number of optimizer steps.

    .venv/bin/vbg train --name vbg-portrait --steps 9000 --teacher
    .venv/bin/vbg train --resume runs/vbg-portrait/last.pt          # continue the same run

Samples are rendered on the fly in DataLoader workers (model_export.dataset), each from a generator
seeded by (seed, step, index), and the learning rate (linear warmup, then cosine) is a function of
the step: the same command gives the same model on a busy or a quiet machine, and a run stopped
anywhere (``--stop-after``, or killed after a checkpoint) continues with ``--resume`` exactly as if it
had never stopped. ``--teacher`` or ``--no-teacher`` must be said: with the teacher, every source is
labelled by MediaPipe general + landscape (model_export.teacher), and a missing teacher is an error.

Writes runs/NAME/: last.pt (model, EMA, optimizer, step, RNG states, provenance), best.pt (highest
validation mIoU of the EMA weights; the final weights when nothing is held out), history.json and
curves.png. The checkpoint's ``provenance`` says what happened: teacher models and licences, steps,
samples seen, wall time, and for every session the command, commit and whether the tree was dirty.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import io
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from model_export import overrides, provenance
from model_export.dataset import (
    DataConfig, SampleDataset, Sources, StepBatchSampler, add_source_flags, data_config_from_flags, held_out_stems,
    load_sources,
)
from model_export.files import save_torch_atomic, write_atomic
from model_export.losses import LossWeights, total_loss
from model_export.model import ModelConfig, build_model, count_parameters
from model_export.paths import REPO_ROOT
from model_export.sources import cv2, list_pairs, load_pair
from model_export.splits import pairs_in

RUNS_DIR = REPO_ROOT / "runs"


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings; saved in every checkpoint."""

    name: str = "vbg-portrait"
    steps: int = 9000  # optimizer steps: the schedule's length (the budget)
    teacher: bool = True  # soft labels and pseudo-labelled images from the MediaPipe teachers
    batch_size: int = 32
    lr: float = 4e-3  # AdamW peak learning rate
    weight_decay: float = 1e-2
    warmup_fraction: float = 0.03  # of the steps
    final_lr_fraction: float = 0.02  # cosine ends at lr * this
    ema_decay: float = 0.998  # per step; ~500 steps horizon
    consistency_fraction: float = 0.125  # share of each batch that also gets a photometric twin
    grad_clip: float = 5.0
    seed: int = 0
    threads: int = 2  # torch threads for training
    device: str = "cpu"  # "cuda" where a GPU is lent (the cross-validation sweep)
    workers: int = 1  # DataLoader worker processes rendering samples
    val_every: int = 500  # steps between validations (and checkpoints)
    runs_dir: str = str(RUNS_DIR)
    loss: LossWeights = field(default_factory=LossWeights)
    data: DataConfig = field(default_factory=DataConfig)


# --------------------------------------------------------------------------------------------
# Validation (evaluation protocol: stretch to the model input, probability resized back to the
# mask size bilinearly, > 0.5 is person; per-image mIoU and boundary F at 0.8% of the diagonal)
# --------------------------------------------------------------------------------------------


def load_validation(cfg: DataConfig) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(stem, image, mask) of the held-out photos, at their own size."""
    return [(stem, *load_pair(i, m)) for stem, i, m in pairs_in(list_pairs(cfg.data_dir), held_out_stems(cfg))]


def to_input(images_uint8: np.ndarray | torch.Tensor, model_cfg: ModelConfig) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) normalised float32, channels-last."""
    x = images_uint8 if isinstance(images_uint8, torch.Tensor) else torch.from_numpy(np.array(images_uint8))
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(model_cfg.mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(model_cfg.std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def validate(model: torch.nn.Module, val, model_cfg: ModelConfig) -> dict[str, float]:
    """Mean val_iou, val_miou and val_boundary_f of MODEL over the validation photos."""
    # The same stretch and resize-back as evaluate.py (segmenter_onnx.Segmenter), so the numbers compare.
    from model_export import metrics
    from model_export.segmenter_onnx import resize_image, resize_prob

    model.eval()
    device = next(model.parameters()).device
    scores = []
    for _, image, mask in val:
        x = resize_image(image, model_cfg.input_height, model_cfg.input_width)
        prob = torch.sigmoid(model(to_input(x[None], model_cfg).to(device)))[0, 0].cpu().numpy()
        scores.append(metrics.image_scores(resize_prob(prob, *mask.shape) > metrics.THRESHOLD, mask > 127))
    return {f"val_{k}": float(np.mean([s[k] for s in scores])) for k in ("iou", "miou", "boundary_f")}


# --------------------------------------------------------------------------------------------
# Schedule and state
# --------------------------------------------------------------------------------------------


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of optimizer step STEP (0-based) of cfg.steps: linear warmup, then cosine."""
    progress = step / max(1, cfg.steps)
    if progress < cfg.warmup_fraction:
        return cfg.lr * max(progress / cfg.warmup_fraction, 0.01)
    t = min(1.0, (progress - cfg.warmup_fraction) / max(1e-9, 1 - cfg.warmup_fraction))
    floor = cfg.lr * cfg.final_lr_fraction
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * t))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema = decay * ema + (1 - decay) * model for parameters; BatchNorm statistics are copied."""
    for e, p in zip(ema.parameters(), model.parameters()):
        e.mul_(decay).add_(p.detach(), alpha=1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def rng_states() -> dict:
    """Every global generator's state (the samples have their own, derived from the step), as tensors and
    plain values so ``torch.load(weights_only=True)`` reads the checkpoint."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss,
                                                       cached], "python": random.getstate()}


def set_rng_states(states: dict) -> None:
    """Restore what rng_states saved."""
    torch.set_rng_state(states["torch"])
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(states["python"])


def config_from_dict(values: dict) -> TrainConfig:
    """A TrainConfig from a checkpoint's train_config."""
    values = dict(values)
    values["loss"] = LossWeights(**values.get("loss", {}))
    values["data"] = DataConfig(**values.get("data", {}))
    return TrainConfig(**values)


def plot_curves(history: list[dict], trace: list[dict], path: Path) -> None:
    """PNG with the training loss (left) and validation IoU / mIoU / boundary F (right), per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if trace:
        left.plot([t["step"] for t in trace], [t["loss"] for t in trace], lw=0.8, label="train loss (EMA)")
        left.legend()
    left.set(xlabel="step", ylabel="loss", title="training loss")
    left.grid(alpha=0.3)
    if history:
        x = [h["step"] for h in history]
        for key, label in (("val_miou", "val mIoU"), ("val_iou", "val person IoU"), ("val_boundary_f", "val boundary F")):
            right.plot(x, [h[key] for h in history], marker="o", ms=3, label=label)
        right.legend()
    right.set(xlabel="step", title="validation (EMA weights)")
    right.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())


def _worker_init(_):
    torch.set_num_threads(1)
    if cv2 is not None:
        cv2.setNumThreads(1)


# --------------------------------------------------------------------------------------------
# Training loop
# --------------------------------------------------------------------------------------------


def train(
    cfg: TrainConfig,
    model_cfg: ModelConfig | None = None,
    *,
    sources: Sources | None = None,
    val: list | None = None,
    resume: str | Path | None = None,
    stop_after: int | None = None,
    argv: list[str] | None = None,
    progress: bool = True,
) -> dict:
    """Train per CFG up to cfg.steps (or STOP_AFTER); returns the best validation metrics.

    SOURCES and VAL default to the ones CFG names; RESUME is a last.pt of the same run.
    """
    torch.set_num_threads(cfg.threads)
    teacher = None
    if cfg.teacher:
        from model_export.teacher import teacher_info

        teacher = teacher_info()  # raises TeacherMissing, naming the file and the convert command
    model_cfg = model_cfg or ModelConfig(input_height=cfg.data.height, input_width=cfg.data.width)
    run_dir = Path(cfg.runs_dir) / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"

    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    model = build_model(model_cfg).to(device, memory_format=torch.channels_last)
    ema = copy.deepcopy(model).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, wall_s, history, trace, sessions = 0, 0.0, [], [], []
    best = {"val_miou": -1.0, "val_iou": 0.0, "val_boundary_f": 0.0}
    if resume is not None:
        ckpt = load_resumable(resume)
        if ModelConfig(**ckpt["model_config"]) != model_cfg:
            raise ValueError(f"--resume: {resume} was trained with a different model config")
        if ckpt["train_config"]["steps"] != cfg.steps:
            raise ValueError(f"--resume: {resume} has a budget of {ckpt['train_config']['steps']} steps, "
                             f"not {cfg.steps}: the schedule would change")
        model.load_state_dict(ckpt["train_state_dict"])
        ema.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        set_rng_states(ckpt["rng_states"])
        step, history, trace, best = ckpt["step"], ckpt["history"], ckpt["trace"], ckpt["best_metrics"]
        wall_s, sessions = ckpt["provenance"]["wall_time_s"], ckpt["provenance"]["sessions"]
    sessions = [*sessions, {**provenance.session(argv), "from_step": step}]
    stop = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    if sources is None:
        sources = load_sources(cfg.data, teacher=cfg.teacher, progress=progress)
    if val is None:
        val = load_validation(cfg.data)
    log = (lambda msg: print(msg, flush=True)) if progress else (lambda msg: None)
    log(f"model: {count_parameters(model):,} parameters; {len(sources.photos)} labelled photos, "
        f"{len(sources.pseudo)} teacher-labelled images, teacher {'on' if cfg.teacher else 'off'}; "
        f"{len(val)} validation photos; steps {step} -> {stop} of {cfg.steps}")

    n_twins = int(round(cfg.batch_size * cfg.consistency_fraction)) if cfg.loss.consistency else 0
    loader = torch.utils.data.DataLoader(
        SampleDataset(sources, cfg.data, seed=cfg.seed, twins=n_twins),
        batch_sampler=StepBatchSampler(step, stop, cfg.batch_size),
        num_workers=cfg.workers,
        worker_init_fn=_worker_init if cfg.workers else None,
        prefetch_factor=4 if cfg.workers else None,
    )

    def checkpoint(metrics: dict | None) -> dict:
        nonlocal best
        improved = metrics is not None and metrics["val_miou"] > best["val_miou"]
        if improved:
            best = dict(metrics)
        sessions[-1]["to_step"] = step
        ckpt = {
            "model_config": dataclasses.asdict(model_cfg),
            "train_config": dataclasses.asdict(cfg),
            "state_dict": ema.state_dict(),  # the validated (EMA) weights: what export.py ships
            "train_state_dict": model.state_dict(),  # the raw weights, to resume optimisation
            "optimizer": optimizer.state_dict(),
            "rng_states": rng_states(),
            "step": step,
            "seed": cfg.seed,
            "history": history,
            "trace": trace,
            "best_metrics": best,
            "metrics": metrics,
            "provenance": {
                "teacher": teacher,
                "step_budget": cfg.steps,
                "steps": step,
                "samples_seen": step * cfg.batch_size,
                "consistency_twins_seen": step * n_twins,
                "wall_time_s": round(wall_s, 3),
                "held_out_photos": len(val),
                "sessions": sessions,
            },
        }
        save_torch_atomic(ckpt, last_path)
        # Nothing held out (the shipped model trains on every photo): the final weights are the best.
        if improved or (not val and step == cfg.steps):
            save_torch_atomic(ckpt, best_path)
        write_atomic(run_dir / "history.json",
                     json.dumps({"best_metrics": best, "validations": history, "steps": trace}, indent=1))
        plot_curves(history, trace, run_dir / "curves.png")
        return ckpt

    smooth, t_last = None, time.time()
    model.train()
    for batch in loader:
        lr = lr_at(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        images = batch["image"]
        if n_twins:
            images = torch.cat([images, batch["image_b"][:n_twins]])
        logits, aux_logits = model(to_input(images, model_cfg), with_aux=True)
        b = cfg.batch_size
        loss, parts = total_loss(
            logits[:b], batch["mask"].float().div_(255.0).unsqueeze(1), cfg.loss,
            has_mask=batch["has_mask"], soft=batch["soft"].float().div_(255.0).unsqueeze(1),
            has_soft=batch["has_soft"], logits_changed=logits[b:] if n_twins else None,
            aux_logits=[aux[:b] for aux in aux_logits],
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        step += 1
        update_ema(ema, model, min(cfg.ema_decay, (1 + step) / (10 + step)))
        value = float(loss.detach())
        smooth = value if smooth is None else 0.98 * smooth + 0.02 * value
        trace.append({"step": step, "lr": lr, "loss": round(smooth, 5), **{k: round(v, 5) for k, v in parts.items()}})
        now = time.time()
        wall_s, t_last = wall_s + now - t_last, now
        if step % cfg.val_every == 0 or step == stop:
            metrics = validate(ema, val, model_cfg) if val else None
            model.train()
            if metrics is not None:
                history.append({"step": step, "lr": lr, "wall_s": round(wall_s, 1), **metrics})
            wall_s, t_last = wall_s + time.time() - t_last, time.time()
            checkpoint(metrics)
            shown = "" if metrics is None else (f"  val mIoU {metrics['val_miou']:.4f} BF {metrics['val_boundary_f']:.4f}")
            log(f"step {step}/{cfg.steps}  {wall_s / 60:.1f} min  loss {smooth:.4f}  lr {lr:.2e}{shown}")
    if step == 0 or (step < stop):  # nothing ran (or the loader ended early): still leave a checkpoint
        checkpoint(None)
    if val:
        log(f"stopped at step {step} of {cfg.steps}; best {best} -> {best_path}")
    else:
        log(f"stopped at step {step} of {cfg.steps}; no photos held out, so nothing scored"
            + (f"; final weights -> {best_path}" if step == cfg.steps else ""))
    return best


def load_resumable(path: str | Path) -> dict:
    """A last.pt to resume from; FileNotFoundError naming the path when it is not there."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, train, print where the checkpoints went."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="vbg train", description=__doc__.splitlines()[0])
    parser.add_argument("--name", help="run name: checkpoints go to RUNS_DIR/NAME/ (not with --resume)")
    parser.add_argument("--steps", type=int, help="optimizer steps: the length of the schedule")
    parser.add_argument("--teacher", action=argparse.BooleanOptionalAction, default=None,
                        help="--teacher: MediaPipe soft labels and teacher-labelled images (fails if the "
                             "teachers are not converted); --no-teacher: human masks only. One is required.")
    parser.add_argument("--resume", type=Path, default=None, metavar="CHECKPOINT",
                        help="continue the run of this last.pt with its own settings and schedule")
    parser.add_argument("--stop-after", type=int, default=None, metavar="STEP",
                        help="checkpoint and stop at this step (continue later with --resume)")
    parser.add_argument("--holdout", default=None,
                        help="photos held out for validation: val (the seeded split, default), none (train on "
                             "every photo), or a JSON list of stems (a cross-validation fold)")
    add_source_flags(parser)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--workers", type=int, default=TrainConfig.workers)
    parser.add_argument("--device", default=TrainConfig.device, help="cpu, or cuda where a GPU is lent")
    parser.add_argument("--val-every", type=int, default=TrainConfig.val_every, help="steps between validations")
    parser.add_argument("--runs-dir", default=str(RUNS_DIR))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change the recipe: a TrainConfig field by dotted path, e.g. weight_decay=0.05, "
                             "loss.distill=1.0, data.kind_probs.pseudo=0.4, or a ModelConfig field under model., "
                             "e.g. model.stage_channels=[16,32,64] (repeatable; not with --resume)")
    args = parser.parse_args(argv)

    if args.resume is not None:
        try:
            saved = load_resumable(args.resume)
        except FileNotFoundError as exc:
            parser.error(str(exc))
        if args.set:
            parser.error("--set with --resume: a run continues with the settings it was started with")
        cfg = config_from_dict(saved["train_config"])
        for flag, value, saved_value in (("--steps", args.steps, cfg.steps), ("--teacher", args.teacher, cfg.teacher)):
            if value is not None and value != saved_value:
                parser.error(f"{flag} {value} differs from the checkpoint's {saved_value}: --resume continues the same run")
        cfg.runs_dir, cfg.name = str(args.resume.parent.parent), args.resume.parent.name
        # Speed only (a GPU's float rounding differs slightly from the CPU's; the schedule and data do not).
        cfg.threads, cfg.workers, cfg.device = args.threads, args.workers, args.device
        model_cfg = ModelConfig(**saved["model_config"])
    else:
        if not args.name or args.steps is None or args.teacher is None:
            parser.error("a new run needs --name, --steps and either --teacher or --no-teacher")
        data_cfg = data_config_from_flags(args, **({"holdout": args.holdout} if args.holdout else {}))
        cfg = TrainConfig(name=args.name, steps=args.steps, teacher=args.teacher, batch_size=args.batch_size,
                          lr=args.lr, seed=args.seed, threads=args.threads, workers=args.workers, device=args.device,
                          val_every=args.val_every, runs_dir=args.runs_dir, data=data_cfg)
        try:
            cfg, model_cfg = overrides.apply_recipe(cfg, args.set)
        except ValueError as exc:
            parser.error(str(exc))
    from model_export.teacher import TeacherMissing

    try:
        train(cfg, model_cfg, resume=args.resume, stop_after=args.stop_after, argv=["vbg", "train", *argv])
    except (TeacherMissing, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
