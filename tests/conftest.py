"""Shared fixtures. Real-data tests skip cleanly when ../shared/data is absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ECG_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ptbxl_root(shared_data: Path) -> Path:
    root = shared_data / "ptbxl_subset"
    if not (root / "ptbxl_database.csv").is_file():
        pytest.skip("ptbxl_subset is absent")
    return root


@pytest.fixture(scope="session")
def ludb_root(shared_data: Path) -> Path:
    root = shared_data / "ludb"
    if not root.is_dir():
        pytest.skip("ludb is absent")
    return root


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session.

    Playwright's sync API runs its own event loop; a second ``sync_playwright()`` while one
    is alive fails, so every test that needs a browser shares this one.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent; browser tests need Debian's chromium")
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
