"""Export a training checkpoint to ONNX with its manifest, after checking the graph against the eager model.

    .venv/bin/python -m model_export.export --checkpoint runs/NAME/best.pt --name vbg-portrait

writes ``static/models/vbg-portrait.onnx`` and ``static/models/vbg-portrait.json`` (``--out-dir`` to
write elsewhere). The graph takes ``image`` (1, 3, H, W) normalised RGB and outputs ``mask``
(1, 1, H, W), the person probability (the sigmoid is inside the graph). The manifest is the single
source of truth for the model contract: the browser and every Python tool read input size,
normalisation and names from it.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from model_export import provenance
from model_export.files import sha256_file, write_atomic
from model_export.model import ModelConfig, build_model, count_macs, count_parameters, model_config_from_dict
from model_export.paths import REPO_ROOT, SHIPPED_MODELS_DIR
from model_export.segmenter_onnx import PROVIDERS, session_options

CHECKPOINT_KEYS = ("model_config", "train_config", "state_dict", "step", "seed", "best_metrics")
PIXEL_SCALE = 1.0 / 255.0  # manifest input.scale: the network input is (pixel * scale - mean) / std
PROVENANCE = (
    "Weights trained by this project's own tooling (model_export.train) from scratch; they are the "
    "project's own work, released under the project's MIT licence. The training photos and teacher "
    "models are not redistributed with them."
)


@dataclass
class ExportConfig:
    """How the graph is written and how closely it must match the eager model."""

    opset: int = 17
    input_name: str = "image"
    output_name: str = "mask"
    parity_samples: int = 3  # random inputs compared eager vs onnxruntime
    # Probabilities in [0, 1]: float32 reordering in onnxruntime stays far below these.
    atol: float = 1e-4
    rtol: float = 1e-3


class ProbabilityModel(nn.Module):
    """The segmenter with its sigmoid: (B, 3, H, W) normalised RGB -> (B, 1, H, W) person probability."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(image))


def load_checkpoint(path: str | Path) -> dict:
    """Read a train.py checkpoint; FileNotFoundError / ValueError naming the file when it is missing or bad."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types; all mean "not a usable checkpoint"
        raise ValueError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(checkpoint, dict):
        raise ValueError(f"checkpoint {path} holds a {type(checkpoint).__name__}, expected a dict")
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint]
    if missing:
        raise ValueError(f"checkpoint {path} lacks {missing}")
    return checkpoint


def model_from_checkpoint(checkpoint: dict, path: str | Path = "<checkpoint>") -> tuple[ModelConfig, nn.Module]:
    """Rebuild the eval-mode model from a checkpoint's model_config and state_dict."""
    try:
        cfg = model_config_from_dict(dict(checkpoint["model_config"]))
        model = build_model(cfg)
        model.load_state_dict(checkpoint["state_dict"])
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"checkpoint {path} does not fit model.py's ModelConfig: {exc}") from exc
    model.drop_training_heads()  # deep supervision's heads are not part of what ships
    return cfg, model.eval()


def ort_session(path: str | Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime CPU session with `threads` intra-op threads (1 = the benchmark setting)."""
    return ort.InferenceSession(str(path), session_options(threads), providers=PROVIDERS)


def export_onnx(model: nn.Module, cfg: ModelConfig, path: Path, export_cfg: ExportConfig) -> None:
    """Write the probability graph at the config's fixed input size, checked and shape-inferred."""
    dummy = torch.zeros(1, cfg.in_channels, cfg.input_height, cfg.input_width)
    # The TorchScript exporter folds BatchNorm into the convolutions in eval mode and needs no
    # onnxscript; torch (pinned in the train extra) only warns that it is legacy. A fixed shape lets
    # onnxruntime pre-plan memory and layouts.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            ProbabilityModel(model).eval(), (dummy,), str(path), dynamo=False, opset_version=export_cfg.opset,
            input_names=[export_cfg.input_name], output_names=[export_cfg.output_name], do_constant_folding=True,
        )
    graph = onnx.load(str(path))
    graph = onnx.shape_inference.infer_shapes(graph, check_type=True, strict_mode=True)
    onnx.checker.check_model(graph, full_check=True)
    expected = [1, 1, cfg.input_height, cfg.input_width]
    shape = [d.dim_value for d in graph.graph.output[0].type.tensor_type.shape.dim]
    if shape != expected:
        raise RuntimeError(f"exported {path} outputs shape {shape}, expected {expected}")
    onnx.save(graph, str(path))


