"""Choose the segmenter's architecture where it runs: candidate ModelConfigs timed in onnxruntime-web.

    .venv/bin/python -m benchmarks.model_candidates [--runs 150] [--threads 1,2]
        [--out benchmarks/results/model_candidates.json]

Speed does not depend on the weights, so each candidate is built untrained, exported the way the shipped
model is (model_export.export: BatchNorm folded, the sigmoid added, opset 17) and timed with
benchmarks.model_speed.measure against MediaPipe landscape in one headless Chromium page, the models
alternating run by run. Prints parameters, MACs, the size of the weight-only int8 file (the kind the page
serves), median ms and the ratio to MediaPipe landscape per candidate, and writes the JSON (the
candidates' configs included). Not a test.

What the first sweep showed (README, "The shipped model"): MACs predict little in the WASM kernels; the
bytes a layer moves do. The 1/2-resolution maps (the stem's skip, the MobileNetV2 expansion before the
first stride-2 depthwise, the separable refinement blocks) cost more than the whole 1/16 stage.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.model_speed import DEFAULT_THREADS, REFERENCE, markdown_table, measure
from model_export.model import ModelConfig, build_model, count_macs, count_parameters
from model_export.paths import REPO_ROOT
from model_export.segmenter_onnx import MEDIAPIPE_MODELS

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "model_candidates.json"
DEFAULT_RUNS = 150  # timed runs per model and thread count
DEFAULT_WARMUP = 20

# The previous shipped design (MobileNetV2 stem block, inverted first 1/4 block, two 16-channel separable
# blocks at 1/2), then the steps away from it that the sweep measured; "shipped" is ModelConfig().
PREVIOUS = dict(stem_channels=16, stem_block=True, quarter_downsample="inverted", stage_blocks=(2, 3, 3),
                decoder_channels=(32, 16, 16), half_res_blocks=2)
CANDIDATES: dict[str, dict] = {
    "previous (98K, context off)": {**PREVIOUS, "context_reduction": 0},
    "previous + squeeze-excite": PREVIOUS,
    "fused 1/4 downsample, no stem block, 1 block at 1/2": dict(
        stem_channels=16, stage_blocks=(2, 3, 3), decoder_channels=(32, 16, 16), half_res_blocks=1),
    "... and 1 block at 1/4": dict(stem_channels=16, decoder_channels=(32, 16, 16), half_res_blocks=1),
    "... and 8 channels at 1/2 (shipped)": {},
    "shipped, wider 1/16 stage (64 ch, 4 blocks)": dict(stage_channels=(16, 32, 64), stage_blocks=(1, 3, 4),
                                                      deep_dilations=(2, 4, 8)),
    # The same within the 150 KB int8 file: expansion 3 at 1/16 (the screen in the README).
    "... with expansion 3 at 1/16 (deep64)": dict(stage_channels=(16, 32, 64), stage_blocks=(1, 3, 4),
                                                 stage_expand=(3, 3, 3), deep_dilations=(2, 4, 8)),
    # The shipped design with the 16-channel stem of the step before it (stem16, screened in the README).
    "shipped with a 16-channel stem (stem16)": dict(stem_channels=16),
}


def build_candidates(folder: Path) -> tuple[dict[str, Path], dict[str, dict]]:
    """Export every candidate untrained into FOLDER; returns {name: onnx path} and {name: facts}."""
    from model_export.export import ExportConfig, export_onnx
    from model_export.quantize import build_weight_only

    paths, facts = {}, {}
    for index, (name, knobs) in enumerate(CANDIDATES.items()):
        cfg = ModelConfig(**knobs)
        model = build_model(cfg).eval()
        model.drop_training_heads()
        path = folder / f"candidate-{index}.onnx"
        export_onnx(model, cfg, path, ExportConfig())
        int8_path = folder / f"candidate-{index}-int8.onnx"
        build_weight_only(path, int8_path)  # the kind the page serves; its size is capped at 150 KB
        paths[name] = path
        facts[name] = {"params": count_parameters(model), "macs": count_macs(model, cfg.input_height, cfg.input_width),
                       "int8_bytes": int8_path.stat().st_size, "config": dataclasses.asdict(cfg)}
    return paths, facts


def main(argv: list[str] | None = None) -> int:
    """Build, time, print and write the candidates' table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    parser.add_argument("--threads", default=",".join(map(str, DEFAULT_THREADS)))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    threads = tuple(int(t) for t in args.threads.split(",") if t)
    with tempfile.TemporaryDirectory(prefix="vbg-candidates-") as folder:
        paths, facts = build_candidates(Path(folder))
        report = measure({**paths, REFERENCE: MEDIAPIPE_MODELS[REFERENCE].onnx_path}, threads=threads,
                         runs=args.runs, warmup=args.warmup)
    report["command"] = " ".join([sys.executable, "-m", "benchmarks.model_candidates", *(argv or sys.argv[1:])])
    report["candidates"] = facts
    print(markdown_table(report))
    print("| candidate | params | MACs | weight-only int8 KB |\n|---|---|---|---|")
    for name, fact in facts.items():
        print(f"| {name} | {fact['params']:,} | {fact['macs'] / 1e6:.1f}M | {fact['int8_bytes'] / 1000:.0f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
