"""The studio page in any engine: settings stored before it loads, then its camera started."""
import json

from e2e_tests.engines.base import wait_until

SETTINGS_KEY = "vbg.settings.v1"  # static/js/ui/settings_store.js
PAGE_TIMEOUT_S = 180  # software WebGL in three engines on a shared, loaded 2-core machine
WARM_UP_FRAMES = 20  # composited frames before a test judges anything


def open_studio(engine, url, settings=None, timeout_s=PAGE_TIMEOUT_S):
    """A page at URL with SETTINGS stored (when given), loaded and idle."""
    page = engine.open(url)
    if settings is not None:
        page.evaluate(f"localStorage.setItem({json.dumps(SETTINGS_KEY)}, {json.dumps(json.dumps(settings))})")
        page.goto(url)
    wait_until(page, "window.vbg && window.vbg.state === 'idle'", timeout_s)
    return page


def start_studio(engine, url, settings, timeout_s=PAGE_TIMEOUT_S):
    """open_studio, then the camera enabled and WARM_UP_FRAMES composited."""
    page = open_studio(engine, url, settings, timeout_s)
    page.click("#enable-camera")
    wait_until(page, f"window.vbg.frames > {WARM_UP_FRAMES}", timeout_s)
    return page
