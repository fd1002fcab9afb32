"""The offline standalone export (`ClusterExplorer.to_html`) opened from file:// in Chromium."""

from __future__ import annotations

import pytest
import torch

from .harness import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_to_html_renders_offline_and_brushes(browser, tmp_path):
    from ecg_cluster_widget.data.standardize import Standardizer
    from ecg_cluster_widget.data.synthetic import make_synthetic
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.model.checkpoint import ModelBundle
    from ecg_cluster_widget.model.resnet1d import ResNet1d
    from ecg_cluster_widget.views.widget import ClusterExplorer

    torch.manual_seed(0)
    ds = make_synthetic(12, seed=2)
    net = ResNet1d(12, 5, filters=(12, 16, 20, 24), seq_lengths=(1000, 250, 125, 25))
    bundle = ModelBundle(
        net, ds.class_names, ds.lead_names, ds.fs, ds.n_samples, Standardizer().fit(ds)
    )
    tlc = TLCExplainer(
        bundle, n_clusters=3, n_components=8, max_fit_points=3000, progress=False
    ).fit(ds)
    w = ClusterExplorer(tlc, ds)
    w.cluster_labels = {str(w.record["cluster_ids"][0]): {"name": "TP baseline", "notes": ""}}
    path = w.to_html(tmp_path / "explorer.html")
    w.close()
    # Block every network request: the file must not need any.
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, offline=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector(".ecw-root[data-ready='1']", timeout=30_000)
    assert not errors, errors
    assert len(page.locator(".ecw-root").get_attribute("data-bands").split(",")) > 3
    assert "TP baseline" in page.locator(".ecw-card").first.inner_text()
    box = page.locator(".ecw-overlay").bounding_box()
    x0, x1, y = box["x"] + 64 + 100, box["x"] + 64 + 300, box["y"] + 40
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, y)
    page.mouse.move(x1, y)
    page.mouse.up()
    assert page.locator(".ecw-summary").get_attribute("data-state") == "filled"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "standalone.png"), full_page=True)
    context.close()
