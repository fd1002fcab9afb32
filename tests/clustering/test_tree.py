"""The cluster tree (every K a merge of one mixture) and the "auto" default configuration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.clustering import SoftClusterer
from ecg_cluster_widget.clustering.full_em import fit_full_gmm, full_log_joint
from ecg_cluster_widget.clustering.tree import ClusterTree, members_matrix, merge_partitions
from ecg_cluster_widget.data import make_synthetic
from ecg_cluster_widget.errors import DataError
from ecg_cluster_widget.model import load_demo_model


@pytest.fixture(scope="module")
def demo():
    return load_demo_model(), make_synthetic(60, fs=100, seed=2)


def test_merge_levels_are_nested_and_small_components_go_first():
    rng = np.random.default_rng(0)
    # Five well separated blobs, one of them holding 1 % of the points.
    sizes = [300, 300, 250, 140, 10]
    X = np.concatenate([rng.normal(c * 6, 0.5, (n, 2)) for c, n in enumerate(sizes)])
    fine = SoftClusterer(5, random_state=0).fit(X)
    parts = merge_partitions(fine.weights_, fine.centroids_, fine.predict_proba(X), 0.02)
    # The 1 % blob is merged before any level is offered: the top level is K=4.
    assert max(parts) == 4 and min(parts) == 2
    for k in range(2, 4):
        fine_groups, coarse = parts[k + 1], parts[k]
        # Nested: every group of level k+1 lies inside one group of level k.
        for g in range(k + 1):
            assert len(set(coarse[fine_groups == g])) == 1
    # Without a share check every K is offered.
    assert max(merge_partitions(fine.weights_, fine.centroids_)) == 5


def test_tree_level_is_the_sum_of_its_fine_columns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    fine = SoftClusterer(4, random_state=0).fit(X)
    tree = ClusterTree(fine, None, merge_partitions(fine.weights_, fine.centroids_))
    level = tree.level(2)
    np.testing.assert_allclose(
        level.predict_proba(X), fine.predict_proba(X) @ members_matrix(level.partition), atol=1e-6
    )
    np.testing.assert_allclose(level.weights_.sum(), 1.0)
    flipped = level.reordered(np.array([1, 0]))
    np.testing.assert_allclose(flipped.predict_proba(X), level.predict_proba(X)[:, ::-1], atol=1e-6)
    with pytest.raises(DataError, match="not a level"):
        tree.level(7)


def test_full_em_matches_scikit_learn_objective():
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    X = np.r_[
        rng.multivariate_normal([0, 0], [[2, 1.5], [1.5, 2]], 500),
        rng.multivariate_normal([5, 0], [[1, -0.5], [-0.5, 1]], 300),
    ]
    iso = SoftClusterer(2, random_state=0).fit(X)
    ours = fit_full_gmm(X, iso.centroids_, iso.weights_, iso.variances_, tol=1e-6)
    ref = GaussianMixture(2, covariance_type="full", reg_covar=1e-4, tol=1e-6, random_state=0)
    ref.fit(X)
    ll = np.log(np.exp(full_log_joint(X, ours["means"], ours["prec_chol"], ours["weights"])).sum(1))
    assert abs(ll.mean() - ref.score(X)) < 1e-3


def test_default_takes_the_models_recommendation_and_explicit_options_win(demo):
    bundle, ds = demo
    shipped = bundle.meta.pop("tlc_options")
    assert shipped["method"] == "gmm"  # the demo model recommends the paper's configuration
    bundle.meta["tlc_options"] = {"temporal": "hmm", "method": "gmm"}
    try:
        tlc = TLCExplainer(bundle, n_clusters=4, progress=False).fit(ds)
        assert tlc.options_["preset"] == "model"
        assert tlc.options_["temporal"] == "hmm" and tlc.options_["method"] == "gmm"
        assert tlc.clusterer_.tree.smoother is not None  # the recommendation was applied
        assert tlc.get_params()["temporal"] == "auto"  # the user's parameters are untouched
        assert "options from model" in repr(tlc)
        explicit = TLCExplainer(bundle, n_clusters=4, temporal=None, progress=False).fit(ds)
        assert explicit.options_["temporal"] is None and explicit.clusterer_.tree.smoother is None
        paper = TLCExplainer(bundle, n_clusters=4, preset="paper", progress=False).fit(ds)
        assert paper.options_["preset"] == "paper" and paper.options_["temporal"] is None
        # The alias keeps working and means the same.
        assert (
            TLCExplainer.for_model(bundle, n_clusters=4).get_params()
            == TLCExplainer(bundle, n_clusters=4).get_params()
        )
        del bundle.meta["tlc_options"]
        generic = TLCExplainer(bundle, n_clusters=4, progress=False).fit(ds)
        assert generic.options_["preset"] == "generic"
        assert generic.options_["layers"] == "early" and generic.layers_ == [
            "blocks.0",
            "blocks.1",
            "blocks.2",
        ]
    finally:
        bundle.meta["tlc_options"] = shipped
    with pytest.raises(DataError, match="preset"):
        TLCExplainer(bundle, preset="best").fit(ds)
    with pytest.raises(DataError, match="max_clusters"):
        TLCExplainer(bundle, max_clusters=1).fit(ds)


def test_the_generic_preset_is_what_the_evidence_chose():
    """``"generic"`` is the candidate experiments/generic_default.py chose on its tuning
    split (applied over the paper preset, as the experiment applies it)."""
    from ecg_cluster_widget.explain.options import PRESETS

    path = Path(__file__).resolve().parents[2] / "experiments" / "results" / "generic_default.json"
    result = json.loads(path.read_text())
    chosen = result["candidates"][result["chosen_on_tune"]]
    assert PRESETS["generic"] == {**PRESETS["paper"], **chosen}


@pytest.mark.slow
def test_shipped_real_model_default_is_its_recommendation():
    from ecg_cluster_widget.data import load_real_sample
    from ecg_cluster_widget.model import load_pretrained

    real = load_pretrained("ptbxl250")
    ds = load_real_sample("ptbxl", fs=real.fs).subset(list(range(12)))
    tlc = TLCExplainer(real, n_clusters=6, progress=False).fit(ds)
    rec = real.meta["tlc_options"]
    assert tlc.options_ == {"preset": "model", **{k: rec[k] for k in rec}}
    assert tlc.layers_ == rec["layers"]


def test_no_dead_clusters_at_the_reference_k_and_k_range(demo):
    bundle, ds = demo
    tlc = TLCExplainer(bundle, n_clusters=8, max_clusters=12, progress=False).fit(ds)
    labels = tlc.explain_all(ds).labels
    share = np.bincount(labels.ravel().astype(np.int64), minlength=8) / labels.size
    assert share.min() >= 0.02
    assert 8 <= tlc.max_clusters_ <= 12
    with pytest.raises(DataError, match="not available"):
        tlc.set_n_clusters(tlc.max_clusters_ + 1)
    # Below the reference K every level is a merge of the reference clusters: its soft
    # assignments are sums of the reference columns, each reference cluster in one group.
    ref_part = tlc.clusterer_.partition
    g8 = tlc.transform(ds)
    for k in (3, 5):
        part = tlc._kfit(k).clusterer.partition
        m = np.zeros((8, k))
        m[ref_part, part] = 1
        assert (m.sum(axis=1) == 1).all()  # nested: one coarse group per reference cluster
        np.testing.assert_allclose(tlc.transform(ds, n_clusters=k), g8 @ m, atol=1e-4)


def test_widget_offers_only_the_k_the_fit_supports(demo):
    from ecg_cluster_widget.views.widget import ClusterExplorer

    bundle, ds = demo
    tlc = TLCExplainer(bundle, n_clusters=4, max_clusters=6, progress=False).fit(ds)
    w = ClusterExplorer(tlc, ds, model=bundle, k_range=(2, 12))
    assert w.k_max == tlc.max_clusters_ <= 6 and w.k_min == 2


def test_a_device_name_torch_does_not_know_is_a_clear_error(demo):
    from ecg_cluster_widget.errors import ModelError

    bundle, ds = demo
    with pytest.raises(ModelError, match="not a torch device name"):
        TLCExplainer(bundle, device="nonsense", progress=False).fit(ds)


def test_hmm_transition_matrix_is_aggregated_over_merged_components(demo):
    bundle, ds = demo
    tlc = TLCExplainer(bundle, n_clusters=6, temporal="hmm", progress=False).fit(ds)
    hmm = tlc.clusterer_.tree.smoother
    p = tlc.clusterer_.members  # at the reference K, a permutation of the components
    np.testing.assert_allclose(tlc.transition_matrix_, p.T @ hmm.transition_ @ p, atol=1e-12)
    tlc.set_n_clusters(3)
    a = tlc.transition_matrix_
    assert a.shape == (3, 3)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    assert (np.diag(a) > 0.5).all()  # clusters last many grid steps


def test_cluster_ancestors_follow_the_merges_of_the_tree(demo):
    # Below the reference K every cluster's parent at K-1 is the group its fine components
    # merge into; the widget shows an ancestor's name on a cluster without one.
    bundle, ds = demo
    tlc = TLCExplainer(bundle, n_clusters=6, max_clusters=9, progress=False).fit(ds)

    def id_of_component(k):
        fit = tlc._kfit(k)
        return fit.ids[fit.clusterer.partition]  # stable id of each fine component at K

    for k in range(3, 7):
        chains = tlc.cluster_ancestors(k)
        assert sorted(chains) == sorted(int(i) for i in tlc._kfit(k).ids)
        assert all(len(c) == k - 2 for c in chains.values())
        child, parent = id_of_component(k), id_of_component(k - 1)
        for c, p in zip(child, parent, strict=True):
            assert chains[int(c)][0] == int(p)
    # Above the reference K (a second mixture) the parent is the best overlap: a chain
    # still reaches K=2 through existing clusters.
    top = tlc.cluster_ancestors(tlc.max_clusters_)
    assert all(len(c) == tlc.max_clusters_ - 2 for c in top.values())
    assert {a for c in top.values() for a in c[-1:]} <= {int(i) for i in tlc._kfit(2).ids}
    assert tlc.cluster_ancestors(2) == {int(i): [] for i in tlc._kfit(2).ids}
