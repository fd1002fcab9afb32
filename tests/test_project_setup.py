"""The set-up and test scripts, CI strictness, the README's two commands and its claims.

``scripts/setup.sh`` and ``scripts/test.sh`` run here in sandboxes with stand-in ``python``,
``pip`` and ``npm`` programs that log what they are asked to do, so the choice of torch
build and the CI rules are checked without installing anything. The demo script runs for
real (``test_demo_script_leaves_the_checkout_clean``), until its JupyterLab answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

FAKE_PYTHON = r"""#!/usr/bin/env bash
# Stand-in for .venv/bin/python: answers setup.sh's questions from files next to it.
d=$(cd "$(dirname "$0")/.." && pwd)
state="$d/torch_state"
echo "python $*" >> "$d/calls.log"
if [ "$1" = "-" ]; then cat >/dev/null; exit "${FAKE_INDEX_RC:-1}"; fi
code="$2"
case "$code" in
  *hashlib*) exec "$REAL_PYTHON" -c "$code" ;;
  *"split('+')"*) [ -s "$state" ] && cat "$state"; [ -s "$state" ] ;;
  *"import ecg_cluster_widget, pytest, jupyterlab"*) [ -f "$d/pkg_installed" ] ;;
  *"torch.version.cuda is None"*)
    if grep -q cpu "$state"; then echo "CPU build (torch.version.cuda is None)";
    else echo "CUDA 12.8 build (no GPU visible right now)"; fi ;;
  *"print(torch.__version__)"*)
    v=$(cut -d' ' -f1 "$state"); if grep -q cpu "$state"; then echo "$v+cpu"; else echo "$v"; fi ;;
  *"ecg_cluster_widget.__version__"*) echo "ecg_cluster_widget 0.1.0 torch $(cut -d' ' -f1 "$state")" ;;
  *) echo "unexpected python call: $code" >&2; exit 99 ;;
esac
"""

FAKE_PIP = r"""#!/usr/bin/env bash
d=$(cd "$(dirname "$0")/.." && pwd)
echo "pip $*" >> "$d/calls.log"
case "$*" in
  *uninstall*) : > "$d/torch_state" ;;
  *"torch==2.13.0+cpu"*) [ "${FAKE_CPU_PIP_RC:-0}" = 0 ] || exit 1; echo "2.13.0 cpu" > "$d/torch_state" ;;
  *"torch==2.13.0"*) echo "2.13.0 ${FAKE_DEFAULT_BUILD:-cuda}" > "$d/torch_state" ;;
  *" -e "*) touch "$d/pkg_installed" ;;
