#!/usr/bin/env bash
# The project's test command (README and CI run exactly this): set up, then the whole suite,
# including the end-to-end browser tests against a real Jupyter server.
#
# Under CI=true nothing may be skipped for a missing tool: no /usr/bin/chromium, no node,
# a failed `npm ci` or no esbuild fails the run here, and the test suite turns any skip
# other than for absent real data or an absent CUDA GPU into a failure (tests/conftest.py). Locally those tests
# are skipped, with a note saying how to enable them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

case "${CI:-}" in
  1|true|TRUE|True|yes) strict=1 ;;
  *) strict=0 ;;
esac
problems=()
# The JS toolchain (esbuild, and typescript for `tsc --checkJs` on the JSDoc types) is only
# needed to check that the committed widget bundle matches its sources, to type-check and to
# run the JS unit tests; users never need node.
if command -v npm >/dev/null 2>&1 && { [ ! -x js/node_modules/.bin/esbuild ] || [ ! -x js/node_modules/.bin/tsc ]; }; then
  if ! (cd js && npm ci --no-audit --no-fund --loglevel=error); then
    problems+=("\`npm ci\` in js/ failed (see its output above)")
  fi
fi
[ -x /usr/bin/chromium ] || problems+=("/usr/bin/chromium is missing (Debian/Ubuntu: sudo apt-get install chromium)")
command -v node >/dev/null 2>&1 || problems+=("node is missing (Debian/Ubuntu: sudo apt-get install nodejs npm)")
if command -v npm >/dev/null 2>&1; then
  [ -x js/node_modules/.bin/esbuild ] || problems+=("js/node_modules/.bin/esbuild is missing (cd js && npm ci)")
  [ -x js/node_modules/.bin/tsc ] || problems+=("js/node_modules/.bin/tsc is missing (cd js && npm ci)")
else
  problems+=("npm is missing, so esbuild cannot be installed (Debian/Ubuntu: sudo apt-get install npm)")
fi

if [ ${#problems[@]} -gt 0 ]; then
  if [ "$strict" = 1 ]; then
    echo "error: CI=true, and the browser / JS tests cannot run:" >&2
    printf '  - %s\n' "${problems[@]}" >&2
    exit 1
  fi
  echo "note: some browser / JS tests will be skipped (under CI=true this fails the run):" >&2
  printf '  - %s\n' "${problems[@]}" >&2
fi
exec .venv/bin/python -m pytest "$@"
