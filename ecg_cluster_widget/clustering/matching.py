"""Stable cluster identities across refits and changes of K (Hungarian matching)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import DataError

__all__ = ["match_clusters", "match_by_overlap"]


def match_clusters(
    old_centroids: np.ndarray, new_centroids: np.ndarray, max_distance: float | None = None
) -> np.ndarray:
    """Match each new cluster to at most one old cluster by centroid distance.

    Solves the assignment problem (``scipy.optimize.linear_sum_assignment``) on the
    Euclidean distance matrix, so the total distance of matched pairs is minimal.
    When K changes, ``min(K_old, K_new)`` pairs are matched and the rest get -1.

    Parameters
    ----------
    old_centroids : ndarray of shape (K_old, D)
    new_centroids : ndarray of shape (K_new, D)
        Rows that are not finite (e.g. an empty cluster) are never matched.
    max_distance : float, optional
        Pairs farther apart than this are left unmatched.

    Returns
    -------
    ndarray of shape (K_new,), int64
        For each new cluster the index (row) of its old cluster, or -1.

    Examples
    --------
    >>> import numpy as np
    >>> old = np.array([[0.0, 0.0], [5.0, 5.0]])
    >>> new = np.array([[5.1, 5.0], [9.0, 9.0], [0.1, 0.0]])
    >>> match_clusters(old, new).tolist()
    [1, -1, 0]
    """
    old = np.asarray(old_centroids, dtype=np.float64)
    new = np.asarray(new_centroids, dtype=np.float64)
    if old.ndim != 2 or new.ndim != 2:
        raise DataError(f"centroids must be 2-D (K, D); got shapes {old.shape} and {new.shape}.")
    if old.shape[1] != new.shape[1]:
        raise DataError(
            f"centroids live in different spaces: {old.shape[1]} vs {new.shape[1]} features."
        )
    out = np.full(new.shape[0], -1, dtype=np.int64)
    if old.shape[0] == 0 or new.shape[0] == 0:
        return out
    cost = np.sqrt(((new[:, None, :] - old[None, :, :]) ** 2).sum(axis=2))
    bad = ~np.isfinite(cost)
    if bad.all():
        return out
    big = (np.nanmax(np.where(bad, np.nan, cost)) + 1.0) * 1e3
    rows, cols = linear_sum_assignment(np.where(bad, big, cost))
    for r, c in zip(rows, cols):
        if bad[r, c] or (max_distance is not None and cost[r, c] > max_distance):
            continue
        out[r] = c
    return out


def match_by_overlap(
    old_gamma: np.ndarray, new_gamma: np.ndarray, min_overlap: float = 0.1
) -> np.ndarray:
    """Match new clusters to old ones by the soft assignments they share on the same points.

    The (K_new, K_old) table ``new_gamma.T @ old_gamma`` counts how much probability
    mass two clusters share; the assignment problem maximises the total shared mass.
    Unlike centroid distances this works when the two clusterings live in different
    feature spaces (a refit changes the PCA basis) and it follows the clusters'
    meaning: the new cluster that labels the same time steps inherits the id.

    Parameters
    ----------
    old_gamma : ndarray of shape (n_points, K_old)
    new_gamma : ndarray of shape (n_points, K_new)
        Soft (or one-hot) assignments of the *same* points.
    min_overlap : float
        A pair is only matched if its shared mass is at least this fraction of
        the smaller of the two clusters' masses.

    Returns
    -------
    ndarray of shape (K_new,), int64
        Index of the matched old cluster per new cluster, or -1.

    Examples
    --------
    >>> import numpy as np
    >>> old = np.eye(3)[[0, 0, 1, 1, 2, 2]]
    >>> new = np.eye(2)[[1, 1, 0, 0, 0, 0]]
    >>> match_by_overlap(old, new).tolist()
    [1, 0]
    """
    old = np.asarray(old_gamma, dtype=np.float64)
    new = np.asarray(new_gamma, dtype=np.float64)
    if old.ndim != 2 or new.ndim != 2 or old.shape[0] != new.shape[0]:
        raise DataError(
            "old_gamma and new_gamma must be (n_points, K) arrays over the same points; got "
            f"shapes {old.shape} and {new.shape}."
        )
    table = new.T @ old
    rows, cols = linear_sum_assignment(-table)
    mass_new, mass_old = new.sum(axis=0), old.sum(axis=0)
    out = np.full(new.shape[1], -1, dtype=np.int64)
    for r, c in zip(rows, cols):
        if table[r, c] > 0 and table[r, c] >= min_overlap * min(mass_new[r], mass_old[c]):
            out[r] = c
    return out
