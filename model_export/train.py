"""Train the portrait segmenter within a wall-clock budget on the CPU.

    .venv/bin/python -m model_export.train --name vbg-portrait --minutes 50
    .venv/bin/python -m model_export.train --name vbg-portrait --minutes 50 --resume

Reads the cached sample bank (model_export/data.py; built on first use), trains with AdamW and a
warmup + cosine learning rate sized to the time budget (the schedule follows elapsed time, not
steps), keeps an exponential moving average (EMA) of the weights, validates the EMA weights on the
held-out photos every ``epoch_samples`` samples with the evaluation protocol, and writes to
runs/NAME/: last.pt, best.pt (highest validation mIoU), history.json, curves.png and train.log (when
started with nohup ... > runs/NAME/train.log).

Speed (TRAINING-NOTES): channels-last tensors; one DataLoader worker process does the photometric
augmentation while the main process trains with one thread (two 1-thread processes beat one
2-thread process on this 2-core machine).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from model_export import data as data_mod
from model_export.data import Bank, BankDataset, DataConfig
from model_export.losses import LossWeights, total_loss
from model_export.model import ModelConfig, build_model, count_parameters
from model_export.paths import REPO_ROOT

RUNS_DIR = REPO_ROOT / "runs"


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings; saved in every checkpoint."""

    name: str = "vbg-portrait"
    minutes: float = 50.0  # wall-clock budget of the training loop (bank building not included)
    batch_size: int = 32
    lr: float = 4e-3  # AdamW peak learning rate
    weight_decay: float = 1e-2
    warmup_fraction: float = 0.03  # of the time budget
    final_lr_fraction: float = 0.02  # cosine ends at lr * this
    ema_decay: float = 0.998  # per step; ~500 steps horizon
    consistency_fraction: float = 0.125  # share of each batch that also gets a photometric twin
    grad_clip: float = 5.0
    seed: int = 0
    threads: int = 2  # torch threads for training (2: 24.6 vs 13.4 samples/s for 1 on the shared 2 cores)
    workers: int = 1  # DataLoader worker processes doing augmentation
    epoch_samples: int = 4000  # samples between validations (0: one pass over the bank)
    max_epochs: int = 1000  # the time budget usually ends first
    runs_dir: str = str(RUNS_DIR)
    loss: LossWeights = field(default_factory=LossWeights)
    data: DataConfig = field(default_factory=DataConfig)


# --------------------------------------------------------------------------------------------
# Validation (evaluation protocol: stretch to the model input, probability resized back to the
# mask size bilinearly, > 0.5 is person; per-image mIoU and boundary F at 0.8% of the diagonal)
# --------------------------------------------------------------------------------------------


