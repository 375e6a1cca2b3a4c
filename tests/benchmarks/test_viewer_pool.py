"""benchmarks/viewer_pool.py: pages spread over browsers, and a viewer without a frame counted, not raised
(stand-in browser objects: no Chromium)."""
from benchmarks.viewer_pool import ViewerPool


class FakePage:
    def __init__(self, probe):
        self.probe = probe

    def goto(self, url, timeout):
        self.url = url

    def evaluate(self, expression):
        if isinstance(self.probe, Exception):
            raise self.probe
        return self.probe


class FakeBrowser:
    def __init__(self, probes):
        self.probes = probes
        self.closed = False

    def new_context(self, viewport):
        return self

    def add_init_script(self, script):
        assert "requestVideoFrameCallback" in script

    def new_page(self):
        return FakePage(self.probes.pop(0))

    def close(self):
        self.closed = True


def test_viewers_fill_each_browser_before_the_next_and_failures_are_counted():
    probes = [{"frames": 3, "firstFrameMs": 1250.0}, {"frames": 0, "firstFrameMs": None},
              RuntimeError("Target crashed"), {"frames": 1, "firstFrameMs": 800.0}]
    launched = []

    def launch(index):
        launched.append(index)
        return FakeBrowser(probes), 1000 + index

    pool = ViewerPool(launch, pages_per_browser=2)
    viewers = [pool.open("http://127.0.0.1/watch/x", step=4, timeout_s=0.2) for _ in range(4)]

    assert launched == [0, 1] and [viewer.browser for viewer in viewers] == [0, 0, 1, 1]
    assert [viewer.first_frame_s for viewer in viewers] == [1.25, None, None, 0.8]
    assert viewers[1].error == "no frame within 0.2 s"
    assert viewers[2].error == "RuntimeError: Target crashed"
    assert [frames for frames, _ in pool.frame_counts()] == [3, 0, None, 1]
    pool.close()
    assert all(browser.closed for browser, _ in pool.browsers)
