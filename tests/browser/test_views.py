"""End-to-end: DatasetView linked to a ClusterExplorer, and CompareView, in JupyterLab.

A real kernel runs the notebook, Chromium renders the bundles, pointer events go
through the front end, and the kernel mirrors what it receives into ``out/state.json``
(read back here), so every check crosses the whole stack in both directions.
"""

from __future__ import annotations

import json
from functools import partial

import pytest

from . import harness
from .harness import APP_READY, SCREENSHOTS, write_notebook

pytestmark = pytest.mark.browser


# Run code in the notebook's kernel (as a user typing in a new cell would).
KERNEL_EXEC = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  await k.requestExecute({ code }).done;
  return true;
}"""

# Distinct colours on the scatter canvas (a blank or one-colour canvas has 1 or 2).
SCATTER_COLOURS = """() => {
  const c = document.querySelector('.edv-root .edv-base');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  let ink = 0;
  for (let i = 0; i < d.length; i += 4) {
    const v = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    seen.add(v);
    if (v !== 0xffffff) ink++;
  }
  return { colours: seen.size, ink };
}"""

CELLS = [
    """
import pathlib, time, torch
torch.set_num_threads(1)
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.data.io_utils import atomic_write_json
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.model.pretrained import load_demo_model
from ecg_cluster_widget.views.widget import ClusterExplorer
from ecg_cluster_widget.views.dataset_view import DatasetView
from ecg_cluster_widget.views.compare_view import CompareView
OUT = pathlib.Path("out_views"); OUT.mkdir(exist_ok=True)
ds = make_synthetic(150, seed=1)
tlc = TLCExplainer(load_demo_model(), n_clusters=3, n_components=8, max_fit_points=8000,
                   progress=False).fit(ds)
w = ClusterExplorer(tlc, ds, k_range=(2, 6), progress=False, static_fallback=False)
v = DatasetView(tlc, ds, explorer=w, height=360)
c = CompareView.from_edit(tlc, ds, 0, edit="invert_t")
def _dump(_=None):
    atomic_write_json(OUT / "state.json", {
        "current": v.current, "brush": v.brush, "selection": v.selection,
        "summary": v.selection_summary, "w_index": w.index,
        "w_record": w.record.get("index"), "color_by": v.color_by,
        "changed": c.changed, "pred_a": c.pred_a, "pred_b": c.pred_b, "t": time.time()})
