"""Faithfulness: a forest on informative proportions reproduces the CNN; on noise it does not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecg_cluster_widget.errors import DataError
from ecg_cluster_widget.explain.faithfulness import (
    faithfulness,
    faithfulness_from_explainer,
    faithfulness_regression,
)


def _props(n, k=5, seed=0):
    return np.random.default_rng(seed).dirichlet(np.ones(k), size=n)


def test_proportions_that_determine_label_give_fidelity_near_one():
    p = _props(400)
    cnn = np.stack([p[:, 0] > 0.2, p[:, 1] + p[:, 2] > 0.4, p[:, 3] > 0.3], axis=1).astype(float)
    d = faithfulness(p[:300], cnn[:300], p[300:], cnn[300:], n_estimators=100, random_state=0)
    assert d["fidelity"] > 0.9
    assert d["fidelity_exact"] > 0.75
    assert set(d["fidelity_per_class"]) == {"class_0", "class_1", "class_2"}
    assert len(d["feature_importance"]) == 5
    json.dumps(d)  # JSON-safe
    # deterministic
    assert d == faithfulness(p[:300], cnn[:300], p[300:], cnn[300:], n_estimators=100, random_state=0)


def test_noise_gives_chance_level():
    p = _props(600, seed=1)
    cnn = (np.random.default_rng(2).random((600, 2)) > 0.5).astype(float)
    d = faithfulness(p[:400], cnn[:400], p[400:], cnn[400:], n_estimators=100)
    assert 0.35 < d["fidelity"] < 0.65


def test_with_true_labels_probabilities_and_single_valued_class():
    rng = np.random.default_rng(3)
    p = _props(300, seed=3)
    y = np.stack([p[:, 0] > 0.2, p[:, 1] > 0.2, np.zeros(300, bool)], axis=1).astype(float)
    # CNN probabilities: right on class 0, noisy on class 1
    proba = np.clip(y + rng.normal(0, [0.1, 0.45, 0.1], y.shape), 0, 1)
    d = faithfulness(
        p[:200], proba[:200], p[200:], proba[200:], y_test=y[200:], cnn_proba_test=proba[200:],
        n_estimators=100, class_names=["A", "B", "C"],
    )
    for key in ("rf_accuracy", "cnn_accuracy", "rf_auroc", "cnn_auroc", "rf_f1", "cnn_f1",
                "rf_subset_accuracy", "cnn_subset_accuracy"):
        assert 0.0 <= d[key] <= 1.0, key
    assert d["auroc_skipped_classes"] == ["C"] and "C" in d["auroc_note"]
    assert d["rf_accuracy"] > 0.8
    # class B CNN is noisy -> CNN accuracy below the perfect forest-on-truth level
    assert d["cnn_accuracy"] < 1.0


def test_single_output_vector():
    p = _props(300, seed=4)
    cnn = (p[:, 0] > 0.2).astype(int)
    d = faithfulness(p[:200], cnn[:200], p[200:], cnn[200:], y_test=cnn[200:], n_estimators=50)
    assert d["fidelity"] > 0.9 and d["rf_auroc"] > 0.9


def test_regression_variant():
    p = _props(400, seed=5)
    cnn_age = 30 + 50 * p[:, 0]
    true_age = cnn_age + np.random.default_rng(0).normal(0, 5, 400)
    d = faithfulness_regression(p[:300], cnn_age[:300], p[300:], cnn_age[300:], y_test=true_age[300:],
                                n_estimators=100)
    assert d["fidelity"] > 0.9
    assert d["cnn_mae"] < 6 and d["rf_mae"] < 8
    noise = faithfulness_regression(p[:300], true_age[:300] * 0 + np.random.default_rng(1).normal(size=300),
                                    p[300:], np.random.default_rng(2).normal(size=100), n_estimators=50)
    assert noise["fidelity"] < 0.2


def test_bad_input():
    p = _props(50)
    y = (p[:, :2] > 0.2).astype(float)
    with pytest.raises(DataError, match="clusters"):
        faithfulness(p, y, p[:, :3], y)
    with pytest.raises(DataError, match="rows"):
        faithfulness(p, y[:10], p, y)
    bad = p.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        faithfulness(bad, y, p, y)
    with pytest.raises(DataError, match="classes"):
        faithfulness(p, y, p, y, y_test=y[:, :1])


class _FakeSet:
    def __init__(self, proportions):
        self.proportions = proportions


def test_from_explainer_uses_explain_all_and_predict_proba(tmp_path):
    """Duck-typed explainer/bundle check the wiring only; the real pair is in test_evaluate."""
    from ecg_cluster_widget.data.dataset import ECGDataset

    p = _props(120, seed=6)
    sig = np.zeros((120, 1, 10), np.float32)
    sig[:, 0, 0] = np.arange(120)
    y = (p[:, :1] > 0.2).astype(float)
    ds_tr = ECGDataset(sig[:80], fs=10, lead_names=("II",), labels=y[:80])
    ds_te = ECGDataset(sig[80:], fs=10, lead_names=("II",), labels=y[80:])

    class TLC:
        centroids_ = None
        fitted_on = None

        def fit(self, ds):
            self.fitted_on = len(ds)
            self.centroids_ = np.zeros((5, 2))
            return self

        def explain_all(self, ds):
            return _FakeSet(p[ds.signals[:, 0, 0].astype(int)])

    class Bundle:
        class_names = ("X",)
        task = "multilabel"

        def predict_proba(self, ds):
            return y[ds.signals[:, 0, 0].astype(int)]

    tlc = TLC()
    d = faithfulness(tlc, Bundle(), ds_tr, ds_te, n_estimators=50)
    assert tlc.fitted_on == 80
    assert d["n_train"] == 80 and d["n_test"] == 40 and d["class_names"] == ["X"]
    assert d["fidelity"] > 0.85
    d2 = faithfulness_from_explainer(tlc, Bundle(), ds_tr, ds_te, n_estimators=50)
    assert d2["fidelity"] == d["fidelity"]
