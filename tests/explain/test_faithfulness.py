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
from ecg_cluster_widget.explain.faithfulness_cv import (
    cross_validate_faithfulness,
    faithfulness_with_control,
    label_proportions,
    raw_kmeans_proportions,
)
from ecg_cluster_widget.explain.fidelity import HONEST_METRICS, agreement_metrics, majority_rule


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
    assert d == faithfulness(
        p[:300], cnn[:300], p[300:], cnn[300:], n_estimators=100, random_state=0
    )


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
        p[:200],
        proba[:200],
        p[200:],
        proba[200:],
        y_test=y[200:],
        cnn_proba_test=proba[200:],
        n_estimators=100,
        class_names=["A", "B", "C"],
    )
    for key in (
        "rf_accuracy",
        "cnn_accuracy",
        "rf_auroc",
        "cnn_auroc",
        "rf_f1",
        "cnn_f1",
        "rf_subset_accuracy",
        "cnn_subset_accuracy",
    ):
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
    d = faithfulness_regression(
        p[:300], cnn_age[:300], p[300:], cnn_age[300:], y_test=true_age[300:], n_estimators=100
    )
    assert d["fidelity"] > 0.9
    assert d["cnn_mae"] < 6 and d["rf_mae"] < 8
    noise = faithfulness_regression(
        p[:300],
        true_age[:300] * 0 + np.random.default_rng(1).normal(size=300),
        p[300:],
        np.random.default_rng(2).normal(size=100),
        n_estimators=50,
    )
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
        fitted_on = None

        @property
        def is_fitted(self):
            return self.fitted_on is not None

        def fit(self, ds):
            self.fitted_on = len(ds)
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


# ----------------------------------------------------------------------------- honest faithfulness
def _rare_cnn(n=400, seed=7):
    """Proportions and CNN labels: a common class, a rarer one, and a class with 3 positives."""
    p = _props(n, seed=seed)
    cnn = np.stack([p[:, 0] > 0.1, p[:, 1] > 0.35, np.zeros(n, bool)], axis=1).astype(int)
    cnn[[n - 1, n - 2, n - 3], 2] = 1  # 3 positives, all in the test part
    return p, cnn


def test_kappa_mcc_perfect_inverted_and_majority_rule():
    _, cnn = _rare_cnn()
    cnn = cnn[:, :2]
    perfect = agreement_metrics(cnn, cnn, cnn.astype(float), min_positives=10)
    assert perfect["kappa"] == 1.0 and perfect["mcc"] == pytest.approx(1.0)
    assert perfect["auroc_vs_cnn"] == 1.0 and perfect["excluded_classes"] == []
    inverted = agreement_metrics(cnn, 1 - cnn)
    assert inverted["mcc"] == pytest.approx(-1.0) and inverted["kappa"] < 0
    # a noisy but informative surrogate: positive MCC, below 1
    rng = np.random.default_rng(0)
    noisy = np.where(rng.random(cnn.shape) < 0.2, 1 - cnn, cnn)
    m = agreement_metrics(cnn, noisy)
    assert 0.2 < m["mcc"] < 0.95 and 0.2 < m["kappa"] < 0.95
    from sklearn.metrics import cohen_kappa_score, matthews_corrcoef

    for j in range(2):
        assert m["kappa_per_class"][f"class_{j}"] == pytest.approx(
            cohen_kappa_score(cnn[:, j], noisy[:, j])
        )
        assert m["mcc_per_class"][f"class_{j}"] == pytest.approx(
            matthews_corrcoef(cnn[:, j], noisy[:, j])
        )
    # the majority rule (a constant) has kappa and MCC exactly 0 although fidelity is high
    maj = majority_rule(cnn[:300], 100)
    assert (maj == maj[0]).all() and maj.shape == (100, 2)
    mm = agreement_metrics(cnn[300:], maj)
    assert mm["kappa_per_class"] == {"class_0": 0.0, "class_1": 0.0}
    assert mm["kappa"] == 0.0 and mm["mcc"] == 0.0
    assert mm["fidelity"] > 0.5


def test_majority_rule_uses_the_training_labels():
    train = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    assert majority_rule(train, 3).tolist() == [[1, 0]] * 3
    # probabilities are thresholded first
    assert majority_rule([[0.9], [0.6], [0.1]], 1).tolist() == [[1]]


def test_auroc_vs_cnn_matches_sklearn_on_a_hand_case():
    from sklearn.metrics import roc_auc_score

    cnn = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7, 0.65, 0.3])
    d = agreement_metrics(cnn, (score > 0.5).astype(int), score, min_positives=0)
    # by hand: 16 (positive, negative) pairs; positives 0.35, 0.8, 0.7, 0.3 outrank
    # 2, 4, 4, 2 of the negatives 0.1, 0.4, 0.2, 0.65 -> 12 / 16
    assert d["auroc_vs_cnn"] == pytest.approx(12 / 16)
    assert d["auroc_vs_cnn"] == pytest.approx(roc_auc_score(cnn, score))


