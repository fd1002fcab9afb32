"""The in-memory soft clusterers: isotropic GMM, soft k-means and full-covariance GMM.

Design choice (docs/method.md, "4. Soft clustering"): the default, :class:`SphericalGMM`
(``method="gmm"``), is an *isotropic* Gaussian mixture (one variance per cluster,
``Sigma_k = s_k I``) fitted by EM from a k-means++ + Lloyd start. Its E-step is the soft
k-means objective ``sum_i sum_k gamma_ik ||x_i - u_k||^2`` with a learned per-cluster
temperature, and its posteriors are the soft assignments ``gamma``. It is written in numpy
(float64, matrix-product distances) because it is ~10x faster than
``sklearn.mixture.GaussianMixture(covariance_type="spherical")`` on 2*10^5 x 32 points,
and deterministic for a given ``random_state``. With more than 50,000 points, the fit first
converges on a seeded 25,000-point subsample and then refines that solution on all points.

:class:`SoftKMeans` runs Lloyd's k-means and gives ``gamma = softmax(-||x - u_k||^2 /
(2 s^2 T))``, ``s^2`` the pooled within-cluster variance per dimension (so ``T = 1`` is
"one noise standard deviation", whatever the feature scale).

:class:`FullGMM` fits the isotropic mixture on at most 20,000 seeded points and refines it
there with full covariance matrices
(:func:`~ecg_cluster_widget.clustering.full_em.fit_full_gmm`). Slower, but on the real-ECG
model's features it separated P from T waves better (``experiments/real_alignment.py``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from sklearn.cluster import kmeans_plusplus

from ..activations.features import single_thread_blas
from ..errors import DataError
from .base import BaseSoftClusterer, subsample
from .full_em import fit_full_gmm, full_log_joint

__all__ = ["FullGMM", "SoftKMeans", "SphericalGMM"]

#: ``FullGMM`` fits its covariances on at most this many seeded points: EM with K full
#: D x D covariances costs ~D times the isotropic one.
_FULL_POINTS = 20_000
_KMEANSPP_MAX_POINTS = 20_000
_LLOYD_ITERS = 20
#: Above twice this many points, the fit first converges on a seeded subsample of this
#: size and then refines on all points (few full-data iterations).
_STAGE_POINTS = 25_000
#: Lloyd steps from given start centres (``init=``) before EM.
_INIT_LLOYD_ITERS = 3


def _sq_dist(x: np.ndarray, x_sq: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, K), clipped at 0 against round-off."""
    d = x_sq[:, None] - 2.0 * (x @ centroids.T) + (centroids**2).sum(axis=1)[None, :]
    return np.maximum(d, 0.0)