def check_parity(model: nn.Module, cfg: ModelConfig, path: Path, export_cfg: ExportConfig, seed: int = 0) -> float:
    """Max |eager - onnxruntime| probability over random inputs; raises RuntimeError past the tolerance."""
    wrapped = ProbabilityModel(model).eval()
    session = ort_session(path)
    generator = torch.Generator().manual_seed(seed)
    worst = 0.0
    for _ in range(export_cfg.parity_samples):
        # Normalised inputs span about [-1, 1] for real photos; a wider spread also exercises saturation.
        x = torch.randn(1, cfg.in_channels, cfg.input_height, cfg.input_width, generator=generator)
        with torch.no_grad():
            expected = wrapped(x)
        actual = torch.from_numpy(session.run(None, {export_cfg.input_name: x.numpy()})[0])
        try:
            torch.testing.assert_close(actual, expected, atol=export_cfg.atol, rtol=export_cfg.rtol)
        except AssertionError as exc:
            raise RuntimeError(f"onnxruntime output of {path} differs from the eager model: {exc}") from exc
        worst = max(worst, float((actual - expected).abs().max()))
    return worst


def _jsonable(value):
    """Checkpoint values as JSON: tuples to lists, tensors to numbers, local absolute paths relative to the repo."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, os.PathLike)) and os.path.isabs(value):
        # The manifest is committed: "../shared/data/portraits", not this machine's absolute path.
        return os.path.relpath(value, REPO_ROOT)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _training_commit(checkpoint: dict) -> str:
    sessions = (checkpoint.get("provenance") or {}).get("sessions") or []
    return sessions[0]["git_commit"] if sessions else "unknown (the checkpoint records no provenance)"


NOTHING_HELD_OUT = ("trained on every labelled photo: none was held out to score it on; the recipe's score on "
                    "photos it never saw is its cross-validation (model_export.cross_validate)")


def validation_metrics(checkpoint: dict) -> dict:
    """The manifest's `metrics`: the best validation scores, or, when nothing was held out, that there are none."""
    if (checkpoint.get("provenance") or {}).get("held_out_photos") == 0:
        return {"held_out_photos": 0, "note": NOTHING_HELD_OUT}
    return _jsonable(checkpoint.get("best_metrics") or {})


def build_manifest(name: str, cfg: ModelConfig, model: nn.Module, checkpoint: dict, export_cfg: ExportConfig) -> dict:
    """The fp32 manifest (issue 4 item 6) less `file` and `sha256`, which write_manifest fills in."""
    train_config = _jsonable(checkpoint.get("train_config") or {})
    # train.py nests its DataConfig under "data"; older or foreign checkpoints may not.
    data = train_config.get("data", {k: v for k, v in train_config.items() if "data" in k})
    return {
        "name": name,
        "precision": "fp32",
        "opset": export_cfg.opset,
        "input": {
            "name": export_cfg.input_name,
            "shape": [1, cfg.in_channels, cfg.input_height, cfg.input_width],
            "layout": "NCHW",
            "color": "RGB",
            "resize": "stretch",
            "scale": PIXEL_SCALE,
            "mean": list(cfg.mean),
            "std": list(cfg.std),
        },
        "output": {
            "name": export_cfg.output_name,
            "shape": [1, 1, cfg.input_height, cfg.input_width],
            "activation": "none",  # the graph ends in a sigmoid: the output is the person probability
            "channel": 0,
        },
        "params": count_parameters(model),
        "macs": count_macs(model, cfg.input_height, cfg.input_width),
        "model_config": _jsonable(dataclasses.asdict(cfg)),
        "training": {
            "data": data,
            "settings": train_config,
            "seed": _jsonable(checkpoint.get("seed")),
            # The commit the training code ran at (its first session; train.py records every session).
            "git_commit": _training_commit(checkpoint),
            # What the training run recorded about itself (train.py): teacher and licences, steps,
            # samples seen, wall time, and each session's command, commit and dirty flags.
            "provenance": _jsonable(checkpoint.get("provenance")),
            "best_step": _jsonable(checkpoint.get("step")),
        },
        "export": {"command": provenance.session()["command"], **provenance.code_state()},
        "metrics": validation_metrics(checkpoint),
        "license": "MIT (the project's own weights)",
        "provenance": PROVENANCE,
    }


