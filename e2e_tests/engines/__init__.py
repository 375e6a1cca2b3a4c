"""Drive the app in three browser engines with one small interface, so the same checks run in each:
Debian's chromium (Playwright, chromium.py), firefox-esr (puppeteer-core over WebDriver BiDi, firefox.py)
and WebKitGTK, Safari's engine (WebKitWebDriver and Selenium, webkit.py). Firefox and WebKit run headed on
a virtual screen (display.py): headless Firefox has no WebGL, and WebKitGTK's MiniBrowser needs a display.

    engine = launch("firefox", display=":99")     # or chromium / webkit; missing(name) says why it cannot
    page = engine.open(url)                        # its own storage
    page.evaluate("window.vbg.state")              # a JS expression's JSON value
    page.click("#enable-camera"); page.errors(); page.close(); engine.close()
"""
from e2e_tests.engines.base import EngineUnavailable, wait_until

ENGINES = ("chromium", "firefox", "webkit")


def _module(name: str):
    if name == "chromium":
        from e2e_tests.engines import chromium as module
    elif name == "firefox":
        from e2e_tests.engines import firefox as module
    elif name == "webkit":
        from e2e_tests.engines import webkit as module
    else:
        raise ValueError(f"unknown engine {name!r}: one of {ENGINES}")
    return module


def missing(name: str) -> str | None:
    """Why engine NAME cannot run here (with the command that installs it), or None."""
    return _module(name).missing()


def launch(name: str, display: str | None = None, **options):
    """Start engine NAME (options: camera, deny_camera, headless, shared_array_buffer; see each module)."""
    reason = missing(name)
    if reason:
        raise EngineUnavailable(reason)
    return _module(name).launch(display=display, **options)


__all__ = ["ENGINES", "EngineUnavailable", "launch", "missing", "wait_until"]
