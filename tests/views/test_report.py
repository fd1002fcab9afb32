"""Bokeh figures and standalone HTML reports, rendered in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from bokeh.layouts import column

from ecg_cluster_widget.errors import DataError, NotFittedError
from ecg_cluster_widget.views import dataset_figures, figures, tables
from ecg_cluster_widget.views.palette import PALETTE, cluster_color
from ecg_cluster_widget.views.report import write_html

REPO = Path(__file__).resolve().parents[2]


# Bokeh 3 renders into shadow roots, which innerText does not enter.
_DEEP_TEXT = """() => {
  const out = [];
  const walk = (node) => {
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) out.push(child.textContent);
      else walk(child);
    }
  };
  walk(document.body);
  return out.join(" ");
}"""


def render(browser, path: Path) -> dict:
    """Open ``path`` over file:// in headless Chromium; count Bokeh canvases, errors, requests."""
    errors: list[str] = []
    requests: list[str] = []
    page = browser.new_page()
    try:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.resolve().as_uri())
        page.wait_for_selector(".bk-Canvas", timeout=60_000)
        page.wait_for_timeout(500)
        n_canvas = page.locator(".bk-Canvas").count()
        text = page.evaluate(_DEEP_TEXT)
    finally:
        page.close()
    return {
        "canvases": n_canvas,
        "errors": errors,
        "external": [u for u in requests if u.startswith(("http:", "https:"))],
        "text": text,
    }


# -- palette --------------------------------------------------------------------------
def test_palette_matches_widget_js():
    js = (REPO / "js" / "palette.js").read_text()
    block = re.search(r"export const PALETTE = \[(.*?)\];", js, re.S)
    assert block, "js/palette.js no longer exports PALETTE"
    js_colors = [c.upper() for c in re.findall(r'"(#[0-9A-Fa-f]{6})"', block.group(1))]
    assert [c.upper() for c in PALETTE] == js_colors


def test_cluster_color_is_stable_and_wraps():
    assert cluster_color(3) == PALETTE[3]
    assert cluster_color(len(PALETTE) + 3) == PALETTE[3]
    assert cluster_color(-1) != PALETTE[0]


# -- figures from arrays ----------------------------------------------------------------
def test_ecg_figure_bands_use_stable_ids(rng):
    sig = rng.normal(size=(12, 300))
    lab = np.repeat([0, 1, 2], 100)
    fig = figures.ecg_figure(sig, 100.0, lab, [7, 2, 5], rng.uniform(size=300))
    quads = [
        r
        for child in fig.children
        for r in getattr(child, "renderers", [])
        if type(r.glyph).__name__ == "Quad"
    ]
    assert quads, "no cluster bands drawn"
    data = quads[0].data_source.data
    assert list(data["cluster_id"]) == [7, 2, 5]
    assert list(data["color"]) == [cluster_color(7), cluster_color(2), cluster_color(5)]
    assert data["left"][1] == pytest.approx(1.0)


def test_figure_input_errors(rng):
    with pytest.raises(DataError, match="time steps"):
        figures.ecg_figure(rng.normal(size=(12, 300)), 100.0, np.zeros(200, int), [0])
    with pytest.raises(DataError, match="3x4"):
        figures.ecg_figure(rng.normal(size=(2, 300)), 100.0, lead_names=["I", "II"], layout="3x4")
    with pytest.raises(DataError, match="layout"):
        figures.ecg_figure(rng.normal(size=(12, 300)), 100.0, layout="6x2")
    with pytest.raises(DataError, match="contingency"):
        dataset_figures.contingency_figure(np.ones((3, 2)), [0, 1, 2])
    with pytest.raises(DataError, match="proportions"):
        dataset_figures.proportions_figure(np.ones((4, 3)), [0, 1])


def test_class_means_average_positive_records():
    prop = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    labels = np.array([[1, 0], [0, 1], [1, 1]])
    names, m = dataset_figures.class_means(prop, labels, ["NORM", "MI"])
    assert names == ["all", "NORM", "MI"]
    np.testing.assert_allclose(m[1], [0.75, 0.25])
    np.testing.assert_allclose(m[2], [0.25, 0.75])


