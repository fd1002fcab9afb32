"""Soft clustering of (ECG, time step) feature vectors.

Design choice (docs/method.md, "4. Soft clustering"): the default ``method="gmm"`` is an
*isotropic* Gaussian mixture (one variance per cluster, ``Sigma_k = s_k I``) fitted
by EM from a k-means++ + Lloyd start. Its E-step is exactly the soft k-means /
clustering-module objective ``sum_i sum_k gamma_ik ||x_i - u_k||^2`` with a learned
per-cluster temperature, and its posteriors are the soft assignments ``gamma``.
It is written in numpy (float64, matrix-product distances) because it is ~10x
faster than ``sklearn.mixture.GaussianMixture`` on 2*10^5 x 32 points and it is
fully deterministic for a given ``random_state``.

``method="soft_kmeans"`` runs Lloyd's k-means and then gives
``gamma = softmax(-||x - u_k||^2 / (2 s^2 T))`` where ``s^2`` is the pooled
within-cluster variance per dimension (so ``temperature=1`` means "one noise
standard deviation", independent of the feature scale).

``method="cm"`` is the clustering module of the TLC authors' predecessor paper
(:mod:`ecg_cluster_widget.clustering.cm`): ``gamma = softmax(W x + b)`` from one linear
layer, centroids ``U``, trained by minibatch Adam on the soft k-means distortion plus a
Dirichlet prior on the cluster sizes (``alpha``), with a Polyak-averaged last epoch. It
streams: :meth:`SoftClusterer.fit` reads an array or ``np.memmap`` one shuffle buffer at
a time, and :meth:`SoftClusterer.fit_stream` takes chunks from any source.

``method="gmm_full"`` starts from the isotropic GMM and refines it with full covariance
matrices (:func:`~ecg_cluster_widget.clustering.full_em.fit_full_gmm`, on at most 20,000
seeded points, which keeps each fit to seconds). Slower, but on the
real-ECG model's features it separated P from T waves better (``experiments/real_alignment.py``).

For all methods ``temperature`` divides the log-posteriors (the gate logits for cm) in
:meth:`SoftClusterer.predict_proba`: ``T > 1`` softens, ``T < 1`` sharpens.

:class:`SoftClusterer` follows the scikit-learn estimator contract (``BaseEstimator``,
``ClusterMixin``; the constructor only stores parameters, ``fit`` validates them and never
changes them; ``n_features_in_`` and ``labels_`` after fit; :class:`NotFittedError` is
also scikit-learn's); ``tests/test_cm.py`` runs ``check_estimator`` on it.

This file is longer than ~450 lines because it is one estimator: four methods share its
parameter validation, the k-means/EM core, the warm start and the prediction paths (the
clustering module's training lives in ``cm.py``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import kmeans_plusplus

from ..activations.features import single_thread_blas
from ..errors import DataError, NotFittedError
from .cm import (
    _STATS_ROWS,
    _buffers,
    check_points,
    cm_logits,
    cm_statistics,
    fit_cm,
    resolve_device,
)
from .full_em import fit_full_gmm, full_log_joint

__all__ = ["SoftClusterer", "warm_start_centroids"]

_METHODS = ("gmm", "soft_kmeans", "cm", "gmm_full")
#: ``gmm_full`` refines the isotropic fit with full covariances on at most this many
#: seeded points: EM with K full D x D covariances costs ~D times the isotropic one.
_FULL_POINTS = 20_000
_KMEANSPP_MAX_POINTS = 20_000
_LLOYD_ITERS = 20
#: Above twice this many points, the fit first converges on a seeded subsample of this
#: size and then refines on all points (a warm start: few full-data iterations).
_WARM_POINTS = 25_000
#: Lloyd steps after a warm start from another K (instead of k-means++ and _LLOYD_ITERS).
_WARM_LLOYD_ITERS = 3


def logsumexp(a: np.ndarray, axis: int = 1) -> np.ndarray:
    """Stable ``log(sum(exp(a)))`` along ``axis`` (faster than scipy's for our shapes).

    Parameters
    ----------
    a : numpy.ndarray
        Values (typically log-probabilities).
    axis : int
        Axis to reduce.

    Returns
    -------
    numpy.ndarray
        ``a`` with ``axis`` removed.

    Examples
    --------
    >>> float(logsumexp(np.array([[0.0, 0.0]]))[0]) == float(np.log(2))
    True
    >>> logsumexp(np.array([[1000.0, 1000.0]])).round(3).tolist()
    [1000.693]
    """
    m = a.max(axis=axis, keepdims=True)
    return (np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m).squeeze(axis)


def _sq_dist(x: np.ndarray, x_sq: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, K), clipped at 0 against round-off."""
    d = x_sq[:, None] - 2.0 * (x @ centroids.T) + (centroids**2).sum(axis=1)[None, :]
    return np.maximum(d, 0.0)


def _is_numeric(v) -> bool:
    try:
        return np.asarray(v).dtype.kind in "iuf"
    except (TypeError, ValueError):
        return False


def warm_start_centroids(
    centroids: np.ndarray, weights: np.ndarray, k: int, X: np.ndarray, seed: int
) -> np.ndarray:
    """Start centres for K clusters from a clustering with another number of clusters.

    Fewer clusters: merge, one pair at a time, the two clusters whose merge raises the
    within-cluster sum of squares least (Ward: ``w_i w_j / (w_i + w_j) ||u_i - u_j||^2``),
    the merged centre being their weighted mean. More clusters: keep every centre and add
    new ones by k-means++ seeding on a seeded subsample of ``X`` (each new centre drawn with
    probability proportional to the squared distance to the nearest kept centre, best of
    ``2 + log K`` candidates, as scikit-learn's greedy k-means++).

    Parameters
    ----------
    centroids : ndarray of shape (K', D)
    weights : ndarray of shape (K',)
        Cluster shares (only the merges use them).
    k : int
        Wanted number of clusters.
    X : ndarray of shape (n, D)
        The points (the split draws from them).
    seed : int
        Seed of the draws.

    Returns
    -------
    ndarray of shape (k, D), float64

    Examples
    --------
    >>> c = np.array([[0.0], [1.0], [10.0]])
    >>> warm_start_centroids(c, np.array([0.5, 0.25, 0.25]), 2, c, 0).ravel().round(3).tolist()
    [0.333, 10.0]
    """
    c = np.array(centroids, dtype=np.float64)
    w = np.maximum(np.array(weights, dtype=np.float64), 1e-12)
    while c.shape[0] > k:
        d = ((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        cost = w[:, None] * w[None, :] / (w[:, None] + w[None, :]) * d
        np.fill_diagonal(cost, np.inf)
        i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
        i, j = min(i, j), max(i, j)
        c[i] = (w[i] * c[i] + w[j] * c[j]) / (w[i] + w[j])
        w[i] += w[j]
        c, w = np.delete(c, j, axis=0), np.delete(w, j)
    if c.shape[0] < k:
        rng = np.random.default_rng(seed)
        n = X.shape[0]
        sub = (
            X
            if n <= _KMEANSPP_MAX_POINTS
            else X[np.sort(rng.choice(n, _KMEANSPP_MAX_POINTS, replace=False))]
        )
        sub_sq = (sub**2).sum(axis=1)
        dmin = _sq_dist(sub, sub_sq, c).min(axis=1)
        trials = 2 + int(np.log(k))
        new = []
        for _ in range(k - c.shape[0]):
            total = float(dmin.sum())
            if total <= 0:  # every point sits on a centre: duplicate one, EM separates or drops it
                cand = rng.choice(sub.shape[0], size=1)
            else:
                cand = rng.choice(sub.shape[0], size=trials, p=dmin / total)
            d_cand = _sq_dist(sub, sub_sq, sub[cand])  # (n_sub, trials)
            best = int(np.argmin(np.minimum(dmin[:, None], d_cand).sum(axis=0)))
            new.append(sub[cand[best]])
            dmin = np.minimum(dmin, d_cand[:, best])
        c = np.vstack([c, np.asarray(new)])
    return c


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and bool(np.isfinite(v))


class SoftClusterer(ClusterMixin, BaseEstimator):
    """Soft clustering into ``n_clusters`` clusters with soft assignments ``gamma``.

    Parameters
    ----------
    n_clusters : int
        Number of clusters K (an integer >= 2).
    method : {"gmm", "soft_kmeans", "cm", "gmm_full"}
        Isotropic GMM via EM, k-means followed by a temperature softmax, or the
        clustering module (linear softmax gate + centroids, minibatch Adam, streaming).
    random_state : int or None
        Seed of the k-means++ initialisation (and, for cm, of the batch order).
        ``None`` draws a fresh seed (no global RNG is used either way).
    max_iter : int
        Maximum EM (or Lloyd) iterations (gmm, soft_kmeans).
    tol : float
        EM stops when the mean log-likelihood improves by less than ``tol``;
        Lloyd stops when centroids move less than ``tol`` (relative); cm reports
        ``converged_`` when its last two epoch losses differ by less than ``tol``
        (relative).
    temperature : float
        Divides the log-posteriors (cm: the gate logits) in :meth:`predict_proba` (> 0).
    alpha : float
        cm: concentration of the symmetric Dirichlet prior on the cluster sizes
        (> 0; 1 = no prior, > 1 keeps clusters from emptying). Dimensionless: the prior
        is weighed in units of the mean feature variance (see
        :mod:`ecg_cluster_widget.clustering.cm`).
    epochs : int or None
        cm: training epochs before the Polyak-averaged last epoch. ``None`` chooses
        ``max(5, ceil(4000 / steps_per_epoch))`` (at most 2000), i.e. at least 4000
        Adam steps: 6 epochs for 2*10^5 points.
    batch_size : int
        cm: points per minibatch.
    lr : float
        cm: Adam step size, in units of the (scalar-standardised) features.
    device : str
        cm: torch device of the minibatch steps, ``"cpu"`` or ``"cuda"``.
    shuffle_buffer : int
        cm: points held in memory and shuffled together (float32, 128 MB at D = 128
        for the default); with more points than this, each buffer is shuffled on its own.
    compute_labels : bool
        Store ``labels_`` (the hard label of every fitted point, 8 bytes per point).

    Attributes
    ----------
    centroids_ : ndarray of shape (K, D)
    weights_ : ndarray of shape (K,)
        Mixing weights (share of points; cm: mean ``gamma``), summing to 1.
    variances_ : ndarray of shape (K,)
        Per-dimension variance of each cluster (shared value for soft_kmeans;
        gamma-weighted for cm).
    n_iter_ : int
        EM or Lloyd iterations; cm: epochs including the averaging epoch.
    converged_ : bool
    lower_bound_ : float
        Final mean log-likelihood per point (GMM), minus the mean squared distance to
        the nearest centroid (soft_kmeans), or minus the whole-data cm loss (distortion
        plus prior).
    n_features_in_ : int
    labels_ : ndarray of shape (n_points,)
        Hard labels of the fitted points (when ``compute_labels``).
    W_ : ndarray of shape (K, D)
        cm only: gate weights, ``gamma = softmax(X @ W_.T + b_)``.
    b_ : ndarray of shape (K,)
        cm only: gate bias.
    loss_history_ : ndarray of shape (n_iter_,)
        cm only: mean minibatch loss of each epoch, in squared feature units.
    n_steps_ : int
        cm only: Adam steps.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(3, 0.1, (50, 2))])
    >>> sc = SoftClusterer(n_clusters=2).fit(X)
    >>> sc.predict_proba(X).shape, len(set(sc.predict(X)))
    ((100, 2), 2)
    >>> cm = SoftClusterer(n_clusters=2, method="cm", epochs=200).fit(X)
    >>> cm.weights_.round(2).tolist(), bool(cm.loss_history_[0] > cm.loss_history_[-1])
    ([0.5, 0.5], True)
    """

    def __init__(
        self,
        n_clusters: int = 6,
        method: str = "gmm",
        random_state: int | None = 0,
        max_iter: int = 100,
        tol: float = 1e-4,
        temperature: float = 1.0,
        alpha: float = 1.5,
        epochs: int | None = None,
        batch_size: int = 256,
        lr: float = 1e-3,
        device: str = "cpu",
        shuffle_buffer: int = 262_144,
        compute_labels: bool = True,
    ) -> None:
        self.n_clusters = n_clusters
        self.method = method
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.temperature = temperature
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.shuffle_buffer = shuffle_buffer
        self.compute_labels = compute_labels

    # -- helpers -------------------------------------------------------------
    def _check_X(self, X, fitting: bool = False) -> np.ndarray:
        """Validated, finite, float64 copy-or-view of ``X`` (gmm / soft_kmeans paths)."""
        X = self._check_shape(X, fitting)
        X = X.astype(np.float64, copy=False)
        if not np.isfinite(X).all():
            raise DataError("X contains NaN or inf; the features must be finite.")
        return X

    def _check_shape(self, X, fitting: bool = False) -> np.ndarray:
        X = check_points(X, None if fitting else self.n_features_in_)
        if X.shape[0] == 0:
            raise DataError("X is empty (0 points, n_samples = 0); pass at least one point.")
        return X

    def _check_params(self, n_points: int | None) -> int:
        """Validate every constructor parameter; return K (also sets ``self._seed``)."""
        if self.method not in _METHODS:
            raise DataError(f"method must be one of {_METHODS}, got {self.method!r}.")
        if not _is_int(self.n_clusters):
            raise DataError(
                f"n_clusters must be an integer >= 2, got {self.n_clusters!r}; pass e.g. "
                f"n_clusters={max(2, int(round(self.n_clusters)))!s}."
                if _is_real(self.n_clusters)
                else f"n_clusters must be an integer >= 2, got {self.n_clusters!r}."
            )
        k = int(self.n_clusters)
        if k < 2:
            raise DataError(f"n_clusters must be at least 2, got {k}.")
        if n_points is not None and k > n_points:
            raise DataError(
                f"n_clusters={k} is larger than the number of points (n_samples = {n_points}); "
                "use fewer clusters or more data."
            )
        if not (_is_real(self.temperature) and self.temperature > 0):
            raise DataError(f"temperature must be > 0, got {self.temperature!r}.")
        checks = [
            ("max_iter", _is_int(self.max_iter) and self.max_iter >= 1, "an integer >= 1"),
            ("tol", _is_real(self.tol) and self.tol >= 0, "a number >= 0"),
            ("alpha", _is_real(self.alpha) and self.alpha > 0, "a number > 0 (1 = no prior)"),
            (
                "epochs",
                self.epochs is None or (_is_int(self.epochs) and self.epochs >= 1),
                "None or an integer >= 1",
            ),
            ("batch_size", _is_int(self.batch_size) and self.batch_size >= 1, "an integer >= 1"),
            ("lr", _is_real(self.lr) and self.lr > 0, "a number > 0"),
            (
                "shuffle_buffer",
                _is_int(self.shuffle_buffer) and self.shuffle_buffer >= k,
                f"an integer >= n_clusters ({k})",
            ),
            ("compute_labels", isinstance(self.compute_labels, (bool, np.bool_)), "True or False"),
            (
                "random_state",
                self.random_state is None
                or (_is_int(self.random_state) and self.random_state >= 0),
                "None or an integer >= 0",
            ),
        ]
        for pname, ok, what in checks:
            if not ok:
                raise DataError(f"{pname} must be {what}, got {getattr(self, pname)!r}.")
        if self.method == "cm":
            resolve_device(self.device)
        if self.random_state is None:
            self._seed = int(np.random.SeedSequence().entropy % (2**31))
        else:
            self._seed = int(self.random_state)
        return k

    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise NotFittedError("this SoftClusterer is not fitted yet; call fit(X) first.")

    def _clear_fitted(self) -> None:
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, key)

    # -- fitting ---------------------------------------------------------------
    def fit(self, X, y=None, init: SoftClusterer | np.ndarray | None = None) -> SoftClusterer:
        """Fit the clusters on points ``X`` (n_points, n_features).

        Parameters
        ----------
        X : array-like of shape (n_points, n_features)
            Dense real features. For ``method="cm"`` an ``np.memmap`` (or any array
            supporting row slices) is read one shuffle buffer at a time, never whole.
        y : None
            Ignored (scikit-learn convention).
        init : SoftClusterer or ndarray of shape (K', n_features), optional
            Warm start (gmm, soft_kmeans, gmm_full) from a fitted clustering of the same
            features with any number of clusters K' (or its centroids): its clusters are
            merged (Ward) or split (k-means++ seeding next to the kept centres) to
            ``n_clusters`` by :func:`warm_start_centroids`, then refined by a few Lloyd
            steps and EM. This replaces k-means++ and 20 Lloyd iterations and EM starts
            close to a solution; ``benchmarks/bench_clustering.py`` compares time and
            ``lower_bound_`` with the cold start. Deterministic for a given ``init``.

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
        >>> SoftClusterer(2, method="soft_kmeans").fit(X).centroids_.ravel().tolist()
        [0.0, 1.0]
        >>> X3 = np.r_[X, np.full((5, 1), 4.0)]
        >>> two = SoftClusterer(2).fit(X3)
        >>> SoftClusterer(3).fit(X3, init=two).centroids_.ravel().round(3).tolist()
        [0.0, 4.0, 1.0]
        """
        X = self._check_shape(X, fitting=True)
        k = self._check_params(X.shape[0])
        if init is not None and self.method == "cm":
            raise DataError(
                "init= (a warm start) is supported for method 'gmm', 'soft_kmeans' and "
                "'gmm_full'; the clustering module ('cm') trains from its own seeding."
            )
        start = None if init is None else self._init_centroids(init, X.shape[1])
        self._clear_fitted()
        if self.method == "cm":
            rows = int(self.shuffle_buffer)
            n = X.shape[0]
            return self._fit_cm(lambda: (X[i : i + rows] for i in range(0, n, rows)), k, "X")
        X = self._check_X(X, fitting=True)
        with single_thread_blas():
            if start is not None:
                start = warm_start_centroids(start[0], start[1], k, X, self._seed)
            stage = None
            if X.shape[0] > 2 * _WARM_POINTS:
                rng = np.random.default_rng(self._seed)
                sub = X[np.sort(rng.choice(X.shape[0], _WARM_POINTS, replace=False))]
                self._fit_points(sub, (sub**2).sum(axis=1), k, start, from_stage=False)
                stage = self.centroids_
                self._fit_points(X, (X**2).sum(axis=1), k, stage, from_stage=True)
            else:
                self._fit_points(X, (X**2).sum(axis=1), k, start, from_stage=False)
        if self.method == "gmm_full":
            self._refine_full(X, k)
        argmax = self.__dict__.pop("_fit_argmax", None)
        if self.compute_labels and self.method == "gmm" and argmax is not None:
            # The last E-step's log-joint on X is predict's: no second pass over X. Set
            # before the reordering, which renames labels_ with the clusters.
            self.labels_ = argmax
        self._order_by_weight()
        self.n_features_in_ = X.shape[1]
        if self.compute_labels and not hasattr(self, "labels_"):
            self.labels_ = self.predict(X)
        return self

    @staticmethod
    def _init_centroids(init: object, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(centroids, weights) of a warm start, validated against the features' dimension."""
        if isinstance(init, SoftClusterer):
            if not hasattr(init, "centroids_"):
                raise DataError("init is a SoftClusterer that is not fitted; fit it first.")
            c, w = np.asarray(init.centroids_, np.float64), np.asarray(init.weights_, np.float64)
        else:
            c = np.asarray(init, dtype=np.float64) if _is_numeric(init) else None
            if c is None or c.ndim != 2:
                raise DataError(
                    "init must be a fitted SoftClusterer or a (n_clusters, n_features) array "
                    f"of centroids, got {type(init).__name__}."
                )
            w = np.full(c.shape[0], 1.0 / max(c.shape[0], 1))
        if c.shape[0] < 1 or c.shape[1] != dim or not np.isfinite(c).all():
            raise DataError(
                f"init has centroids of shape {c.shape}; the features have {dim} dimensions "
                "(warm-start from a clustering of the same features, with finite centroids)."
            )
        return c, w

    def _refine_full(self, X: np.ndarray, k: int) -> None:
        """Full-covariance EM from the isotropic solution (:mod:`.full_em`).

        On ECG features the waves differ in the *shape* of their spread (P and T waves
        are slow deflections with correlated channels), which one variance per cluster
        cannot express; measured on LUDB 1-100 this separated them better.
        """
        rng = np.random.default_rng(self._seed)
        sub = (
            X
            if X.shape[0] <= _FULL_POINTS
            else X[np.sort(rng.choice(X.shape[0], _FULL_POINTS, replace=False))]
        )
        with single_thread_blas():
            r = fit_full_gmm(
                sub,
                self.centroids_,
                self.weights_,
                self.variances_,
                max_iter=int(self.max_iter),
                tol=float(self.tol),
            )
        self.centroids_ = np.ascontiguousarray(r["means"])
        self.weights_ = r["weights"]
        self.covariances_ = r["covariances"]
        self.precisions_cholesky_ = r["prec_chol"]
        self.variances_ = np.array([np.trace(c) / c.shape[0] for c in self.covariances_])
        self.n_iter_ = int(r["n_iter"])
        self.converged_ = bool(r["converged"])
        self.lower_bound_ = float(r["lower_bound"])

    def _log_joint_full(self, X: np.ndarray) -> np.ndarray:
        """log w_k + log N(x | mu_k, Sigma_k) with full covariances, (n, K)."""
        return full_log_joint(X, self.centroids_, self.precisions_cholesky_, self.weights_)

    def fit_stream(self, chunks_fn: Callable[[], Iterable]) -> SoftClusterer:
        """Fit on data that arrives in chunks (e.g. read from disk), without holding it all.

        Parameters
        ----------
        chunks_fn : callable
            ``chunks_fn()`` returns an iterator over 2-D arrays (n_i, n_features). For
            ``method="cm"`` it is called once per epoch plus once for the final
            statistics, and must yield the same rows in the same order every time; the
            fit then equals :meth:`fit` on the concatenated rows, for any chunking. For
            gmm and soft_kmeans (in-memory algorithms) the chunks are concatenated.

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((30, 2)), np.ones((30, 2))]
        >>> chunks = lambda: (X[i : i + 7] for i in range(0, 60, 7))
        >>> sc = SoftClusterer(2, method="cm", epochs=100).fit_stream(chunks)
        >>> sc.n_features_in_, np.bincount(sc.labels_).tolist()
        (2, [30, 30])
        """
        if not callable(chunks_fn):
            raise DataError(
                "chunks_fn must be a function returning an iterator of arrays (it is called "
                "once per epoch), e.g. lambda: (X[i:i + 65536] for i in range(0, len(X), 65536)); "
                f"got {type(chunks_fn).__name__}."
            )
        if self.method != "cm":
            parts = [check_points(c, name="chunk") for c in chunks_fn()]
            if not parts:
                raise DataError("chunks_fn() yielded no chunks (0 points, n_samples = 0).")
            return self.fit(np.concatenate(parts, axis=0))
        k = self._check_params(None)
        self._clear_fitted()
        return self._fit_cm(chunks_fn, k, "chunk")

    def _fit_cm(self, chunks_fn: Callable[[], Iterable], k: int, name: str) -> SoftClusterer:
        fit = fit_cm(
            chunks_fn,
            k,
            alpha=float(self.alpha),
            epochs=self.epochs,
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            tol=float(self.tol),
            random_state=self._seed,
            device=self.device,
            shuffle_buffer=int(self.shuffle_buffer),
            name=name,
        )
        with single_thread_blas():
            stats = cm_statistics(
                chunks_fn,
                fit,
                alpha=float(self.alpha),
                labels=bool(self.compute_labels),
                rows=_STATS_ROWS,
                name=name,
            )
        self.centroids_ = fit.centroids
        self.W_ = fit.W
        self.b_ = fit.b
        self.weights_ = stats.weights
        self.variances_ = stats.variances
        self.n_iter_ = fit.n_epochs
        self.n_steps_ = fit.n_steps
        self.converged_ = fit.converged
        self.lower_bound_ = -stats.loss
        self.loss_history_ = fit.loss_history
        self.n_features_in_ = fit.n_features
        if stats.labels is not None:
            self.labels_ = stats.labels
        self._order_by_weight()
        return self

    def _fit_points(
        self,
        X: np.ndarray,
        x_sq: np.ndarray,
        k: int,
        init: np.ndarray | None,
        from_stage: bool,
    ) -> None:
        """Lloyd then EM on ``X``; ``from_stage``: ``init`` is this K's subsample solution."""
        # Total variance from sums we already have (np.var would make another pass).
        total_var = max(float(x_sq.mean() - (X.mean(axis=0) ** 2).sum()), 0.0)
        centroids, labels, it_km, conv_km = self._kmeans(X, x_sq, k, init, total_var, from_stage)
        if self.method == "soft_kmeans":
            d = _sq_dist(X, x_sq, centroids)
            within = d[np.arange(X.shape[0]), labels]
            var = max(float(within.mean()) / X.shape[1], 1e-12)
            self.variances_ = np.full(k, var)
            self.weights_ = np.bincount(labels, minlength=k) / X.shape[0]
            self.lower_bound_ = -float(within.mean())
            self.n_iter_, self.converged_ = it_km, conv_km
            self.centroids_ = centroids
        else:
            warm = (self.variances_, self.weights_) if from_stage else None
            self._em(X, x_sq, centroids, labels, total_var, warm)

    def _kmeans(
        self,
        X: np.ndarray,
        x_sq: np.ndarray,
        k: int,
        init: np.ndarray | None,
        total_var: float,
        from_stage: bool = False,
    ):
        """k-means++ seeding (or ``init``), then Lloyd iterations on all points."""
        rng = np.random.default_rng(self._seed)
        n = X.shape[0]
        if init is None:
            sub = (
                X
                if n <= _KMEANSPP_MAX_POINTS
                else X[np.sort(rng.choice(n, _KMEANSPP_MAX_POINTS, replace=False))]
            )
            centroids, _ = kmeans_plusplus(sub, k, random_state=int(self._seed) % (2**32))
        else:
            centroids = np.array(init, dtype=np.float64)
        n_iter = _LLOYD_ITERS if self.method in ("gmm", "gmm_full") else int(self.max_iter)
        if init is not None and self.method in ("gmm", "gmm_full"):
            # EM refines a subsample solution directly; a warm start from another K first
            # takes a few Lloyd steps to settle the merged/split centres and their variances.
            n_iter = 0 if from_stage else _WARM_LLOYD_ITERS
        scale = float(np.sqrt(total_var)) or 1.0
        converged = False
        n_done = 0
        for it in range(1, n_iter + 1):
            n_done = it
            d = _sq_dist(X, x_sq, centroids)
            labels = d.argmin(axis=1)
            counts = np.bincount(labels, minlength=k)
            new = np.zeros_like(centroids)
            self._sum_by_label(X, labels, k, new)
            for j in np.flatnonzero(counts == 0):
                # Re-seed an empty cluster at the point worst served by its centroid.
                far = int(d[np.arange(n), labels].argmax())
                new[j] = X[far]
                counts[j] = 1
                labels[far] = j
            new /= counts[:, None]
            shift = float(np.sqrt(((new - centroids) ** 2).sum(axis=1)).max())
            centroids = new
            if shift <= self.tol * scale:
                converged = True
                break
        labels = _sq_dist(X, x_sq, centroids).argmin(axis=1)
        return centroids, labels, n_done, converged

    @staticmethod
    def _sum_by_label(X: np.ndarray, labels: np.ndarray, k: int, out: np.ndarray) -> None:
        # One-hot (K, n) @ X: one BLAS product instead of a sort and K slices per Lloyd step.
        onehot = np.zeros((k, labels.size))
        onehot[labels, np.arange(labels.size)] = 1.0
        out[:] = onehot @ X

    def _log_joint(self, X: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
        """log pi_k + log N(x | u_k, s_k I), shape (n, K)."""
        d = _sq_dist(X, x_sq, self.centroids_)
        dim = X.shape[1]
        return (
            np.log(self.weights_)[None, :]
            - 0.5 * dim * np.log(2.0 * np.pi * self.variances_)[None, :]
            - d / (2.0 * self.variances_[None, :])
        )

    def _em(
        self,
        X: np.ndarray,
        x_sq: np.ndarray,
        centroids: np.ndarray,
        labels: np.ndarray,
        total_var: float,
        warm: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        n, dim = X.shape
        k = centroids.shape[0]
        # Variance floor relative to the data scale keeps a collapsing cluster finite.
        floor = 1e-6 * (total_var / dim or 1.0)
        d = _sq_dist(X, x_sq, centroids)
        counts = np.maximum(np.bincount(labels, minlength=k), 1)
        within = np.bincount(labels, weights=d[np.arange(n), labels], minlength=k)
        self.centroids_ = centroids
        self.variances_ = np.maximum(within / (counts * dim), floor)
        self.weights_ = counts / counts.sum()
        if warm is not None:
            self.variances_, self.weights_ = np.maximum(warm[0], floor), warm[1]
        prev = -np.inf
        self.converged_ = False
        self.n_iter_ = 0
        for it in range(1, int(self.max_iter) + 1):
            # logsumexp and the responsibilities from one exp of the shifted log-joint.
            resp = self._log_joint(X, x_sq)
            top = resp.max(axis=1)
            resp -= top[:, None]
            np.exp(resp, out=resp)
            total = resp.sum(axis=1)
            resp /= total[:, None]
            log_norm = np.log(total) + top
            ll = float(log_norm.mean())
            nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
            centroids = (resp.T @ X) / nk[:, None]
            # sum_i r_ik ||x_i - u_k||^2 = sum_i r_ik ||x_i||^2 - N_k ||u_k||^2 when u_k is
            # the r-weighted mean: saves a second distance pass per iteration.
            spread = (resp.T @ x_sq) / nk - (centroids**2).sum(axis=1)
            self.centroids_ = centroids
            self.variances_ = np.maximum(spread / dim, floor)
            self.weights_ = nk / nk.sum()
            self.n_iter_ = it
            if abs(ll - prev) < self.tol:
                self.converged_ = True
                break
            prev = ll
        final = self._log_joint(X, x_sq)
        self.lower_bound_ = float(logsumexp(final, axis=1).mean())
        # predict(X) would recompute exactly this log-joint: keep its argmax as labels_.
        self._fit_argmax = final.argmax(axis=1)

    def _order_by_weight(self) -> None:
        """Sort clusters by decreasing weight so that position 0 is the largest cluster."""
        order = np.argsort(-self.weights_, kind="stable")
        self._permute(order)

    def _permute(self, order: np.ndarray) -> None:
        order = np.asarray(order, dtype=np.int64)
        self.centroids_ = np.ascontiguousarray(self.centroids_[order])
        self.weights_ = self.weights_[order]
        self.variances_ = self.variances_[order]
        if hasattr(self, "W_"):
            self.W_ = np.ascontiguousarray(self.W_[order])
            self.b_ = self.b_[order]
        if hasattr(self, "covariances_"):
            self.covariances_ = np.ascontiguousarray(self.covariances_[order])
            self.precisions_cholesky_ = np.ascontiguousarray(self.precisions_cholesky_[order])
        if hasattr(self, "labels_"):
            inverse = np.empty_like(order)
            inverse[order] = np.arange(order.size)
            self.labels_ = inverse[self.labels_]

    def reordered(self, order: np.ndarray) -> SoftClusterer:
        """A copy whose cluster ``j`` is this clusterer's cluster ``order[j]``.

        Everything per cluster moves together (centroids, weights, variances, the cm gate
        ``W_``/``b_``) and ``labels_`` is renamed, so ``predict_proba`` of the copy is
        this clusterer's with its columns permuted.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
        >>> sc = SoftClusterer(2).fit(X)
        >>> sc.reordered([1, 0]).centroids_.ravel().round(3).tolist()
        [1.0, 0.0]
        """
        self._check_fitted()
        order = np.asarray(order, dtype=np.int64)
        if sorted(order.tolist()) != list(range(self.centroids_.shape[0])):
            raise DataError(f"order must be a permutation of 0..{self.centroids_.shape[0] - 1}.")
        new = SoftClusterer(**self.get_params())
        for key, val in self.__dict__.items():
            if key.endswith("_"):
                setattr(new, key, val.copy() if isinstance(val, np.ndarray) else val)
        new._permute(order)
        return new

    # -- prediction ------------------------------------------------------------
    def _cm_chunks(self, X: np.ndarray):
        """(logits, ) per float32 chunk of ``X``: the computation of the fit's last pass."""
        for buf in _buffers([X], _STATS_ROWS, self.n_features_in_, "X"):
            yield cm_logits(buf.astype(np.float64), self.W_, self.b_)

    def predict_log_proba(self, X) -> np.ndarray:
        """Log of :meth:`predict_proba` (n, K), float64.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))]
        >>> SoftClusterer(2).fit(X).predict_log_proba(X).shape
        (10, 2)
        """
        self._check_fitted()
        if not (_is_real(self.temperature) and self.temperature > 0):
            raise DataError(f"temperature must be > 0, got {self.temperature!r}.")
        if hasattr(self, "W_"):
            X = self._check_shape(X)
            parts = []
            for z in self._cm_chunks(X):
                z = z / float(self.temperature)
                parts.append(z - logsumexp(z, axis=1)[:, None])
            return np.concatenate(parts, axis=0)
        X = self._check_X(X)
        x_sq = (X**2).sum(axis=1)
        with single_thread_blas():
            if self.method == "soft_kmeans":
                logits = -_sq_dist(X, x_sq, self.centroids_) / (2.0 * self.variances_[None, :])
            elif hasattr(self, "precisions_cholesky_"):
                logits = self._log_joint_full(X)
            else:
                logits = self._log_joint(X, x_sq)
        logits = logits / float(self.temperature)
        return logits - logsumexp(logits, axis=1)[:, None]

    def predict_proba(self, X) -> np.ndarray:
        """Soft assignments ``gamma`` (n_points, K); rows sum to 1.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))]
        >>> bool(np.allclose(SoftClusterer(2).fit(X).predict_proba(X).sum(1), 1))
        True
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        """Hard labels ``argmax_k gamma`` (n_points,).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
        >>> SoftClusterer(2).fit(X).predict(X).tolist()
        [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
        """
        if hasattr(self, "W_"):
            self._check_fitted()
            X = self._check_shape(X)
            return np.concatenate([z.argmax(axis=1) for z in self._cm_chunks(X)]).astype(np.int64)
        return self.predict_log_proba(X).argmax(axis=1)

    def fit_predict(self, X, y=None) -> np.ndarray:
        """``fit(X).predict(X)``.

        Examples
        --------
        >>> import numpy as np
        >>> SoftClusterer(2).fit_predict(np.r_[np.zeros((2, 1)), np.ones((3, 1))]).tolist()
        [1, 1, 0, 0, 0]
        """
        return self.fit(X).predict(X)
