"""Results of a fitted TLC pipeline: soft assignments, entropy, explanations, transitions.

Stateless functions of aligned features and one K's fit (:class:`KFit`), called by
:class:`~ecg_cluster_widget.explain.explainer.TLCExplainer` under its lock.

Design choices documented here:

* Soft assignments are computed on the grid of the finest hooked block and brought
  to the input resolution by linear interpolation with centre alignment (a convex
  combination of probability vectors is again one; rows are renormalised against
  round-off). Hard labels are the argmax of the upsampled ``gamma``.
* The entropy (uncertainty) is computed on the model's grid and only then brought to
  the input samples. Interpolating ``gamma`` first would mix two confident
  neighbours into an uncertain-looking blend at every label change (measured on LUDB:
  mean entropy 0.116 vs 0.057), so entropy would peak at boundaries by construction.
* ``temporal="hmm"`` smooths ``gamma`` along time with a hidden-Markov prior whose
  transition matrix is learned on the fitting set (``clustering.TemporalSmoother``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..activations import resample_time
from ..clustering.identity import KFit
from ..clustering.temporal import transition_counts
from ..clustering.tree import sequence_proba
from ..data.dataset import ECGDataset
from .explanation import ECGExplanation, ExplanationSet
from .pipeline import CHUNK_RECORDS
from .prototypes import segments_from_labels
from .uncertainty import normalized_entropy

__all__ = [
    "class_transitions",
    "explanation_of",
    "explanation_set",
    "grid_gamma",
    "sample_gamma",
    "sample_labels",
    "soft_assignments",
]


def grid_gamma(feats: np.ndarray, fit: KFit, rows: Any = None) -> np.ndarray:
    """Soft assignments on the model's grid (n, T_grid, K), after the temporal prior.

    Parameters
    ----------
    feats : ndarray of shape (n, T_grid, D)
    fit : KFit
        A level of the cluster tree: its temporal prior runs on the fine components.
    rows : slice or index array, optional
        Only these records.

    Returns
    -------
    ndarray of shape (n, T_grid, K), float32

    Examples
    --------
    >>> g = grid_gamma(feats, fit)  # doctest: +SKIP
    """
    return sequence_proba(fit.clusterer, None, feats, rows)


def sample_gamma(
    feats: np.ndarray | None,
    fit: KFit,
    n_samples: int,
    entropy: bool = True,
    grid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Soft assignments and entropy at input resolution (entropy computed on the grid).

    Parameters
    ----------
    feats : ndarray of shape (n, T_grid, D)
    fit : KFit
    n_samples : int
        Input samples per record.
    entropy : bool
        Also the normalised entropy (else None).

    Returns
    -------
    gamma : ndarray of shape (n, n_samples, K), rows summing to 1
    entropy : ndarray of shape (n, n_samples) in [0, 1], or None

    Examples
    --------
    >>> gamma, ent = sample_gamma(feats, fit, 1000)  # doctest: +SKIP
    """
    grid = grid_gamma(feats, fit) if grid is None else grid
    g = resample_time(grid, n_samples)
    g /= g.sum(axis=2, keepdims=True)
    if not entropy:
        return g, None
    ent = resample_time(normalized_entropy(grid)[:, :, None], n_samples)[:, :, 0]
    return g, np.clip(ent, 0.0, 1.0)


def sample_labels(grid: np.ndarray, n_samples: int) -> np.ndarray:
    """Hard labels at input resolution: the argmax of ``grid`` linearly resampled to
    ``n_samples`` (as :func:`sample_gamma`), without resampling all of it.

    Between two grid steps with the same argmax the interpolation keeps that argmax (each
    cluster's value is a convex combination of its two ends), so only the samples between
    grid steps that disagree are interpolated: about a tenth of them on ECGs.

    Parameters
    ----------
    grid : ndarray of shape (n, T_grid, K)
    n_samples : int

    Returns
    -------
    ndarray of shape (n, n_samples), int16 (int64 for K >= 32768)

    Examples
    --------
    >>> g = np.array([[[0.9, 0.1, 0.0], [0.0, 0.1, 0.9]]], np.float32)
    >>> sample_labels(g, 8).tolist()
    [[0, 0, 0, 0, 2, 2, 2, 2]]
    """
    n, tg, k = grid.shape
    # Positions in int16 (K < 32768): the gathers below move 2.5M of them per 1,000 ECGs
    # on every K change, and the explanation set stores them as int16.
    top = grid.argmax(axis=2).astype(np.int16 if k < 2**15 else np.int64)
    if tg == n_samples:
        return top
    # Source positions of torch's linear, align_corners=False resampling (resample_time).
    scale = np.float32(tg) / np.float32(n_samples)
    pos = np.maximum(scale * (np.arange(n_samples, dtype=np.float32) + 0.5) - 0.5, 0)
    i0 = np.minimum(pos.astype(np.int64), tg - 1)
    i1 = np.minimum(i0 + 1, tg - 1)
    w = np.clip(pos - i0, 0, 1).astype(np.float32)
    labels = top[:, i0]
    r, j = np.nonzero(labels != top[:, i1])
    mix = (1 - w[j])[:, None] * grid[r, i0[j]] + w[j][:, None] * grid[r, i1[j]]
    labels[r, j] = mix.argmax(axis=1)
    return labels


