#!/usr/bin/env bash
# Install trustbook into the active Python environment.
#   bash install.sh         the library, the CLI and what `trustbook reproduce` needs
#   bash install.sh --dev   the same plus the test and notebook-authoring tools
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python}
command -v "$PY" >/dev/null || PY=python3
extra=""
[ "${1:-}" = "--dev" ] && extra="[dev]"
# The CPU build of torch first: an unpinned torch (asked for by any dependency) would pull several GB of CUDA wheels.
"$PY" -m pip install --quiet "torch==2.13.0"
"$PY" -m pip install --quiet -e ".${extra}"
# The documentation test (part of the test suite) opens the site in headless Chromium: Debian's package, where apt exists.
if [ -n "$extra" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "install.sh: no Chromium found; the documentation test needs one (set CHROMIUM=/path/to/chrome)" >&2
  fi
fi
# RecBole's wheel only provides MovieLens-100K's files here; its own pinned dependencies (ray, tensorboard...) are not needed.
"$PY" -m pip install --quiet --no-deps "recbole==1.2.1"
"$PY" -c "import trustbook, torch; print(f'trustbook {trustbook.__version__} installed (torch {torch.__version__})')"