@contextlib.contextmanager
def staged_outputs(out_dir: str | Path) -> Iterator[Path]:
    """Yield a staging folder inside out_dir; on success move its files into out_dir, else delete it.

    Files land by os.replace (atomic per file, same filesystem), so readers never see a half-written
    model, and a failure anywhere before the end leaves out_dir as it was.
    """
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        yield staging
        # The manifest goes last so a reader that sees the new manifest also sees the new model.
        for path in sorted(staging.iterdir(), key=lambda p: p.suffix == ".json"):
            os.replace(path, out_dir / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out_dir.iterdir()):  # a failed first run leaves no empty folder behind
            out_dir.rmdir()


def write_manifest(onnx_path: str | Path, manifest: dict, manifest_path: str | Path) -> dict:
    """Fill `file` and `sha256` from onnx_path and write manifest JSON atomically; returns the full manifest."""
    onnx_path, manifest_path = Path(onnx_path), Path(manifest_path)
    full = _jsonable({"file": onnx_path.name, "sha256": sha256_file(onnx_path), **manifest})
    write_atomic(manifest_path, json.dumps(full, indent=2) + "\n")
    return full


def export_checkpoint(checkpoint_path: str | Path, name: str, out_dir: str | Path = SHIPPED_MODELS_DIR,
                      export_cfg: ExportConfig | None = None) -> Path:
    """Checkpoint -> out_dir/<name>.onnx + out_dir/<name>.json (parity-checked); returns the manifest path."""
    export_cfg = export_cfg or ExportConfig()
    checkpoint = load_checkpoint(checkpoint_path)  # fails before anything is written
    cfg, model = model_from_checkpoint(checkpoint, checkpoint_path)
    out_dir = Path(out_dir)
    with staged_outputs(out_dir) as staging:
        onnx_path = staging / f"{name}.onnx"
        export_onnx(model, cfg, onnx_path, export_cfg)
        worst = check_parity(model, cfg, onnx_path, export_cfg)
        manifest = build_manifest(name, cfg, model, checkpoint, export_cfg)
        write_manifest(onnx_path, manifest, staging / f"{name}.json")
    print(f"wrote {out_dir / (name + '.onnx')} ({(out_dir / (name + '.onnx')).stat().st_size / 1000:.1f} KB, "
          f"{manifest['params']:,} params, parity max |diff| {worst:.2e}) and {out_dir / (name + '.json')}")
    return out_dir / f"{name}.json"


def main(argv: list[str] | None = None) -> int:
    """Command line: export one checkpoint."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, type=Path, help="runs/NAME/best.pt written by train.py")
    parser.add_argument("--name", default="vbg-portrait", help="output stem: NAME.onnx and NAME.json")
    parser.add_argument("--out-dir", type=Path, default=SHIPPED_MODELS_DIR, help="default: static/models")
    parser.add_argument("--atol", type=float, default=ExportConfig.atol, help="parity tolerance on probabilities")
    args = parser.parse_args(argv)
    export_checkpoint(args.checkpoint, args.name, args.out_dir, ExportConfig(atol=args.atol))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
