"""Fixtures for the end-to-end tests: one Jupyter server and one Chromium per session."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from .harness import SCREENSHOTS, JupyterServer, need_browser_tools


@pytest.fixture(scope="session")
def jupyter_server():
    # Skipped locally when a tool is missing; a failure under CI=true (tests/conftest.py).
    need_browser_tools(jupyter=True)
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
