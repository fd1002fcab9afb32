"""Faithfulness of cluster proportions: can a random forest on them reproduce the CNN?

Step 9 of the method (docs/method.md, "Faithfulness"): a random forest is trained on each ECG's cluster
proportions (share of time in each cluster) to predict the CNN's *own* thresholded
predictions. Its agreement with the CNN on held-out ECGs is the *fidelity*; with true
labels, its accuracy / AUROC / F1 are reported next to the CNN's.

Multi-label design: **one** ``RandomForestClassifier`` is fitted on the whole 0/1 label
matrix (scikit-learn forests are natively multi-output), so the trees share splits
between classes, as the paper's single surrogate does. All outputs are plain Python
floats / lists so the dict is JSON-safe.

Fidelity is reported next to its majority-rule floor and the chance-corrected agreement
(:mod:`~ecg_cluster_widget.explain.fidelity`); controls and k-fold cross-validation are in
:mod:`~ecg_cluster_widget.explain.faithfulness_cv`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import f1_score, mean_absolute_error, r2_score, roc_auc_score

from ..errors import DataError
from ..model.checkpoint import DEFAULT_TASK
from .fidelity import (
    agreement_metrics,
    as_matrix,
    binarize,
    class_names_of,
    majority_rule,
)

__all__ = [
    "faithfulness",
    "faithfulness_regression",
    "faithfulness_from_explainer",
]


def _rf_proba(rf: RandomForestClassifier, x: np.ndarray, n_out: int) -> np.ndarray:
    """P(label=1) per output, (n, n_out), also for outputs constant in training."""
    probs = rf.predict_proba(x)
    if n_out == 1:
        probs = [probs]
    classes = rf.classes_ if n_out > 1 else [rf.classes_]
    out = np.zeros((x.shape[0], n_out))
    for j, (p, cls) in enumerate(zip(probs, classes)):
        pos = np.flatnonzero(np.asarray(cls) == 1)
        if pos.size:
            out[:, j] = p[:, pos[0]]
    return out


def _macro_auroc(
    y: np.ndarray, score: np.ndarray, names: list[str]
) -> tuple[float | None, list[str]]:
    aucs, skipped = [], []
    for j in range(y.shape[1]):
        if len(np.unique(y[:, j])) < 2:
            skipped.append(names[j])
            continue
        aucs.append(roc_auc_score(y[:, j], score[:, j]))
    return (float(np.mean(aucs)) if aucs else None), skipped


def _proportions(train: Any, test: Any) -> tuple[np.ndarray, np.ndarray]:
    x_tr, x_te = as_matrix(train, "proportions_train"), as_matrix(test, "proportions_test")
    if x_te.shape[1] != x_tr.shape[1]:
        raise DataError(
            f"proportions_test has {x_te.shape[1]} clusters but proportions_train has "
            f"{x_tr.shape[1]}; compute both with the same fitted explainer."
        )
    return x_tr, x_te


def _fit_and_score(
    proportions_train: Any,
    cnn_pred_train: Any,
    proportions_test: Any,
    cnn_pred_test: Any,
    y_test: Any,
    cnn_proba_test: Any,
    n_estimators: int,
    random_state: int,
    threshold: float,
    class_names: Sequence[str] | None,
    min_positives: int,
) -> tuple[dict, dict[str, np.ndarray]]:
    """Body of :func:`faithfulness`; also returns the test-set arrays (forest labels and
    scores, CNN labels, majority-rule labels) for pooling over folds."""
    x_tr, x_te = _proportions(proportions_train, proportions_test)
    p_tr = as_matrix(cnn_pred_train, "cnn_pred_train", len(x_tr))
    p_te = as_matrix(cnn_pred_test, "cnn_pred_test", len(x_te))
    if p_te.shape[1] != p_tr.shape[1]:
        raise DataError(
            f"cnn_pred_test has {p_te.shape[1]} classes, cnn_pred_train {p_tr.shape[1]}."
        )
    n_cls = p_tr.shape[1]
    names = class_names_of(class_names, n_cls)
    yb_tr, yb_te = binarize(p_tr, threshold), binarize(p_te, threshold)

    rf = RandomForestClassifier(
        n_estimators=int(n_estimators), random_state=random_state, n_jobs=1, min_samples_leaf=1
    )
    rf.fit(x_tr, yb_tr if n_cls > 1 else yb_tr[:, 0])
    rf_score = _rf_proba(rf, x_te, n_cls)
    rf_pred = rf.predict(x_te).reshape(len(x_te), n_cls).astype(np.int64)

    agree = rf_pred == yb_te
    out: dict[str, Any] = {
        "fidelity": float(agree.mean()),
        "fidelity_exact": float(agree.all(axis=1).mean()),
        "fidelity_per_class": {n: float(v) for n, v in zip(names, agree.mean(axis=0))},
        "n_train": int(len(x_tr)),
        "n_test": int(len(x_te)),
        "n_clusters": int(x_tr.shape[1]),
        "n_estimators": int(n_estimators),
        "class_names": names,
        "surrogate": "one multi-output RandomForestClassifier on cluster proportions",
        "feature_importance": [float(v) for v in rf.feature_importances_],
    }
    honest = agreement_metrics(
        yb_te, rf_pred, rf_score, min_positives=min_positives, class_names=names
    )
    floor = majority_rule(yb_tr, len(x_te)) == yb_te
    out["majority_floor"] = float(floor.mean())
    out["majority_floor_per_class"] = {n: float(v) for n, v in zip(names, floor.mean(axis=0))}
    out["majority_label_per_class"] = {n: int(v) for n, v in zip(names, majority_rule(yb_tr, 1)[0])}
    out["fidelity_above_floor"] = out["fidelity"] - out["majority_floor"]
    out.update({k: v for k, v in honest.items() if k not in ("fidelity", "fidelity_per_class")})
    if y_test is not None:
        y = binarize(as_matrix(y_test, "y_test", len(x_te)), 0.5)
        if y.shape[1] != n_cls:
            raise DataError(f"y_test has {y.shape[1]} classes but the CNN predicts {n_cls}.")
        cnn_score = (
            p_te
            if cnn_proba_test is None
            else as_matrix(cnn_proba_test, "cnn_proba_test", len(x_te))
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # F1 of a class absent from y and predictions
            out["rf_accuracy"] = float((rf_pred == y).mean())
            out["cnn_accuracy"] = float((yb_te == y).mean())
            out["rf_subset_accuracy"] = float((rf_pred == y).all(axis=1).mean())
            out["cnn_subset_accuracy"] = float((yb_te == y).all(axis=1).mean())
            out["rf_f1"] = float(f1_score(y, rf_pred, average="macro", zero_division=0))
            out["cnn_f1"] = float(f1_score(y, yb_te, average="macro", zero_division=0))
        out["rf_auroc"], skipped = _macro_auroc(y, rf_score, names)
        cnn_is_binary = np.isin(cnn_score, (0.0, 1.0)).all() and cnn_proba_test is None
        out["cnn_auroc"], _ = _macro_auroc(y, cnn_score, names)
        out["auroc_skipped_classes"] = skipped
        if skipped:
            out["auroc_note"] = (
                f"AUROC undefined for {', '.join(skipped)} (only one value in y_test); "
                "macro AUROC averages the other classes."
            )
        if cnn_is_binary:
            out["cnn_auroc_note"] = (
                "cnn_pred_test holds 0/1 labels, so CNN AUROC uses hard predictions."
            )
    arrays = {
        "rf_pred": rf_pred,
        "rf_score": rf_score,
        "cnn_test": yb_te,
        "floor_pred": majority_rule(yb_tr, len(x_te)),
    }
    return out, arrays


def faithfulness(
    proportions_train: Any,
    cnn_pred_train: Any = None,
    proportions_test: Any = None,
    cnn_pred_test: Any = None,
    y_test: Any = None,
    cnn_proba_test: Any = None,
    n_estimators: int = 200,
    random_state: int = 0,
    *,
    threshold: float = 0.5,
    class_names: list[str] | tuple[str, ...] | None = None,
    min_positives: int = 10,
    **kwargs: Any,
) -> dict:
    """Fit a random forest on cluster proportions to reproduce the CNN's labels.

    Parameters
    ----------
    proportions_train, proportions_test : array (n, K)
        Cluster proportions per ECG (``ExplanationSet.proportions``).
    cnn_pred_train, cnn_pred_test : array (n, C)
        The CNN's predictions; probabilities are thresholded at ``threshold``.
    y_test : array (n_test, C), optional
        True 0/1 labels; adds RF / CNN accuracy, macro AUROC and macro F1.
    cnn_proba_test : array (n_test, C), optional
        CNN scores for its AUROC; defaults to ``cnn_pred_test`` when that holds probabilities.
    n_estimators, random_state : int
        Forest size and seed (same inputs -> same dict).
    threshold : float
        Cut-off turning probabilities into labels.
    class_names : sequence of str, optional
        Names used in the per-class entries.
    min_positives : int
        Classes with fewer than ``min_positives`` CNN positives (or negatives) among the
        test ECGs are left out of the macro kappa / MCC / AUROC-vs-CNN and listed in
        ``excluded_classes`` (see :func:`agreement_metrics`).

    Returns
    -------
    dict
        ``fidelity`` (mean per-label agreement RF vs CNN on test), ``fidelity_exact``
        (all labels of a record agree), ``fidelity_per_class``.
        Honest faithfulness: ``majority_floor`` (fidelity of :func:`majority_rule`, the
        per-class majority CNN label of the *training* ECGs applied to test) with
        ``majority_floor_per_class`` / ``majority_label_per_class`` and
        ``fidelity_above_floor``; ``kappa``, ``mcc``, ``auroc_vs_cnn`` (AUROC of the
        forest's ``predict_proba`` against the CNN's test labels), each macro over the
        classes kept by the ``min_positives`` rule, with ``*_per_class`` for all
        classes, ``cnn_positives``, ``included_classes``, ``excluded_classes`` and
        ``excluded_reason``. With ``y_test``:
        ``rf_accuracy`` / ``cnn_accuracy`` (mean per-label), ``*_subset_accuracy``,
        ``rf_auroc`` / ``cnn_auroc`` (macro over classes with both values present;
        ``auroc_skipped_classes`` names the others), ``rf_f1`` / ``cnn_f1`` (macro).
        Also ``feature_importance`` (K,) and the sizes.

    Notes
    -----
    The contract form ``faithfulness(tlc, bundle, train_ds, test_ds, random_state=0)``
    is also accepted and forwarded to :func:`faithfulness_from_explainer`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.dirichlet(np.ones(4), size=200)
    >>> y = (p[:, :2] > 0.25).astype(int)
    >>> d = faithfulness(p[:150], y[:150], p[150:], y[150:], y_test=y[150:], n_estimators=50)
    >>> d["fidelity"] > 0.9
    True
    >>> d["kappa"] > 0.7 and d["majority_floor"] < d["fidelity"]
    True
    """
    if hasattr(proportions_train, "explain_all"):
        # Contract form: faithfulness(tlc, bundle, train_ds, test_ds, ...)
        return faithfulness_from_explainer(
            proportions_train,
            cnn_pred_train,
            proportions_test,
            cnn_pred_test,
            n_estimators=n_estimators,
            random_state=random_state,
            threshold=threshold,
            min_positives=min_positives,
            **kwargs,
        )
    if kwargs:
        raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
    if cnn_pred_train is None or proportions_test is None or cnn_pred_test is None:
        raise DataError(
            "faithfulness needs proportions_train, cnn_pred_train, proportions_test and cnn_pred_test."
        )
    return _fit_and_score(
        proportions_train,
        cnn_pred_train,
        proportions_test,
        cnn_pred_test,
        y_test,
        cnn_proba_test,
        n_estimators,
        random_state,
        threshold,
        class_names,
        min_positives,
    )[0]


def faithfulness_regression(
    proportions_train: Any,
    cnn_out_train: Any,
    proportions_test: Any,
    cnn_out_test: Any,
    y_test: Any = None,
    n_estimators: int = 200,
    random_state: int = 0,
) -> dict:
    """Regression variant (e.g. age): a RandomForestRegressor on proportions vs CNN output.

    Parameters
    ----------
    proportions_train, proportions_test : array (n, K)
        Cluster proportions per ECG (``ExplanationSet.proportions``).
    cnn_out_train, cnn_out_test : array (n,) or (n, 1)
        The CNN's regression outputs.
    y_test : array (n_test,), optional
        True targets; adds the forest's and the CNN's R^2 and MAE.
    n_estimators, random_state : int
        Forest size and seed (same inputs -> same dict).

    Returns
    -------
    dict
        ``fidelity`` = R^2 of the forest against the CNN's outputs on test (and
        ``fidelity_mae``); with ``y_test``: ``rf_r2``, ``rf_mae``, ``cnn_r2``, ``cnn_mae``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.dirichlet(np.ones(3), size=300)
    >>> age = 40 + 40 * p[:, 0]
    >>> d = faithfulness_regression(p[:200], age[:200], p[200:], age[200:], n_estimators=50)
    >>> d["fidelity"] > 0.9
    True
    """
    x_tr, x_te = _proportions(proportions_train, proportions_test)
    c_tr = as_matrix(cnn_out_train, "cnn_out_train", len(x_tr))
    c_te = as_matrix(cnn_out_test, "cnn_out_test", len(x_te))
    rf = RandomForestRegressor(n_estimators=int(n_estimators), random_state=random_state, n_jobs=1)
    rf.fit(x_tr, c_tr[:, 0] if c_tr.shape[1] == 1 else c_tr)
    pred = rf.predict(x_te).reshape(c_te.shape)
    out: dict[str, Any] = {
        "fidelity": float(r2_score(c_te, pred)),
        "fidelity_mae": float(mean_absolute_error(c_te, pred)),
        "n_train": int(len(x_tr)),
        "n_test": int(len(x_te)),
        "n_clusters": int(x_tr.shape[1]),
        "n_estimators": int(n_estimators),
        "surrogate": "RandomForestRegressor on cluster proportions",
        "feature_importance": [float(v) for v in rf.feature_importances_],
    }
    if y_test is not None:
        y = as_matrix(y_test, "y_test", len(x_te))
        out["rf_r2"] = float(r2_score(y, pred))
        out["rf_mae"] = float(mean_absolute_error(y, pred))
        out["cnn_r2"] = float(r2_score(y, c_te))
        out["cnn_mae"] = float(mean_absolute_error(y, c_te))
    return out


def faithfulness_from_explainer(
    tlc: Any,
    bundle: Any,
    train_ds: Any,
    test_ds: Any,
    n_estimators: int = 200,
    random_state: int = 0,
    threshold: float = 0.5,
    min_positives: int = 10,
) -> dict:
    """Faithfulness straight from a fitted (or unfitted) :class:`TLCExplainer`.

    Uses ``tlc.explain_all(ds).proportions`` as features and ``bundle.predict_proba(ds)``
    as the CNN's output; an unfitted explainer is first fitted on ``train_ds``. For a
    bundle with ``task == "regression"`` it returns :func:`faithfulness_regression`.

    Parameters
    ----------
    tlc : TLCExplainer
        The explainer; fitted on ``train_ds`` first when it is not fitted yet.
    bundle : ModelBundle
        The explained model.
    train_ds, test_ds : ECGDataset
        The forest is trained on ``train_ds`` and scored on ``test_ds`` (labels of
        ``test_ds``, when present, add accuracy / AUROC / F1 entries).
    n_estimators, random_state : int
        Forest size and seed.
    threshold : float
        Cut-off turning the CNN's probabilities into labels.
    min_positives : int
        Exclusion rule of the macro kappa / MCC / AUROC-vs-CNN (see :func:`faithfulness`).

    Returns
    -------
    dict
        As :func:`faithfulness` (or :func:`faithfulness_regression`).

    Examples
    --------
    >>> from ecg_cluster_widget.demo import demo_explainer
    >>> tlc, ds, bundle = demo_explainer(n_clusters=3, n_records=60)
    >>> train, test = ds.subset(slice(0, 40)), ds.subset(slice(40, 60))
    >>> d = faithfulness_from_explainer(tlc, bundle, train, test, n_estimators=20)
    >>> 0.0 <= d["fidelity"] <= 1.0
    True
    """
    if not tlc.is_fitted:
        tlc.fit(train_ds)
    prop_tr = tlc.explain_all(train_ds).proportions
    prop_te = tlc.explain_all(test_ds).proportions
    out_tr = bundle.predict_proba(train_ds)
    out_te = bundle.predict_proba(test_ds)
    if getattr(bundle, "task", DEFAULT_TASK) == "regression":
        return faithfulness_regression(
            prop_tr,
            out_tr,
            prop_te,
            out_te,
            y_test=test_ds.labels,
            n_estimators=n_estimators,
            random_state=random_state,
        )
    names = getattr(bundle, "class_names", None)
    return faithfulness(
        prop_tr,
        out_tr,
        prop_te,
        out_te,
        y_test=test_ds.labels,
        cnn_proba_test=out_te,
        n_estimators=n_estimators,
        random_state=random_state,
        threshold=threshold,
        class_names=list(names) if names is not None else None,
        min_positives=min_positives,
    )
