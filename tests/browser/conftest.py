"""Fixtures for the end-to-end tests: one Jupyter server and one Chromium per session."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from .harness import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, JupyterServer


@pytest.fixture(scope="session")
def jupyter_server():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent; browser tests need Debian's chromium")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    tmp = Path(tempfile.mkdtemp(prefix="ecw-e2e-"))
    server = JupyterServer(tmp / "root").start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent; browser tests need Debian's chromium")
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
