"""End-to-end: the teaching notebook's Bokeh figures fit the notebook's width (headless
Chromium, real JupyterLab and kernel, the notebook run with ECW_FAST=1)."""

from __future__ import annotations

import json

import pytest

from .harness import APP_READY, REPO, SCREENSHOTS

pytestmark = pytest.mark.browser

# Right edge of every Bokeh canvas and of the output area holding it (locators would pierce
# Bokeh's shadow roots too; here the walk does it by hand to pair each with its output).
FIGURES = """() => {
  const out = [];
  const walk = (node, area) => {
    for (const el of node.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS' && el.closest && el.getRootNode() !== document) {
        const r = el.getBoundingClientRect();
        if (r.width > 50) out.push({ right: r.right, left: r.left, w: r.width, area });
      }
      if (el.shadowRoot) walk(el.shadowRoot, area);
    }
  };
  for (const a of document.querySelectorAll('.jp-OutputArea-output')) {
    const r = a.getBoundingClientRect();
    walk(a, { left: r.left, right: r.right });
  }
  return out;
}"""


def test_teaching_bokeh_figures_fit_the_notebook(jupyter_server, browser):
    nb = json.loads((REPO / "notebooks" / "teaching.ipynb").read_text())
    fast = "import os\nos.environ['ECW_FAST'] = '1'\nos.environ['TQDM_DISABLE'] = '1'"
    nb["cells"].insert(
        0,
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "fast",
            "metadata": {},
            "outputs": [],
            "source": fast,
        },
    )
    (jupyter_server.root / "teaching_fast.ipynb").write_text(json.dumps(nb))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(jupyter_server.url("lab/workspaces/teach/tree/teaching_fast.ipynb"))
    page.wait_for_function(APP_READY, arg="teaching_fast.ipynb", timeout=240_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # done when the kernel is idle again and every code cell has run
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
           const k = w.sessionContext.session.kernel;
           const cells = w.content.widgets.filter((c) => c.model.type === 'code');
           return k.status === 'idle' && cells.every((c) => c.model.executionCount); }""",
        timeout=600_000,
    )
    page.wait_for_timeout(3000)  # Bokeh lays its figures out after the output arrives
    figs = page.evaluate(FIGURES)
    # the prototypes grid (6 panels) and the three Grad-CAM panels at least
    assert len(figs) >= 9, figs
    wide = [f for f in figs if f["right"] > f["area"]["right"] + 1]
    page.screenshot(path=str(SCREENSHOTS / "teaching_layout.png"), full_page=True)
    page.close()
    assert not wide, f"{len(wide)} Bokeh panels reach past the notebook's width: {wide[:3]}"
