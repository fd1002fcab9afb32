"""DatasetView and the proportions embedding: traits, colourings, brushing, linking.

They run the real engine (the shipped demo model on synthetic ECGs); what the browser
does is reproduced by setting the traits the front end sets (``brush``, ``current``,
``color_by``). The scatter's front-end logic is unit-tested under node
(js/test/views.test.js) and in a real browser (tests/browser/test_views.py).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, ModelError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.embedding import embed_proportions
from ecg_cluster_widget.model.pretrained import load_demo_model
from ecg_cluster_widget.views.dataset_view import DatasetView, class_codes
from ecg_cluster_widget.views.widget import ClusterExplorer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    ds = make_synthetic(40, seed=4)
    bundle = load_demo_model()
    tlc = TLCExplainer(bundle, n_clusters=4, n_components=8, max_fit_points=6000, progress=False)
    tlc.fit(ds)
    return ds, bundle, tlc


# -- embedding -------------------------------------------------------------------------
def test_embedding_is_deterministic_and_separates_compositions():
    rng = np.random.default_rng(0)
    a = rng.dirichlet([8, 1, 1, 1], size=50)
    b = rng.dirichlet([1, 1, 1, 8], size=50)
    p = np.vstack([a, b])
    xy = embed_proportions(p)
    assert xy.shape == (100, 2) and xy.dtype == np.float32
    np.testing.assert_array_equal(xy, embed_proportions(p.copy()))
    # The two groups fall on opposite sides of the first axis.
    assert xy[:50, 0].max() < xy[50:, 0].min() or xy[50:, 0].max() < xy[:50, 0].min()
    # Exact PCA: the first axis carries the most variance, and it matches sklearn.
    from sklearn.decomposition import PCA

    ref = PCA(2, svd_solver="full").fit_transform(np.sqrt(p))
    for j in range(2):
        assert abs(np.corrcoef(ref[:, j], xy[:, j])[0, 1]) > 0.9999
    assert xy[:, 0].var() >= xy[:, 1].var()
    ts = embed_proportions(p, method="tsne", random_state=3)
    np.testing.assert_array_equal(ts, embed_proportions(p, method="tsne", random_state=3))
    assert ts.shape == (100, 2)


def test_embedding_degenerate_and_bad_input():
    # Raw shares of K = 2 span one dimension: the second axis is zero, not noise
    # (their square roots lie on an arc, which needs both axes).
    p = np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])
    assert np.ptp(embed_proportions(p)[:, 1]) > 0
    xy = embed_proportions(p, hellinger=False)
    assert np.allclose(xy[:, 1], 0) and np.ptp(xy[:, 0]) > 0
    assert np.allclose(embed_proportions(np.array([[0.5, 0.5]])), 0)
    with pytest.raises(DataError, match="sum to 1"):
        embed_proportions(np.array([[0.5, 0.7]]))
    with pytest.raises(DataError, match="2-D"):
        embed_proportions(np.array([0.5, 0.5]))
    with pytest.raises(DataError, match="NaN"):
        embed_proportions(np.array([[np.nan, 1.0]]))
    with pytest.raises(DataError, match="method"):
        embed_proportions(p, method="umap")


def test_class_codes():
    codes, cats = class_codes(np.array([[0, 1, 0], [1, 1, 0], [0, 0, 0]]), ["A", "B", "C"])
    assert [cats[int(c)] for c in codes] == ["B", "multiple", "none"]


# -- the view --------------------------------------------------------------------------
def test_traits_are_binary_and_match_the_engine(setup):
    ds, _, tlc = setup
    v = DatasetView(tlc, ds)
    es = tlc.explain_all(ds)
    assert v.n_points == len(ds) and v.n_clusters == 4
    xy = np.frombuffer(v.xy, dtype=np.float32).reshape(-1, 2)
    assert xy.shape == (len(ds), 2) and xy.min() >= 0 and xy.max() == pytest.approx(1.0)
    prop = np.frombuffer(v.proportions, dtype=np.float32).reshape(len(ds), 4)
    np.testing.assert_allclose(prop, es.proportions, atol=1e-6)
    assert v.cluster_ids == [int(c) for c in es.cluster_ids]
    codes = np.frombuffer(v.color_values, dtype=np.float32)
    assert v.color_kind == "categorical" and len(codes) == len(ds)
    assert v.color_categories[-2:] == ["multiple", "none"]
    assert set(v.color_options) >= {"class", "prediction", "entropy"}
    assert sum(o.startswith("cluster:") for o in v.color_options) == 4
    # The embedding is the one of the proportions (same scaling on both axes).
    raw = embed_proportions(es.proportions)
    span = (raw.max(axis=0) - raw.min(axis=0)).max()
    centred = (raw - raw.min(axis=0)) / span + (1 - np.ptp(raw, axis=0) / span) / 2
    np.testing.assert_allclose(xy, centred, atol=1e-5)
    assert np.allclose(xy.min(axis=0) + xy.max(axis=0), 1.0, atol=1e-5)


def test_color_by_each_option_and_errors(setup):
    ds, bundle, tlc = setup
    v = DatasetView(tlc, ds, color_by="entropy")
    vals = np.frombuffer(v.color_values, dtype=np.float32)
    np.testing.assert_allclose(vals, tlc.explain_all(ds).mean_entropy, atol=1e-6)
    assert v.color_kind == "continuous" and v.color_range == [0.0, 1.0]
    cid = v.cluster_ids[2]
    v.color_by = f"cluster:{cid}"
    share = np.frombuffer(v.color_values, dtype=np.float32)
    np.testing.assert_allclose(share, tlc.explain_all(ds).proportions[:, 2], atol=1e-6)
    v.color_by = "prediction"
    pred = np.frombuffer(v.color_values, dtype=np.float32).astype(int)
    proba = np.asarray(bundle.predict_proba(ds))
    single = (proba > 0.5).sum(axis=1) == 1
    assert (pred[single] == proba[single].argmax(axis=1)).all()
    with pytest.raises(DataError, match="cluster:"):
        v.color_by = "cluster:999"
    with pytest.raises(DataError, match="color_by must be one of"):
        v.color_by = "age"
    assert v.color_by == "prediction"  # a refused value leaves the view as it was
    nolab = ds.copy(labels=None, class_names=None)
    with pytest.raises(DataError, match="labels"):
        DatasetView(tlc, nolab, color_by="class")
    assert DatasetView(tlc, nolab).color_by == "entropy"  # default falls back


def test_brush_selects_the_records_inside_and_summarises_them(setup):
    ds, _, tlc = setup
    v = DatasetView(tlc, ds)
    xy = np.frombuffer(v.xy, dtype=np.float32).reshape(-1, 2)
    sel = v.select_rect(0.5, 1.0, 0.0, 0.3)  # corners in any order
    inside = np.flatnonzero(
        (xy[:, 0] >= 0) & (xy[:, 0] <= 0.5) & (xy[:, 1] >= 0.3) & (xy[:, 1] <= 1)
    )
    assert sel == inside.tolist() and len(sel) > 0
    assert v.brush == [0.0, 0.3, 0.5, 1.0]
    s = v.selection_summary
    assert s["n"] == len(sel)
    es = tlc.explain_all(ds)
    mix = es.proportions[inside].mean(axis=0)
    assert [s["cluster_mix"][str(c)] for c in v.cluster_ids] == pytest.approx(list(mix))
    assert sum(s["class_mix"].values()) == pytest.approx(1.0)
    assert s["mean_entropy"] == pytest.approx(float(es.mean_entropy[inside].mean()))
    v.brush = [2.0, 2.0, 3.0, 3.0]  # nothing there
    assert v.selection == [] and v.selection_summary["n"] == 0
    v.clear_selection()
    assert v.selection == [] and v.selection_summary == {}
    with pytest.raises(DataError, match="brush"):
        v.brush = [0, 1]


def test_linked_both_ways_with_the_explorer(setup):
    ds, _, tlc = setup
    tlc.set_n_clusters(4)
    w = ClusterExplorer(tlc, ds, k_range=(2, 6), progress=False, static_fallback=False)
    try:
        v = DatasetView(tlc, ds, explorer=w)
        assert v.current == 0
        v.current = 7  # a click in the scatter
        w.wait()
        assert w.index == 7 and w.record["index"] == 7
        w.show(12)  # the explorer's own navigation
        assert v.current == 12
        v.show(3)
        w.wait()
        assert w.index == 3
        with pytest.raises(DataError, match="out of range"):
            v.show(len(ds))
        with pytest.raises(DataError, match="out of range"):
            v.current = len(ds)
        assert v.current == 3
        # Expert names typed in the explorer reach the scatter's panel.
        cid = str(w.record["cluster_ids"][0])
        w.cluster_labels = {cid: {"name": "QRS complex", "notes": ""}}
        assert v.cluster_names[cid] == "QRS complex"
        # Another K in the explorer: the scatter is rebuilt for it.
        w.set_k(3)
        for _ in range(200):
            if v.n_clusters == 3:
                break
            time.sleep(0.05)
        assert v.n_clusters == 3 and len(v.cluster_ids) == 3
        assert np.frombuffer(v.proportions, np.float32).size == 3 * len(ds)
        # Closed, it no longer follows the explorer.
        v.close()
        w.show(5)
        assert v.current != 5
    finally:
        w.close()
        tlc.set_n_clusters(4)


def test_bad_construction(setup):
    ds, _, tlc = setup
    with pytest.raises(ModelError, match="TLCExplainer"):
        DatasetView(object(), ds)
    with pytest.raises(DataError, match="ECGDataset"):
        DatasetView(tlc, ds.signals)
    w = ClusterExplorer(tlc, ds, progress=False, static_fallback=False)
    try:
        with pytest.raises(DataError, match="another dataset"):
            DatasetView(tlc, ds.subset(slice(0, 10)), explorer=w)
        assert DatasetView(tlc, explorer=w).n_points == len(ds)
    finally:
        w.close()


def test_bundle_is_built_from_the_sources():
    for name in ("dataset_view.js", "compare_view.js"):
        text = (REPO / "ecg_cluster_widget" / "views" / "static" / name).read_text()
        assert "render" in text and "http://" not in text and "https://" not in text
    esbuild = REPO / "js" / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.skip("js/node_modules absent: cannot rebuild to compare")
    for name in ("dataset_view.js", "compare_view.js"):
        proc = subprocess.run(
            [str(esbuild), name, "--bundle", "--format=esm", "--target=es2020", "--minify"],
            cwd=REPO / "js",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        built = (REPO / "ecg_cluster_widget" / "views" / "static" / name).read_text()
        assert proc.stdout.strip() == built.strip(), f"run `npm run build:views` in js/ ({name})"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_scatter_logic_under_node():
    proc = subprocess.run(
        ["node", "--test", "test/views.test.js"],
        cwd=REPO / "js",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "# fail 0" in proc.stdout, proc.stdout[-3000:]


# -- refused values are rolled back, also from the browser (issue: views disagreed) ------
@pytest.mark.parametrize(
    "state",
    [
        {"current": 10**6},
        {"current": -5},
        {"brush": [float("nan"), 0.0, 1.0, 1.0]},
        {"brush": [0.0, 1.0]},
        {"color_by": "no such colouring"},
    ],
)
def test_bad_browser_values_are_rolled_back_and_reported(setup, state):
    from ecg_cluster_widget.errors import TraitValueError

    ds, _, tlc = setup
    v = DatasetView(tlc, ds)
    before = {k: getattr(v, k) for k in state}
    with pytest.warns(UserWarning, match="DatasetView refused a value from the browser"):
        v.set_state(state)  # what a message from the front end does
    assert {k: getattr(v, k) for k in state} == before and v.error
    name, value = next(iter(state.items()))
    with pytest.raises(TraitValueError):
        setattr(v, name, value)
    assert getattr(v, name) == before[name]
