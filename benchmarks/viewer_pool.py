"""The viewers of a benchmarked broadcast: watch pages spread over several headless Chromiums (a few pages
per browser, each page in its own context), their frames counted on the page's <video> element by a probe
of the benchmark's own, so neither the watch page's script nor its text is read. A viewer that gets no
frame in time is counted as failed, not raised.

Used by benchmarks/broadcast.py.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from benchmarks.processes import browser_memory_bytes

FIRST_FRAME_TIMEOUT_S = 45.0  # from opening the link: a viewer that waits longer counts as failed
POLL_INTERVAL_S = 0.1
# Small pages: each viewer costs its decode, not a full-HD composite in software GL, so a class of viewer
# pages fits on the presenter's machine beside it. The stream is the same whatever the page's size.
VIEWER_VIEWPORT = {"width": 320, "height": 240}
MS_PER_S = 1000

# Installed before the watch page's own scripts. requestVideoFrameCallback's first argument is the
# presentation time on the page's clock, whose origin is the start of the navigation: the time to first
# frame is measured in the page, not by polling it.
VIEWER_PROBE_JS = """document.addEventListener('DOMContentLoaded', () => {
  const probe = { frames: 0, firstFrameMs: null };
  window.vbgBenchViewer = probe;
  const video = document.querySelector('video');
  const count = (now) => {
    probe.frames += 1;
    probe.firstFrameMs ??= now;
    video.requestVideoFrameCallback(count);
  };
  video?.requestVideoFrameCallback(count);
});"""
PROBE_JS = "window.vbgBenchViewer ?? null"


@dataclass
class Viewer:
    page: object
    browser: int  # index of its browser in the pool
    step: int  # the viewer count of the step it joined for
    first_frame_s: float | None = None  # from opening the link; None: no frame (yet)
    error: str | None = None  # why it failed, if it did


@dataclass
class ViewerPool:
    """Viewer pages over browsers that LAUNCH(index) -> (browser, pid) starts when one is needed."""
    launch: object
    pages_per_browser: int
    browsers: list = field(default_factory=list)  # (browser, pid)
    viewers: list[Viewer] = field(default_factory=list)

    def open(self, link: str, step: int, timeout_s: float = FIRST_FRAME_TIMEOUT_S) -> Viewer:
        """Open one more viewer on LINK and wait up to TIMEOUT_S for its first frame."""
        index = len(self.viewers) // self.pages_per_browser
        if index == len(self.browsers):
            self.browsers.append(self.launch(index))
        context = self.browsers[index][0].new_context(viewport=VIEWER_VIEWPORT)
        context.add_init_script(VIEWER_PROBE_JS)
        viewer = Viewer(context.new_page(), index, step)
        self.viewers.append(viewer)
        deadline = time.monotonic() + timeout_s
        try:
            viewer.page.goto(link, timeout=timeout_s * MS_PER_S)
            while viewer.first_frame_s is None:
                probe = viewer.page.evaluate(PROBE_JS)
                if probe and probe["firstFrameMs"] is not None:
                    viewer.first_frame_s = probe["firstFrameMs"] / MS_PER_S
                elif time.monotonic() > deadline:
                    viewer.error = f"no frame within {timeout_s:g} s"
                else:
                    time.sleep(POLL_INTERVAL_S)
                if viewer.error:
                    break
        except Exception as error:  # noqa: BLE001 (Playwright's errors and timeouts: counted, not raised)
            viewer.error = f"{type(error).__name__}: {error}".splitlines()[0]
        return viewer

    def frame_counts(self) -> list[tuple[int | None, float]]:
        """(frames shown so far, or None for a page that cannot be read; monotonic s when read) per viewer."""
        counts = []
        for viewer in self.viewers:
            try:
                probe = viewer.page.evaluate(PROBE_JS)
                counts.append((probe["frames"] if probe else None, time.monotonic()))
            except Exception:  # noqa: BLE001 (a crashed or closed page)
                counts.append((None, time.monotonic()))
        return counts

    def memory_bytes(self) -> dict[str, int]:
        """RSS and PSS summed over the viewer browsers' processes (benchmarks/processes.py)."""
        total = {"rss": 0, "pss": 0}
        for _, pid in self.browsers:
            if pid is not None:
                for key, value in browser_memory_bytes(pid).items():
                    total[key] += value
        return total

    def close(self) -> None:
        """Close every viewer browser; one that is already gone is skipped."""
        for browser, _ in self.browsers:
            try:
                browser.close()
            except Exception:  # noqa: BLE001
                pass