def soft_assignments(feats: np.ndarray, fit: KFit, n_samples: int | None) -> np.ndarray:
    """Soft assignments of every record, at input resolution or (None) on the model's grid.

    Parameters
    ----------
    feats : ndarray of shape (N, T_grid, D)
    fit : KFit
    n_samples : int or None
        Input samples per record; None: the model's grid.

    Returns
    -------
    ndarray of shape (N, n_samples or T_grid, K), float32

    Examples
    --------
    >>> gamma = soft_assignments(feats, fit, None)  # doctest: +SKIP
    """
    grid = grid_gamma(feats, fit)
    if n_samples is None:
        return grid
    out = np.empty((feats.shape[0], n_samples, len(fit.ids)), dtype=np.float32)
    for s in range(0, feats.shape[0], CHUNK_RECORDS):
        chunk = grid[s : s + CHUNK_RECORDS]
        out[s : s + CHUNK_RECORDS] = sample_gamma(None, fit, n_samples, False, chunk)[0]
    return out


def explanation_set(feats: np.ndarray, fit: KFit, ds: ECGDataset, n_samples: int) -> ExplanationSet:
    """Hard labels, entropy and proportions of every record of ``ds`` (vectorised).

    Parameters
    ----------
    feats : ndarray of shape (N, T_grid, D)
        Aligned features of ``ds``.
    fit : KFit
    ds : ECGDataset
    n_samples : int

    Returns
    -------
    ExplanationSet

    Examples
    --------
    >>> es = explanation_set(feats, fit, ds, 1000)  # doctest: +SKIP
    """
    n, k = feats.shape[0], len(fit.ids)
    labels = np.empty((n, n_samples), dtype=np.int16)
    entropy = np.empty((n, n_samples), dtype=np.float32)
    # The whole grid at once: a tree level's fine posteriors are then computed once per
    # dataset and every other K of the same records is a matrix product.
    grid = grid_gamma(feats, fit)

    def fill(s: int) -> None:
        chunk = grid[s : s + CHUNK_RECORDS]
        labels[s : s + len(chunk)] = sample_labels(chunk, n_samples)
        ent = resample_time(normalized_entropy(chunk)[:, :, None], n_samples)[:, :, 0]
        entropy[s : s + len(chunk)] = np.clip(ent, 0.0, 1.0)

    # Chunks of records on two threads (NumPy releases the GIL; each writes its own rows):
    # this is most of a K change's cost at 1,000 ECGs.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fill, range(0, n, CHUNK_RECORDS)))
    # Per-record cluster counts in one bincount (offset each record by k * row).
    flat = labels.astype(np.int64 if n * k >= 2**31 else np.int32) + k * np.arange(n)[:, None]
    proportions = np.bincount(flat.ravel(), minlength=n * k).reshape(n, k) / n_samples
    return ExplanationSet(
        labels=labels,
        entropy=entropy,
        proportions=proportions,
        mean_entropy=entropy.mean(axis=1),
        cluster_ids=fit.ids.copy(),
        fs=float(ds.fs),
        record_ids=tuple(ds.record_ids),
    )


def explanation_of(
    gamma: np.ndarray,
    entropy: np.ndarray,
    ids: np.ndarray,
    ds: ECGDataset,
    index: int,
    labels: np.ndarray | None = None,
) -> ECGExplanation:
    """The explanation of record ``index`` of ``ds`` from its soft assignments and entropy.

    Parameters
    ----------
    gamma : ndarray of shape (n_samples, K)
    entropy : ndarray of shape (n_samples,)
    ids : ndarray of shape (K,)
        Stable cluster ids of the columns of ``gamma``.
    ds : ECGDataset
    index : int
    labels : ndarray of shape (n_samples,), optional
        Hard labels (:func:`sample_labels`); default the argmax of ``gamma``.

    Returns
    -------
    ECGExplanation

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((1, 1, 4)), fs=4, lead_names=["II"], amplitude_check="ignore")
    >>> g = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> ex = explanation_of(g, np.zeros(4), np.array([3, 7]), ds, 0)
    >>> [s.cluster_id for s in ex.segments], ex.proportions.tolist()
    ([3, 7], [0.5, 0.5])
    """
    labels = gamma.argmax(axis=1) if labels is None else np.asarray(labels)
    return ECGExplanation(
        record_index=index,
        record_id=ds.record_ids[index],
        fs=float(ds.fs),
        cluster_ids=np.asarray(ids).copy(),
        labels=labels,
        gamma=gamma,
        entropy=entropy,
        segments=segments_from_labels(labels, ds.fs, ids),
        proportions=np.bincount(labels, minlength=gamma.shape[1]) / labels.size,
        mean_entropy=float(entropy.mean()),
    )


def class_transitions(labels: np.ndarray, k: int, ds: ECGDataset, by_class: bool) -> dict:
    """Transition matrices of grid labels: all records, and per class of ``ds.labels``.

    Parameters
    ----------
    labels : ndarray of shape (N, T_grid)
        Cluster positions on the model's grid.
    k : int
        Number of clusters.
    ds : ECGDataset
        For the class labels.
    by_class : bool
        Also one matrix per class (records where the class is 1).

    Returns
    -------
    dict
        ``{"all": (K, K), "<class>": (K, K), ...}``.

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((1, 1, 4)), fs=4, lead_names=["II"], amplitude_check="ignore")
    >>> class_transitions(np.array([[0, 0, 1, 1]]), 2, ds, False)["all"].tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    out = {"all": transition_counts(labels, k)}
    if by_class and ds.labels is not None and ds.class_names is not None:
        y = np.asarray(ds.labels) >= 0.5
        for j, name in enumerate(ds.class_names):
            if y[:, j].any():
                out[str(name)] = transition_counts(labels[y[:, j]], k)
    return out
