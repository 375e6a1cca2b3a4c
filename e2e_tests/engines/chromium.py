"""Debian's chromium through Playwright (as the rest of e2e_tests), behind the engines' interface."""
from pathlib import Path

from e2e_tests.conftest import AUTO_ACCEPT_CAMERA_ARGS, BASE_ARGS, CHROMIUM, FAKE_CAMERA_ARGS
from e2e_tests.engines.base import INSTALL_HINT


def missing() -> str | None:
    return None if Path(CHROMIUM).exists() else f"{CHROMIUM} is missing: apt-get install -y chromium ({INSTALL_HINT})"


class ChromiumPage:
    def __init__(self, context, url: str):
        self._context = context
        self.page = context.new_page()
        self._errors: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self._errors.append(f"console: {msg.text}"))
        self.page.on("pageerror", lambda exc: self._errors.append(f"pageerror: {exc}"))
        self.page.goto(url)

    def goto(self, url: str) -> None:
        self.page.goto(url)

    def evaluate(self, expression: str):
        return self.page.evaluate(f"() => ({expression})")

    def click(self, selector: str) -> None:
        self.page.click(selector)

    def screenshot(self, selector: str) -> bytes:
        return self.page.locator(selector).screenshot()

    def errors(self) -> list[str]:
        return list(self._errors)

    def close(self) -> None:
        self._context.close()


class Chromium:
    name = "chromium"

    def __init__(self, args: list[str], headless: bool, playwright=None):
        from playwright.sync_api import sync_playwright

        # One Playwright per thread: reuse the test session's (conftest's playwright_driver) when given.
        self._own_driver = None if playwright else sync_playwright().start()
        driver = playwright or self._own_driver
        self._browser = driver.chromium.launch(executable_path=CHROMIUM, headless=headless, args=args)

    def open(self, url: str) -> ChromiumPage:
        return ChromiumPage(self._browser.new_context(viewport={"width": 1280, "height": 800}), url)

    def version(self) -> str:
        return f"chromium/{self._browser.version}"

    def close(self) -> None:
        self._browser.close()
        if self._own_driver:
            self._own_driver.stop()


def launch(display: str | None = None, camera: bool = True, deny_camera: bool = False, headless: bool = True,
           playwright=None, **_ignored) -> Chromium:
    """Headless chromium with its fake camera (a synthetic pattern), or none, or refused; PLAYWRIGHT: a
    running sync Playwright to use (a thread may run only one)."""
    args = list(BASE_ARGS)
    if camera:
        args += FAKE_CAMERA_ARGS
    if not deny_camera:
        args += AUTO_ACCEPT_CAMERA_ARGS
    return Chromium(args, headless, playwright)
