"""Standalone HTML exports stay intact whatever text a label holds (issue 9 §4).

A label such as ``<!--<script>`` inside the page's ``<script>`` element switches the HTML
parser into its "script data escaped" state: the closing ``</script>`` is swallowed and
the exported page stays blank. The exports must escape it.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from ecg_cluster_widget.data.standardize import Standardizer
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.model.checkpoint import ModelBundle
from ecg_cluster_widget.model.resnet1d import ResNet1d
from ecg_cluster_widget.views.report import script_json
from ecg_cluster_widget.views.widget import ClusterExplorer

HOSTILE = "<!--<script>"
NAMES = [HOSTILE, "</script><b>x</b>", "a & b > c", "line\u2028break"]


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    ds = make_synthetic(12, seed=5)
    net = ResNet1d(12, len(ds.class_names), filters=(8, 8, 8, 8), seq_lengths=(1000, 250, 125, 25))
    bundle = ModelBundle(
        net, ds.class_names, ds.lead_names, ds.fs, ds.n_samples, Standardizer().fit(ds)
    )
    tlc = TLCExplainer(bundle, n_clusters=3, n_components=4, max_fit_points=3000, progress=False)
    tlc.fit(ds)
    return ds, bundle, tlc


@pytest.fixture
def hostile_page(fitted, tmp_path):
    ds, _, tlc = fitted
    w = ClusterExplorer(tlc, ds, k_range=(2, 4))
    try:
        ids = [int(c) for c in tlc.cluster_ids_]
        w.cluster_labels = {
            ids[0]: {"name": HOSTILE, "notes": NAMES[1]},
            ids[1]: NAMES[2],
            ids[2]: NAMES[3],
        }
        path = w.to_html(tmp_path / "view.html", title=f"title {HOSTILE}")
        labels = dict(w.cluster_labels)
    finally:
        w.close()
    return path, labels


def _module_script(page: str) -> str:
    start = page.index('<script type="module">') + len('<script type="module">')
    return page[start : page.rindex("</script>")]


def test_script_json_escapes_markup():
    text = script_json({"names": NAMES})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"names": NAMES}


def test_widget_html_export_survives_hostile_labels(hostile_page):
    path, labels = hostile_page
    page = path.read_text(encoding="utf-8")
    script = _module_script(page)
    # Nothing inside the script element can open a comment or a script, or close it.
    for token in ("<!--", "<script", "</script", "</"):
        assert token not in script, token
    assert page.count("</script>") == 1 and page.rstrip().endswith("</html>")
    assert "<title>title &lt;!--&lt;script&gt;</title>" in page
    # The labels survive exactly.
    state = json.loads(re.search(r"const state = (.*);\n", script).group(1))
    assert state["cluster_labels"] == labels
    assert {v["name"] for v in labels.values()} == {HOSTILE, NAMES[2], NAMES[3]}


@pytest.mark.browser
def test_widget_html_export_renders_with_hostile_labels(hostile_page, browser):
    path, _ = hostile_page
    errors: list[str] = []
    page = browser.new_page()
    try:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.resolve().as_uri())
        page.wait_for_function(
            "() => document.getElementById('ecw-host') && "
            "document.getElementById('ecw-host').querySelector('svg, canvas')",
            timeout=60_000,
        )
        text = page.evaluate("() => document.getElementById('ecw-host').innerText")
    finally:
        page.close()
    assert errors == []
    assert HOSTILE in text


def test_report_html_escapes_hostile_text(fitted, tmp_path):
    from ecg_cluster_widget.views.report import make_report

    ds, _, tlc = fitted
    odd = ds.copy(record_ids=tuple(f"{HOSTILE}{i}" for i in range(len(ds))))
    page = make_report(
        tlc, odd, tmp_path / "r.html", indices=[0], title=f"report {HOSTILE}"
    ).read_text(encoding="utf-8")
    assert HOSTILE not in page  # every occurrence is escaped
    assert page.rstrip().endswith("</html>")
    assert np.isfinite(odd.signals).all()
