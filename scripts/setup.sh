#!/usr/bin/env bash
# Install what the app needs into ./.venv and ./node_modules (idempotent).
#   scripts/setup.sh            # serving only: Flask, gunicorn, onnxruntime-web
#   scripts/setup.sh test,train # plus the test suite's and the model build's packages
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet -e ".[${extras}]"
else
  .venv/bin/python -m pip install --quiet -e .
fi

if ! command -v npm >/dev/null; then
  echo "npm is missing: install Node.js 20 (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
# onnxruntime-web (and MediaPipe's models for the build backend) from the lock file; the page
# loads them from this server, never from a CDN.
npm ci --no-audit --no-fund --loglevel=error
