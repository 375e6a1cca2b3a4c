"""Write and read YUV4MPEG2 (.y4m) clips for Chromium's fake camera.

Chromium's `--use-file-for-fake-video-capture=FILE.y4m` wants whole-number fps, plain `FRAME`
lines, 4:2:0 chroma, and an exact file size; it decodes as BT.601 limited range and loops the clip.

    python -m clips.y4m --help
"""
import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

# BT.601 limited ("studio") range: what Chromium assumes when it decodes the fake camera.
_RGB_TO_YCBCR = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=np.float32,
)
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float32)


def rgb_to_yuv420(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB -> Y (H, W), Cb and Cr (H/2, W/2), uint8, chroma averaged over 2x2."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {frame.shape} {frame.dtype}")
    height, width = frame.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"4:2:0 needs even width and height, got {width}x{height}")
    ycc = frame.astype(np.float32) / 255.0 @ _RGB_TO_YCBCR.T + _YCBCR_OFFSET  # (H, W, 3)
    luma = ycc[..., 0]
    c = ycc[..., 1:]
    chroma = (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2]) * 0.25  # (H/2, W/2, 2)
    to_u8 = lambda plane: np.clip(np.rint(plane), 0, 255).astype(np.uint8)  # noqa: E731
    return to_u8(luma), to_u8(chroma[..., 0]), to_u8(chroma[..., 1])


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inverse of rgb_to_yuv420 (chroma upsampled by repetition): what a decoder shows."""
    cb = np.repeat(np.repeat(u, 2, axis=0), 2, axis=1).astype(np.float32)
    cr = np.repeat(np.repeat(v, 2, axis=0), 2, axis=1).astype(np.float32)
    ycc = np.stack([y.astype(np.float32), cb, cr], axis=-1) - _YCBCR_OFFSET
    rgb = ycc @ np.linalg.inv(_RGB_TO_YCBCR).T * 255.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def write_y4m(path: Path, frames: Iterable[np.ndarray], fps: int = 30) -> int:
    """Write RGB frames as a y4m clip (atomically); returns the number of frames written."""
    if int(fps) != fps or fps <= 0:
        raise ValueError(f"Chromium's fake camera needs a whole-number fps, got {fps}")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    size = None
    try:
        with open(tmp, "wb") as out:
            for frame in frames:
                if size is None:
                    size = frame.shape[:2]
                    out.write(f"YUV4MPEG2 W{size[1]} H{size[0]} F{int(fps)}:1 Ip A1:1 C420jpeg\n".encode())
                elif frame.shape[:2] != size:
                    raise ValueError(f"frame {count} is {frame.shape[:2]}, the clip is {size}")
                out.write(b"FRAME\n")
                for plane in rgb_to_yuv420(frame):
                    out.write(plane.tobytes())
                count += 1
        if count == 0:
            raise ValueError("a clip needs at least one frame")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def read_y4m(path: Path) -> Iterator[np.ndarray]:
    """Yield the RGB frames of a 4:2:0 y4m clip."""
    with open(path, "rb") as clip:
        header = clip.readline().decode().split()
        if not header or header[0] != "YUV4MPEG2":
            raise ValueError(f"{path}: not a YUV4MPEG2 file")
        fields = {item[0]: item[1:] for item in header[1:]}
        width, height = int(fields["W"]), int(fields["H"])
        luma_bytes, chroma_bytes = width * height, (width // 2) * (height // 2)
        while line := clip.readline():
            if not line.startswith(b"FRAME"):
                raise ValueError(f"{path}: expected a FRAME line, got {line[:20]!r}")
            y = np.frombuffer(clip.read(luma_bytes), np.uint8).reshape(height, width)
            u = np.frombuffer(clip.read(chroma_bytes), np.uint8).reshape(height // 2, width // 2)
            v = np.frombuffer(clip.read(chroma_bytes), np.uint8).reshape(height // 2, width // 2)
            yield yuv420_to_rgb(y, u, v)


def quadrant_frames(width: int, height: int, count: int, colours, marker=(255, 255, 255)) -> Iterator[np.ndarray]:
    """A test pattern: four coloured quadrants and a marker square that moves one step per frame."""
    half_w, half_h = width // 2, height // 2
    step = max(2, width // max(count, 1)) // 2 * 2
    side = max(4, height // 8) // 2 * 2
    for index in range(count):
        frame = np.empty((height, width, 3), np.uint8)
        frame[:half_h, :half_w], frame[:half_h, half_w:] = colours[0], colours[1]
        frame[half_h:, :half_w], frame[half_h:, half_w:] = colours[2], colours[3]
        x = (index * step) % (width - side)
        frame[half_h - side // 2: half_h + side // 2, x: x + side] = marker
        yield frame


def main(argv: list[str] | None = None) -> int:
    """Write the quadrant test pattern (for trying the fake camera by hand)."""
    parser = argparse.ArgumentParser(description="Write a quadrant test-pattern y4m clip.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args(argv)
    colours = [(220, 40, 40), (40, 200, 60), (40, 70, 220), (230, 210, 40)]
    written = write_y4m(args.out, quadrant_frames(args.width, args.height, args.frames, colours), args.fps)
    print(f"wrote {written} frames to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
