"""Hungarian matching of two clusterings of the same points by their shared soft mass."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import DataError

__all__ = ["match_by_overlap"]


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
    shared = table[rows, cols]
    ok = (shared > 0) & (shared >= min_overlap * np.minimum(mass_new[rows], mass_old[cols]))
    out = np.full(new.shape[1], -1, dtype=np.int64)
    out[rows[ok]] = cols[ok]
    return out
