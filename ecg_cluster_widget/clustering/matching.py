"""Stable cluster identities across refits and changes of K (Hungarian matching)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import DataError

__all__ = ["match_clusters"]


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
        raise DataError(
            f"centroids must be 2-D (K, D); got shapes {old.shape} and {new.shape}."
        )
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