def test_exclusion_rule_drops_a_class_with_three_positives():
    p, cnn = _rare_cnn()
    d = faithfulness(
        p[:300],
        cnn[:300],
        p[300:],
        cnn[300:],
        n_estimators=60,
        class_names=["A", "B", "RARE"],
        min_positives=10,
    )
    assert d["cnn_positives"]["RARE"] == 3
    assert d["excluded_classes"] == ["RARE"] and d["included_classes"] == ["A", "B"]
    assert "3 CNN positives" in d["excluded_reason"]["RARE"]
    kept = [d["kappa_per_class"][c] for c in ("A", "B")]
    assert d["kappa"] == pytest.approx(np.mean(kept))
    assert d["mcc"] == pytest.approx(np.mean([d["mcc_per_class"][c] for c in ("A", "B")]))
    assert d["auroc_vs_cnn"] == pytest.approx(
        np.mean([d["auroc_vs_cnn_per_class"][c] for c in ("A", "B")])
    )
    # per-class values are still reported for the excluded class; fidelity keeps all classes
    assert "RARE" in d["kappa_per_class"] and len(d["fidelity_per_class"]) == 3
    # min_positives=3 keeps it
    d3 = faithfulness(
        p[:300],
        cnn[:300],
        p[300:],
        cnn[300:],
        n_estimators=60,
        class_names=["A", "B", "RARE"],
        min_positives=3,
    )
    assert d3["excluded_classes"] == [] and d3["kappa"] != d["kappa"]
    # every class excluded -> macro values are None, not a number
    d_all = agreement_metrics(cnn[300:], cnn[300:], min_positives=1000)
    assert d_all["kappa"] is None and d_all["mcc"] is None
    assert len(d_all["excluded_classes"]) == 3
    with pytest.raises(DataError, match="min_positives"):
        agreement_metrics(cnn, cnn, min_positives=-1)


def test_faithfulness_keeps_old_keys_and_adds_honest_ones():
    p, cnn = _rare_cnn()
    d = faithfulness(p[:300], cnn[:300], p[300:], cnn[300:], y_test=cnn[300:], n_estimators=60)
    for key in (
        "fidelity",
        "fidelity_exact",
        "fidelity_per_class",
        "rf_accuracy",
        "cnn_accuracy",
        "rf_auroc",
        "cnn_auroc",
        "feature_importance",
        "n_train",
        "n_test",
    ):
        assert key in d, key
    for key in HONEST_METRICS:
        assert key in d, key
    assert d["majority_floor"] == pytest.approx((majority_rule(cnn[:300], 100) == cnn[300:]).mean())
    assert d["fidelity_above_floor"] == pytest.approx(d["fidelity"] - d["majority_floor"])
    assert d["majority_label_per_class"] == {"class_0": 1, "class_1": 0, "class_2": 0}
    assert d["kappa"] > 0.5 and d["mcc"] > 0.5 and d["auroc_vs_cnn"] > 0.9
    json.dumps(d)


def test_control_on_noise_is_worse_than_informative_proportions():
    p, cnn = _rare_cnn()
    noise = _props(400, k=5, seed=99)
    d = faithfulness_with_control(
        p[:300],
        cnn[:300],
        p[300:],
        cnn[300:],
        noise[:300],
        noise[300:],
        n_estimators=60,
        random_state=3,
    )
    assert d["surrogate"]["kappa"] > 0.5
    assert abs(d["control"]["kappa"]) < 0.3
    assert d["difference"]["kappa"] == pytest.approx(
        d["surrogate"]["kappa"] - d["control"]["kappa"]
    )
    # the same forest and seed as faithfulness() on the control's features
    ctrl = faithfulness(
        noise[:300], cnn[:300], noise[300:], cnn[300:], n_estimators=60, random_state=3
    )
    assert ctrl["fidelity"] == d["control"]["fidelity"]


def test_label_proportions_and_raw_kmeans_proportions():
    from ecg_cluster_widget.data.dataset import ECGDataset

    lab = np.array([[0, 1, 1, -1], [2, 2, 2, 2]], dtype=np.int16)
    assert label_proportions(lab, 3).tolist() == [[1 / 3, 2 / 3, 0.0], [0.0, 0.0, 1.0]]
    with pytest.raises(DataError, match="n_clusters"):
        label_proportions(lab, 2)
    rng = np.random.default_rng(0)
    sig = rng.normal(size=(6, 2, 300)).astype(np.float32)
    ds = ECGDataset(sig, fs=100, lead_names=("I", "II"))
    fit = ds.subset(slice(0, 4))
    p = raw_kmeans_proportions(ds, 3, fit_ds=fit, random_state=1)
    assert p.shape == (6, 3) and np.allclose(p.sum(axis=1), 1)
    # the training part labelled alone gets the same proportions (same fit, same seed)
    assert np.allclose(raw_kmeans_proportions(fit, 3, fit_ds=fit, random_state=1), p[:4])


