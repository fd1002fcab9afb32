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


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
