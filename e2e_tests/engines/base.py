"""What every engine driver offers: pages that evaluate JS expressions, click and report errors."""
import time

POLL_INTERVAL_S = 0.1
INSTALL_HINT = "scripts/test.sh installs it as root"

# Installed once a page has loaded, in engines whose driver cannot listen to the console from the start
# (WebDriver classic): console errors, uncaught exceptions, rejected promises and CSP violations from then on.
ERROR_RECORDER_JS = """(() => {
  if (window.__vbgErrors) return true;
  const errors = window.__vbgErrors = [];
  const original = console.error.bind(console);
  console.error = (...args) => { errors.push('console: ' + args.map(String).join(' ')); original(...args); };
  addEventListener('error', (event) => errors.push('pageerror: ' + event.message));
  addEventListener('unhandledrejection', (event) => errors.push('pageerror: ' + (event.reason?.stack ?? event.reason)));
  addEventListener('securitypolicyviolation', (event) => errors.push('csp: ' + event.violatedDirective + ' ' + event.blockedURI));
  return true;
})()"""


class EngineUnavailable(RuntimeError):
    """The engine is not installed (the message names the package and the command)."""


def wait_until(page, expression: str, timeout_s: float = 60.0):
    """Poll a JS expression on PAGE until it is truthy and return its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            state = page.evaluate("({state: window.vbg?.state, stats: window.vbg?.stats ?? null, "
                                  "message: document.getElementById('message')?.innerText ?? null})")
            raise TimeoutError(f"still false after {timeout_s} s: {expression}\npage state: {state}")
        time.sleep(POLL_INTERVAL_S)
