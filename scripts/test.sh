#!/usr/bin/env bash
# The project's test command (README and CI run exactly this): set up, then the whole suite,
# including the end-to-end browser tests against a real Jupyter server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The JS toolchain (esbuild) is only needed to check that the committed widget bundle matches
# its sources; users never need node. Skipped quietly where npm is absent.
if command -v npm >/dev/null 2>&1 && [ ! -x js/node_modules/.bin/esbuild ]; then
  (cd js && npm ci --no-audit --no-fund --loglevel=error) || echo "warning: npm ci failed; the bundle freshness check will be skipped" >&2
fi
exec .venv/bin/python -m pytest "$@"
