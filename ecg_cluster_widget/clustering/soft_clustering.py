"""Soft clustering of (ECG, time step) feature vectors.

Design choice (see METHOD.md, step 4): the default ``method="gmm"`` is an
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

For both methods ``temperature`` divides the log-posteriors in
:meth:`SoftClusterer.predict_proba`: ``T > 1`` softens, ``T < 1`` sharpens.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import kmeans_plusplus

from ..activations.features import single_thread_blas
from ..errors import DataError, NotFittedError

__all__ = ["SoftClusterer"]

_METHODS = ("gmm", "soft_kmeans")
_KMEANSPP_MAX_POINTS = 20_000
_LLOYD_ITERS = 20
#: Above twice this many points, the fit first converges on a seeded subsample of this
#: size and then refines on all points (a warm start: few full-data iterations).
_WARM_POINTS = 25_000


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


class SoftClusterer:
    """Soft clustering into ``n_clusters`` clusters with soft assignments ``gamma``.

    Parameters
    ----------
    n_clusters : int
        Number of clusters K (>= 2).
    method : {"gmm", "soft_kmeans"}
        Isotropic GMM via EM, or k-means followed by a temperature softmax.
    random_state : int
        Seed of the k-means++ initialisation.
    max_iter : int
        Maximum EM (or Lloyd) iterations.
    tol : float
        EM stops when the mean log-likelihood improves by less than ``tol``;
        Lloyd stops when centroids move less than ``tol`` (relative).
    temperature : float
        Divides the log-posteriors in :meth:`predict_proba` (> 0).

    Attributes
    ----------
    centroids_ : ndarray of shape (K, D)
    weights_ : ndarray of shape (K,)
        Mixing weights (share of points), summing to 1.
    variances_ : ndarray of shape (K,)
        Per-dimension variance of each cluster (shared value for soft_kmeans).
    n_iter_ : int
    converged_ : bool
    lower_bound_ : float
        Final mean log-likelihood per point (GMM) or minus the mean squared
        distance to the nearest centroid (soft_kmeans).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(3, 0.1, (50, 2))])
    >>> sc = SoftClusterer(n_clusters=2).fit(X)
    >>> sc.predict_proba(X).shape, len(set(sc.predict(X)))
    ((100, 2), 2)
    """

    def __init__(
        self,
        n_clusters: int = 6,
        method: str = "gmm",
        random_state: int = 0,
        max_iter: int = 100,
        tol: float = 1e-4,
        temperature: float = 1.0,
    ) -> None:
        self.n_clusters = n_clusters
        self.method = method
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.temperature = temperature

    # -- helpers -------------------------------------------------------------
    def _check_X(self, X: np.ndarray, fitting: bool = False) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise DataError(f"X must have shape (n_points, n_features); got shape {X.shape}.")
        if X.shape[0] == 0:
            raise DataError("X is empty (0 points).")
        if not np.isfinite(X).all():
            raise DataError("X contains NaN or inf; the features must be finite.")
        if not fitting and X.shape[1] != self.centroids_.shape[1]:
            raise DataError(
                f"X has {X.shape[1]} features but the clusterer was fitted on "
                f"{self.centroids_.shape[1]}."
            )
        return X.astype(np.float64, copy=False)

    def _check_params(self, n_points: int) -> int:
        if self.method not in _METHODS:
            raise DataError(f"method must be one of {_METHODS}, got {self.method!r}.")
        try:
            k = int(self.n_clusters)
        except (TypeError, ValueError):
            raise DataError(f"n_clusters must be an integer, got {self.n_clusters!r}.") from None
        if k < 2:
            raise DataError(f"n_clusters must be at least 2, got {k}.")
        if k > n_points:
            raise DataError(
                f"n_clusters={k} is larger than the number of points ({n_points}); use fewer "
                "clusters or more data."
            )
        if not self.temperature > 0:
            raise DataError(f"temperature must be > 0, got {self.temperature}.")
        return k

    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise NotFittedError("this SoftClusterer is not fitted yet; call fit(X) first.")

    # -- fitting ---------------------------------------------------------------
    def fit(self, X: np.ndarray) -> SoftClusterer:
        """Fit the clusters on points ``X`` (n_points, n_features).

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
        >>> SoftClusterer(2, method="soft_kmeans").fit(X).centroids_.ravel().tolist()
        [0.0, 1.0]
        """
        X = self._check_X(X, fitting=True)
        k = self._check_params(X.shape[0])
        with single_thread_blas():
            init = None
            if X.shape[0] > 2 * _WARM_POINTS:
                rng = np.random.default_rng(self.random_state)
                sub = X[np.sort(rng.choice(X.shape[0], _WARM_POINTS, replace=False))]
                self._fit_points(sub, (sub**2).sum(axis=1), k, None)
                init = self.centroids_
            self._fit_points(X, (X**2).sum(axis=1), k, init)
        self._order_by_weight()
        return self

    def _fit_points(self, X: np.ndarray, x_sq: np.ndarray, k: int, init: np.ndarray | None) -> None:
        # Total variance from sums we already have (np.var would make another pass).
        total_var = max(float(x_sq.mean() - (X.mean(axis=0) ** 2).sum()), 0.0)
        centroids, labels, it_km, conv_km = self._kmeans(X, x_sq, k, init, total_var)
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
            warm = (self.variances_, self.weights_) if init is not None else None
            self._em(X, x_sq, centroids, labels, total_var, warm)

    def _kmeans(
        self, X: np.ndarray, x_sq: np.ndarray, k: int, init: np.ndarray | None, total_var: float
    ):
        """k-means++ seeding (or ``init``), then Lloyd iterations on all points."""
        rng = np.random.default_rng(self.random_state)
        n = X.shape[0]
        if init is None:
            sub = X if n <= _KMEANSPP_MAX_POINTS else X[np.sort(rng.choice(n, _KMEANSPP_MAX_POINTS, replace=False))]
            centroids, _ = kmeans_plusplus(sub, k, random_state=int(self.random_state) % (2**32))
        else:
            centroids = np.array(init, dtype=np.float64)
        n_iter = _LLOYD_ITERS if self.method == "gmm" else int(self.max_iter)
        if init is not None and self.method == "gmm":
            n_iter = 0  # EM refines the warm start directly
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
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(k + 1))
        xs = X[order]
        for j in range(k):
            if bounds[j + 1] > bounds[j]:
                out[j] = xs[bounds[j]:bounds[j + 1]].sum(axis=0)

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
        self, X: np.ndarray, x_sq: np.ndarray, centroids: np.ndarray, labels: np.ndarray,
        total_var: float, warm: tuple[np.ndarray, np.ndarray] | None = None,
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
            log_joint = self._log_joint(X, x_sq)
            log_norm = logsumexp(log_joint, axis=1)
            resp = np.exp(log_joint - log_norm[:, None])
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
        self.lower_bound_ = float(logsumexp(self._log_joint(X, x_sq), axis=1).mean())

    def _order_by_weight(self) -> None:
        """Sort clusters by decreasing weight so that position 0 is the largest cluster."""
        order = np.argsort(-self.weights_, kind="stable")
        self._permute(order)

    def _permute(self, order: np.ndarray) -> None:
        order = np.asarray(order, dtype=np.int64)
        self.centroids_ = np.ascontiguousarray(self.centroids_[order])
        self.weights_ = self.weights_[order]
        self.variances_ = self.variances_[order]

    def reordered(self, order: np.ndarray) -> SoftClusterer:
        """A copy whose cluster ``j`` is this clusterer's cluster ``order[j]``.

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

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (scikit-learn convention).

        Examples
        --------
        >>> SoftClusterer(3).get_params()["n_clusters"]
        3
        """
        return {
            "n_clusters": self.n_clusters, "method": self.method,
            "random_state": self.random_state, "max_iter": self.max_iter,
            "tol": self.tol, "temperature": self.temperature,
        }

    # -- prediction ------------------------------------------------------------
    def predict_log_proba(self, X: np.ndarray) -> np.ndarray:
        """Log of :meth:`predict_proba` (n, K), float64.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))]
        >>> SoftClusterer(2).fit(X).predict_log_proba(X).shape
        (10, 2)
        """
        self._check_fitted()
        X = self._check_X(X)
        x_sq = (X**2).sum(axis=1)
        with single_thread_blas():
            if self.method == "soft_kmeans":
                logits = -_sq_dist(X, x_sq, self.centroids_) / (2.0 * self.variances_[None, :])
            else:
                logits = self._log_joint(X, x_sq)
        logits = logits / float(self.temperature)
        return logits - logsumexp(logits, axis=1)[:, None]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Soft assignments ``gamma`` (n_points, K); rows sum to 1.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1))]
        >>> bool(np.allclose(SoftClusterer(2).fit(X).predict_proba(X).sum(1), 1))
        True
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Hard labels ``argmax_k gamma`` (n_points,).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
        >>> SoftClusterer(2).fit(X).predict(X).tolist()
        [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
        """
        return self.predict_log_proba(X).argmax(axis=1)

    def fit_predict(self, X: np.ndarray) -> np.ndarray:
        """``fit(X).predict(X)``.

        Examples
        --------
        >>> import numpy as np
        >>> SoftClusterer(2).fit_predict(np.r_[np.zeros((2, 1)), np.ones((3, 1))]).tolist()
        [1, 1, 0, 0, 0]
        """
        return self.fit(X).predict(X)
