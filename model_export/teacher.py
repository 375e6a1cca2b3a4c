"""The teacher: soft person labels from MediaPipe general + landscape, each flip-averaged, cached on disk.

Convert the two MediaPipe models (from the npm package) to ``build/peers/*.onnx`` first::

    .venv/bin/vbg teacher convert

Label every training source once at full resolution (the training command does this itself on
first use; labels are cached under ``$VBG_CACHE`` or ``~/.cache/vbg/teacher-labels``)::

    .venv/bin/vbg teacher label

Score one model on a single photo (a quick smoke test)::

    .venv/bin/vbg teacher predict --model mediapipe-landscape PHOTO.jpg

Both teachers are Apache-2.0; the label is the mean of their probabilities, each averaged with its
un-flipped prediction on the mirrored image (measured on unseen photos: about +1 mIoU and +2
boundary-F points over MediaPipe landscape alone, TRAINING-NOTES.md).
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from model_export.files import save_png_atomic, sha256_file
from model_export.paths import CACHE_DIR, MEDIAPIPE_PACKAGE_DIR, PORTRAITS_DIR
from model_export.segmenter_onnx import (
    MEDIAPIPE_LICENCE, MEDIAPIPE_MODELS, PEER_NAMES, PEERS_BUILD_DIR, Segmenter, load_segmenter,
)

TEACHER_NAMES = tuple(MEDIAPIPE_MODELS)  # general and landscape
CONVERT_COMMAND = ".venv/bin/vbg teacher convert"
# Bump when the way a label is computed changes (the cache folder's name includes it).
LABEL_VERSION = 1
PORTRAITS_IMAGES = PORTRAITS_DIR / "images"


class TeacherMissing(FileNotFoundError):
    """A teacher's ONNX file is not there: training with --teacher cannot run."""


def require_teachers(peers_dir: Path | None = None) -> list[Path]:
    """The teachers' ONNX paths; TeacherMissing naming the first missing file and the command that makes it."""
    folder = PEERS_BUILD_DIR if peers_dir is None else Path(peers_dir)
    paths = [folder / f"{name}.onnx" for name in TEACHER_NAMES]
    for path in paths:
        if not path.is_file():
            raise TeacherMissing(
                f"--teacher: teacher model not found: {path}. Convert the MediaPipe teachers first with "
                f"`{CONVERT_COMMAND}` (README, 'The shipped model'), or train with --no-teacher."
            )
    return paths