def load_validation(cfg: DataConfig) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(stem, image, mask) of the validation photos, at their own size."""
    stems = set(data_mod.validation_stems(cfg.data_dir, cfg.val_fraction, cfg.val_seed))
    return [(stem, *data_mod.load_pair(i, m)) for stem, i, m in data_mod.list_pairs(cfg.data_dir) if stem in stems]


def image_scores(prob: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """{'iou', 'miou', 'boundary_f'} of one probability map (the mask's size) against a uint8 mask."""
    from model_export import metrics

    return metrics.image_scores(prob > metrics.THRESHOLD, mask > 127)


def to_input(images_uint8: np.ndarray | torch.Tensor, model_cfg: ModelConfig) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) normalised float32, channels-last."""
    x = images_uint8 if isinstance(images_uint8, torch.Tensor) else torch.from_numpy(np.array(images_uint8))
    x = x.permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(model_cfg.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(model_cfg.std, dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def validate(model: torch.nn.Module, val, model_cfg: ModelConfig) -> dict[str, float]:
    """Mean val_iou, val_miou and val_boundary_f of MODEL over the validation photos."""
    # The same stretch and resize-back as evaluate.py (teacher.Segmenter), so the numbers compare.
    from model_export.teacher import resize_image, resize_prob

    model.eval()
    scores = []
    for _, image, mask in val:
        x = resize_image(image, model_cfg.input_height, model_cfg.input_width)
        prob = torch.sigmoid(model(to_input(x[None], model_cfg)))[0, 0].numpy()
        scores.append(image_scores(resize_prob(prob, *mask.shape), mask))
    return {f"val_{k}": float(np.mean([s[k] for s in scores])) for k in ("iou", "miou", "boundary_f")}


# --------------------------------------------------------------------------------------------
# Training loop
# --------------------------------------------------------------------------------------------


class EpochSampler(torch.utils.data.Sampler):
    """Epoch E yields items [E*size, (E+1)*size) of an endless stream of seeded shuffles of the bank.

    Items are (pass, index) pairs: the pass number seeds the photometric changes, so every pass over
    the bank looks different and a resumed run continues the same stream.
    """

    def __init__(self, bank_size: int, size: int, seed: int, epoch: int = 0):
        self.bank_size, self.size, self.seed, self.epoch = bank_size, size, seed, epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        start = self.epoch * self.size
        items = []
        for pass_ in range(start // self.bank_size, (start + self.size - 1) // self.bank_size + 1):
            order = np.random.default_rng((self.seed, pass_)).permutation(self.bank_size)
            lo = max(start - pass_ * self.bank_size, 0)
            hi = min(start + self.size - pass_ * self.bank_size, self.bank_size)
            items += [(pass_, int(i)) for i in order[lo:hi]]
        return iter(items)


class _EpochDataset(torch.utils.data.Dataset):
    """BankDataset keyed by (pass, index) so each pass over the bank draws fresh photometric changes."""

    def __init__(self, bank: Bank, seed: int):
        self.inner = BankDataset(bank, seed=seed)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, key):
        pass_, index = key
        self.inner.epoch = pass_
        return self.inner[index]


def _worker_init(_):
    torch.set_num_threads(1)
    if data_mod.cv2 is not None:
        data_mod.cv2.setNumThreads(1)


def lr_at(progress: float, cfg: TrainConfig) -> float:
    """Learning rate at PROGRESS (fraction of the time budget): linear warmup, then cosine."""
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


def _atomic_save(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_write_text(text: str, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def plot_curves(history: list[dict], trace: list[dict], path: Path) -> None:
    """PNG with the training loss (left) and validation IoU / mIoU / boundary F (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if trace:
        left.plot([t["minutes"] for t in trace], [t["loss"] for t in trace], lw=0.8, label="train loss (EMA)")
    left.set_xlabel("minutes")
    left.set_ylabel("loss")
    left.set_title("training loss")
    left.grid(alpha=0.3)
    if trace:
        left.legend()
    if history:
        x = [h["minutes"] for h in history]
        for key, label in (("val_miou", "val mIoU"), ("val_iou", "val person IoU"), ("val_boundary_f", "val boundary F")):
            right.plot(x, [h[key] for h in history], marker="o", ms=3, label=label)
    right.set_xlabel("minutes")
    right.set_title("validation (EMA weights)")
    right.grid(alpha=0.3)
    if history:
        right.legend()
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".png", dir=path.parent)
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def _config_from_dict(values: dict) -> TrainConfig:
    values = dict(values)
    values["loss"] = LossWeights(**values.get("loss", {}))
    values["data"] = DataConfig(**values.get("data", {}))
    return TrainConfig(**values)