v.observe(_dump, names=["current", "brush", "color_by"])
w.observe(_dump, names=["index", "response_id"])
_dump()
""",
    "v",
    "w",
    "c",
]


# The views notebook writes its state less often than the explorer one: a longer wait.
wait_file = partial(harness.wait_file, timeout=90.0)


@pytest.fixture(scope="module")
def views(jupyter_server, browser):
    root = jupyter_server.root
    write_notebook(root / "views.ipynb", CELLS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(jupyter_server.url("lab/workspaces/views/tree/views.ipynb"))
    page.wait_for_function(APP_READY, arg="views.ipynb", timeout=240_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    no = page.locator(".jp-toast-button:has-text('No')")
    if no.count():
        no.first.click()
    for sel in (".edv-root[data-ready='1']", ".ecv-root[data-ready='1']"):
        page.wait_for_selector(sel, timeout=240_000)
    yield page, root / "out_views", errors
    page.close()


def test_scatter_renders_every_record(views):
    page, out, errors = views
    root = page.locator(".edv-root")
    assert root.get_attribute("data-n-points") == "150"
    stats = page.evaluate(SCATTER_COLOURS)
    assert stats["colours"] > 3 and stats["ink"] > 150, stats
    # 150 records: points sized to be seen and hit (they were 3-4 px whatever the count)
    assert float(root.get_attribute("data-point-size")) >= 8
    assert page.locator(".edv-legend .edv-chip").count() >= 2  # class legend
    assert not [e for e in errors if "edv" in e or "ecv" in e], errors
    root.screenshot(path=str(SCREENSHOTS / "dataset_view.png"))


def test_click_a_point_opens_it_in_the_explorer(views):
    page, out, _ = views
    over = page.locator(".edv-root .edv-overlay")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    target = 42
    x, y = page.evaluate(f"() => document.querySelector('.edv-root').__edv.pointXY({target})")
    page.mouse.click(box["x"] + x, box["y"] + y)
    doc = wait_file(out / "state.json", lambda d: d["w_record"] == d["current"] != 0)
    # Points can overlap: the click picks the one drawn under the pointer, which must be
    # where the target is drawn.
    got = doc["current"]
    gx, gy = page.evaluate(f"() => document.querySelector('.edv-root').__edv.pointXY({got})")
    assert abs(gx - x) <= 9 and abs(gy - y) <= 9
    assert doc["w_index"] == got
    assert page.locator(".edv-root").get_attribute("data-current") == str(got)


def test_explorer_navigation_moves_the_highlight(views):
    page, out, _ = views
    page.evaluate(KERNEL_EXEC, "w.show(17)")
    wait_file(out / "state.json", lambda d: d["w_record"] == 17)
    page.wait_for_function(
        "() => document.querySelector('.edv-root').dataset.current === '17'", timeout=30_000
    )


def test_brush_summarises_the_group_in_browser_and_kernel(views):
    page, out, _ = views
    over = page.locator(".edv-root .edv-overlay")
    box = over.bounding_box()
    x0, y0 = box["x"] + 0.05 * box["width"], box["y"] + 0.05 * box["height"]
    x1, y1 = box["x"] + 0.6 * box["width"], box["y"] + 0.95 * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10)
    page.mouse.up()
    doc = wait_file(out / "state.json", lambda d: len(d["brush"]) == 4)
    n_kernel = len(doc["selection"])
    root = page.locator(".edv-root")
    assert int(root.get_attribute("data-brushed")) == n_kernel > 0
    summary = page.locator(".edv-summary")
    assert summary.get_attribute("data-state") == "filled"
    assert f"{n_kernel} of 150" in summary.inner_text()
    assert page.locator(".edv-clusters .edv-row").count() == 3
    mix = doc["summary"]["cluster_mix"]
    assert abs(sum(mix.values()) - 1) < 1e-6
    root.screenshot(path=str(SCREENSHOTS / "dataset_view_brush.png"))
    root.focus()
    page.keyboard.press("Escape")
    wait_file(out / "state.json", lambda d: d["brush"] == [])
    assert summary.get_attribute("data-state") == "empty"


def test_color_by_menu_reaches_the_kernel(views):
    page, out, _ = views
    page.locator(".edv-root select.edv-color").select_option("entropy")
    wait_file(out / "state.json", lambda d: d["color_by"] == "entropy")
    page.wait_for_selector(".edv-legend .edv-ramp", timeout=30_000)


def test_compare_view_marks_changes_and_shows_both_predictions(views):
    page, out, errors = views
    doc = json.loads((out / "state.json").read_text())
    root = page.locator(".ecv-root")
    root.scroll_into_view_if_needed()
    assert root.get_attribute("data-changed-runs") == str(len(doc["changed"]))
    assert len(doc["changed"]) > 0
    assert page.locator(".ecv-a .ecv-cls").count() == len(doc["pred_a"])
    assert page.locator(".ecv-b .ecv-cls").count() == len(doc["pred_b"])
    assert "Tinv" in page.locator(".ecv-b .ecv-title").inner_text()
    assert "cluster changed at" in page.locator(".ecv-changed").inner_text()
    box = page.locator(".ecv-root .ecv-overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 60)
    assert int(root.get_attribute("data-hover-sample")) > 0
    assert not [e for e in errors if "ecv" in e], errors
    root.screenshot(path=str(SCREENSHOTS / "compare_view.png"))


def test_dataset_view_numbers_clusters_as_the_explorer(views):
    page, _, _ = views
    legend = {
        b.get_attribute("data-cluster-id"): b.get_attribute("data-num")
        for b in page.locator(".ecw-root .ecw-legend-item").all()
    }
    options = page.evaluate(
        """() => [...document.querySelectorAll('.edv-color option')]
             .filter((o) => o.value.startsWith('cluster:')).map((o) => [o.value.slice(8), o.text])"""
    )
    assert options and len(options) == len(legend), (options, legend)
    for cid, text in options:
        assert text.startswith(f"share of {legend[cid]} ") or text == (
            f"share of cluster {legend[cid]}"
        ), (cid, text, legend)
