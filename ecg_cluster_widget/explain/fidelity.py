"""Agreement of a surrogate with the CNN's labels: fidelity, its floor, kappa, MCC, AUROC.

Fidelity alone is floor-inflated: when the CNN calls few ECGs positive, "always predict
each class's majority CNN label" (:func:`majority_rule`) already agrees on most labels.
:func:`agreement_metrics` therefore adds the chance-corrected agreement (Cohen's kappa
and the Matthews correlation, both 0 for the majority rule) and the AUROC of the
surrogate's scores against the CNN's labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score, matthews_corrcoef, roc_auc_score

from ..errors import DataError

__all__ = [
    "AGREEMENT_METRICS",
    "HONEST_METRICS",
    "TRUE_LABEL_METRICS",
    "agreement_metrics",
    "majority_rule",
    "summarize",
]

#: Agreement of a surrogate with the CNN's labels (:func:`agreement_metrics` and the floor).
AGREEMENT_METRICS: tuple[str, ...] = (
    "fidelity",
    "majority_floor",
    "fidelity_above_floor",
    "kappa",
    "mcc",
    "auroc_vs_cnn",
)
#: The forest's and the CNN's scores against true labels (when true labels are given).
TRUE_LABEL_METRICS: tuple[str, ...] = (
    "rf_accuracy",
    "cnn_accuracy",
    "rf_auroc",
    "cnn_auroc",
    "rf_f1",
    "cnn_f1",
)
#: The scalars of a faithfulness result summarised over folds or seeds and compared with
#: a control.
HONEST_METRICS: tuple[str, ...] = (*AGREEMENT_METRICS, "fidelity_exact", *TRUE_LABEL_METRICS)


def summarize(values: Iterable[float | None]) -> dict:
    """``{"mean", "sd", "n", "values"}`` of the finite values (sd with ddof=1).

    Parameters
    ----------
    values : iterable of float or None

    Returns
    -------
    dict

    Examples
    --------
    >>> summarize([1.0, None, 3.0])
    {'mean': 2.0, 'sd': 1.4142135623730951, 'n': 2, 'values': [1.0, 3.0]}
    """
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    return {
        "mean": float(v.mean()) if v.size else None,
        "sd": float(v.std(ddof=1)) if v.size > 1 else None,
        "n": int(v.size),
        "values": v.tolist(),
    }


def as_matrix(a: Any, name: str, n: int | None = None) -> np.ndarray:
    """``a`` as a finite (n_records, n_columns) float matrix, or a DataError naming ``name``.

    Parameters
    ----------
    a : array-like
    name : str
        The argument's name, for the error.
    n : int, optional
        The number of rows required.

    Returns
    -------
    ndarray of shape (n_records, n_columns), float64

    Examples
    --------
    >>> as_matrix([1, 0], "y").shape
    (2, 1)
    """
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


def binarize(p: np.ndarray, threshold: float) -> np.ndarray:
    """Probabilities -> 0/1; arrays that are already 0/1 pass unchanged.

    Parameters
    ----------
    p : ndarray
    threshold : float

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> binarize(np.array([0.2, 0.7]), 0.5).tolist()
    [0, 1]
    """
    if np.isin(p, (0.0, 1.0)).all():
        return p.astype(np.int64)
    return (p >= threshold).astype(np.int64)


def class_names_of(names: Sequence[str] | None, n_cls: int) -> list[str]:
    """``names``, checked to be ``n_cls`` long (default ``class_0``, ``class_1``, ...).

    Parameters
    ----------
    names : sequence of str or None
    n_cls : int

    Returns
    -------
    list of str

    Examples
    --------
    >>> class_names_of(None, 2)
    ['class_0', 'class_1']
    """
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
    yb = binarize(as_matrix(cnn_pred_train, "cnn_pred_train"), threshold)
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
    ref = binarize(as_matrix(cnn_labels, "cnn_labels"), threshold)
    pred = as_matrix(surrogate_labels, "surrogate_labels", len(ref))
    if not np.isin(pred, (0.0, 1.0)).all():
        raise DataError("surrogate_labels must be 0/1 labels; pass scores as surrogate_scores.")
    pred = pred.astype(np.int64)
    if pred.shape[1] != ref.shape[1]:
        raise DataError(f"surrogate_labels has {pred.shape[1]} classes, cnn_labels {ref.shape[1]}.")
    if int(min_positives) < 0:
        raise DataError(f"min_positives must be >= 0, got {min_positives}.")
    names = class_names_of(class_names, ref.shape[1])
    score = (
        None
        if surrogate_scores is None
        else as_matrix(surrogate_scores, "surrogate_scores", len(ref))
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
        # Undefined (nan) when both sides are constant and equal: agreement by chance alone.
        k = cohen_kappa_score(r, p, labels=[0, 1]) if r.any() or p.any() else np.nan
        kappa[name] = float(k) if np.isfinite(k) else None
        mcc[name] = float(matthews_corrcoef(r, p))
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
