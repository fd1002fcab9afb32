"""Real Jupyter server + headless Chromium for the end-to-end tests and the benchmark.

The server runs on 127.0.0.1 with a random token in a temporary root folder, using the
venv's python; the app object is exposed in the page so tests can run all cells.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

#: Under CI (``CI=true``) a missing tool fails the tests instead of skipping them.
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"


def importable(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def need(ok: bool, what: str, how: str) -> None:
    """Skip the test locally, or fail it under CI, when a tool (``what``) is missing."""
    import pytest

    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {what}; {how}", pytrace=False)
    pytest.skip(f"{what}; to run these tests: {how}")


def need_browser_tools(jupyter: bool = False) -> None:
    """Chromium and Playwright (and JupyterLab) must be there: skip locally, fail under CI."""
    setup = ".venv/bin/pip install -e '.[dev]' (or bash scripts/setup.sh)"
    need(
        Path(CHROMIUM).exists(),
        f"{CHROMIUM} is absent",
        "install Debian's chromium (sudo apt-get install chromium, or bash scripts/setup.sh as root)",
    )
    need(importable("playwright.sync_api"), "the playwright package is missing", setup)
    if jupyter:
        need(importable("jupyterlab"), "jupyterlab is missing", setup)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """``jupyter lab`` (which also serves Notebook 7 under /notebooks) in a temp root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = self.root.parent / "jupyter.log"

    def start(self, timeout: float = 90.0) -> JupyterServer:
        self.root.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        cfg = self.root.parent / "jcfg"
        # Private settings/workspaces so a developer's own Lab state cannot leak in.
        env.update(
            JUPYTERLAB_SETTINGS_DIR=str(cfg / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(cfg / "workspaces"),
            JUPYTER_CONFIG_DIR=str(cfg / "config"),
            PYTHONUNBUFFERED="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
        )
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--allow-root",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-browser",
            f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        self.logfh = open(self.log, "w")
        self.proc = subprocess.Popen(
            cmd,
            stdout=self.logfh,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(self.root),
            start_new_session=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(
                    f"{self.base}/api/status?token={self.token}", timeout=2
                ):
                    return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"jupyter lab did not start in {timeout}s:\n{self.log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
        self.logfh.close()

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"


def write_notebook(path: Path, cells: list[str]) -> Path:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))
    return path


def widget_cells(n_records: int, out_dir: str, k: int = 3, extra: str = "") -> list[str]:
    """Notebook cells building a ClusterExplorer on synthetic ECGs and the shipped demo model;
    the kernel mirrors the traits the browser changes into out_dir/state.json so the test can
    read them back. There is no fallback model: if ``load_demo_model()`` fails, the first
    cell raises and the test fails."""
    setup = f"""
import pathlib, time, torch
torch.set_num_threads(1)
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.data.io_utils import atomic_write_json
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget import ClusterExplorer
OUT = pathlib.Path({out_dir!r}); OUT.mkdir(exist_ok=True)
ds = make_synthetic({n_records}, seed=1)
# The shipped model, never a stand-in: a broken load_demo_model() must fail the tests.
from ecg_cluster_widget.model.pretrained import load_demo_model
bundle = load_demo_model()
MODEL = "demo"
t0 = time.perf_counter()
tlc = TLCExplainer(bundle, n_clusters={k}, n_components=8, max_fit_points=8000, progress=False).fit(ds)
FIT_S = time.perf_counter() - t0
"""
    show = f"""
w = ClusterExplorer(tlc, ds, k_range=(2, 8), labels_path=str(OUT / "labels.json"), progress=False)
def _dump(_=None):
    atomic_write_json(OUT / "state.json", {{
        "selection": w.selection, "summary": w.selection_summary, "n_clusters": w.n_clusters,
        "response_id": w.response_id, "labels": w.cluster_labels, "index": w.index,
        "view_range": w.view_range, "highlight": w.highlight_cluster,
        "cluster_ids": w.record["cluster_ids"],
        "model": MODEL, "fit_s": FIT_S, "t": time.time()}})
w.observe(_dump, names=["selection", "response_id", "cluster_labels", "view_range", "highlight_cluster"])
_dump()
{extra}
w
"""
    return [setup, show]


#: True once JupyterLab shows the notebook ``name`` with its kernel idle.
APP_READY = """(name) => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && w.content && w.content.widgets && w.content.widgets.length
            && w.context && w.context.path.endsWith(name));
}"""


def wait_file(path: Path, pred, timeout: float = 60.0):
    """Poll a JSON file the kernel writes until ``pred(doc)`` holds."""
    deadline = time.time() + timeout
    doc = None
    while time.time() < deadline:
        try:
            doc = json.loads(path.read_text())
            if pred(doc):
                return doc
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting on {path}; last content: {doc}")
