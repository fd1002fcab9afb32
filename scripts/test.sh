#!/usr/bin/env bash
# The project's test command (README and CI run exactly this): set up, then the whole suite,
# including the end-to-end browser tests against a real Jupyter server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
