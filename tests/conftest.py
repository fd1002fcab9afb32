"""Shared fixtures, and the rule that CI cannot pass by skipping.

Real data (a PTB-XL subset and LUDB, which this repository does not ship) come from the
folder named by the environment variable ``ECG_SHARED_DATA`` (with ``ptbxl_subset/`` and
``ludb/`` inside), else ``../shared/data`` next to the checkout; real-data tests skip
when it is absent, also under CI.

Every other skip is a failure when ``CI`` is set (``CI=true``, as ``.ci/run`` runs),
except one for hardware the CI machine may lack (a reason starting ``no CUDA GPU``): a
missing Chromium, node, esbuild or Playwright must not turn the browser and JS tests
into a green run that tested nothing. Locally those tests skip and say how to enable them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from browser.harness import CHROMIUM, CHROMIUM_ARGS, IN_CI, need_browser_tools

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ECG_SHARED_DATA") or REPO.parent / "shared" / "data")
#: Skip reasons that start with this are allowed under CI (the data are not public).
DATA_ABSENT = "real data absent"
#: All skip reasons (prefixes) allowed under CI: absent real data, absent hardware.
CI_ALLOWED_SKIPS = (DATA_ABSENT, "no CUDA GPU")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not IN_CI or not rep.skipped or hasattr(rep, "wasxfail"):
        return
    reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
    if reason.removeprefix("Skipped: ").startswith(CI_ALLOWED_SKIPS):
        return
    rep.outcome = "failed"
    rep.longrepr = (
        f"CI=true: skipping is not allowed here ({reason}). Install what the test "
        f"needs, or run without CI set to allow the skip."
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"{DATA_ABSENT}: no folder {SHARED_DATA}; set ECG_SHARED_DATA to a folder "
            "with ptbxl_subset/ and ludb/"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def ptbxl_root(shared_data: Path) -> Path:
    root = shared_data / "ptbxl_subset"
    if not (root / "ptbxl_database.csv").is_file():
        pytest.skip(f"{DATA_ABSENT}: {root} has no ptbxl_database.csv")
    return root


@pytest.fixture(scope="session")
def ludb_root(shared_data: Path) -> Path:
    root = shared_data / "ludb"
    if not root.is_dir():
        pytest.skip(f"{DATA_ABSENT}: no folder {root}")
    return root


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session.

    Playwright's sync API runs its own event loop; a second ``sync_playwright()`` while one
    is alive fails, so every test that needs a browser shares this one.
    """
    need_browser_tools()
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
