"""Faithfulness of cluster proportions: can a random forest on them reproduce the CNN?

Why one file of ~980 lines: the classification and regression variants, the controls and
the agreement metrics are one experimental protocol that must stay identical across them;
about 370 lines are docstrings with runnable examples.

Step 9 of the method (docs/method.md, "Faithfulness"): a random forest is trained on each ECG's cluster
proportions (share of time in each cluster) to predict the CNN's *own* thresholded
predictions. Its agreement with the CNN on held-out ECGs is the *fidelity*; with true
labels, its accuracy / AUROC / F1 are reported next to the CNN's.

Multi-label design: **one** ``RandomForestClassifier`` is fitted on the whole 0/1 label
matrix (scikit-learn forests are natively multi-output), so the trees share splits
between classes, as the paper's single surrogate does. All outputs are plain Python
floats / lists so the dict is JSON-safe.

Honest faithfulness. Fidelity alone is floor-inflated: when the CNN calls few ECGs
positive, "always predict each class's majority CNN label" already agrees on most
labels. Next to fidelity the result therefore carries the chance-corrected agreement
(Cohen's kappa and the Matthews correlation, both 0 for the majority rule), the AUROC
of the forest's scores against the CNN's labels, and the majority-rule floor itself
(:func:`agreement_metrics`, :func:`majority_rule`). A CNN-agnostic control (the same
forest on proportions of clusters that never saw the CNN, e.g.
:func:`raw_kmeans_proportions`) is compared by :func:`faithfulness_with_control`, and
:func:`cross_validate_faithfulness` repeats everything over k folds.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import (
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from ..errors import DataError, NotFittedError
from ..model.checkpoint import DEFAULT_TASK

__all__ = [
    "faithfulness",
    "faithfulness_regression",
    "faithfulness_from_explainer",
    "agreement_metrics",
    "majority_rule",
    "label_proportions",
    "raw_kmeans_proportions",
    "faithfulness_with_control",
    "cross_validate_faithfulness",
    "HONEST_METRICS",
]

#: Scalar keys of :func:`faithfulness` summarised by :func:`cross_validate_faithfulness`
#: (the true-label keys only when true labels are given).
HONEST_METRICS: tuple[str, ...] = (
    "fidelity",
    "majority_floor",
    "fidelity_above_floor",
    "kappa",
    "mcc",
    "auroc_vs_cnn",
    "fidelity_exact",
    "rf_accuracy",
    "cnn_accuracy",
    "rf_auroc",
    "cnn_auroc",
    "rf_f1",
    "cnn_f1",
)


def _matrix(a: Any, name: str, n: int | None = None) -> np.ndarray:
    try:
        x = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric array, got {type(a).__name__}.") from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise DataError(f"{name} must have shape (n_records, n_columns); got {x.shape}.")
    if not np.isfinite(x).all():
        raise DataError(f"{name} contains NaN or inf; drop those records first.")
    if n is not None and x.shape[0] != n:
        raise DataError(f"{name} has {x.shape[0]} rows but the matching proportions have {n}.")
    return x


def _binarize(p: np.ndarray, threshold: float) -> np.ndarray:
    """Probabilities -> 0/1; arrays that are already 0/1 pass unchanged."""
    if np.isin(p, (0.0, 1.0)).all():
        return p.astype(np.int64)
    return (p >= threshold).astype(np.int64)


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


def _binary_kappa(ref: np.ndarray, pred: np.ndarray) -> float | None:
    """Cohen's kappa of two 0/1 vectors in exact integer arithmetic (None when undefined).

    Integer counts make the kappa of a constant prediction exactly 0.0 (no rounding).
    """
    n = int(ref.size)
    agree = int((ref == pred).sum())
    r1, p1 = int(ref.sum()), int(pred.sum())
    chance = r1 * p1 + (n - r1) * (n - p1)  # n^2 * expected agreement
    denom = n * n - chance
    if denom == 0:  # both vectors constant and equal: agreement is perfect by chance alone
        return None
    return float((n * agree - chance) / denom)


def _binary_mcc(ref: np.ndarray, pred: np.ndarray) -> float:
    """Matthews correlation of two 0/1 vectors; 0.0 when either is constant (as scikit-learn)."""
    tp = int(((ref == 1) & (pred == 1)).sum())
    tn = int(((ref == 0) & (pred == 0)).sum())
    fp = int(((ref == 0) & (pred == 1)).sum())
    fn = int(((ref == 1) & (pred == 0)).sum())
    denom = float(tp + fp) * float(tp + fn) * float(tn + fp) * float(tn + fn)
    return 0.0 if denom == 0 else float((tp * tn - fp * fn) / np.sqrt(denom))


def _names(names: Sequence[str] | None, n_cls: int) -> list[str]:
    out = list(names) if names is not None else [f"class_{j}" for j in range(n_cls)]
    if len(out) != n_cls:
        raise DataError(f"{len(out)} class names for {n_cls} classes.")
    return out


def _macro(values: dict[str, float | None], keep: list[str]) -> float | None:
    v = [values[n] for n in keep if values[n] is not None]
    return float(np.mean(v)) if v else None


def majority_rule(cnn_pred_train: Any, n_test: int, threshold: float = 0.5) -> np.ndarray:
    """The trivial surrogate: per class, the CNN's majority label on the training set.

    Parameters
    ----------
    cnn_pred_train : array (n_train, C) or (n_train,)
        The CNN's training-set probabilities (thresholded at ``threshold``) or 0/1 labels.
    n_test : int
        Number of test rows to fill.
    threshold : float
        Cut-off turning probabilities into labels.

    Returns
    -------
    ndarray (n_test, C) int64
        Row ``i`` is the same for every ``i``: 1 for a class the CNN calls positive on at
        least half of the training ECGs, else 0 (ties go to 1).

    Examples
    --------
    >>> majority_rule([[1, 0], [1, 0], [0, 1]], 2)
    array([[1, 0],
           [1, 0]])
    """
    yb = _binarize(_matrix(cnn_pred_train, "cnn_pred_train"), threshold)
    majority = (yb.mean(axis=0) >= 0.5).astype(np.int64)
    return np.repeat(majority[None, :], int(n_test), axis=0)


def agreement_metrics(
    cnn_labels: Any,
    surrogate_labels: Any,
    surrogate_scores: Any = None,
    *,
    min_positives: int = 10,
    class_names: Sequence[str] | None = None,
    threshold: float = 0.5,
) -> dict:
    """Chance-corrected agreement of a surrogate with the CNN's labels, per class and macro.

    Parameters
    ----------
    cnn_labels : array (n, C) or (n,)
        The CNN's labels on the evaluated ECGs (probabilities are thresholded at
        ``threshold``). They are the reference.
    surrogate_labels : array (n, C) or (n,)
        The surrogate's 0/1 predictions of those labels.
    surrogate_scores : array (n, C) or (n,), optional
        The surrogate's scores (e.g. a forest's ``predict_proba`` of label 1); adds the
        AUROC of the scores against the CNN's labels.
    min_positives : int
        Exclusion rule. A class whose CNN labels hold fewer than ``min_positives``
        positives, or fewer than ``min_positives`` negatives, is left out of the macro
        means of kappa, MCC and AUROC (its per-class values are still reported, ``None``
        where undefined) and is listed in ``excluded_classes`` with the reason in
        ``excluded_reason``. With a handful of CNN positives these statistics are noise.
        Fidelity always averages all classes. ``0`` excludes nothing.
    class_names : sequence of str, optional
        Names used in the per-class entries (default ``class_0``, ``class_1``, ...).
    threshold : float
        Cut-off for ``cnn_labels`` given as probabilities.

    Returns
    -------
    dict
        ``fidelity`` (mean per-label agreement, all classes) and ``fidelity_per_class``;
        ``kappa`` / ``kappa_per_class`` (Cohen's kappa), ``mcc`` / ``mcc_per_class``
        (Matthews correlation; 0 when either side is constant), with scores
        ``auroc_vs_cnn`` / ``auroc_vs_cnn_per_class``; macro values are means over
        ``included_classes`` (``None`` when no class qualifies); ``cnn_positives``
        (count per class), ``min_positives``, ``excluded_classes``, ``excluded_reason``.
        Kappa and MCC are 0 for any constant surrogate, e.g. :func:`majority_rule`,
        and 1 for a perfect one.

    Examples
    --------
    >>> cnn = np.array([1] * 12 + [0] * 12)
    >>> agreement_metrics(cnn, cnn)["kappa"]
    1.0
    >>> agreement_metrics(cnn, 1 - cnn)["mcc"]
    -1.0
    >>> agreement_metrics(cnn, np.zeros(24))["kappa"]
    0.0
    >>> rare = np.array([1] * 3 + [0] * 21)
    >>> agreement_metrics(rare, rare, class_names=["HYP"])["excluded_classes"]
    ['HYP']
    """
    ref = _binarize(_matrix(cnn_labels, "cnn_labels"), threshold)
    pred = _matrix(surrogate_labels, "surrogate_labels", len(ref))
    if not np.isin(pred, (0.0, 1.0)).all():
        raise DataError("surrogate_labels must be 0/1 labels; pass scores as surrogate_scores.")
    pred = pred.astype(np.int64)
    if pred.shape[1] != ref.shape[1]:
        raise DataError(f"surrogate_labels has {pred.shape[1]} classes, cnn_labels {ref.shape[1]}.")
    if int(min_positives) < 0:
        raise DataError(f"min_positives must be >= 0, got {min_positives}.")
    names = _names(class_names, ref.shape[1])
    score = (
        None
        if surrogate_scores is None
        else _matrix(surrogate_scores, "surrogate_scores", len(ref))
    )
    if score is not None and score.shape[1] != ref.shape[1]:
        raise DataError(
            f"surrogate_scores has {score.shape[1]} classes, cnn_labels {ref.shape[1]}."
        )

    n = len(ref)
    kappa: dict[str, float | None] = {}
    mcc: dict[str, float | None] = {}
    auc: dict[str, float | None] = {}
    positives: dict[str, int] = {}
    excluded: list[str] = []
    reason: dict[str, str] = {}
    for j, name in enumerate(names):
        r, p = ref[:, j], pred[:, j]
        npos = int(r.sum())
        positives[name] = npos
        kappa[name] = _binary_kappa(r, p)
        mcc[name] = _binary_mcc(r, p)
        if score is not None:
            auc[name] = float(roc_auc_score(r, score[:, j])) if 0 < npos < n else None
        if npos < int(min_positives) or n - npos < int(min_positives):
            excluded.append(name)
            side = "positives" if npos < int(min_positives) else "negatives"
            count = npos if side == "positives" else n - npos
            reason[name] = f"{count} CNN {side} < min_positives={int(min_positives)}"
    keep = [n_ for n_ in names if n_ not in excluded]
    agree = pred == ref
    out: dict[str, Any] = {
        "fidelity": float(agree.mean()),
        "fidelity_per_class": {nm: float(v) for nm, v in zip(names, agree.mean(axis=0))},
        "kappa": _macro(kappa, keep),
        "kappa_per_class": kappa,
        "mcc": _macro(mcc, keep),
        "mcc_per_class": mcc,
        "cnn_positives": positives,
        "min_positives": int(min_positives),
        "included_classes": keep,
        "excluded_classes": excluded,
        "excluded_reason": reason,
    }
    if score is not None:
        out["auroc_vs_cnn"] = _macro(auc, keep)
        out["auroc_vs_cnn_per_class"] = auc
    return out


def label_proportions(labels: Any, n_clusters: int) -> np.ndarray:
    """Per-record share of time steps in each cluster, from hard labels.

    Parameters
    ----------
    labels : array (N, T) of int
        Cluster label per time step (e.g. from
        :func:`~ecg_cluster_widget.explain.landmarks.raw_window_kmeans_labels`);
        negative values (unlabelled) are ignored.
    n_clusters : int
        K; labels must lie in ``0..K-1``.

    Returns
    -------
    ndarray (N, K) float64, rows summing to 1 (0 for a record without labels).

    Examples
    --------
    >>> label_proportions([[0, 0, 1, 2], [2, 2, 2, 2]], 3)
    array([[0.5 , 0.25, 0.25],
           [0.  , 0.  , 1.  ]])
    """
    lab = np.asarray(labels)
    if lab.ndim != 2 or not np.issubdtype(lab.dtype, np.integer):
        raise DataError(f"labels must be an integer array (N, T); got {lab.dtype} {lab.shape}.")
    k = int(n_clusters)
    if lab.size and lab.max() >= k:
        raise DataError(f"labels reach {int(lab.max())} but n_clusters is {k}.")
    n = lab.shape[0]
    ok = lab >= 0
    rows = np.broadcast_to(np.arange(n)[:, None], lab.shape)[ok]
    counts = np.bincount(rows * k + lab[ok], minlength=n * k).reshape(n, k).astype(np.float64)
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def raw_kmeans_proportions(
    ds: Any, n_clusters: int, *, fit_ds: Any = None, random_state: int = 0, **kwargs: Any
) -> np.ndarray:
    """CNN-agnostic cluster proportions: k-means on raw ECG windows, never the CNN.

    Labels every time step of ``ds`` with
    :func:`~ecg_cluster_widget.explain.landmarks.raw_window_kmeans_labels` (fitted on
    ``fit_ds``, e.g. the surrogate's training records) and returns the per-record shares.
    A forest on these proportions is the control of :func:`faithfulness_with_control`.

    Parameters
    ----------
    ds : ECGDataset
        Records to describe.
    n_clusters : int
        K (use the same K as the TLC clusters it is compared with).
    fit_ds : ECGDataset, optional
        Records the k-means is fitted on (default ``ds``).
    random_state : int
        Seed of the k-means baseline.
    **kwargs
        Passed to ``raw_window_kmeans_labels`` (``window_s``, ``max_fit_points``, ...).

    Returns
    -------
    ndarray (len(ds), K) float64.

    Examples
    --------
    >>> from ecg_cluster_widget.data.dataset import ECGDataset
    >>> rng = np.random.default_rng(0)
    >>> ds = ECGDataset(rng.normal(size=(3, 2, 200)).astype("float32"), fs=100,
    ...                 lead_names=("I", "II"))
    >>> p = raw_kmeans_proportions(ds, 4)
    >>> p.shape, bool(np.allclose(p.sum(axis=1), 1))
    ((3, 4), True)
    """
    from .landmarks import raw_window_kmeans_labels

    labels = raw_window_kmeans_labels(
        ds, int(n_clusters), random_state=random_state, fit_ds=fit_ds, **kwargs
    )
    return label_proportions(labels, int(n_clusters))


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
    x_tr = _matrix(proportions_train, "proportions_train")
    x_te = _matrix(proportions_test, "proportions_test")
    if x_te.shape[1] != x_tr.shape[1]:
        raise DataError(
            f"proportions_test has {x_te.shape[1]} clusters but proportions_train has {x_tr.shape[1]}; "
            "compute both with the same fitted explainer."
        )
    p_tr = _matrix(cnn_pred_train, "cnn_pred_train", len(x_tr))
    p_te = _matrix(cnn_pred_test, "cnn_pred_test", len(x_te))
    if p_te.shape[1] != p_tr.shape[1]:
        raise DataError(
            f"cnn_pred_test has {p_te.shape[1]} classes, cnn_pred_train {p_tr.shape[1]}."
        )
    n_cls = p_tr.shape[1]
    names = _names(class_names, n_cls)
    yb_tr, yb_te = _binarize(p_tr, threshold), _binarize(p_te, threshold)

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
        y = _binarize(_matrix(y_test, "y_test", len(x_te)), 0.5)
        if y.shape[1] != n_cls:
            raise DataError(f"y_test has {y.shape[1]} classes but the CNN predicts {n_cls}.")
        cnn_score = (
            p_te if cnn_proba_test is None else _matrix(cnn_proba_test, "cnn_proba_test", len(x_te))
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
    x_tr = _matrix(proportions_train, "proportions_train")
    x_te = _matrix(proportions_test, "proportions_test")
    if x_te.shape[1] != x_tr.shape[1]:
        raise DataError(
            f"proportions_test has {x_te.shape[1]} clusters but proportions_train has {x_tr.shape[1]}."
        )
    c_tr = _matrix(cnn_out_train, "cnn_out_train", len(x_tr))
    c_te = _matrix(cnn_out_test, "cnn_out_test", len(x_te))
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
        y = _matrix(y_test, "y_test", len(x_te))
        out["rf_r2"] = float(r2_score(y, pred))
        out["rf_mae"] = float(mean_absolute_error(y, pred))
        out["cnn_r2"] = float(r2_score(y, c_te))
        out["cnn_mae"] = float(mean_absolute_error(y, c_te))
    return out


def _ensure_fitted(tlc: Any, train_ds: Any) -> None:
    try:
        fitted = tlc.centroids_ is not None
    except (AttributeError, NotFittedError):
        fitted = False
    if not fitted:
        tlc.fit(train_ds)


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
    _ensure_fitted(tlc, train_ds)
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


def _summary(values: Sequence[float | None]) -> dict:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    return {
        "mean": float(v.mean()) if v.size else None,
        "sd": float(v.std(ddof=1)) if v.size > 1 else None,
        "n": int(v.size),
        "values": v.tolist(),
    }


def faithfulness_with_control(
    proportions_train: Any,
    cnn_pred_train: Any,
    proportions_test: Any,
    cnn_pred_test: Any,
    control_train: Any,
    control_test: Any,
    y_test: Any = None,
    cnn_proba_test: Any = None,
    n_estimators: int = 200,
    random_state: int = 0,
    *,
    threshold: float = 0.5,
    class_names: Sequence[str] | None = None,
    min_positives: int = 10,
) -> dict:
    """The same forest on two feature sets: the explanation's proportions and a control.

    The control should carry no knowledge of the CNN, e.g. proportions of k-means
    clusters of raw ECG windows (:func:`raw_kmeans_proportions`, same K, fitted on the
    same training records). If the control reproduces the CNN about as well, high
    fidelity says more about the ECGs than about what the CNN uses.

    Parameters
    ----------
    proportions_train, proportions_test : array (n, K)
        The explanation's per-record proportions (e.g. TLC).
    cnn_pred_train, cnn_pred_test : array (n, C)
        The CNN's probabilities or labels.
    control_train, control_test : array (n, K')
        The control's per-record features for the same records, in the same order.
    y_test, cnn_proba_test, n_estimators, random_state, threshold, class_names, min_positives
        As in :func:`faithfulness`; both forests use the same seed.

    Returns
    -------
    dict
        ``surrogate`` and ``control``: the two :func:`faithfulness` dicts;
        ``difference``: surrogate minus control for each scalar of
        :data:`HONEST_METRICS` defined in both.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.dirichlet(np.ones(4), size=300)
    >>> cnn = (p[:, :2] > 0.25).astype(int)
    >>> noise = rng.dirichlet(np.ones(4), size=300)
    >>> d = faithfulness_with_control(p[:200], cnn[:200], p[200:], cnn[200:],
    ...                               noise[:200], noise[200:], n_estimators=50)
    >>> d["difference"]["kappa"] > 0.5
    True
    """
    kw = dict(
        y_test=y_test,
        cnn_proba_test=cnn_proba_test,
        n_estimators=n_estimators,
        random_state=random_state,
        threshold=threshold,
        class_names=None if class_names is None else list(class_names),
        min_positives=min_positives,
    )
    main = faithfulness(proportions_train, cnn_pred_train, proportions_test, cnn_pred_test, **kw)
    ctrl = faithfulness(control_train, cnn_pred_train, control_test, cnn_pred_test, **kw)
    ctrl["surrogate"] = "the same RandomForestClassifier on the control's features"
    diff = {
        m: main[m] - ctrl[m]
        for m in HONEST_METRICS
        if main.get(m) is not None and ctrl.get(m) is not None
    }
    return {"surrogate": main, "control": ctrl, "difference": diff}


def cross_validate_faithfulness(
    proportions: Any,
    cnn_labels: Any,
    true_labels: Any,
    folds: Any,
    *,
    cnn_scores: Any = None,
    test_folds: Sequence[int] | None = None,
    n_estimators: int = 200,
    random_state: int = 0,
    threshold: float = 0.5,
    min_positives: int = 10,
    class_names: Sequence[str] | None = None,
) -> dict:
    """k-fold cross-validated faithfulness: each fold is the test set exactly once.

    For test fold ``f`` the forest (seed ``random_state``) is trained on the records of
    all other folds and scored on fold ``f`` with :func:`faithfulness` (fidelity, the
    majority-rule floor from the training folds, kappa, MCC, AUROC vs the CNN, and with
    ``true_labels`` accuracy / AUROC / F1 of the forest and the CNN).

    Parameters
    ----------
    proportions : array (N, K), mapping ``{fold: array (N, K)}`` or callable ``fold -> array (N, K)``
        Per-record features of **all** N records. A single array is used for every fold;
        a mapping or callable gives, per test fold, features computed by clusters fitted
        without that fold (so nothing of the test fold leaks into the clusters).
    cnn_labels : array (N, C)
        The CNN's probabilities (thresholded at ``threshold``) or 0/1 labels.
    true_labels : array (N, C) or None
        True 0/1 labels; adds the true-label metrics.
    folds : array (N,) of int
        Fold id per record (PTB-XL ``strat_fold`` 1..10).
    cnn_scores : array (N, C), optional
        CNN scores for its AUROC on true labels (default ``cnn_labels`` when they are
        probabilities).
    test_folds : sequence of int, optional
        Folds to use as test sets (default all folds, in increasing order); records of the
        other folds always train the forest.
    n_estimators, random_state, threshold, min_positives, class_names
        As in :func:`faithfulness`; the same seed for every fold.

    Returns
    -------
    dict
        ``per_fold``: one :func:`faithfulness` dict per test fold with ``test_fold`` added;
        ``summary``: ``{metric: {"mean", "sd", "n", "values"}}`` over folds for each scalar
        of :data:`HONEST_METRICS` (sd with ddof=1; ``None`` values, e.g. a macro kappa
        with every class excluded, are skipped and ``n`` says how many folds count);
        ``pooled``: :func:`agreement_metrics` (plus ``majority_floor``,
        ``fidelity_above_floor``, ``n_test``) of the out-of-fold predictions of all test
        folds together, each record labelled by the forest that did not see it; with all
        test records at once, fewer classes fall under the ``min_positives`` rule than in
        a single small fold. ``test_folds``; ``excluded_class_folds``: per class, the folds
        in which the ``min_positives`` rule excluded it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.dirichlet(np.ones(4), size=300)
    >>> cnn = (p[:, :2] > 0.25).astype(int)
    >>> cv = cross_validate_faithfulness(p, cnn, None, np.arange(300) % 3 + 1, n_estimators=30)
    >>> cv["test_folds"], [r["n_test"] for r in cv["per_fold"]]
    ([1, 2, 3], [100, 100, 100])
    >>> cv["summary"]["kappa"]["mean"] > 0.6
    True
    """
    fold_ids = np.asarray(folds)
    if fold_ids.ndim != 1:
        raise DataError(f"folds must be a vector (N,); got shape {fold_ids.shape}.")
    n = len(fold_ids)
    cnn = _matrix(cnn_labels, "cnn_labels", n)
    y = None if true_labels is None else _matrix(true_labels, "true_labels", n)
    score = cnn if cnn_scores is None else _matrix(cnn_scores, "cnn_scores", n)
    available = sorted(np.unique(fold_ids).tolist())
    if len(available) < 2:
        raise DataError(f"cross-validation needs at least 2 folds; got {available}.")
    chosen = available if test_folds is None else [int(f) for f in test_folds]
    missing = [f for f in chosen if f not in available]
    if missing or len(set(chosen)) != len(chosen):
        raise DataError(f"test_folds {chosen} must be distinct folds among {available}.")

    if callable(proportions) and not isinstance(proportions, np.ndarray):
        get: Callable[[int], Any] = proportions
    elif isinstance(proportions, Mapping):
        absent = [f for f in chosen if f not in proportions]
        if absent:
            raise DataError(f"proportions has no entry for test folds {absent}.")
        get = proportions.__getitem__
    else:
        fixed = _matrix(proportions, "proportions", n)

        def get(_fold: int) -> np.ndarray:
            return fixed

    per_fold = []
    pooled = {k: [] for k in ("rf_pred", "rf_score", "cnn_test", "floor_pred")}
    for f in chosen:
        x = _matrix(get(f), f"proportions for test fold {f}", n)
        te = fold_ids == f
        tr = ~te
        d, arrays = _fit_and_score(
            x[tr],
            cnn[tr],
            x[te],
            cnn[te],
            None if y is None else y[te],
            score[te],
            n_estimators,
            random_state,
            threshold,
            class_names,
            min_positives,
        )
        per_fold.append({"test_fold": int(f), **d})
        for k, v in arrays.items():
            pooled[k].append(v)
    summary = {
        m: _summary([r.get(m) for r in per_fold])
        for m in HONEST_METRICS
        if any(m in r for r in per_fold)
    }
    names = per_fold[0]["class_names"]
    excluded = {
        nm: [r["test_fold"] for r in per_fold if nm in r["excluded_classes"]] for nm in names
    }
    # Out-of-fold pooling: every test record once, each labelled by the forest that did not see it.
    cat = {k: np.concatenate(v) for k, v in pooled.items()}
    pool = agreement_metrics(
        cat["cnn_test"],
        cat["rf_pred"],
        cat["rf_score"],
        min_positives=min_positives,
        class_names=names,
    )
    floor = cat["floor_pred"] == cat["cnn_test"]
    pool["majority_floor"] = float(floor.mean())
    pool["fidelity_above_floor"] = pool["fidelity"] - pool["majority_floor"]
    pool["n_test"] = int(len(floor))
    return {
        "per_fold": per_fold,
        "summary": summary,
        "pooled": pool,
        "test_folds": chosen,
        "excluded_class_folds": {k: v for k, v in excluded.items() if v},
        "n_records": int(n),
        "min_positives": int(min_positives),
        "random_state": int(random_state),
    }
