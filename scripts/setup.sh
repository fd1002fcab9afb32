#!/usr/bin/env bash
# Set up a working environment from the repo's own files: a virtualenv in .venv with torch,
# the package (editable) and its test tools, plus Debian's chromium for the browser tests.
# Idempotent: a second run only checks that everything is there.
#
# Which torch build (pinned to 2.13.0, the version this project tests against):
#   ECW_TORCH=auto (default)  the CPU-only build, from PyTorch's CPU wheel index
#                             (ECW_TORCH_CPU_INDEX, default https://download.pytorch.org/whl/cpu);
#                             when that index cannot be reached, the default index (on Linux
#                             x86_64 PyPI's wheel is the CUDA build, several GB). With an NVIDIA
#                             GPU present, a note says how to get the CUDA build instead.
#   ECW_TORCH=cpu             the same, also on a machine with a GPU.
#   ECW_TORCH=cuda            the CUDA build: the default index, or ECW_TORCH_INDEX when set
#                             (e.g. https://download.pytorch.org/whl/cu126).
# The last line names the build that got installed (torch.version.cuda None = CPU build).
# ECW_BROWSER=0 skips Chromium; PYTHON picks the interpreter for the venv (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.13.0
CPU_INDEX=${ECW_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
PY=${PYTHON:-python3}
VPY=.venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VPY" ]; then
  "$PY" -m venv .venv
fi

have_nvidia_gpu() {
  command -v nvidia-smi >/dev/null 2>&1 || [ -e /proc/driver/nvidia/version ]
}

# "<version> cpu|cuda" of the torch in .venv, or nothing when torch is not importable.
torch_build() {
  "$VPY" -c "import torch; print(torch.__version__.split('+')[0], 'cpu' if torch.version.cuda is None else 'cuda')" 2>/dev/null || true
}

# Can the CPU wheel index be reached? A short check, so that an offline or firewalled
# machine falls back at once instead of waiting for pip's retries.
cpu_index_reachable() {
  "$VPY" - "$CPU_INDEX" <<'EOF' 2>/dev/null
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=10).close()
except Exception:
    sys.exit(1)
EOF
}

want=${ECW_TORCH:-auto}
case "$want" in
  auto)
    if have_nvidia_gpu; then
      echo "NVIDIA GPU found; installing the CPU build of torch anyway (all this project needs)."
      echo "  For the CUDA build: ECW_TORCH=cuda bash scripts/setup.sh"
    fi
    want=cpu ;;
  cpu|cuda) ;;
  *) echo "error: ECW_TORCH must be auto, cpu or cuda, got '$want'" >&2; exit 2 ;;
esac
if [ "$want" = "cuda" ] && ! have_nvidia_gpu; then
  echo "warning: ECW_TORCH=cuda but no NVIDIA GPU was found (no nvidia-smi, no /proc/driver/nvidia)" >&2
fi

current=$(torch_build)
source_note="already installed"
if [ "$current" != "$TORCH_VERSION $want" ]; then
  if [ "$want" = "cpu" ]; then
    if cpu_index_reachable; then
      [ -n "$current" ] && .venv/bin/pip uninstall -q -y torch
      echo "installing torch $TORCH_VERSION (CPU build) from $CPU_INDEX ..."
      if .venv/bin/pip install -q --timeout 30 --retries 1 --index-url "$CPU_INDEX" \
          "torch==$TORCH_VERSION+cpu"; then
        source_note="from the PyTorch CPU index ($CPU_INDEX)"
      else
        echo "warning: installing from $CPU_INDEX failed; trying the default index" >&2
        .venv/bin/pip install -q "torch==$TORCH_VERSION"
        source_note="from the default index (the CPU index failed)"
      fi
    elif [ "${current%% *}" = "$TORCH_VERSION" ]; then
      echo "warning: $CPU_INDEX cannot be reached; keeping the torch $TORCH_VERSION already installed" >&2
      source_note="kept (the CPU index was unreachable)"
    else
      echo "warning: $CPU_INDEX cannot be reached; installing torch $TORCH_VERSION from the default" \
           "index (on Linux x86_64 PyPI's wheel is the CUDA build, several GB; set" \
           "ECW_TORCH_CPU_INDEX to a reachable mirror of the CPU index to avoid that)" >&2
      .venv/bin/pip install -q "torch==$TORCH_VERSION"
      source_note="from the default index (the CPU index was unreachable)"
    fi
  else
    [ -n "$current" ] && .venv/bin/pip uninstall -q -y torch
    echo "installing torch $TORCH_VERSION (CUDA build) from ${ECW_TORCH_INDEX:-the default index} ..."
    if [ -n "${ECW_TORCH_INDEX:-}" ]; then
      .venv/bin/pip install -q --index-url "$ECW_TORCH_INDEX" "torch==$TORCH_VERSION"
      source_note="from $ECW_TORCH_INDEX"
    else
      .venv/bin/pip install -q "torch==$TORCH_VERSION"
      source_note="from the default index"
    fi
  fi
fi

# The package and its test tools; skipped when pyproject.toml is unchanged since the last
# successful install and the package still imports (so a second run only checks).
stamp=.venv/.ecw-setup-stamp
digest=$("$VPY" -c "import hashlib, pathlib; print(hashlib.sha256(pathlib.Path('pyproject.toml').read_bytes()).hexdigest())")
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ] \
    || ! "$VPY" -c "import ecg_cluster_widget, pytest, jupyterlab" 2>/dev/null; then
  .venv/bin/pip install -q -e ".[dev]"
  echo "$digest" > "$stamp"
fi

want_browser=${ECW_BROWSER:-1}
if [ "$want_browser" = "1" ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing; the browser tests need it" \
         "(sudo apt-get install chromium); locally they are skipped, under CI=true they fail" >&2
  fi
fi

build=$("$VPY" -c "
import torch
if torch.version.cuda is None:
    print('CPU build (torch.version.cuda is None)')
else:
    gpu = 'a GPU is visible' if torch.cuda.is_available() else 'no GPU visible right now'
    print(f'CUDA {torch.version.cuda} build ({gpu})')
")
echo "torch $("$VPY" -c 'import torch; print(torch.__version__)'): $build, $source_note"
echo "environment ready: $("$VPY" -c 'import ecg_cluster_widget, torch; print("ecg_cluster_widget", ecg_cluster_widget.__version__, "torch", torch.__version__)')"
