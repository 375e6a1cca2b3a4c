#!/usr/bin/env bash
# Install what the app needs into ./.venv and ./node_modules; skips what has not changed since the last run.
#   scripts/setup.sh                    # serving only: Flask, gunicorn, onnxruntime-web
#   scripts/setup.sh test,train,convert # plus the test suite's and the model build's packages
#
# .venv/.vbg-setup-stamp records, per side, a sha256 of what was installed from: pyproject.toml and the
# extras for Python, package-lock.json for npm. A side is installed again only when its inputs changed, its
# folder is missing, or more extras are asked for than were installed (asking for fewer installs nothing),
# so a second `scripts/serve.sh` starts without the network.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
STAMP=.venv/.vbg-setup-stamp

step() { echo "setup: $*"; }
sha() { sha256sum "$@" | cut -d' ' -f1; }
stamped() { [ -f "$STAMP" ] && sed -n "s/^$1 //p" "$STAMP" || true; }
# The extras as a sorted comma list, without blanks or repeats ("train,test" and "test,train" are one set).
normalise() { tr ',' '\n' <<<"$1" | sed '/^$/d' | sort -u | paste -sd, -; }

python_hash="$(sha pyproject.toml)"
node_hash="$(sha package-lock.json)"
read -r stamped_python_hash stamped_extras <<<"$(stamped python) "
wanted_extras="$(normalise "$extras")"
all_extras="$(normalise "${stamped_extras:-},$wanted_extras")"

python_ok=false
if [ -x .venv/bin/python ] && [ "$stamped_python_hash" = "$python_hash" ] && [ "$all_extras" = "$(normalise "${stamped_extras:-}")" ]; then
  python_ok=true
fi
node_ok=false
if [ -d node_modules ] && [ "$(stamped node)" = "$node_hash" ]; then
  node_ok=true
fi

if $python_ok; then
  step "Python packages up to date (pyproject.toml unchanged, extras: ${stamped_extras:-none})"
else
  if [ ! -x .venv/bin/python ]; then
    step "creating .venv with $python"
    "$python" -m venv .venv
    all_extras="$wanted_extras"  # a new venv holds none of the old extras
  fi
  step "upgrading pip"
  .venv/bin/python -m pip install --quiet --upgrade pip
  step "installing the Python packages (extras: ${all_extras:-none})${all_extras:+; the train and convert extras download about 3 GB}"
  .venv/bin/python -m pip install --progress-bar on -e ".${all_extras:+[$all_extras]}"
  stamped_extras="$all_extras"
fi

if ! command -v npm >/dev/null; then
  echo "npm is missing: install Node.js 20 (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
if $node_ok; then
  step "npm packages up to date (package-lock.json unchanged)"
else
  # onnxruntime-web (and MediaPipe's models for the build backend) from the lock file; the page
  # loads them from this server, never from a CDN.
  step "installing the npm packages from package-lock.json"
  npm ci --no-audit --no-fund --progress=true --loglevel=notice
fi

printf 'python %s %s\nnode %s\n' "$python_hash" "$stamped_extras" "$node_hash" >"$STAMP"