def test_metrics_table_flattens_nested_scalars():
    rows = dict(tables.flatten_metrics({"rf": {"fidelity": 0.949, "auroc": float("nan")}, "k": 6}))
    assert rows == {"rf.fidelity": "0.949", "rf.auroc": "n/a", "k": "6"}


@pytest.mark.slow
def test_array_figures_render_offline(tmp_path, rng, browser):
    """Every figure builder renders in a browser from a file:// page with no network."""
    sig = rng.normal(size=(12, 1000)).cumsum(axis=1) * 0.01
    lab = np.repeat(np.arange(5), 200)
    ent = rng.uniform(size=1000)
    layout = column(
        figures.ecg_figure(sig, 100.0, lab, [3, 1, 4, 7, 9], ent, layout="3x4"),
        figures.ecg_figure(sig, 100.0, lab, [3, 1, 4, 7, 9], ent, gradcam=ent[::-1]),
        figures.prototypes_figure(
            np.zeros((3, 12, 40)), -np.ones((3, 12, 40)), np.ones((3, 12, 40)), [0, 1, 2], 100.0
        ),
        dataset_figures.proportions_figure(
            rng.dirichlet(np.ones(3), size=20), [0, 1, 2], rng.integers(0, 2, (20, 2)), ["A", "B"]
        ),
        tables.metrics_table({"fidelity": 0.95}),
        dataset_figures.contingency_figure(rng.integers(0, 50, (3, 4)), [0, 1, 2]),
        dataset_figures.entropy_hist_figure(rng.uniform(size=(3, 10)), [0, 1, 2]),
    )
    path = write_html(layout, tmp_path / "figs.html", "figures")
    html = path.read_text()
    assert "cdn.bokeh.org" not in html and '<script src="http' not in html
    out = render(browser, path)
    # 12 (3x4) + 1 ribbon + 12 (12x1) + 1 ribbon + 3 prototypes + bars + heat map + hist
    assert out["canvases"] >= 32
    assert out["errors"] == []
    assert out["external"] == []
    assert "fidelity" in out["text"]


# -- full report from a fitted explainer --------------------------------------------------
@pytest.fixture(scope="module")
def demo_fit():
    from ecg_cluster_widget.demo import demo_explainer

    return demo_explainer(n_clusters=4, n_records=80)


@pytest.mark.slow
def test_make_report_renders(tmp_path, demo_fit, browser):
    from ecg_cluster_widget.views.report import make_report

    tlc, ds, bundle = demo_fit
    path = make_report(
        tlc,
        ds,
        tmp_path / "sub" / "report.html",
        indices=[0, 5],
        bundle=bundle,
        evaluation={"faithfulness": {"fidelity": 0.91}},
        title="Test report",
    )
    assert path.is_file()
    assert not list(path.parent.glob("*.tmp")), "atomic write left a temp file"
    out = render(browser, path)
    assert out["errors"] == [] and out["external"] == []
    assert out["canvases"] >= 2 * (ds.n_leads + 1) + tlc.n_clusters + 1
    text = out["text"]
    assert "Test report" in text and "fidelity" in text
    # Where the clusters' configuration came from, and the Grad-CAM layer, in words.
    assert "Clusters from the model's recommended options:" in text
    assert ", ".join(tlc.layers_) in text
    assert "Grad-CAM of layer 'blocks." in text
    # the widget's numbers, 1..K, whatever the stable ids
    for number in range(1, tlc.n_clusters + 1):
        assert f"cluster {number}" in text
    assert f"cluster {tlc.n_clusters + 1}" not in text


def test_make_report_bad_input(tmp_path, demo_fit):
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.views.report import make_report

    tlc, ds, bundle = demo_fit
    with pytest.raises(DataError, match="out of range"):
        make_report(tlc, ds, tmp_path / "r.html", indices=[len(ds) + 3])
    with pytest.raises(NotFittedError):
        make_report(TLCExplainer(bundle, n_clusters=3), ds, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()
