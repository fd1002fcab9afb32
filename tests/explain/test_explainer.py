"""Tests for TLCExplainer, its result types, entropy and prototypes (tiny models)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import torch

from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.data import ECGDataset
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, ModelError, NotFittedError
from ecg_cluster_widget.explain import (
    ECGExplanation,
    ExplanationSet,
    cluster_mean_entropy,
    extract_snippets,
    normalized_entropy,
    prototype_stats,
    segments_from_labels,
)
from ecg_cluster_widget.model import ResNet1d
from ecg_cluster_widget.model.checkpoint import ModelBundle

K = 4


@pytest.fixture(scope="module")
def ds() -> ECGDataset:
    return make_synthetic(12, seed=5)


@pytest.fixture(scope="module")
def net() -> ResNet1d:
    torch.manual_seed(0)
    return ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()


@pytest.fixture(scope="module")
def tlc(net, ds) -> TLCExplainer:
    return TLCExplainer(net, n_clusters=K, n_components=8, progress=False).fit(ds)


# ---------------------------------------------------------------- helpers
def test_normalized_entropy_and_cluster_mean():
    g = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    h = normalized_entropy(g)
    np.testing.assert_allclose(h, [0.0, 1.0, np.log(2) / np.log(3)], atol=1e-6)
    assert normalized_entropy(np.ones((4, 1))).tolist() == [0.0] * 4
    np.testing.assert_allclose(
        cluster_mean_entropy(np.array([0, 0, 2]), np.array([0.2, 0.6, 1.0]), 3), [0.4, np.nan, 1.0]
    )


def test_segments_and_snippets():
    segs = segments_from_labels(
        np.array([2, 2, 0, 0, 0, 1]), fs=2.0, cluster_ids=np.array([7, 8, 9])
    )
    assert [(s.start, s.end, s.cluster, s.cluster_id) for s in segs] == [
        (0, 2, 2, 9),
        (2, 5, 0, 7),
        (5, 6, 1, 8),
    ]
    assert segs[1].start_s == 1.0 and segs[1].end_s == 2.5
    sig = np.arange(20, dtype=np.float32).reshape(1, 2, 10)
    snip = extract_snippets(sig, np.array([0, 0]), np.array([5, 9]), 4)
    np.testing.assert_array_equal(snip[0, 1], [13, 14, 15, 16])
    assert np.isnan(snip[1, 0, -1]) and snip[1, 0, 0] == 7
    med, lo, hi = prototype_stats(np.array([[[1.0, 2.0]], [[3.0, np.nan]], [[5.0, 4.0]]]))
    np.testing.assert_allclose(med, [[3.0, 3.0]])
    np.testing.assert_allclose(lo, [[2.0, 2.5]])
    np.testing.assert_allclose(hi, [[4.0, 3.5]])


# ---------------------------------------------------------------- explainer core
def test_transform_shapes_and_rows(tlc, ds):
    g = tlc.transform(ds)
    assert g.shape == (12, 1000, K) and g.dtype == np.float32
    np.testing.assert_allclose(g.sum(-1), 1, atol=1e-5)
    assert tlc.cluster_ids_.tolist() == list(range(K))
    # A bare network has no recommendation: the generic preset hooks the first three blocks.
    assert tlc.layers_ == ["blocks.0", "blocks.1", "blocks.2"]
    assert tlc.centroids_.shape == (K, 8) and tlc.fs_ == 100.0 and tlc.n_samples_ == 1000
    # Every cluster is used somewhere and the clustering is not trivial.
    labels = g.argmax(-1)
    assert len(np.unique(labels)) == K


def test_explain_consistent_with_explain_all(tlc, ds):
    es = tlc.explain_all(ds)
    assert isinstance(es, ExplanationSet)
    assert es.labels.shape == (12, 1000) and es.labels.dtype == np.int16
    np.testing.assert_allclose(es.proportions.sum(1), 1)
    ex = tlc.explain(ds, 3)
    assert isinstance(ex, ECGExplanation)
    np.testing.assert_array_equal(ex.labels, es.labels[3])
    np.testing.assert_allclose(ex.entropy, es.entropy[3], atol=1e-6)
    np.testing.assert_allclose(ex.gamma, tlc.transform(ds)[3], atol=1e-6)
    np.testing.assert_allclose(ex.proportions, es.proportions[3])
    assert ((ex.entropy >= 0) & (ex.entropy <= 1)).all()
    # Segments tile the record and carry the stable ids.
    assert ex.segments[0].start == 0 and ex.segments[-1].end == 1000
    assert all(
        a.end == b.start and a.cluster != b.cluster for a, b in zip(ex.segments, ex.segments[1:])
    )
    for s in ex.segments:
        assert (ex.labels[s.start : s.end] == s.cluster).all() and s.cluster_id == ex.cluster_ids[
            s.cluster
        ]
    frame = ex.to_frame()
    assert len(frame) == len(ex.segments)
    assert frame["end_s"].iloc[-1] == pytest.approx(10.0)
    json.dumps(ex.to_dict())
    json.dumps(es.to_dict(include_per_sample=True))
    # A record explained from a different (uncached) dataset gives the same answer.
    other = tlc.explain(ds.subset([1, 3]), 1)
    np.testing.assert_allclose(other.gamma, ex.gamma, atol=1e-5)
    # Boundaries between clusters are more uncertain than segment interiors.
    change = np.flatnonzero(np.diff(es.labels, axis=1) != 0)
    if change.size:
        rows, cols = np.nonzero(np.diff(es.labels, axis=1) != 0)
        assert es.entropy[rows, cols].mean() > es.entropy.mean()
    with pytest.raises(DataError, match="out of range"):
        tlc.explain(ds, 12)


def test_reproducible_same_seed(net, ds, tlc):
    again = TLCExplainer(net, n_clusters=K, n_components=8, progress=False).fit(ds)
    np.testing.assert_array_equal(again.explain_all(ds).labels, tlc.explain_all(ds).labels)
    np.testing.assert_array_equal(again.centroids_, tlc.centroids_)


def test_stable_ids_over_k_changes_and_refit(net, ds):
    tlc = TLCExplainer(net, n_clusters=K, n_components=8, progress=False).fit(ds)
    first_labels = tlc.explain_all(ds).labels
    first_ids = tlc.cluster_ids_
    assert first_ids.tolist() == list(range(K))
    tlc.set_n_clusters(K + 2)
    ids_more = tlc.cluster_ids_
    # The constructor parameter is the reference K and never changes; the current K does.
    assert tlc.n_clusters == K and tlc.n_clusters_ == K + 2
    # All reference clusters are matched, the two new ones get ids K, K+1; the matched
    # ids are the overlap-optimal relabelling of the reference clusters.
    assert sorted(ids_more) == list(range(K + 2))
    _assert_ids_follow_overlap(ids_more, tlc.explain_all(ds).labels, first_ids[first_labels])
    t = time.perf_counter()
    tlc.set_n_clusters(K)
    assert time.perf_counter() - t < 0.5  # cached K: no refit
    np.testing.assert_array_equal(tlc.cluster_ids_, first_ids)
    np.testing.assert_array_equal(tlc.explain_all(ds).labels, first_labels)
    tlc.set_n_clusters(3)
    assert set(tlc.cluster_ids_) <= set(range(K))  # fewer clusters: reference ids only
    # Path independence: K+2 reached directly, or after 3, gives the same ids and labels.
    direct = TLCExplainer(net, n_clusters=K, n_components=8, progress=False).fit(ds)
    direct.set_n_clusters(K + 2)
    tlc.set_n_clusters(K + 2)
    np.testing.assert_array_equal(direct.cluster_ids_, tlc.cluster_ids_)
    np.testing.assert_array_equal(direct.explain_all(ds).labels, tlc.explain_all(ds).labels)
    # Refit on the same data: same ids, same labels, back at the reference K.
    tlc.fit(ds)
    assert tlc.n_clusters_ == K
    np.testing.assert_array_equal(tlc.cluster_ids_, first_ids)
    np.testing.assert_array_equal(tlc.explain_all(ds).labels, first_labels)
    # Refit on part of the data: the ids are those of a fresh fit on that part (no memory
    # of the previous fit), so they do not depend on what was fitted before.
    part = ds.subset(np.arange(10))
    tlc.set_n_clusters(3)
    tlc.fit(part)
    fresh = TLCExplainer(net, n_clusters=K, n_components=8, progress=False).fit(part)
    np.testing.assert_array_equal(tlc.explain_all(ds).labels, fresh.explain_all(ds).labels)
    np.testing.assert_array_equal(tlc.cluster_ids_for(K + 1), fresh.cluster_ids_for(K + 1))


def test_k_keyword_does_not_change_current_k(tlc, ds):
    ids5 = tlc.cluster_ids_for(5)
    before = tlc.n_clusters_
    g = tlc.transform(ds, n_clusters=5)
    assert g.shape == (12, 1000, 5) and tlc.n_clusters_ == before
    ex = tlc.explain(ds, 2, n_clusters=5)
    np.testing.assert_array_equal(ex.cluster_ids, ids5)
    np.testing.assert_allclose(ex.gamma, g[2], atol=1e-6)
    es = tlc.explain_all(ds, n_clusters=5)
    np.testing.assert_array_equal(es.labels, g.argmax(-1))
    np.testing.assert_array_equal(tlc.predict(ds, n_clusters=5), es.labels)
    infos = tlc.cluster_summary(ds, window_s=0.3, n_examples=2, n_clusters=5)
    assert [c.cluster_id for c in infos] == ids5.tolist()
    assert tlc.centroids_for(5).shape == (5, 8)
    assert tlc.transform(ds, "grid", n_clusters=5).shape == (12, tlc.grid_length_, 5)
    assert tlc.n_clusters_ == before == K and tlc.cluster_ids_.tolist() == list(range(K))
    # Switching with set_n_clusters gives exactly what n_clusters= gave.
    other = TLCExplainer(tlc.model, n_clusters=K, n_components=8, progress=False).fit(ds)
    other.set_n_clusters(5)
    np.testing.assert_array_equal(other.explain_all(ds).labels, es.labels)


@pytest.mark.parametrize("bad", [2.7, 3.0, True, "4", None, 1, 0, -3, 10**9])
def test_k_validation_one_error(tlc, ds, bad):
    if bad is None:
        return  # None means "the current K" where it is accepted
    with pytest.raises(DataError, match=r"n_clusters must be an integer from 2"):
        tlc.set_n_clusters(bad)
    with pytest.raises(DataError, match=r"n_clusters must be an integer from 2"):
        tlc.transform(ds, n_clusters=bad)
    with pytest.raises(DataError, match=r"n_clusters must be an integer from 2"):
        tlc.explain(ds, 0, n_clusters=bad)
    assert tlc.n_clusters_ == K


def test_fitted_attributes_and_typos(net, ds, tlc):
    fresh = TLCExplainer(net, progress=False)
    for name in ("cluster_ids_", "n_clusters_", "fit_id_", "layers_", "fs_", "timings_"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(fresh, name)
        assert not hasattr(fresh, name)
    with pytest.raises(NotFittedError):
        fresh.fit_identity()
    # A typo is a plain AttributeError, before and after fitting, never "not fitted".
    for obj in (fresh, tlc):
        with pytest.raises(AttributeError) as info:
            _ = obj.cluster_id_
        assert not isinstance(info.value, NotFittedError)
    assert "K=4" in repr(tlc) and "not fitted" in repr(fresh)
    assert fresh.get_params()["n_clusters"] == 6 and set(fresh.get_params()) >= {"model"}


def test_sklearn_estimator_contract(net, ds, tlc):
    """get_params / set_params / clone / check_is_fitted behave as scikit-learn's do."""
    from sklearn.base import BaseEstimator, clone
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    assert isinstance(tlc, BaseEstimator)
    twin = clone(tlc)
    assert not twin.is_fitted and twin is not tlc
    params = {k: v for k, v in twin.get_params().items() if k != "model"}
    assert params == {k: v for k, v in tlc.get_params().items() if k != "model"}
    with pytest.raises(SkNotFitted):
        check_is_fitted(twin)
    check_is_fitted(tlc)
    assert twin.set_params(n_clusters=3) is twin and twin.n_clusters == 3
    with pytest.raises(ValueError, match="n_clusterz"):
        twin.set_params(n_clusterz=3)
    # A clone fits to the same clusters as the original (same params, same seed).
    twin.set_params(n_clusters=K, progress=False)
    twin.fit(ds)
    np.testing.assert_array_equal(twin.predict(ds), tlc.predict(ds))
    assert tlc.n_clusters == K  # fitting and set_n_clusters never change the parameter


