"""Landmark alignment scores, the rule-based delineator and the raw-window baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecg_cluster_widget.data.dataset import ECGDataset
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError
from ecg_cluster_widget.explain.landmarks import (
    delineate,
    landmark_alignment,
    raw_window_kmeans_labels,
)


@pytest.fixture(scope="module")
def syn():
    return make_synthetic(16, fs=100, seed=3)


def _wave_f1(pred, true, code, keep=None):
    keep = np.ones(true.shape, bool) if keep is None else keep
    a, b = (pred == code) & keep, (true == code) & keep
    return 2 * (a & b).sum() / max(a.sum() + b.sum(), 1)


def test_relabelled_masks_give_perfect_scores(rng):
    masks = rng.integers(0, 4, size=(5, 300))
    masks[:, :20] = -1
    perm = np.array([4, 2, 0, 1])  # wave -> cluster, cluster 3 unused
    labels = perm[np.clip(masks, 0, 3)]
    d = landmark_alignment(labels, masks, n_clusters=5)
    assert d["nmi"] == pytest.approx(1.0)
    assert d["homogeneity"] == pytest.approx(1.0) and d["completeness"] == pytest.approx(1.0)
    assert d["v_measure"] == pytest.approx(1.0) and d["purity"] == pytest.approx(1.0)
    cont = np.array(d["contingency"])
    assert cont.shape == (5, 4) and cont.sum() == (masks >= 0).sum() == d["n_points"]
    assert d["n_ignored"] == 100
    assert cont[3].sum() == 0 and d["per_cluster"][3]["majority_wave"] is None
    for w, name in enumerate(("none", "P", "QRS", "T")):
        assert d["per_wave"][name]["cluster"] == perm[w]
        assert d["per_wave"][name]["f1"] == pytest.approx(1.0)
    assert d["per_cluster"][2]["majority_wave"] == "P"
    json.dumps(d)


def test_random_labels_give_near_zero_nmi(rng):
    masks = rng.integers(0, 4, size=(20, 500))
    d = landmark_alignment(rng.integers(0, 6, size=masks.shape), masks)
    assert d["nmi"] < 0.01 and abs(d["ari"]) < 0.01
    assert d["n_clusters"] == 6


def test_ignored_samples_do_not_count(rng):
    masks = rng.integers(0, 4, size=(3, 100))
    labels = masks.copy()
    masks[:, 50:] = -1
    scrambled = labels.copy()
    scrambled[:, 50:] = rng.integers(0, 4, size=(3, 50))
    assert landmark_alignment(scrambled, masks)["nmi"] == pytest.approx(1.0)
    assert np.array(landmark_alignment(scrambled, masks)["contingency"]).sum() == 150


def test_alignment_bad_input():
    with pytest.raises(DataError, match="same shape"):
        landmark_alignment(np.zeros((2, 10), int), np.zeros((2, 11), int))
    with pytest.raises(DataError, match="per-lead"):
        landmark_alignment(np.zeros((2, 10), int), np.zeros((2, 3, 10), int))
    with pytest.raises(DataError, match="no annotated"):
        landmark_alignment(np.zeros((2, 10), int), -np.ones((2, 10), int))
    with pytest.raises(DataError, match="n_clusters"):
        landmark_alignment(np.full((2, 10), 7), np.zeros((2, 10), int), n_clusters=3)
    with pytest.raises(DataError, match="codes"):
        landmark_alignment(np.zeros((2, 10), int), np.full((2, 10), 9))


def test_delineator_against_synthetic_ground_truth(syn):
    pred = delineate(syn, lead="II")
    true = syn.wave_mask_for_lead("II")
    assert pred.shape == true.shape and pred.dtype == np.int8
    assert _wave_f1(pred, true, 2) > 0.8
    assert _wave_f1(pred, true, 3) > 0.6
    assert _wave_f1(pred, true, 1) > 0.5
    assert (pred == true).mean() > 0.75
    np.testing.assert_array_equal(pred, delineate(syn, lead="II"))


def test_delineator_errors(syn):
    with pytest.raises(DataError, match="lead 'X9'"):
        delineate(syn, lead="X9")
    low = ECGDataset(syn.signals[:, :, ::4], fs=25, lead_names=syn.lead_names)
    with pytest.raises(DataError, match="fs >= 50"):
        delineate(low)
    bad = syn.signals.copy()
    bad[0, 1, 5] = np.nan
    with pytest.raises(DataError, match="NaN"):
        delineate(ECGDataset(bad, fs=syn.fs, lead_names=syn.lead_names))
    # a flat line has no beats and therefore no waves
    flat = ECGDataset(np.zeros((1, 1, 1000)), fs=100, lead_names=("II",))
    assert (delineate(flat) == 0).all()


def _ludb_lead_ii(root, n):
    try:
        from ecg_cluster_widget.data.ludb import load_ludb
    except ImportError:
        load_ludb = None
    if load_ludb is not None:
        ds = load_ludb(root, records=list(range(1, n + 1)), progress=False)
        return ds, ds.wave_mask_for_lead("II")
    import wfdb

    sigs, masks = [], []
    for i in range(1, n + 1):
        rec = str(root / "data" / str(i))
        sig, _ = wfdb.rdsamp(rec)
        ann = wfdb.rdann(rec, "ii")
        m = np.full(sig.shape[0], -1, np.int8)
        m[ann.sample.min() : ann.sample.max() + 1] = 0
        for j in range(1, len(ann.symbol) - 1):
            code = {"p": 1, "N": 2, "t": 3}.get(ann.symbol[j])
            if code and ann.symbol[j - 1] == "(" and ann.symbol[j + 1] == ")":
                m[ann.sample[j - 1] : ann.sample[j + 1] + 1] = code
        sigs.append(sig.T)
        masks.append(m)
    ds = ECGDataset(
        np.array(sigs),
        fs=500,
        lead_names=("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"),
    )
    return ds, np.array(masks)


def test_delineator_on_ludb_lead_ii(ludb_root):
    ds, true = _ludb_lead_ii(ludb_root, 12)
    pred = delineate(ds, lead="II")
    keep = true >= 0
    assert _wave_f1(pred, true, 2, keep) > 0.8  # measured 0.87 on all 200 records
    assert _wave_f1(pred, true, 3, keep) > 0.6
    assert (pred == true)[keep].mean() > 0.7


def test_raw_window_kmeans_baseline(syn):
    small = syn.subset(slice(0, 6))
    lab = raw_window_kmeans_labels(small, 5, max_fit_points=3000)
    assert lab.shape == (6, small.n_samples) and lab.min() >= 0 and lab.max() <= 4
    np.testing.assert_array_equal(lab, raw_window_kmeans_labels(small, 5, max_fit_points=3000))
    nmi = landmark_alignment(lab, small.wave_masks, 5)["nmi"]
    shuffled = np.random.default_rng(0).permutation(lab.ravel()).reshape(lab.shape)
    assert nmi > 0.1 > landmark_alignment(shuffled, small.wave_masks, 5)["nmi"]
    with pytest.raises(DataError, match="n_clusters"):
        raw_window_kmeans_labels(small, 1)
