"""Reading the training sources: labelled folders (images/ + masks/), image folders and videos."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

try:  # opencv-python-headless: fast resize and video decoding.
    import cv2

    cv2.setNumThreads(1)  # the machine has 2 shared cores; parallelism comes from processes
except ImportError:  # pragma: no cover - listed in the `train` extra
    cv2 = None

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm")

Pair = tuple[str, Path, Path]  # (stem, image path, mask path)


def list_pairs(data_dir: str | Path) -> list[Pair]:
    """(stem, image path, mask path) for every image of DATA_DIR/images with its DATA_DIR/masks."""
    data_dir = Path(data_dir)
    images_dir, masks_dir = data_dir / "images", data_dir / "masks"
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder not found: {data_dir}")
    for folder in (images_dir, masks_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"expected an images/ and a masks/ folder, missing: {folder}")
    images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ValueError(f"no images (*{', *'.join(IMAGE_SUFFIXES)}) in {images_dir}")
    masks = {p.stem: p for p in masks_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = []
    for image in images:
        if image.stem not in masks:
            raise FileNotFoundError(f"no mask for {image} (looked for {masks_dir / image.stem}.png)")
        pairs.append((image.stem, image, masks.pop(image.stem)))
    if masks:
        orphan = sorted(masks.values())[0]
        raise ValueError(f"mask without an image: {orphan} ({len(masks)} such masks)")
    return pairs


def read_image(path: str | Path) -> np.ndarray:
    """An RGB uint8 (H, W, 3) array, or a ValueError naming the unreadable file."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB")).copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from exc


def read_mask(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A uint8 (H, W) person mask (255 = person); checks it matches the image size (W, H)."""
    try:
        with Image.open(path) as im:
            mask = np.asarray(im.convert("L")).copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"cannot read mask {path}: {exc}") from exc
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        raise ValueError(
            f"mask {path} is {mask.shape[1]}x{mask.shape[0]} but its image is {size[0]}x{size[1]}"
        )
    return mask


def load_pair(image_path: str | Path, mask_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The photo (H, W, 3) and its mask (H, W), both uint8, checked to be the same size."""
    image = read_image(image_path)
    return image, read_mask(mask_path, (image.shape[1], image.shape[0]))


def list_files(folder: str | Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files directly inside FOLDER whose suffix is one of SUFFIXES (empty when the folder does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside FOLDER."""
    return list_files(folder, IMAGE_SUFFIXES)


def list_videos(folder: str | Path) -> list[Path]:
    """Video files directly inside FOLDER."""
    return list_files(folder, VIDEO_SUFFIXES)


def read_video_frames(path: str | Path, stride: int = 1) -> list[np.ndarray]:
    """Every STRIDE-th frame of a video as RGB uint8 arrays (needs opencv)."""
    if cv2 is None:
        raise RuntimeError("reading videos needs opencv-python-headless (pip install it)")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"cannot open video {path}")
    frames, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % stride == 0:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        index += 1
    capture.release()
    if not frames:
        raise ValueError(f"no frames decoded from video {path}")
    return frames


def downscale(image: np.ndarray, max_side: int, interpolation=None) -> np.ndarray:
    """IMAGE shrunk (area filter) so its longer side is at most MAX_SIDE."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if interpolation is None else interpolation)
