"""End-to-end: after Run All of the quickstart in JupyterLab no progress bar is left
unfinished or red (headless Chromium, real JupyterLab and kernel, ECW_FAST=1)."""

from __future__ import annotations

import json

import pytest

from .harness import APP_READY, REPO, SCREENSHOTS

pytestmark = pytest.mark.browser

# Every ipywidgets progress bar on the page: its fill and whether it is drawn as failed.
BARS = """() => [...document.querySelectorAll('.widget-hprogress, .widget-vprogress')].map((w) => {
  const bar = w.querySelector('.progress-bar');
  const box = w.querySelector('.progress');
  const label = w.closest('.widget-hbox') ? w.closest('.widget-hbox').innerText : '';
  return { label, visible: w.offsetParent !== null,
           fill: bar && box ? bar.getBoundingClientRect().width / Math.max(1, box.getBoundingClientRect().width) : 1,
           danger: !!(bar && (bar.classList.contains('progress-bar-danger')
                              || getComputedStyle(bar).backgroundColor.replace(/\\s/g, '') === 'rgb(244,67,54)')) };
})"""


def test_no_progress_bar_left_unfinished_or_red_after_run_all(jupyter_server, browser):
    nb = json.loads((REPO / "notebooks" / "quickstart.ipynb").read_text())
    fast = "import os\nos.environ['ECW_FAST'] = '1'"
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "fast",
        "metadata": {},
        "outputs": [],
        "source": fast,
    }
    nb["cells"].insert(0, cell)
    (jupyter_server.root / "quickstart_bars.ipynb").write_text(json.dumps(nb))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(jupyter_server.url("lab/workspaces/bars/tree/quickstart_bars.ipynb"))
    page.wait_for_function(APP_READY, arg="quickstart_bars.ipynb", timeout=240_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
           const k = w.sessionContext.session.kernel;
           const cells = w.content.widgets.filter((c) => c.model.type === 'code');
           return k.status === 'idle' && cells.every((c) => c.model.executionCount); }""",
        timeout=600_000,
    )
    page.wait_for_timeout(2000)
    # JupyterLab draws only the cells in view: scroll through the notebook, top to bottom,
    # and collect the bars of every stretch.
    bars = []
    scroller = ".jp-NotebookPanel .jp-WindowedPanel-outer"
    page.evaluate(f"() => document.querySelector('{scroller}').scrollTo(0, 0)")
    for _ in range(200):
        page.wait_for_timeout(150)
        bars += page.evaluate(BARS)
        done = page.evaluate(
            f"""() => {{ const s = document.querySelector('{scroller}');
                const end = s.scrollTop + s.clientHeight >= s.scrollHeight - 2;
                s.scrollBy(0, s.clientHeight * 0.8); return end; }}"""
        )
        if done:
            break
    bad = [b for b in bars if b["visible"] and (b["danger"] or b["fill"] < 0.999)]
    page.screenshot(path=str(SCREENSHOTS / "quickstart_bars.png"))
    page.close()
    assert not bad, f"progress bars left unfinished or red: {bad}"
