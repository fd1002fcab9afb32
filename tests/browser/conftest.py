"""Fixtures for the end-to-end tests: one Jupyter server and one Chromium per session."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from .harness import CHROMIUM, SCREENSHOTS, JupyterServer


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
def browser(browser):
    # The session's Chromium comes from tests/conftest.py; here we only make sure the
    # screenshot folder exists.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return browser
