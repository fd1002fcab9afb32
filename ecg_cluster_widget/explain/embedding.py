"""2-D embedding of the records by their cluster proportions (for the dataset view).

Each record is summarised by the share of its time steps in each cluster (a point on the
K-simplex). The square roots of the shares are embedded (the Hellinger map: Euclidean
distances between square-root compositions are Hellinger distances, so small clusters
such as a P wave are not drowned by the large TP baseline). Two methods, both
deterministic for a given ``random_state``:

* ``"pca"`` (default): exact SVD, so the same proportions give the same picture on
  every machine; component signs are fixed so the largest loading of each axis is
  positive. Linear: distances along the axes keep a meaning, and 20,000 records take
  milliseconds.
* ``"tsne"``: scikit-learn's t-SNE (PCA initialisation, seeded); it shows local groups
  better but is slower (seconds per thousand records) and its axes mean nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.dataset import check_choice
from ..errors import DataError

__all__ = ["embed_proportions", "EMBEDDING_METHODS"]

#: Methods accepted by :func:`embed_proportions`.
EMBEDDING_METHODS: tuple[str, ...] = ("pca", "tsne")


def _check_proportions(proportions: Any) -> np.ndarray:
    p = np.asarray(proportions, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise DataError(
            f"proportions must be a 2-D array (n_records, n_clusters), got shape {p.shape}; "
            "use tlc.explain_all(ds).proportions."
        )
    if not np.isfinite(p).all():
        raise DataError("proportions contain NaN or inf; explain the records again.")
    if (p < -1e-9).any() or np.abs(p.sum(axis=1) - 1).max() > 1e-4:
        raise DataError(
            "each row of proportions must be non-negative and sum to 1 (the share of a "
            "record's time steps in each cluster); got rows summing to "
            f"{p.sum(axis=1).min():.4g}..{p.sum(axis=1).max():.4g}."
        )
    return np.clip(p, 0.0, 1.0)


def embed_proportions(
    proportions: Any,
    method: str = "pca",
    random_state: int = 0,
    hellinger: bool = True,
) -> np.ndarray:
    """Embed per-record cluster proportions in 2-D.

    Parameters
    ----------
    proportions : array (N, K)
        Share of time per cluster of each record (rows sum to 1), e.g.
        ``tlc.explain_all(ds).proportions``.
    method : {"pca", "tsne"}
        Linear and exact (``"pca"``) or t-SNE (``"tsne"``); see the module docstring.
    random_state : int
        Seed of t-SNE (PCA is exact and needs none).
    hellinger : bool
        Embed the square roots of the shares (default) rather than the shares.

    Returns
    -------
    ndarray (N, 2) float32
        Coordinates; a second (or first) axis is all zeros when the proportions span
        fewer dimensions (K = 2, or identical records).

    Raises
    ------
    DataError
        For a malformed proportions array or an unknown method.

    Examples
    --------
    >>> p = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2]])
    >>> xy = embed_proportions(p)
    >>> xy.shape, xy.dtype.name
    ((3, 2), 'float32')
    >>> bool(np.array_equal(xy, embed_proportions(p)))
    True
    """
    check_choice(method, EMBEDDING_METHODS, "method")
    p = _check_proportions(proportions)
    x = np.sqrt(p) if hellinger else p
    n = x.shape[0]
    out = np.zeros((n, 2), dtype=np.float64)
    if n < 2:
        return out.astype(np.float32)
    if method == "tsne" and n >= 5:
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        # t-SNE needs perplexity < n; 30 (sklearn's default) for large sets.
        perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
        with threadpool_limits(1):
            out = TSNE(
                n_components=2,
                perplexity=perplexity,
                init="pca",
                random_state=int(random_state),
                n_jobs=1,
            ).fit_transform(x)
        return np.asarray(out, dtype=np.float32)
    # Exact PCA by SVD of the centred data; tiny problem (K columns) so always exact.
    xc = x - x.mean(axis=0)
    _u, s, vt = np.linalg.svd(xc, full_matrices=False)
    n_comp = int(min(2, (s > 1e-10 * max(s.max(initial=0.0), 1e-300)).sum()))
    for j in range(n_comp):
        v = vt[j]
        # Fix the sign so the largest loading is positive: the same picture every run.
        if v[np.argmax(np.abs(v))] < 0:
            v = -v
        out[:, j] = xc @ v
    return out.astype(np.float32)