class SphericalGMM(BaseSoftClusterer):
    """Isotropic Gaussian mixture (one variance per cluster) fitted by EM; ``method="gmm"``.

    Parameters are those of
    :class:`~ecg_cluster_widget.clustering.base.BaseSoftClusterer`: ``max_iter`` caps the
    EM iterations, EM stops when the mean log-likelihood improves by less than ``tol``.

    Attributes
    ----------
    centroids_ : ndarray of shape (K, D)
    weights_ : ndarray of shape (K,)
        Mixing weights (share of points), summing to 1; clusters sorted by decreasing weight.
    variances_ : ndarray of shape (K,)
        Per-dimension variance of each cluster.
    n_iter_ : int
    converged_ : bool
    lower_bound_ : float
        Final mean log-likelihood per point.
    n_features_in_ : int
    labels_ : ndarray of shape (n_points,)
        Hard labels of the fitted points (when ``compute_labels``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(3, 0.1, (50, 2))])
    >>> sc = SphericalGMM(n_clusters=2).fit(X)
    >>> sc.predict_proba(X).shape, len(set(sc.predict(X)))
    ((100, 2), 2)
    """

    method = "gmm"

    def _fit(self, X: np.ndarray, init: np.ndarray | None) -> None:
        k = int(self.n_clusters)
        if init is not None:
            init = np.asarray(init, dtype=np.float64)
            if init.shape != (k, X.shape[1]) or not np.isfinite(init).all():
                raise DataError(
                    f"init must be {k} finite start centres of shape ({k}, {X.shape[1]}), "
                    f"got shape {init.shape}."
                )
        staged = X.shape[0] > 2 * _STAGE_POINTS
        with single_thread_blas():
            if staged:
                sub = subsample(X, _STAGE_POINTS, np.random.default_rng(self._seed))
                self._fit_points(sub, (sub**2).sum(axis=1), init, from_stage=False)
                init = self.centroids_
            self._fit_points(X, (X**2).sum(axis=1), init, from_stage=staged)

    def _lloyd_iters(self, init: np.ndarray | None, from_stage: bool) -> int:
        # EM refines a subsample solution directly; given centres take a few Lloyd steps.
        return _LLOYD_ITERS if init is None else (0 if from_stage else _INIT_LLOYD_ITERS)

    def _fit_points(self, X, x_sq, init, from_stage: bool) -> None:
        """k-means++ seeding (or ``init``), Lloyd iterations, then ``_after_lloyd`` (EM).

        ``from_stage``: ``init`` is this K's solution on a subsample.
        """
        # Total variance from sums we already have (np.var would make another pass).
        total_var = max(float(x_sq.mean() - (X.mean(axis=0) ** 2).sum()), 0.0)
        n, k = X.shape[0], int(self.n_clusters)
        if init is None:
            sub = subsample(X, _KMEANSPP_MAX_POINTS, np.random.default_rng(self._seed))
            centroids, _ = kmeans_plusplus(sub, k, random_state=int(self._seed) % (2**32))
        else:
            centroids = np.array(init, dtype=np.float64)
        scale = float(np.sqrt(total_var)) or 1.0
        converged, n_done = False, 0
        for it in range(1, self._lloyd_iters(init, from_stage) + 1):
            n_done = it
            d = _sq_dist(X, x_sq, centroids)
            labels = d.argmin(axis=1)
            counts = np.bincount(labels, minlength=k)
            # One-hot (K, n) @ X: one BLAS product instead of a sort and K slices.
            onehot = np.zeros((k, n))
            onehot[labels, np.arange(n)] = 1.0
            new = onehot @ X
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
        self._after_lloyd(X, x_sq, centroids, labels, n_done, converged, total_var, from_stage)

    def _after_lloyd(self, X, x_sq, centroids, labels, it, conv, total_var, from_stage) -> None:
        """EM from the Lloyd solution (from the subsample's variances and weights)."""
        n, dim = X.shape
        k = centroids.shape[0]
        # Variance floor relative to the data scale keeps a collapsing cluster finite.
        floor = 1e-6 * (total_var / dim or 1.0)
        self.centroids_ = centroids
        if from_stage:
            self.variances_ = np.maximum(self.variances_, floor)
        else:
            d = _sq_dist(X, x_sq, centroids)
            counts = np.maximum(np.bincount(labels, minlength=k), 1)
            within = np.bincount(labels, weights=d[np.arange(n), labels], minlength=k)
            self.variances_ = np.maximum(within / (counts * dim), floor)
            self.weights_ = counts / counts.sum()
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
            ll = float((np.log(total) + top).mean())
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
        if self.compute_labels:
            # predict(X) would recompute exactly this log-joint: no second pass.
            self.labels_ = final.argmax(axis=1)

    def _log_joint(self, X: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
        """log pi_k + log N(x | u_k, s_k I), shape (n, K)."""
        d = _sq_dist(X, x_sq, self.centroids_)
        return (
            np.log(self.weights_)[None, :]
            - 0.5 * X.shape[1] * np.log(2.0 * np.pi * self.variances_)[None, :]
            - d / (2.0 * self.variances_[None, :])
        )

    def _logits(self, X: np.ndarray) -> np.ndarray:
        x_sq = (X**2).sum(axis=1)
        with single_thread_blas():
            return self._log_joint(X, x_sq)


class SoftKMeans(SphericalGMM):
    """Lloyd's k-means with soft assignments: ``gamma = softmax(-||x - u_k||^2 / (2 s^2 T))``.

    ``method="soft_kmeans"``; the same parameters and attributes as :class:`SphericalGMM`
    (``max_iter`` caps the Lloyd iterations, which stop when no centroid moves more than
    ``tol`` times the data's standard deviation; ``variances_`` is the pooled
    within-cluster variance per dimension, ``lower_bound_`` minus the mean squared
    distance to the nearest centroid).

    Examples
    --------
    >>> X = np.r_[np.zeros((6, 1)), np.ones((4, 1))]
    >>> SoftKMeans(2).fit(X).centroids_.ravel().tolist()
    [0.0, 1.0]
    """

    method = "soft_kmeans"

    def _lloyd_iters(self, init: np.ndarray | None, from_stage: bool) -> int:
        return int(self.max_iter)

    def _after_lloyd(self, X, x_sq, centroids, labels, it, conv, total_var, from_stage) -> None:
        within = _sq_dist(X, x_sq, centroids)[np.arange(X.shape[0]), labels]
        k = centroids.shape[0]
        self.variances_ = np.full(k, max(float(within.mean()) / X.shape[1], 1e-12))
        self.weights_ = np.bincount(labels, minlength=k) / X.shape[0]
        self.lower_bound_ = -float(within.mean())
        self.n_iter_, self.converged_, self.centroids_ = it, conv, centroids

    def _logits(self, X: np.ndarray) -> np.ndarray:
        with single_thread_blas():
            d = _sq_dist(X, (X**2).sum(axis=1), self.centroids_)
        return -d / (2.0 * self.variances_[None, :])


class FullGMM(SphericalGMM):
    """Gaussian mixture with full covariances, refined from a :class:`SphericalGMM` fit.

    ``method="gmm_full"``. On ECG features the waves differ in the *shape* of their spread
    (P and T waves are slow deflections with correlated channels), which one variance per
    cluster cannot express; on LUDB 1-100 this separated them better. The same parameters
    as :class:`SphericalGMM`; ``covariances_`` (K, D, D) and ``precisions_cholesky_`` are
    added, ``variances_`` is the mean diagonal of each covariance.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (200, 2)), rng.normal(6, 1, (100, 2))]
    >>> FullGMM(2).fit(X).covariances_.shape
    (2, 2, 2)
    """

    method = "gmm_full"
    _per_cluster = (*SphericalGMM._per_cluster, "covariances_", "precisions_cholesky_")

    def _fit(self, X: np.ndarray, init: np.ndarray | None) -> None:
        # The full-covariance EM sees a subsample, so its isotropic start is fitted on
        # that same subsample: an isotropic EM over every point (200,000 for 1,000 ECGs)
        # cost 3 s of a 16 s fit and only moved the start.
        sub = subsample(X, _FULL_POINTS, np.random.default_rng(self._seed))
        super()._fit(sub, init)
        self.__dict__.pop("labels_", None)  # the isotropic fit's; predict gives the final ones
        with single_thread_blas():
            r = fit_full_gmm(
                sub, self.centroids_, self.weights_, self.variances_, self.max_iter, self.tol
            )
        self.centroids_ = np.ascontiguousarray(r["means"])
        self.weights_ = r["weights"]
        self.covariances_ = r["covariances"]
        self.precisions_cholesky_ = r["prec_chol"]
        self.variances_ = np.array([np.trace(c) / c.shape[0] for c in self.covariances_])
        self.n_iter_, self.converged_ = int(r["n_iter"]), bool(r["converged"])
        self.lower_bound_ = float(r["lower_bound"])

    def _logits(self, X: np.ndarray) -> np.ndarray:
        with single_thread_blas():
            return full_log_joint(X, self.centroids_, self.precisions_cholesky_, self.weights_)