def train(
    cfg: TrainConfig,
    model_cfg: ModelConfig | None = None,
    *,
    bank: Bank | None = None,
    val: list | None = None,
    resume: bool = False,
    max_steps: int | None = None,
    progress: bool = True,
) -> dict:
    """Run training per CFG; returns the best validation metrics. BANK/VAL default to the cached ones."""
    torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    model_cfg = model_cfg or ModelConfig(input_height=cfg.data.height, input_width=cfg.data.width)
    run_dir = Path(cfg.runs_dir) / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"

    model = build_model(model_cfg).to(memory_format=torch.channels_last)
    ema = copy.deepcopy(model).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, epoch, elapsed, history, trace = 0, 0, 0.0, [], []
    best = {"val_miou": -1.0, "val_iou": 0.0, "val_boundary_f": 0.0}
    if resume:
        if not last_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {last_path}")
        ckpt = torch.load(last_path, map_location="cpu", weights_only=False)
        saved_cfg = ModelConfig(**ckpt["model_config"])
        if saved_cfg != model_cfg:
            raise ValueError(f"--resume: {last_path} was trained with a different model config")
        model.load_state_dict(ckpt["train_state_dict"])
        ema.load_state_dict(ckpt["state_dict"])
        optimizer.load_state_dict(ckpt["optimizer"])
        step, epoch, elapsed = ckpt["step"], ckpt["epoch"], ckpt.get("elapsed_s", 0.0)
        history, trace = ckpt["history"], ckpt.get("trace", [])
        best = ckpt["best_metrics"]
    if bank is None:
        bank = data_mod.load_bank(cfg.data)
    if val is None:
        val = load_validation(cfg.data)
    log = (lambda msg: print(msg, flush=True)) if progress else (lambda msg: None)
    log(f"model: {count_parameters(model):,} parameters; bank: {len(bank)} samples "
        f"({int(np.asarray(bank.has_soft).sum())} with teacher labels); {len(val)} validation photos")

    loader = torch.utils.data.DataLoader(
        _EpochDataset(bank, cfg.seed),
        batch_size=cfg.batch_size,
        sampler=EpochSampler(len(bank), min(cfg.epoch_samples or len(bank), len(bank)), cfg.seed, epoch),
        num_workers=cfg.workers,
        worker_init_fn=_worker_init if cfg.workers else None,
        drop_last=True,
        persistent_workers=False,
        prefetch_factor=4 if cfg.workers else None,
    )
    budget = cfg.minutes * 60.0
    n_twins = int(round(cfg.batch_size * cfg.consistency_fraction)) if cfg.loss.consistency else 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=round(budget), initial=min(round(elapsed), round(budget)), unit="s",
                   mininterval=1 if sys.stderr.isatty() else 60, file=sys.stderr,
                   bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}s [{elapsed}<{remaining}] {postfix}")
        log = lambda msg: tqdm.write(msg, file=sys.stdout)  # noqa: E731 - keeps lines clear of the bar
    smooth = None
    done = elapsed >= budget or (max_steps is not None and max_steps <= 0)
    while not done and epoch < cfg.max_epochs:
        loader.sampler.epoch = epoch
        model.train()
        t_epoch, seen = time.time(), 0
        sums: dict[str, float] = {}
        t_last = time.time()
        for batch in loader:
            progress_now = elapsed / budget
            lr = lr_at(progress_now, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            images = batch["image"]
            if n_twins:
                images = torch.cat([images, batch["image_b"][:n_twins]])
            x = to_input(images, model_cfg)
            target = batch["mask"].float().div_(255.0).unsqueeze(1)
            soft = batch["soft"].float().div_(255.0).unsqueeze(1)
            logits = model(x)
            b = cfg.batch_size
            loss, parts = total_loss(
                logits[:b], target, cfg.loss,
                has_mask=batch["has_mask"], soft=soft, has_soft=batch["has_soft"],
                logits_changed=logits[b:] if n_twins else None,
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
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            sums["loss"] = sums.get("loss", 0.0) + value
            seen += 1
            now = time.time()
            elapsed += now - t_last
            t_last = now
            if step % 25 == 0:
                trace.append({"step": step, "minutes": round(elapsed / 60, 3), "loss": round(smooth, 5), "lr": lr})
            if bar is not None:
                bar.n = min(round(elapsed), round(budget))
                bar.set_postfix_str(f"ep {epoch} step {step} loss {smooth:.4f} lr {lr:.2e} best {best['val_miou']:.4f}",
                                    refresh=False)
                bar.update(0)
            if elapsed >= budget or (max_steps is not None and step >= max_steps):
                done = True
                break
        epoch += 1
        t_val = time.time()
        metrics = validate(ema, val, model_cfg)
        elapsed += time.time() - t_val  # validation counts against the budget too
        entry = {
            "epoch": epoch, "step": step, "minutes": round(elapsed / 60, 3), "lr": lr_at(elapsed / budget, cfg),
            "samples_per_s": round(seen * cfg.batch_size / max(1e-6, t_val - t_epoch), 1),
            **{f"train_{k}": round(v / max(seen, 1), 5) for k, v in sums.items()},
            **{k: round(v, 5) for k, v in metrics.items()},
        }
        history.append(entry)
        improved = metrics["val_miou"] > best["val_miou"]
        if improved:
            best = dict(metrics)
        ckpt = {
            "model_config": dataclasses.asdict(model_cfg),
            "train_config": dataclasses.asdict(cfg),
            "state_dict": ema.state_dict(),  # the validated (EMA) weights: what export.py ships
            "train_state_dict": model.state_dict(),  # the raw weights, to resume optimisation
            "optimizer": optimizer.state_dict(),
            "step": step,
            "epoch": epoch,
            "seed": cfg.seed,
            "history": history,
            "trace": trace,
            "elapsed_s": elapsed,
            "best_metrics": best,
            "metrics": metrics,
        }
        _atomic_save(ckpt, last_path)
        if improved:
            _atomic_save(ckpt, best_path)
        _atomic_write_text(json.dumps({"best_metrics": best, "epochs": history, "steps": trace}, indent=1),
                           run_dir / "history.json")
        plot_curves(history, trace, run_dir / "curves.png")
        log(f"epoch {epoch} step {step} {elapsed / 60:.1f} min  loss {entry.get('train_loss', float('nan')):.4f}  "
            f"val mIoU {metrics['val_miou']:.4f} IoU {metrics['val_iou']:.4f} BF {metrics['val_boundary_f']:.4f}"
            f"{'  *best*' if improved else ''}  ({entry['samples_per_s']} samples/s)")
    if bar is not None:
        bar.close()
    log(f"best: {best} -> {best_path}")
    return best


def main(argv: list[str] | None = None) -> int:
    """Parse flags, train, print where the checkpoints went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="run name: checkpoints go to runs/NAME/")
    parser.add_argument("--minutes", type=float, default=TrainConfig.minutes, help="training time budget")
    parser.add_argument("--resume", action="store_true", help="continue from runs/NAME/last.pt")
    parser.add_argument("--data", default=None, help="folder with images/ and masks/ (default ../shared/data/portraits)")
    parser.add_argument("--backgrounds", default=None, help="folder of background images")
    parser.add_argument("--no-teacher", action="store_true", help="train without teacher soft labels")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--workers", type=int, default=TrainConfig.workers)
    parser.add_argument("--crops", type=int, default=None, help="bank size: labelled photo crops")
    parser.add_argument("--composites", type=int, default=None, help="bank size: composites")
    parser.add_argument("--pseudo", type=int, default=None, help="bank size: teacher-labelled images")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    args = parser.parse_args(argv)

    run_dir = RUNS_DIR / args.name
    if args.resume:
        ckpt_path = run_dir / "last.pt"
        if not ckpt_path.exists():
            parser.error(f"--resume: no checkpoint at {ckpt_path}")
        saved = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        cfg = _config_from_dict(saved["train_config"])
        cfg.minutes = args.minutes
        model_cfg = ModelConfig(**saved["model_config"])
    else:
        data_cfg = DataConfig(seed=args.seed, use_teacher=not args.no_teacher)
        if args.data:
            data_cfg.data_dir = args.data
        if args.backgrounds:
            data_cfg.backgrounds_dir = args.backgrounds
        for name, value in (("n_crops", args.crops), ("n_composites", args.composites), ("n_pseudo", args.pseudo)):
            if value is not None:
                setattr(data_cfg, name, value)
        cfg = TrainConfig(name=args.name, minutes=args.minutes, batch_size=args.batch_size, lr=args.lr,
                          seed=args.seed, threads=args.threads, workers=args.workers, data=data_cfg)
        model_cfg = None
    train(cfg, model_cfg, resume=args.resume, max_steps=args.max_steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