def test_fit_identity_and_signatures(net, ds, tlc):
    ident = tlc.fit_identity(5)
    assert ident["n_clusters"] == 5 and ident["cluster_ids"] == tlc.cluster_ids_for(5).tolist()
    assert ident["fit_id"] == tlc.fit_id_ and ident["reference_k"] == K
    again = TLCExplainer(net, n_clusters=K, n_components=8, progress=False).fit(ds)
    assert again.fit_identity() == tlc.fit_identity()
    seed = TLCExplainer(net, n_clusters=K, n_components=8, progress=False, random_state=1)
    seed.fit(ds)
    assert seed.fit_id_ != tlc.fit_id_
    assert seed.fit_identity()["model_checksum"] == ident["model_checksum"]
    assert seed.fit_identity()["data_fingerprint"] == ident["data_fingerprint"]
    other_data = TLCExplainer(net, n_clusters=K, n_components=8, progress=False)
    assert (
        other_data.fit(ds.subset([0, 1, 2])).fit_identity()["data_fingerprint"]
        != (ident["data_fingerprint"])
    )
    from ecg_cluster_widget.labels import normalize_fit

    assert normalize_fit(ident)["cluster_ids"] == ident["cluster_ids"]
    # Signatures: one vector of hooked channels (12 + 16 + 16) per cluster id.
    sig = tlc.cluster_signatures()
    assert sorted(sig) == tlc.cluster_ids_.tolist()
    assert all(v.shape == (44,) and np.isfinite(v).all() for v in sig.values())
    # Another reference K is another clustering (K=5 is then the reference mixture, not a
    # merge): the signatures (raw activations, not PCA space) still pair up clusters that
    # label mostly the same time steps.
    ref5 = TLCExplainer(net, n_clusters=5, n_components=8, progress=False).fit(ds)
    a, b = tlc.cluster_signatures(5), ref5.cluster_signatures(5)
    la, lb = tlc.predict(ds, n_clusters=5), ref5.predict(ds)
    ids_a, ids_b = tlc.cluster_ids_for(5).tolist(), ref5.cluster_ids_.tolist()
    agree = 0
    for ia, va in a.items():
        ib = min(b, key=lambda j: np.linalg.norm(b[j] - va))
        agree += ((la == ids_a.index(ia)) & (lb == ids_b.index(ib))).sum()
    print("signature-paired agreement", agree / la.size)
    assert agree / la.size > 0.6


