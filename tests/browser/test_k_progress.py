"""End-to-end: a K change that takes seconds shows progress, can be cancelled, and never
blocks browsing or labelling the ECG shown at its current K (headless Chromium, real
JupyterLab and kernel).

The notebook makes the explainer's "explain every ECG at K" take 6 s more, as it does on a
large dataset; everything else is the real computation.
"""

from __future__ import annotations

import time

import pytest

from .harness import SCREENSHOTS, wait_file, widget_cells, write_notebook
from .test_e2e import open_and_run

pytestmark = pytest.mark.browser

NB = "k_progress.ipynb"
SLOW_S = 6.0

# A K change on a large dataset takes seconds: here the real computation plus a pause.
SLOW = f"""
_explain_all = tlc.explain_all
def _slow_explain_all(*args, **kwargs):
    if kwargs.get("n_clusters") not in (None, tlc.n_clusters_):
        time.sleep({SLOW_S})
    return _explain_all(*args, **kwargs)
tlc.explain_all = _slow_explain_all
"""


@pytest.fixture(scope="module")
def slow(jupyter_server, browser):
    root = jupyter_server.root
    write_notebook(root / NB, widget_cells(40, "out_kprog", k=3, extra=SLOW))
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    open_and_run(page, jupyter_server, f"lab/workspaces/kprog/tree/{NB}")
    yield page, root / "out_kprog"
    page.close()


def k_shown(page) -> str:
    return page.locator(".ecw-root").get_attribute("data-k")


def test_long_k_change_shows_progress_and_keeps_the_current_k_usable(slow):
    page, out = slow
    root = page.locator(".ecw-root")
    root.focus()
    page.keyboard.press("+")
    job = page.locator(".ecw-kjob")
    job.wait_for(state="visible", timeout=3000)
    page.wait_for_function(
        "() => document.querySelector('.ecw-kjob-text').textContent.includes('clustering')",
        timeout=5000,
    )
    assert "K=4" in job.inner_text() and page.locator(".ecw-kjob-cancel").is_visible()
    root.screenshot(path=str(SCREENSHOTS / "kprog_running.png"))
    # the elapsed time ticks
    t1 = page.locator(".ecw-kjob-text").inner_text()
    page.wait_for_timeout(700)
    assert page.locator(".ecw-kjob-text").inner_text() != t1
    # browsing at the current K is answered while the new K is computed
    t0 = time.time()
    root.focus()
    page.keyboard.press("ArrowRight")
    doc = wait_file(out / "state.json", lambda d: d["index"] == 1, timeout=SLOW_S - 1)
    assert doc["n_clusters"] == 3 and time.time() - t0 < SLOW_S - 1
    page.wait_for_function(
        "() => document.querySelector('.ecw-root .ecw-index').value === '1'", timeout=3000
    )
    assert k_shown(page) == "3" and job.is_visible()
    # ... and so is labelling
    field = page.locator(".ecw-card").first.locator(".ecw-label-name")
    cid = page.locator(".ecw-card").first.get_attribute("data-cluster-id")
    field.fill("named while K changes")
    field.press("Enter")
    wait_file(
        out / "state.json",
        lambda d: d["labels"].get(cid, {}).get("name") == "named while K changes",
        timeout=SLOW_S - 1,
    )
    assert job.is_visible()
    # then the new K is drawn on the ECG the user moved to, and the progress goes away
    page.wait_for_function(
        "() => document.querySelector('.ecw-root').dataset.k === '4'", timeout=60_000
    )
    job.wait_for(state="hidden", timeout=5000)
    doc = wait_file(out / "state.json", lambda d: d["n_clusters"] == 4)
    assert doc["index"] == 1


def test_long_k_change_can_be_cancelled(slow):
    page, out = slow
    root = page.locator(".ecw-root")
    k0 = k_shown(page)
    root.focus()
    page.keyboard.press("+")
    page.locator(".ecw-kjob-cancel").wait_for(state="visible", timeout=3000)
    page.locator(".ecw-kjob-cancel").click()
    page.wait_for_function(
        "() => document.querySelector('.ecw-kjob').dataset.state === 'cancelled'", timeout=3000
    )
    assert "cancelled" in page.locator(".ecw-kjob").inner_text()
    root.screenshot(path=str(SCREENSHOTS / "kprog_cancelled.png"))
    # the computation would have ended by now: the K shown did not change
    page.wait_for_timeout((SLOW_S + 3) * 1000)
    assert k_shown(page) == k0
    assert page.evaluate("() => document.querySelector('.ecw-k').value") == k0
    # Esc cancels too (K+2: K+1 may have been computed by the cancelled job's last step)
    root.focus()
    page.keyboard.press("+")
    page.keyboard.press("+")
    page.locator(".ecw-kjob-cancel").wait_for(state="visible", timeout=3000)
    root.focus()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => document.querySelector('.ecw-kjob').dataset.state === 'cancelled'", timeout=3000
    )
    page.wait_for_timeout((SLOW_S + 3) * 1000)
    assert k_shown(page) == k0
