"""Look at what training sees: a contact sheet of on-the-fly samples with their labels.

    .venv/bin/python -m model_export.data --teacher --count 24 --out build/preview.jpg

Each tile is a sample (top) and the same sample with its label tinted red (bottom), rendered by
model_export.dataset exactly as the training command renders step 0, 1, ... of its seed.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from model_export.dataset import SampleDataset, add_source_flags, data_config_from_flags, load_sources
from model_export.files import write_atomic
from model_export.paths import BUILD_DIR

TINT = 0.45  # share of red over the labelled person in the bottom row
COLUMNS = 6


def contact_sheet(samples: list[dict]) -> np.ndarray:
    """A uint8 grid of samples (top) over their labels tinted red (bottom)."""
    tiles = []
    for sample in samples:
        image = sample["image"].astype(np.float32)
        label = sample["mask"].astype(np.float32)[..., None] / 255
        tint = image * (1 - TINT * label) + np.array([255, 0, 0], np.float32) * TINT * label
        tiles.append(np.concatenate([image, tint], 0).astype(np.uint8))
    while len(tiles) % COLUMNS:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[r : r + COLUMNS], 1) for r in range(0, len(tiles), COLUMNS)]
    return np.concatenate(rows, 0)


def main(argv: list[str] | None = None) -> int:
    """Render COUNT samples and write the contact sheet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", action=argparse.BooleanOptionalAction, required=True)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "preview.jpg")
    add_source_flags(parser)
    args = parser.parse_args(argv)
    cfg = data_config_from_flags(args)
    dataset = SampleDataset(load_sources(cfg, teacher=args.teacher, progress=True), cfg, seed=args.seed)
    samples = [dataset[(i, 0)] for i in range(args.count)]
    buffer = io.BytesIO()
    Image.fromarray(contact_sheet(samples)).save(buffer, format="JPEG", quality=85)
    write_atomic(args.out, buffer.getvalue())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