def _package_version() -> str | None:
    try:
        return json.loads((MEDIAPIPE_PACKAGE_DIR / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def teacher_info(peers_dir: Path | None = None) -> dict:
    """What the manifest records about the teacher: each model, its licence, source and file hash."""
    paths = require_teachers(peers_dir)
    version = _package_version()
    return {
        "label": "mean of the models' probabilities, each averaged with its prediction on the mirrored image",
        "label_version": LABEL_VERSION,
        "models": [
            {
                "name": name,
                "licence": MEDIAPIPE_LICENCE,
                "source": f"npm @mediapipe/selfie_segmentation{'@' + version if version else ''} "
                          f"{MEDIAPIPE_MODELS[name].tflite_file}, converted by model_export.mediapipe_convert",
                "onnx_sha256": sha256_file(path),
            }
            for name, path in zip(TEACHER_NAMES, paths)
        ],
    }


@functools.cache
def teacher_segmenters(threads: int = 1) -> tuple[Segmenter, ...]:
    """The teacher's models (general, landscape), loaded once per thread count."""
    require_teachers()
    return tuple(load_segmenter(name, threads) for name in TEACHER_NAMES)


def flip_averaged(segmenter: Segmenter, image: np.ndarray) -> np.ndarray:
    """SEGMENTER's probability for IMAGE averaged with its un-flipped prediction on the mirrored image."""
    mirrored = np.ascontiguousarray(image[:, ::-1])
    return (segmenter.predict(image) + segmenter.predict(mirrored)[:, ::-1]) / 2


def teacher_prob(image: np.ndarray, threads: int = 1) -> np.ndarray:
    """(H, W) float32 soft label of one RGB uint8 image at its own size."""
    teachers = teacher_segmenters(threads)
    return (sum(flip_averaged(t, image) for t in teachers) / len(teachers)).astype(np.float32)


def teacher_probs(images_uint8: np.ndarray, threads: int = 1) -> np.ndarray:
    """(N, H, W) float32 soft labels of a batch of RGB uint8 images (N, H, W, 3)."""
    images = np.asarray(images_uint8)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected RGB uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
    return np.stack([teacher_prob(image, threads) for image in images]) if len(images) else np.zeros(images.shape[:3], np.float32)


def to_uint8(prob: np.ndarray) -> np.ndarray:
    """Probability in [0, 1] -> uint8 label (x 255, rounded)."""
    return np.clip(prob * 255 + 0.5, 0, 255).astype(np.uint8)


class LabelCache:
    """Teacher labels on disk, one PNG per source image at its full resolution, keyed by content.

    The folder name hashes the teacher files and LABEL_VERSION, so new teachers never read old labels.
    """

    def __init__(self, root: Path | None = None, label_fn=None, teacher_key: str | None = None):
        self.label_fn = label_fn or (lambda image: to_uint8(teacher_prob(image)))
        if teacher_key is None:
            digest = hashlib.sha256(str(LABEL_VERSION).encode())
            for path in require_teachers():
                digest.update(sha256_file(path).encode())
            teacher_key = digest.hexdigest()[:12]
        self.folder = (CACHE_DIR if root is None else Path(root)) / "teacher-labels" / teacher_key

    def label(self, image: np.ndarray, source_id: str) -> np.ndarray:
        """The uint8 (H, W) label of IMAGE (computed once, then read from disk)."""
        path = self.folder / f"{source_id}.png"
        if path.is_file():
            from model_export.sources import read_mask

            label = read_mask(path)
            if label.shape == image.shape[:2]:
                return label
        label = self.label_fn(image)
        save_png_atomic(label, path)
        return label


def file_id(path: Path) -> str:
    """A cache id for a file's content (sha256 prefix), independent of where the file lies."""
    return sha256_file(path)[:20]


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """`convert`: MediaPipe .tflite -> build/peers/*.onnx; `label`: label every source; `predict`: one photo."""
    parser = argparse.ArgumentParser(prog="python -m model_export.teacher", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    convert = sub.add_parser("convert", help="convert the MediaPipe selfie models to ONNX")
    convert.add_argument("--out-dir", type=Path, default=PEERS_BUILD_DIR)
    convert.add_argument("--check", type=Path, default=PORTRAITS_IMAGES, metavar="IMAGES_DIR",
                         help="compare with TFLite on the first photos of this folder (default: %(default)s)")
    convert.add_argument("--check-count", type=int, default=8)
    sub.add_parser("label", help="teacher-label every training source (portraits, unlabelled photos, video frames)")
    predict = sub.add_parser("predict", help="write one model's probability map for one photo as a PNG")
    predict.add_argument("image", type=Path)
    predict.add_argument("--model", default="mediapipe-landscape", help=f"{', '.join(PEER_NAMES)} or a manifest")
    predict.add_argument("--out", type=Path, default=None, help="PNG path (default: build/peers/<stem>-<model>.png)")
    args = parser.parse_args(argv)

    if args.command == "convert":
        return _convert(args.out_dir, args.check, args.check_count)
    if args.command == "label":
        from model_export.dataset import DataConfig, load_sources

        try:
            sources = load_sources(DataConfig(), teacher=True)
        except TeacherMissing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"labelled {len(sources.photos)} labelled photos and {len(sources.pseudo)} unlabelled images and "
              f"frames; cache {LabelCache().folder}")
        return 0
    from model_export.sources import read_image

    image = read_image(args.image)
    segmenter = load_segmenter(args.model)
    prob = segmenter.predict(image)
    out = args.out or PEERS_BUILD_DIR / f"{args.image.stem}-{segmenter.name}.png"
    save_png_atomic(to_uint8(prob), out)
    print(f"{segmenter.name}: person fraction {float((prob > 0.5).mean()):.3f}, wrote {out}")
    return 0


def _convert(out_dir: Path, check: Path, check_count: int) -> int:
    from model_export.mediapipe_convert import CONVERSION_TOLERANCE, compare_with_tflite, convert_tflite
    from model_export.sources import read_image

    for model in MEDIAPIPE_MODELS.values():
        path = convert_tflite(model.tflite_path, out_dir / f"{model.name}.onnx")
        photos = sorted(check.glob("*.jpg"))[:check_count] if check.is_dir() else []
        if not photos:
            print(f"{path}: written (no photos to check against TFLite)")
            continue
        diff = compare_with_tflite(model, [read_image(p) for p in photos], path)
        print(f"{path}: max |ONNX - TFLite| = {diff:.2e} on {len(photos)} photos of {check}")
        if diff > CONVERSION_TOLERANCE:
            print(f"error: {path} differs from MediaPipe by more than {CONVERSION_TOLERANCE}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