esac
"""


def _exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _sandbox(tmp_path: Path, gpu: bool = False) -> tuple[Path, dict]:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", repo / "scripts")
    shutil.copy(REPO / "pyproject.toml", repo)
    _exe(repo / ".venv" / "bin" / "python", FAKE_PYTHON)
    _exe(repo / ".venv" / "bin" / "pip", FAKE_PIP)
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    if gpu:
        _exe(fakebin / "nvidia-smi", "#!/bin/sh\necho 'NVIDIA fake'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECW_", "FAKE_"))}
    env.update(PATH=f"{fakebin}:/usr/bin:/bin", ECW_BROWSER="0", REAL_PYTHON=sys.executable)
    return repo, env


def _setup(repo: Path, env: dict, **extra: str) -> tuple[int, str, list[str]]:
    log = repo / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    proc = subprocess.run(
        ["bash", "scripts/setup.sh"],
        cwd=repo,
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return proc.returncode, proc.stdout + proc.stderr, [c for c in calls if c.startswith("pip ")]


def _host_has_gpu(env: dict) -> bool:
    return (
        shutil.which("nvidia-smi", path=env["PATH"]) is not None
        or Path("/proc/driver/nvidia/version").exists()
    )


# -- scripts/setup.sh: which torch build ------------------------------------------------------
def test_setup_installs_the_cpu_build_from_the_cpu_index(tmp_path):
    repo, env = _sandbox(tmp_path)
    rc, out, pip = _setup(repo, env, FAKE_INDEX_RC="0")
    assert rc == 0, out
    assert pip[0] == (
        f"pip install -q --timeout 30 --retries 1 --index-url {CPU_INDEX} torch==2.13.0+cpu"
    )
    assert any(" -e .[dev]" in c for c in pip)
    assert (
        "torch 2.13.0+cpu: CPU build (torch.version.cuda is None), from the PyTorch CPU index"
        in out
    )
    if not _host_has_gpu(env):
        assert "NVIDIA GPU found" not in out
    # idempotent: a second run only checks
    rc, out, pip = _setup(repo, env, FAKE_INDEX_RC="0")
    assert rc == 0 and pip == [], pip
    assert "CPU build (torch.version.cuda is None), already installed" in out


def test_setup_falls_back_to_the_default_index_and_says_so(tmp_path):
    repo, env = _sandbox(tmp_path)
    rc, out, pip = _setup(repo, env, FAKE_INDEX_RC="1", FAKE_DEFAULT_BUILD="cpu")
    assert rc == 0, out
    assert pip[0] == "pip install -q torch==2.13.0"
    assert f"warning: {CPU_INDEX} cannot be reached" in out
    assert "from the default index (the CPU index was unreachable)" in out
    # a default index that hands out the CUDA build is reported as such
    repo, env = _sandbox(tmp_path / "b")
    rc, out, _ = _setup(repo, env, FAKE_INDEX_RC="1", FAKE_DEFAULT_BUILD="cuda")
    assert rc == 0 and "torch 2.13.0: CUDA 12.8 build" in out


def test_setup_with_a_gpu_installs_cuda_only_when_asked(tmp_path):
    repo, env = _sandbox(tmp_path, gpu=True)
    rc, out, pip = _setup(repo, env, FAKE_INDEX_RC="0")
    assert rc == 0, out
    assert "NVIDIA GPU found" in out and "ECW_TORCH=cuda bash scripts/setup.sh" in out
    assert pip[0].endswith("torch==2.13.0+cpu")
    rc, out, pip = _setup(repo, env, ECW_TORCH="cuda")
    assert rc == 0, out
    assert pip[:2] == ["pip uninstall -q -y torch", "pip install -q torch==2.13.0"]
    assert "torch 2.13.0: CUDA 12.8 build" in out and "from the default index" in out
    rc, out, pip = _setup(repo, env, ECW_TORCH="cuda")
    assert rc == 0 and pip == []
    rc, out, _ = _setup(repo, env, ECW_TORCH="rocm")
    assert rc == 2 and "ECW_TORCH must be auto, cpu or cuda" in out


# -- scripts/test.sh and the test suite under CI=true ---------------------------------------
def _test_sh_sandbox(tmp_path: Path) -> tuple[Path, dict]:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "js").mkdir()
    shutil.copy(REPO / "scripts" / "test.sh", repo / "scripts")
    _exe(repo / "scripts" / "setup.sh", "#!/usr/bin/env bash\necho setup-ok\n")
    _exe(repo / ".venv" / "bin" / "python", '#!/usr/bin/env bash\necho "PYTEST RAN $*"\n')
    fakebin = tmp_path / "bin"
    _exe(fakebin / "npm", "#!/bin/sh\necho 'npm ERR! network unreachable' >&2\nexit 1\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = f"{fakebin}:/usr/bin:/bin"
    return repo, env


def test_test_sh_fails_under_ci_when_npm_ci_fails(tmp_path):
    repo, env = _test_sh_sandbox(tmp_path)
    proc = subprocess.run(
        ["bash", "scripts/test.sh", "-q"],
        cwd=repo,
        env={**env, "CI": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "error: CI=true" in proc.stderr and "`npm ci` in js/ failed" in proc.stderr
    assert "esbuild is missing" in proc.stderr and "PYTEST RAN" not in proc.stdout


def test_test_sh_locally_skips_and_says_how_to_enable(tmp_path):
    repo, env = _test_sh_sandbox(tmp_path)
    proc = subprocess.run(
        ["bash", "scripts/test.sh", "-q"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "note: some browser / JS tests will be skipped" in proc.stderr
    assert "(cd js && npm ci)" in proc.stderr
    assert "PYTEST RAN -m pytest -q" in proc.stdout


@pytest.mark.slow
def test_ci_turns_skips_into_failures_except_absent_data(tmp_path):
    (tmp_path / "browser").mkdir()
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path)
    for name in ("__init__.py", "harness.py"):
        shutil.copy(REPO / "tests" / "browser" / name, tmp_path / "browser")
    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "def test_tool():\n    pytest.skip('node is not installed')\n"
        "@pytest.mark.skipif(True, reason='js/node_modules absent')\n"
        "def test_marker():\n    pass\n"
        "def test_data(shared_data):\n    pass\n"
        "@pytest.mark.skipif(True, reason='no CUDA GPU')\n"
        "def test_gpu():\n    pass\n"
        "def test_ok():\n    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["ECG_SHARED_DATA"] = str(tmp_path / "no_data_here")
    cmd = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "test_x.py"]
    local = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert local.returncode == 0, local.stdout
    assert "1 passed, 4 skipped" in local.stdout
    ci = subprocess.run(
        cmd, cwd=tmp_path, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=120
    )
    assert ci.returncode == 1, ci.stdout
    assert re.search(r"FAILED test_x.py::test_tool", ci.stdout)
    assert re.search(r"(FAILED|ERROR) test_x.py::test_marker", ci.stdout)
    assert re.search(r"SKIPPED .*real data absent", ci.stdout)
    assert re.search(r"SKIPPED .*no CUDA GPU", ci.stdout)
    assert "CI=true: skipping is not allowed here" in ci.stdout


def test_browser_tools_missing_fail_under_ci_and_skip_locally(monkeypatch, tmp_path):
    from browser import harness

    monkeypatch.setattr(harness, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setattr(harness, "IN_CI", False)
    with pytest.raises(
        pytest.skip.Exception, match="to run these tests: install Debian's chromium"
    ):
        harness.need_browser_tools()
    monkeypatch.setattr(harness, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true and .*no-chromium is absent"):
        harness.need_browser_tools(jupyter=True)


def test_e2e_cells_never_replace_the_shipped_model(monkeypatch, tmp_path):
    import torch
    from browser.harness import widget_cells

    import ecg_cluster_widget.model.pretrained as pretrained

    setup = widget_cells(4, str(tmp_path / "out"))[0]
    assert "except" not in setup and "random" not in setup

    def broken():
        raise RuntimeError("demo model is broken")

    monkeypatch.setattr(pretrained, "load_demo_model", broken)
    threads = torch.get_num_threads()
    try:
        with pytest.raises(RuntimeError, match="demo model is broken"):
            exec(compile(setup, "setup-cell", "exec"), {})
    finally:
        torch.set_num_threads(threads)


def test_pytest_silences_only_named_third_party_warnings():
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"^filterwarnings = \[(.*?)^\]", text, re.S | re.M)
    filters = re.findall(r'^\s*"([^"]+)"', block.group(1), re.M) if block else []
    for f in filters:
        action, message, category, module = (f.split(":") + ["", "", "", ""])[:4]
        if action == "ignore":
            assert message and module and not module.startswith("ecg_cluster_widget"), f


# -- the README's two commands ---------------------------------------------------------------
def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def test_generated_files_are_git_ignored():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    paths = [
        "notebooks/quickstart_report.html",
        "notebooks/labels/cluster_labels.json",
        "notebooks/ptbxl_model.pt",
        "notebooks/.ipynb_checkpoints/x.ipynb",
        "ecg_cluster_demo.html",
        "tlc_out/a.json",
        "model.pt",
        "artifacts/x.png",
    ]
    out = subprocess.run(["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True)
    assert sorted(out.stdout.split()) == sorted(paths)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_demo_script_leaves_the_checkout_clean(tmp_path):
    """``bash scripts/demo.sh`` as a user runs it: JupyterLab serves the demo folder's copy
    of the notebook, and nothing in the checkout changes (so test.sh can follow)."""
    nb = REPO / "notebooks" / "quickstart.ipynb"
    before = hashlib.sha256(nb.read_bytes()).hexdigest()
    status = _git("status", "--porcelain", "--", "notebooks") if (REPO / ".git").exists() else ""
    port, work = _free_port(), tmp_path / "demo"
    env = {
        **os.environ,
        "ECW_DEMO_DIR": str(work),
        "BROWSER": "true",
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
    }
    log = tmp_path / "demo.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            ["bash", "scripts/demo.sh", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline, token = time.time() + 420, None
        while time.time() < deadline and token is None:
            assert proc.poll() is None, log.read_text()[-3000:]
            m = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", log.read_text())
            token = m.group(1) if m else None
            time.sleep(1)
        assert token, f"JupyterLab did not start:\n{log.read_text()[-3000:]}"
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=30
        ) as r:
            listing = json.load(r)
        assert "quickstart.ipynb" in {c["name"] for c in listing["content"]}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    text = log.read_text()
    assert f"demo folder: {work.resolve()}" in text
    assert (work / "quickstart.ipynb").is_file()
    assert hashlib.sha256(nb.read_bytes()).hexdigest() == before
    assert not (REPO / "notebooks" / "quickstart_report.html").exists()
    if (REPO / ".git").exists():
        assert _git("status", "--porcelain", "--", "notebooks") == status


# -- README claims ------------------------------------------------------------------------------
def test_readme_marks_vs_code_untested():
    readme = (REPO / "README.md").read_text()
    assert "JupyterLab 4, Notebook 7 and VS Code, fully offline" not in readme
    vscode = [ln for ln in readme.splitlines() if "VS Code" in ln]
    assert vscode and all(
        "untested" in ln.lower() or "troubleshooting" in ln.lower() or "| VS Code" in ln
        for ln in vscode
    ), vscode
    assert "ECW_TORCH=cuda" in readme and "ECG_SHARED_DATA" in readme
    assert "~/ecg-cluster-widget-demo" in readme
