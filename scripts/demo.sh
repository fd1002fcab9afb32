#!/usr/bin/env bash
# The main job on a fresh machine: set up, then open the quickstart demo (built-in synthetic
# data and the shipped model) in JupyterLab. Extra arguments go to `ecg-cluster-widget demo`,
# e.g. `bash scripts/demo.sh --report demo.html` writes a standalone HTML report instead.
# The demo works on a copy of the notebook in ~/ecg-cluster-widget-demo (or $ECW_DEMO_DIR,
# or --workdir DIR) and never writes into this checkout. JupyterLab runs in the foreground
# until Ctrl+C (or SIGTERM); `--print-command` only prints the command.
set -euo pipefail
cd "$(dirname "$0")/.."
ECW_BROWSER=0 bash scripts/setup.sh
exec .venv/bin/ecg-cluster-widget demo "$@"