def _cv_data(n=500, seed=11):
    p = _props(n, seed=seed)
    cnn = np.stack([p[:, 0] > 0.15, p[:, 1] > 0.3], axis=1).astype(float)
    y = np.where(np.random.default_rng(seed).random(cnn.shape) < 0.1, 1 - cnn, cnn)
    folds = np.random.default_rng(seed + 1).integers(1, 11, size=n)
    return p, cnn, y, folds


def test_cross_validation_uses_each_fold_once_as_test():
    p, cnn, y, folds = _cv_data()
    seen = []

    def props(fold):  # features "refitted" without the test fold
        seen.append(fold)
        return p

    cv = cross_validate_faithfulness(props, cnn, y, folds, n_estimators=30, random_state=0)
    assert cv["test_folds"] == list(range(1, 11)) and seen == list(range(1, 11))
    assert [r["test_fold"] for r in cv["per_fold"]] == list(range(1, 11))
    assert [r["n_test"] for r in cv["per_fold"]] == [int((folds == f).sum()) for f in range(1, 11)]
    assert all(r["n_train"] + r["n_test"] == len(p) for r in cv["per_fold"])
    assert sum(r["n_test"] for r in cv["per_fold"]) == len(p)
    # each fold's metrics equal a direct train-on-the-others / test-on-the-fold run
    te = folds == 4
    direct = faithfulness(
        p[~te],
        cnn[~te],
        p[te],
        cnn[te],
        y_test=y[te],
        cnn_proba_test=cnn[te],
        n_estimators=30,
        random_state=0,
    )
    assert cv["per_fold"][3]["fidelity"] == direct["fidelity"]
    assert cv["per_fold"][3]["kappa"] == direct["kappa"]
    s = cv["summary"]["fidelity"]
    assert s["n"] == 10 and s["mean"] == pytest.approx(
        np.mean([r["fidelity"] for r in cv["per_fold"]])
    )
    assert s["sd"] == pytest.approx(np.std([r["fidelity"] for r in cv["per_fold"]], ddof=1))
    for key in ("majority_floor", "kappa", "mcc", "auroc_vs_cnn", "rf_accuracy", "cnn_auroc"):
        assert cv["summary"][key]["n"] == 10, key
    json.dumps(cv)


def test_cross_validation_mapping_subset_and_errors():
    p, cnn, y, folds = _cv_data()
    cv = cross_validate_faithfulness(
        {9: p, 10: p}, cnn, None, folds, test_folds=[9, 10], n_estimators=20
    )
    assert cv["test_folds"] == [9, 10]
    assert [r["n_train"] for r in cv["per_fold"]] == [int((folds != f).sum()) for f in (9, 10)]
    assert "rf_accuracy" not in cv["summary"]  # no true labels given
    with pytest.raises(DataError, match="no entry"):
        cross_validate_faithfulness({9: p}, cnn, None, folds, test_folds=[9, 10])
    with pytest.raises(DataError, match="distinct"):
        cross_validate_faithfulness(p, cnn, None, folds, test_folds=[9, 9])
    with pytest.raises(DataError, match="at least 2 folds"):
        cross_validate_faithfulness(p, cnn, None, np.ones(len(p), int))


def test_cross_validation_is_deterministic_for_a_seed():
    p, cnn, y, folds = _cv_data(n=300)
    a = cross_validate_faithfulness(p, cnn, y, folds, n_estimators=20, random_state=5)
    b = cross_validate_faithfulness(p, cnn, y, folds, n_estimators=20, random_state=5)
    assert a == b
    c = cross_validate_faithfulness(p, cnn, y, folds, n_estimators=20, random_state=6)
    assert [r["feature_importance"] for r in c["per_fold"]] != [
        r["feature_importance"] for r in a["per_fold"]
    ]


def test_cross_validation_reports_folds_where_a_class_was_excluded():
    p, cnn, y, folds = _cv_data()
    cnn = np.column_stack([cnn, np.zeros(len(p))])
    cnn[np.flatnonzero(folds == 3)[:3], 2] = 1  # 3 positives, all in fold 3
    cv = cross_validate_faithfulness(
        p, cnn, None, folds, n_estimators=20, class_names=["A", "B", "R"]
    )
    assert cv["excluded_class_folds"]["R"] == list(range(1, 11))
    assert "A" not in cv["excluded_class_folds"]
    assert all("R" in r["excluded_classes"] for r in cv["per_fold"])
    # pooled out-of-fold: all 500 records at once; R has 3 positives in total -> still excluded,
    # and the pooled floor is the per-fold floors applied to their own folds
    pool = cv["pooled"]
    assert pool["n_test"] == len(p) and pool["excluded_classes"] == ["R"]
    floors = [r["majority_floor"] * r["n_test"] for r in cv["per_fold"]]
    assert pool["majority_floor"] == pytest.approx(sum(floors) / len(p))
    fids = [r["fidelity"] * r["n_test"] for r in cv["per_fold"]]
    assert pool["fidelity"] == pytest.approx(sum(fids) / len(p))
    assert cv["summary"]["kappa"]["n"] == 10