@pytest.mark.slow
def test_fit_id_same_in_a_fresh_process(net, ds, tlc, tmp_path):
    import subprocess
    import sys

    torch.save(net.state_dict(), tmp_path / "net.pt")
    code = f"""
import torch
from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.model import ResNet1d
net = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()
net.load_state_dict(torch.load({str(tmp_path / "net.pt")!r}))
tlc = TLCExplainer(net, n_clusters={K}, n_components=8, progress=False).fit(make_synthetic(12, seed=5))
tlc.set_n_clusters({K + 3})
print(tlc.fit_id_, tlc.cluster_ids_.tolist())
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    fid, ids = res.stdout.split(" ", 1)
    assert fid == tlc.fit_id_
    assert ids.strip() == str(tlc.cluster_ids_for(K + 3).tolist())


def test_feature_cache_follows_content(tlc, ds):
    from ecg_cluster_widget.explain.explainer import fingerprint

    copy = ECGDataset(ds.signals.copy(), fs=ds.fs)
    assert fingerprint(copy) == fingerprint(ds)
    np.testing.assert_array_equal(tlc.explain_all(copy).labels, tlc.explain_all(ds).labels)
    x = ds.signals.copy()
    x[4] *= -1  # a record changes: its explanation must be recomputed
    changed = ECGDataset(x, fs=ds.fs)
    assert fingerprint(changed) != fingerprint(ds)
    assert not np.array_equal(tlc.explain_all(changed).labels[4], tlc.explain_all(ds).labels[4])


def _assert_ids_follow_overlap(ids, labels, old_label_ids, slack=0.03):
    """Id agreement with the old labelling is within ``slack`` of the optimal matching."""
    from scipy.optimize import linear_sum_assignment

    old_u = np.unique(old_label_ids)
    table = np.array(
        [[np.sum((labels == p) & (old_label_ids == o)) for o in old_u] for p in range(len(ids))]
    )
    r, c = linear_sum_assignment(-table)
    best = table[r, c].sum() / labels.size
    agree = (ids[labels] == old_label_ids).mean()
    assert agree >= best - slack, (agree, best)
    assert agree > 0.5


def test_cluster_summary(tlc, ds):
    infos = tlc.cluster_summary(ds, window_s=0.3, n_examples=3)
    assert [c.cluster_id for c in infos] == tlc.cluster_ids_.tolist()
    assert sum(c.share for c in infos) == pytest.approx(1.0)
    es = tlc.explain_all(ds)
    for c in infos:
        assert c.prototype_median.shape == (12, 30) and c.prototype_q25.shape == (12, 30)
        assert c.prototype_offset_s == pytest.approx(-0.15)
        ok = np.isfinite(c.prototype_median)
        assert (c.prototype_q25[ok] <= c.prototype_median[ok] + 1e-6).all()
        assert (c.prototype_median[ok] <= c.prototype_q75[ok] + 1e-6).all()
        if c.share > 0:
            assert c.entropy_hist.sum() == pytest.approx(1.0) and len(c.entropy_hist) == 10
            assert c.mean_entropy == pytest.approx(
                es.entropy[es.labels == c.position].mean(), rel=1e-4
            )
            # The one-pass histogram is numpy's, cluster by cluster.
            ent = es.entropy[es.labels == c.position]
            hist = np.histogram(ent, bins=10, range=(0.0, 1.0))[0]
            np.testing.assert_allclose(c.entropy_hist, hist / hist.sum(), atol=1e-12)
            assert c.share == pytest.approx((es.labels == c.position).mean())
        assert 1 <= len(c.examples) <= 3
        for r, s, e in c.examples:
            assert (es.labels[r, s:e] == c.position).all()
            assert s == 0 or es.labels[r, s - 1] != c.position  # a whole segment
        assert set(c.class_mix) == set(ds.class_names)
        json.dumps(c.to_dict())
    # Prototype = median of snippets centred on the cluster's segments (all < 500 here).
    c = max(infos, key=lambda i: i.n_segments)
    from ecg_cluster_widget.explain import segment_arrays

    rec, st, en, cl = segment_arrays(es.labels)
    sel = cl == c.position
    if sel.sum() <= 500:
        snip = extract_snippets(ds.signals, rec[sel], (st[sel] + en[sel]) // 2, 30)
        np.testing.assert_allclose(c.prototype_median, prototype_stats(snip)[0], equal_nan=True)


def test_options_soft_kmeans_no_pca_subsampling(net, ds):
    tlc = TLCExplainer(
        net,
        n_clusters=3,
        n_components=None,
        method="soft_kmeans",
        max_fit_points=500,
        progress=True,
    ).fit(ds)
    assert tlc.n_fit_points_ == 500
    assert tlc.centroids_.shape == (3, 44)  # 12 + 16 + 16 channels, no PCA
    g = tlc.transform(ds)
    np.testing.assert_allclose(g.sum(-1), 1, atol=1e-5)
    assert tlc.clusterer_.tree.fine.method == "soft_kmeans"
    assert set(tlc.timings_) >= {"aligner_s", "features_s", "clustering_s", "total_s"}


def test_bundle_input_and_mismatch_errors(net, ds):
    from ecg_cluster_widget.data import Standardizer

    bundle = ModelBundle(
        net, list(ds.class_names), None, fs=100, n_samples=1000, standardizer=Standardizer().fit(ds)
    )
    tlc = TLCExplainer(bundle, n_clusters=3, n_components=4, progress=False).fit(ds)
    assert tlc.transform(ds).shape == (12, 1000, 3)
    wrong_fs = ECGDataset(ds.signals, fs=250)
    with pytest.raises(DataError, match="Hz"):
        tlc.transform(wrong_fs)
    with pytest.raises(DataError, match="leads"):
        tlc.fit(ECGDataset(ds.signals[:, :11], fs=100, lead_names=ds.lead_names[:11]))
    # The failed fit left the previous state usable.
    assert tlc.transform(ds).shape == (12, 1000, 3)


def test_bad_inputs(net, ds, tlc):
    fresh = TLCExplainer(net, progress=False)
    with pytest.raises(NotFittedError, match="fit"):
        fresh.transform(ds)
    with pytest.raises(NotFittedError):
        fresh.explain(ds, 0)
    assert not hasattr(fresh, "cluster_ids_")
    nan = ds.signals.copy()
    nan[2, 0, 10] = np.nan
    with pytest.raises(DataError, match="NaN"):
        fresh.fit(ECGDataset(nan, fs=100))
    with pytest.raises(ModelError, match="expects input of shape"):
        fresh.fit(ECGDataset(ds.signals[:, :, :900], fs=100))
    with pytest.raises(ModelError, match="Available layers"):
        TLCExplainer(net, layers=["blocks.9"], progress=False).fit(ds)
    with pytest.raises(DataError, match="at least 2"):
        TLCExplainer(net, n_clusters=1, progress=False).fit(ds)
    with pytest.raises(DataError, match="exceeds"):
        TLCExplainer(net, n_clusters=2001, n_components=4, progress=False).fit(ds.subset([0]))
    # More clusters than one record's time steps can fill: a warning naming a K that works,
    # not an error from inside numpy while empty components are re-seeded.
    with pytest.warns(UserWarning, match="more clusters than these data support"):
        TLCExplainer(net, n_clusters=80, n_components=4, progress=False).fit(ds.subset([0]))
    with pytest.raises(DataError, match="at least 2"):
        tlc.set_n_clusters(1)
    with pytest.raises(DataError, match="leads"):
        tlc.transform(ECGDataset(ds.signals[:, :11], fs=100, lead_names=ds.lead_names[:11]))
    with pytest.raises(DataError, match="Hz"):
        tlc.transform(ECGDataset(ds.signals, fs=200))
    with pytest.raises(DataError, match="reorder"):
        tlc.transform(ECGDataset(ds.signals, fs=100, lead_names=ds.lead_names[::-1]))
    with pytest.raises(DataError, match="ECGDataset"):
        tlc.transform(ds.signals)


def test_thread_safety_of_k_switch(net, ds):
    tlc = TLCExplainer(net, n_clusters=3, n_components=4, progress=False).fit(ds)
    tlc.set_n_clusters(5).set_n_clusters(3)
    expected = {k: tlc.explain_all(ds, n_clusters=k).labels for k in (3, 4, 5)}
    errors: list[Exception] = []

    def worker(k_of):
        try:
            for i in range(20):
                k = k_of(i)
                ex = tlc.explain(ds, i % len(ds), n_clusters=k)
                assert ex.labels.max() < len(ex.cluster_ids) == ex.gamma.shape[1]
                if k is not None:
                    assert len(ex.cluster_ids) == k
                    np.testing.assert_array_equal(ex.labels, expected[k][i % len(ds)])
        except Exception as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(lambda i: None,)),
        threading.Thread(target=worker, args=(lambda i: (4, 5)[i % 2],)),
    ]
    for th in threads:
        th.start()
    for k in (5, 3, 5, 3):
        tlc.set_n_clusters(k)
    for th in threads:
        th.join()
    assert not errors, errors
    assert tlc.n_clusters_ == 3 and tlc.n_clusters == 3


# ---------------------------------------------------------------- trained model
@pytest.fixture(scope="module")
def trained_bundle():
    from ecg_cluster_widget.model.pretrained import demo_model_path, load_demo_model

    if demo_model_path().is_file():
        return load_demo_model()
    # Without the shipped asset, a briefly trained tiny model still has structured features.
    from ecg_cluster_widget.model.train import train_model

    torch.manual_seed(0)
    small = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16))
    return train_model(
        small, make_synthetic(48, seed=11), epochs=2, batch_size=16, progress=False, seed=0
    )


def test_trained_model_clusters_reproducible_and_stable(trained_bundle):
    data = make_synthetic(24, seed=7)
    kw = dict(n_clusters=6, n_components=16, progress=False, random_state=0)
    a = TLCExplainer(trained_bundle, **kw).fit(data)
    b = TLCExplainer(trained_bundle, **kw).fit(data)
    la = a.explain_all(data).labels
    np.testing.assert_array_equal(la, b.explain_all(data).labels)
    # Clusters are time-localised: they carry information about the P/QRS/T position,
    # which is lost when they are shifted by 100 ms or reversed in time.
    from sklearn.metrics import normalized_mutual_info_score as nmi

    waves = data.wave_masks.ravel()
    score = nmi(waves, la.ravel())
    assert score > 0.08
    # The alignment peaks at lag 0: any shift of up to +-200 ms (20 steps at 100 Hz) loses it.
    shifted = [nmi(waves, np.roll(la, s, axis=1).ravel()) for s in range(-20, 21, 5) if s]
    assert score > max(shifted)
    assert score > 3 * nmi(waves, la[:, ::-1].ravel())
    ids6 = a.cluster_ids_
    a.set_n_clusters(8)
    assert set(ids6) <= set(a.cluster_ids_)
    a.set_n_clusters(6)
    np.testing.assert_array_equal(a.cluster_ids_, ids6)
    np.testing.assert_array_equal(a.explain_all(data).labels, la)
    # K=8 via 3 gives the same clustering and ids as K=8 directly.
    b.set_n_clusters(3)
    b.set_n_clusters(8)
    np.testing.assert_array_equal(a.cluster_ids_for(8), b.cluster_ids_)
    np.testing.assert_array_equal(a.predict(data, n_clusters=8), b.predict(data))


def test_computed_k_answered_from_memory(tlc, ds):
    # Every K of a small dataset stays in memory: going back to a K returns the same set.
    ks = list(range(2, min(tlc.max_clusters_, 8) + 1))
    first = {k: tlc.explain_all(ds, n_clusters=k) for k in ks}
    for k in ks:
        assert tlc.explain_all(ds, n_clusters=k) is first[k]


def test_prefetch_computes_every_tree_and_never_holds_the_lock(net, ds):
    tlc = TLCExplainer(net, n_clusters=3, max_clusters=6, n_components=8, progress=False)
    tlc.fit(ds)
    trees = tlc._fitted().registry.trees
    assert len(trees) == 2  # the reference tree and the finer one above it
    upper = trees[1]
    # The finer tree's computation is held up: a computed K must still be answered.
    gate, started = threading.Event(), threading.Event()
    predict = upper.fine.predict_proba

    def held(x):
        started.set()
        assert gate.wait(30)
        return predict(x)

    upper.fine.predict_proba = held
    before = tlc.explain_all(ds, n_clusters=2).labels.copy()
    worker = threading.Thread(target=tlc.prefetch, args=(ds,), daemon=True)
    worker.start()
    assert started.wait(30)
    answer = threading.Thread(target=lambda: tlc.explain_all(ds, n_clusters=3), daemon=True)
    answer.start()
    answer.join(10)
    assert not answer.is_alive(), "a K of the reference tree waited behind the prefetch"
    gate.set()
    worker.join(30)
    del upper.fine.predict_proba
    feats = tlc._features(ds)
    assert all(t._recall(feats, "sequences") is not None for t in trees)
    # The posteriors it left are those a request computes: the same labels at every K.
    fresh = TLCExplainer(net, n_clusters=3, max_clusters=6, n_components=8, progress=False)
    fresh.fit(ds)
    for k in (2, 4, 6):
        np.testing.assert_array_equal(
            tlc.explain_all(ds, n_clusters=k).labels, fresh.explain_all(ds, n_clusters=k).labels
        )
    np.testing.assert_array_equal(before, fresh.explain_all(ds, n_clusters=2).labels)
