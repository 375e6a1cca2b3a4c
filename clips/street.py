"""Convert the shared handheld street video to a y4m clip for Chromium's fake camera.

    .venv/bin/python -m clips.street --out build/clips/street.y4m [--width 640 --height 360] [--fps 25] [--frames N]
        [--video ../shared/data/videos/street-720p50.avi]

Frames are cover-fitted (scaled to fill, centre-cropped) and picked by timestamp so the clip plays at a
whole-number fps: 50 fps in, 25 out keeps every other frame. Decoding uses opencv-python-headless (its
wheel bundles the FFmpeg decoders; no system ffmpeg needed), imported only here.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from clips.y4m import write_y4m
from model_export.paths import VIDEOS_DIR

STREET_VIDEO = VIDEOS_DIR / "street-720p50.avi"


def _cv2():
    try:
        import cv2
    except ImportError as error:
        message = "decoding video needs opencv-python-headless: .venv/bin/pip install opencv-python-headless"
        raise RuntimeError(message) from error
    cv2.setNumThreads(1)  # a light job on a shared machine
    return cv2


def _fit(frame: np.ndarray, width: int, height: int, cv2) -> np.ndarray:
    """Cover-fit a (h, w, 3) frame to (height, width, 3): scale to fill, crop the centre."""
    h, w = frame.shape[:2]
    scale = max(width / w, height / h)
    size = (max(width, round(w * scale)), max(height, round(h * scale)))
    # INTER_AREA averages when shrinking (no aliasing on the handheld detail); cubic when enlarging.
    resized = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (size[1] - height) // 2, (size[0] - width) // 2
    return resized[top:top + height, left:left + width]


def street_frames(video: Path, width: int, height: int, fps: int, frames: int | None = None) -> Iterator[np.ndarray]:
    """RGB frames of VIDEO resampled to FPS (by timestamp) and cover-fitted; the first is read before yielding."""
    cv2 = _cv2()
    video = Path(video)
    if not video.is_file():
        raise FileNotFoundError(f"video {video} not found")
    capture = cv2.VideoCapture(str(video))
    source_fps = capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0.0
    ok, first = capture.read() if capture.isOpened() else (False, None)
    if not ok or source_fps <= 0:
        capture.release()
        raise ValueError(f"video {video} could not be decoded")
    if fps > source_fps:
        capture.release()
        raise ValueError(f"--fps {fps} is above the source's {source_fps:g} fps ({video}); frames would repeat")
    return _resampled(capture, first, source_fps, width, height, fps, frames, cv2)


def _resampled(capture, first, source_fps, width, height, fps, limit, cv2) -> Iterator[np.ndarray]:
    """Output frame k shows the source frame nearest to time k / fps."""
    try:
        frame, index, emitted = first, 0, 0
        while frame is not None and (limit is None or emitted < limit):
            wanted = round(emitted * source_fps / fps)
            if index == wanted:
                yield cv2.cvtColor(_fit(frame, width, height, cv2), cv2.COLOR_BGR2RGB)
                emitted += 1
                continue
            ok, frame = capture.read()
            frame = frame if ok else None
            index += 1
    finally:
        capture.release()


def convert(out: Path, video: Path = STREET_VIDEO, width: int = 640, height: int = 360, fps: int = 25,
            frames: int | None = None) -> int:
    """Write the y4m (atomically); returns the number of frames written."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"size {width}x{height}: y4m 4:2:0 needs a positive, even width and height")
    if int(fps) != fps or fps <= 0:
        raise ValueError(f"fps {fps}: Chromium's fake camera needs a positive whole number")
    if frames is not None and frames <= 0:
        raise ValueError(f"--frames {frames} must be positive")
    source = street_frames(video, width, height, int(fps), frames)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return write_y4m(Path(out), source, int(fps))


def main(argv: list[str] | None = None) -> int:
    """Convert from the command line."""
    parser = argparse.ArgumentParser(description="Convert the street video to a y4m fake-camera clip.")
    parser.add_argument("--out", type=Path, default=Path("build/clips/street.y4m"))
    parser.add_argument("--video", type=Path, default=STREET_VIDEO)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--frames", type=int, help="stop after this many output frames")
    args = parser.parse_args(argv)
    try:
        count = convert(args.out, args.video, args.width, args.height, args.fps, args.frames)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {count} frames {args.width}x{args.height} at {args.fps} fps to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
