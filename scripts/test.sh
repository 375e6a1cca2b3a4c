#!/usr/bin/env bash
# Install what the tests need (Python packages, npm packages, Debian's chromium, firefox-esr, WebKitGTK's
# WebDriver, janus and xvfb) and run every test in tests/ and e2e_tests/. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: chromium runs every browser test; firefox-esr and webkit2gtk-driver the same core checks
# in Firefox and WebKit (e2e_tests/test_engines.py), janus the Janus broadcast test, xvfb the really hidden
# tab test and the headed Firefox and WebKit; each test but chromium's skips itself without its package.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
[ -x /usr/bin/WebKitWebDriver ] || missing+=(webkit2gtk-driver)
command -v janus >/dev/null || missing+=(janus)
command -v Xvfb >/dev/null || missing+=(xvfb)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages: ${missing[*]} (sudo apt-get install -y ${missing[*]}): chromium runs the" \
         "browser tests, firefox-esr and webkit2gtk-driver the Firefox and WebKit checks, janus the Janus" \
         "broadcast test, xvfb the really hidden tab test and headed Firefox and WebKit (all but chromium" \
         "skip themselves without their package)." >&2
    [ -x /usr/bin/chromium ] || exit 1
  fi
fi

scripts/setup.sh test,train,convert

# WebRTC tests must keep their media on loopback: as root, run the suite in a network namespace
# whose only interface is `lo` (e2e tests that send media skip themselves anywhere else).
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null && unshare -n true 2>/dev/null; then
  exec unshare -n sh -c 'ip link set lo up && exec .venv/bin/python -m pytest tests e2e_tests "$@"' sh "$@"
fi
exec .venv/bin/python -m pytest tests e2e_tests "$@"
