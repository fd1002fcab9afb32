"""The base class of the soft clusterers: parameters, input checks and the shared template.

As scikit-learn's ``BaseMixture``: the constructor only stores parameters, which are
validated declaratively (``_parameter_constraints``); :meth:`BaseSoftClusterer.fit`,
:meth:`~BaseSoftClusterer.predict_proba`, :meth:`~BaseSoftClusterer.predict` and
:meth:`~BaseSoftClusterer.reordered` are written once here, and each algorithm
(:mod:`.mixture`, :mod:`.cm`) implements ``_fit`` (the fitted parameters) and ``_logits``
(the unnormalised log-posteriors of points).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, InvalidParameterError

from ..errors import DataError, NotFittedError

__all__ = ["BaseSoftClusterer", "ChunksFn", "check_points", "float32_blocks", "subsample"]

#: A function returning an iterator of 2-D arrays (the rows, chunk by chunk).
ChunksFn = Callable[[], Iterable]


def check_points(
    X, n_features: int | None = None, name: str = "X", finite: bool = True, min_rows: int = 1
):
    """Validate a dense 2-D block of feature vectors (scikit-learn's ``check_array``).

    Parameters
    ----------
    X : array-like of shape (n_points, n_features)
        Real numbers; a ``np.memmap`` is not copied.
    n_features : int, optional
        Required number of columns.
    name : str
        Name used in the messages.
    finite : bool
        Also refuse NaN and infinity (this reads every value).
    min_rows : int
        Fewest rows accepted.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    DataError
        Sparse, complex, non-numeric, non-2-D or empty input, or another column count.

    Examples
    --------
    >>> check_points([[0.0, 1.0]]).shape
    (1, 2)
    >>> check_points(np.ones((2, 2), dtype=complex))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: X: Complex data not supported...
    """
    try:
        X = check_array(
            X,
            dtype="numeric",
            ensure_all_finite=finite,
            ensure_min_samples=min_rows,
            input_name=name,
        )
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: {exc}") from None
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(
            f"{name} has {X.shape[1]} features, but SoftClusterer is expecting {n_features} "
            "features as input."
        )
    return X


def subsample(X: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``m`` rows of ``X``: all of them, or a seeded sample in their original order.

    Parameters
    ----------
    X : ndarray of shape (n, D)
    m : int
        Most rows returned.
    rng : numpy.random.Generator
        Draws the sample (only when ``n > m``).

    Returns
    -------
    ndarray of shape (min(n, m), D)

    Examples
    --------
    >>> subsample(np.arange(10)[:, None], 3, np.random.default_rng(0)).ravel().tolist()
    [5, 6, 9]
    """
    n = X.shape[0]
    return X if n <= m else X[np.sort(rng.choice(n, m, replace=False))]


def float32_blocks(
    chunks: Iterable, rows: int, n_features: int | None, name: str = "X", again: bool = False
) -> Iterator[np.ndarray]:
    """Re-block chunks of rows into float32 blocks of ``rows`` rows (the last may be shorter).

    Parameters
    ----------
    chunks : iterable of array-like
        2-D chunks (n_i, n_features), each validated by :func:`check_points`.
    rows : int
        Rows per block.
    n_features : int, optional
        Required number of columns (else the first chunk's).
    name : str
        Name used in the messages.
    again : bool
        The chunks come from a repeated call of a chunk function (the message for no
        rows says so).

    Yields
    ------
    ndarray of shape (<= rows, n_features), float32
        One reused buffer: the consumer must be done with a block before asking for the
        next one. Memory is one block, whatever the number of rows.

    Raises
    ------
    DataError
        No rows, a value that is not finite in float32, or another column count.

    Examples
    --------
    >>> [b.shape for b in float32_blocks([np.ones((3, 2)), np.ones((4, 2))], 5, None)]
    [(5, 2), (2, 2)]
    """
    buf, fill = None, 0
    for chunk in chunks:
        a = check_points(chunk, n_features, name, finite=False, min_rows=0)
        if buf is None:
            n_features, buf = a.shape[1], np.empty((rows, a.shape[1]), dtype=np.float32)
        start = 0
        while start < a.shape[0]:
            take = min(rows - fill, a.shape[0] - start)
            with np.errstate(over="ignore", invalid="ignore"):
                buf[fill : fill + take] = a[start : start + take]
            if not np.isfinite(buf[fill : fill + take]).all():
                raise DataError(
                    f"{name} contains NaN or inf (or values beyond the float32 range); the "
                    "features must be finite."
                )
            fill, start = fill + take, start + take
            if fill == rows:
                yield buf
                fill = 0
    if buf is None:
        raise DataError(
            "chunks_fn() yielded no rows on a later call; it must return a fresh iterator "
            "over the same rows each time it is called (e.g. a function that re-opens the "
            "file), not a generator that is used up after one epoch."
            if again
            else f"{name} is empty (0 points, n_samples = 0); pass at least n_clusters points."
        )
    if fill:
        yield buf[:fill]


class BaseSoftClusterer(ClusterMixin, BaseEstimator):
    """Base class of the soft clusterers (not used directly).

    Subclasses set ``method`` (their name for :func:`~.soft_clustering.SoftClusterer`),
    ``_per_cluster`` (the fitted attributes with one row per cluster) and implement
    ``_fit(X, init)`` and ``_logits(X)``.

    Parameters
    ----------
    n_clusters : int
        Number of clusters K (an integer >= 2).
    random_state : int or None
        Seed of the initialisation. ``None`` draws a fresh seed (no global RNG is used).
    max_iter : int
        Maximum EM (or Lloyd) iterations.
    tol : float
        Convergence tolerance (see each subclass).
    temperature : float
        Divides the log-posteriors in :meth:`predict_proba`: ``T > 1`` softens, ``T < 1``
        sharpens (> 0).
    compute_labels : bool
        Store ``labels_`` (the hard label of every fitted point, 8 bytes per point).

    Examples
    --------
    >>> from ecg_cluster_widget.clustering.mixture import SphericalGMM
    >>> issubclass(SphericalGMM, BaseSoftClusterer)
    True
    """

    method = ""
    _per_cluster: tuple[str, ...] = ("centroids_", "weights_", "variances_")
    #: Whether ``fit`` needs the points in memory as finite float64 (else it streams them).
    _in_memory = True
    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 2, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "compute_labels": ["boolean"],
    }

    def __init__(
        self,
        n_clusters: int = 6,
        *,
        random_state: int | None = 0,
        max_iter: int = 100,
        tol: float = 1e-4,
        temperature: float = 1.0,
        compute_labels: bool = True,
    ) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.temperature = temperature
        self.compute_labels = compute_labels

    # -- template ----------------------------------------------------------------------
    def _check_params(self, n_points: int | None) -> None:
        """Validate the parameters (a :class:`DataError` naming the bad one); set the seed."""
        try:
            self._validate_params()
        except InvalidParameterError as exc:
            raise DataError(str(exc)) from None
        if n_points is not None and self.n_clusters > n_points:
            raise DataError(
                f"n_clusters={self.n_clusters} is larger than the number of points "
                f"(n_samples = {n_points}); use fewer clusters or more data."
            )
        seed = self.random_state
        self._seed = int(np.random.SeedSequence().entropy % (2**31) if seed is None else seed)

    def fit(self, X, y=None, init: np.ndarray | None = None) -> BaseSoftClusterer:
        """Fit the clusters on points ``X`` (n_points, n_features).

        Parameters
        ----------
        X : array-like of shape (n_points, n_features)
            Dense real features.
        y : None
            Ignored (scikit-learn convention).
        init : ndarray of shape (n_clusters, n_features), optional
            Start centres instead of k-means++ (used to re-seed near-empty components;
            the in-memory mixtures only).

        Returns
        -------
        self

        Examples
        --------
        >>> from ecg_cluster_widget.clustering import SoftClusterer
        >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
        >>> SoftClusterer(2, method="soft_kmeans").fit(X).centroids_.ravel().tolist()
        [0.0, 1.0]
        """
        X = check_points(X, finite=self._in_memory)
        self._check_params(X.shape[0])
        if init is not None and not self._in_memory:
            raise DataError(f"init= (start centres) is not supported by {type(self).__name__}.")
        if self._in_memory:
            X = X.astype(np.float64, copy=False)
        self._clear_fitted()
        self._fit(X, init)
        self.n_features_in_ = X.shape[1]
        return self._finish(X)

    def fit_stream(self, chunks_fn: ChunksFn) -> BaseSoftClusterer:
        """Fit on data that arrives in chunks (e.g. read from disk).

        Parameters
        ----------
        chunks_fn : callable
            ``chunks_fn()`` returns an iterator over 2-D arrays (n_i, n_features). The
            in-memory mixtures concatenate the chunks; the clustering module streams them.

        Returns
        -------
        self

        Examples
        --------
        >>> from ecg_cluster_widget.clustering import SoftClusterer
        >>> X = np.r_[np.zeros((30, 2)), np.ones((30, 2))]
        >>> sc = SoftClusterer(2).fit_stream(lambda: (X[i : i + 7] for i in range(0, 60, 7)))
        >>> np.bincount(sc.labels_).tolist()
        [30, 30]
        """
        if not callable(chunks_fn):
            raise DataError(
                f"chunks_fn must be a function returning an iterator of arrays, got "
                f"{type(chunks_fn).__name__}; e.g. lambda: (X[i:i + 65536] for i in "
                "range(0, len(X), 65536))."
            )
        return self._fit_stream(chunks_fn)

    def _fit_stream(self, chunks_fn: ChunksFn) -> BaseSoftClusterer:
        parts = [check_points(c, name="chunk", finite=False, min_rows=0) for c in chunks_fn()]
        if not parts:
            raise DataError("chunks_fn() yielded no chunks (0 points, n_samples = 0).")
        return self.fit(np.concatenate(parts, axis=0))

    def _finish(self, X) -> BaseSoftClusterer:
        """Sort the clusters by decreasing weight (position 0 is the largest); ``labels_``."""
        self._permute(np.argsort(-self.weights_, kind="stable"))
        if self.compute_labels and not hasattr(self, "labels_"):
            self.labels_ = self.predict(X)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit(X) first.")

    def _clear_fitted(self) -> None:
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, key)

    def _permute(self, order: np.ndarray) -> None:
        for name in self._per_cluster:
            setattr(self, name, getattr(self, name)[order])
        if hasattr(self, "labels_"):
            self.labels_ = np.argsort(order)[self.labels_]

    def reordered(self, order) -> BaseSoftClusterer:
        """A copy whose cluster ``j`` is this clusterer's cluster ``order[j]``.

        Everything per cluster moves together and ``labels_`` is renamed, so
        ``predict_proba`` of the copy is this clusterer's with its columns permuted.

        Parameters
        ----------
        order : sequence of int
            A permutation of ``0..K-1``.

        Returns
        -------
        BaseSoftClusterer

        Examples
        --------
        >>> from ecg_cluster_widget.clustering import SoftClusterer
        >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
        >>> SoftClusterer(2).fit(X).reordered([1, 0]).centroids_.ravel().round(3).tolist()
        [1.0, 0.0]
        """
        self._check_fitted()
        order = np.asarray(order, dtype=np.int64)
        if sorted(order.tolist()) != list(range(self.centroids_.shape[0])):
            raise DataError(f"order must be a permutation of 0..{self.centroids_.shape[0] - 1}.")
        new = copy.deepcopy(self)
        new._permute(order)
        return new

    # -- prediction ----------------------------------------------------------------------
    def _checked_logits(self, X) -> np.ndarray:
        self._check_fitted()
        X = check_points(X, self.n_features_in_, finite=self._in_memory)
        return self._logits(X.astype(np.float64, copy=False) if self._in_memory else X)

    def predict_log_proba(self, X) -> np.ndarray:
        """Log of :meth:`predict_proba` (n, K), float64.

        Parameters
        ----------
        X : array-like of shape (n_points, n_features)

        Returns
        -------
        ndarray of shape (n_points, K)

        Examples
        --------
        >>> from ecg_cluster_widget.clustering import SoftClusterer
        >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))]
        >>> SoftClusterer(2).fit(X).predict_log_proba(X).shape
        (10, 2)
        """
        self._check_params(None)  # the temperature may have been set after the fit
        logits = self._checked_logits(X) / float(self.temperature)
        return logits - logsumexp(logits, axis=1)[:, None]

    def predict_proba(self, X) -> np.ndarray:
        """Soft assignments ``gamma`` (n_points, K); rows sum to 1.

        Parameters
        ----------
        X : array-like of shape (n_points, n_features)

        Returns
        -------
        ndarray of shape (n_points, K)

        Examples
        --------
        >>> from ecg_cluster_widget.clustering import SoftClusterer
        >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))]
        >>> bool(np.allclose(SoftClusterer(2).fit(X).predict_proba(X).sum(1), 1))
        True
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        """Hard labels ``argmax_k gamma`` (n_points,), whatever the temperature.

        Parameters
        ----------
        X : array-like of shape (n_points, n_features)

        Returns
        -------
        ndarray of shape (n_points,), int64

        Examples
        --------
        >>> from ecg_cluster_widget.clustering import SoftClusterer
        >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
        >>> SoftClusterer(2).fit(X).predict(X).tolist()
        [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
        """
        return self._checked_logits(X).argmax(axis=1)
