"""Faithfulness against a CNN-agnostic control, and k-fold cross-validated faithfulness.

The control is the same forest on proportions of clusters that never saw the CNN, e.g.
k-means clusters of raw ECG windows (:func:`raw_kmeans_proportions`); if it reproduces the
CNN about as well, high fidelity says more about the ECGs than about what the CNN uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import DataError
from .faithfulness import _fit_and_score, faithfulness
from .fidelity import HONEST_METRICS, agreement_metrics, as_matrix, summarize

__all__ = [
    "cross_validate_faithfulness",
    "faithfulness_with_control",
    "label_proportions",
    "raw_kmeans_proportions",
]


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
    cnn = as_matrix(cnn_labels, "cnn_labels", n)
    y = None if true_labels is None else as_matrix(true_labels, "true_labels", n)
    score = cnn if cnn_scores is None else as_matrix(cnn_scores, "cnn_scores", n)
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
        fixed = as_matrix(proportions, "proportions", n)

        def get(_fold: int) -> np.ndarray:
            return fixed

    per_fold = []
    pooled = {k: [] for k in ("rf_pred", "rf_score", "cnn_test", "floor_pred")}
    for f in chosen:
        x = as_matrix(get(f), f"proportions for test fold {f}", n)
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
        m: summarize([r.get(m) for r in per_fold])
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
