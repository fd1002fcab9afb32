#!/usr/bin/env bash
# Set up a working environment from the repo's own files: a virtualenv in .venv with the
# package (editable) and its test tools, plus Debian's chromium for the browser tests.
# Idempotent: a second run only checks that everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first, pinned: the CPU wheel of 2.13.0 is what this project tests against, and an
# unpinned torch can pull a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install -q "torch==2.13.0"
fi
.venv/bin/pip install -q -e ".[dev]"

want_browser=${ECW_BROWSER:-1}
if [ "$want_browser" = "1" ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing; browser tests will be skipped" >&2
  fi
fi
echo "environment ready: $(.venv/bin/python -c 'import ecg_cluster_widget, torch; print("ecg_cluster_widget", ecg_cluster_widget.__version__, "torch", torch.__version__)')"
