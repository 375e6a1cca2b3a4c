#!/usr/bin/env bash
# Install what the tests need (Python packages, npm packages, Debian's chromium) and run every
# test in tests/ and e2e_tests/. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: install Debian's 'chromium' package (sudo apt-get install -y chromium), then run this again." >&2
    exit 1
  fi
fi

scripts/setup.sh test,train,convert
exec .venv/bin/python -m pytest tests e2e_tests "$@"
