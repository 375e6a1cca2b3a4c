#!/usr/bin/env bash
# Set up (first run) and serve the app with the shipped model on http://127.0.0.1:8000.
# Extra arguments go to `vbg serve`, e.g. `scripts/serve.sh --host 0.0.0.0 --tls`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/vbg serve "$@"
