"""The app served with test clips beside its static files, for the page's test-only `?camera=file:<path>`
(static/js/clip_camera.js): Firefox and WebKit have no y4m fake camera, so every engine plays the same
WebM clip, made at test time from clips/build.py's y4m (never stored in the repository)."""
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

CLIPS_URL_PATH = "/static/test-clips/"
VP8_FOURCC = "VP80"  # WebM's VP8: every engine here decodes it (WebKitGTK through GStreamer)


def y4m_to_webm(y4m: Path, webm: Path, fps: int) -> Path:
    """Encode a y4m clip as VP8 WebM with OpenCV (its wheel carries FFmpeg)."""
    import cv2

    from clips.y4m import read_y4m

    writer = None
    for frame in read_y4m(y4m):
        if writer is None:
            height, width = frame.shape[:2]
            writer = cv2.VideoWriter(str(webm), cv2.VideoWriter_fourcc(*VP8_FOURCC), fps, (width, height))
            if not writer.isOpened():
                raise RuntimeError("OpenCV cannot write VP8 WebM here")
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return webm


def first_frame(video: Path) -> np.ndarray:
    """The first frame of a video file as decoded here: (H, W, 3) float32 RGB."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise RuntimeError(f"cannot decode {video}")
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).astype(np.float32)


@contextmanager
def serve_with_clips(folder: Path, clips: dict[str, Path], stalled: tuple[str, ...] = ()):
    """Serve the app (the real create_app, its headers included) on a free loopback port, with CLIPS
    ({name: file}) under /static/test-clips/; yields the base URL ('http://127.0.0.1:PORT/').

    FOLDER becomes the static folder: links to every entry of static/ plus the clips. Each name in
    STALLED is a clip whose request is never answered while the server runs (a stuck source)."""
    import logging

    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.config import REPO_ROOT, Config

    static = folder / "static"
    static.mkdir(parents=True)
    for entry in (REPO_ROOT / "static").iterdir():
        (static / entry.name).symlink_to(entry)
    (static / "test-clips").mkdir()
    for name, path in clips.items():
        (static / "test-clips" / name).symlink_to(path.resolve())
    app = create_app(Config.from_env(static_dir=static, instance_dir=folder / "instance"))
    closing = threading.Event()
    for name in stalled:
        app.add_url_rule(f"{CLIPS_URL_PATH}{name}", endpoint=f"stalled-{name}",
                         view_func=lambda: closing.wait() and ("", 503))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in the test output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        closing.set()
        server.shutdown()
        thread.join()
