"""The marimo quickstart (notebooks/quickstart_marimo.py) served by ``marimo run`` and driven
by headless Chromium: the ClusterExplorer renders through marimo's own anywidget support,
and a key press goes to Python and back.

The server runs headless on 127.0.0.1 with no update check and private config folders;
the page may reach nothing but that server.

marimo's front end applies the traits of one comm update one at a time, firing each
``change:<name>`` as it goes (ipywidgets' Backbone models set them all first), and
ipywidgets lists a batch's traits in set order, which depends on the string hash seed.
``PYTHONHASHSEED`` is pinned so the test is deterministic; with seed 0, ``response_id``
arrives before ``n_clusters``, which is the order that shows whether the front end waits
for the whole update before drawing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from .harness import REPO, SCREENSHOTS, free_port, importable, need, need_browser_tools

pytestmark = pytest.mark.browser

APP = REPO / "notebooks" / "quickstart_marimo.py"

# Pixel statistics of the ECG canvas (an element handle: marimo may render the widget
# inside a shadow root, which document.querySelector does not enter).
CANVAS_STATS = """(c, palette) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set(); const hits = new Set();
  const pal = palette.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  for (let i = 0; i < d.length; i += 4 * 7) {
    seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    pal.forEach((p, j) => {
      if (Math.abs(p[0] - d[i]) < 3 && Math.abs(p[1] - d[i + 1]) < 3 && Math.abs(p[2] - d[i + 2]) < 3) hits.add(j);
    });
  }
  return { colours: seen.size, palette_hits: hits.size };
}"""


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory):
    need_browser_tools()
    need(
        importable("marimo"),
        "marimo is missing",
        ".venv/bin/pip install -e '.[dev]' (or bash scripts/setup.sh)",
    )
    tmp = tmp_path_factory.mktemp("marimo")
    port = free_port()
    env = dict(os.environ)
    env.update(
        ECW_FAST="1",
        PYTHONHASHSEED="0",
        TQDM_DISABLE="1",
        # No request to PyPI for a newer marimo, and no developer's marimo settings.
        MARIMO_SKIP_UPDATE_CHECK="1",
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    log = tmp / "marimo.log"
    cmd = [
        sys.executable,
        "-m",
        "marimo",
        "run",
        str(APP),
        "--headless",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-sandbox",
    ]
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(tmp),
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"marimo run exited early:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/", timeout=2):
                    break
            except OSError:
                if time.time() > deadline:
                    pytest.fail(f"marimo run did not start in 120 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield base, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def _page(browser, base: str, log: Path):
    """A page on the app that may reach only the marimo server; fails on widget errors."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def only_local(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    try:
        page.goto(base)
        # The app runs its cells when the page connects: demo data, model, fit.
        page.wait_for_selector(".ecw-root[data-ready='1']", timeout=240_000)
        yield page
    finally:
        page.close()
    assert not outside, f"the page tried to reach beyond the marimo server: {outside}"
    widget_errors = [e for e in errors if "ecw" in e or "widget" in e.lower() or "decode" in e]
    assert not widget_errors, (widget_errors, log.read_text()[-2000:])


def test_marimo_renders_the_explorer(marimo_app, browser):
    from ecg_cluster_widget.views.palette import PALETTE

    base, log = marimo_app
    with _page(browser, base, log) as page:
        root = page.locator(".ecw-root")
        canvas = page.locator(".ecw-canvas")
        assert canvas.bounding_box()["height"] > 300
        stats = canvas.evaluate(CANVAS_STATS, list(PALETTE))
        assert stats["colours"] > 20 and stats["palette_hits"] >= 2, stats
        assert len(root.get_attribute("data-bands").split(",")) > 3  # segments on a 10 s ECG
        assert root.get_attribute("data-k") == "6"
        assert page.locator(".ecw-card").count() == 6
        assert "K=6" in page.locator(".ecw-status").inner_text()
        # The reactive cell read the widget's state from Python.
        page.locator("text=K = 6,").wait_for(timeout=60_000)
        root.screenshot(path=str(SCREENSHOTS / "marimo_initial.png"))


def test_marimo_k_key_redraws_the_bands(marimo_app, browser):
    base, log = marimo_app
    with _page(browser, base, log) as page:
        root = page.locator(".ecw-root")
        bands = root.get_attribute("data-bands")
        # '+' asks Python for K=7 (a request trait set by the browser); Python's answer
        # (status, n_clusters, bands) comes back through marimo's comm.
        root.focus()
        page.keyboard.press("+")
        page.wait_for_function(
            "(el) => el.textContent.includes('K=7')",
            arg=page.locator(".ecw-status").element_handle(),
            timeout=180_000,
        )
        # Python has answered; the drawing must now show K=7 (not the bands of K=6).
        page.wait_for_function(
            "(el) => el.dataset.k === '7'", arg=root.element_handle(), timeout=30_000
        )
        assert root.get_attribute("data-bands") != bands
        assert page.locator(".ecw-card").count() == 7
        root.screenshot(path=str(SCREENSHOTS / "marimo_k7.png"))
