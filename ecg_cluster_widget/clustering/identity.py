"""Cluster identity: path-independent stable ids for every K of one fitted pipeline.

A :class:`ClusterRegistry` holds the clusterings of one fit (one aligner, one set of
fitting points), one per K, and gives their clusters stable integer ids.

Design choice: the ids of a K depend only on the fit and on that K, never on the order in
which K values were visited.

* The *reference* clustering (the explainer's constructor ``n_clusters``, ``K0``) numbers
  its clusters ``0..K0-1`` by decreasing weight (size).
* Any other K is matched against the reference clustering - never against whatever K was
  current - by the soft assignments the two share on the same time steps
  (:func:`~ecg_cluster_widget.clustering.match_by_overlap`, Hungarian). A matched cluster
  takes the id of its reference cluster; unmatched clusters get ``K0, K0+1, ...`` in
  decreasing weight.
* Every clustering is fitted on the same points with the same seed, so a K computed
  after any history of K changes (or in another process) is the same clustering, and
  its ids are the same.

Limits:

* Ids ``>= K0`` are unique within one K only: id 6 at K=8 is "the largest cluster that
  has no counterpart among the reference clusters", which at K=10 may be another one.
  Ids below ``K0`` mean "the cluster that labels the same time steps as reference
  cluster i" at every K.
* A process that constructs the explainer with another reference K (or other options,
  seed, data or model) gets other ids. Labels then re-attach by cluster signature
  (``views.labels.attach_labels``), not by id.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError
from .matching import match_by_overlap
from .soft_clustering import SoftClusterer
from .temporal import TemporalSmoother

__all__ = ["ClusterRegistry", "KFit", "build_registry", "check_n_clusters", "ids_from_reference"]


def check_n_clusters(k: object, n_points: int | None = None) -> int:
    """Validate a number of clusters: an integer from 2 to ``n_points``.

    Parameters
    ----------
    k : object
        The requested K. Python and numpy integers are accepted; bools, floats
        (also ``3.0``) and strings are not.
    n_points : int, optional
        Number of time steps available; K may not exceed it.

    Returns
    -------
    int
        ``k`` as a Python int.

    Raises
    ------
    DataError
        Naming the valid range.

    Examples
    --------
    >>> check_n_clusters(3, 100)
    3
    >>> check_n_clusters(2.7, 100)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: n_clusters must be an integer from 2 to 100, got 2.7.
    """
    upper = "" if n_points is None else f" to {int(n_points)}"
    what = f"n_clusters must be an integer from 2{upper}"
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise DataError(f"{what}, got {k!r}.")
    k_int = int(k)
    if k_int < 2:
        raise DataError(f"{what} (at least 2), got {k_int}.")
    if n_points is not None and k_int > n_points:
        raise DataError(
            f"{what}: n_clusters={k_int} exceeds the number of time steps available "
            f"({int(n_points)}); use fewer clusters or more records."
        )
    return k_int


def ids_from_reference(
    weights: np.ndarray, match: np.ndarray | None, reference_ids: np.ndarray | None, first_new: int
) -> np.ndarray:
    """Ids of a clustering's clusters given its match to the reference clustering.

    Parameters
    ----------
    weights : ndarray of shape (K,)
        Cluster weights (sizes); unmatched clusters are numbered in decreasing weight.
    match : ndarray of shape (K,) or None
        Row of the matched reference cluster per cluster, or -1; ``None``: no reference
        (this is the reference: all clusters are numbered by decreasing weight).
    reference_ids : ndarray or None
        Ids of the reference clusters (indexed by ``match``).
    first_new : int
        First id given to unmatched clusters.

    Returns
    -------
    ndarray of shape (K,), int64
        One id per cluster (in the clustering's own order).

    Examples
    --------
    >>> ids_from_reference(np.array([0.2, 0.5, 0.3]), None, None, 0).tolist()
    [2, 0, 1]
    >>> ids_from_reference(np.array([0.1, 0.6, 0.3]), np.array([-1, 0, -1]), np.array([4]), 5).tolist()
    [6, 4, 5]
    """
    w = np.asarray(weights, dtype=np.float64)
    ids = np.full(w.size, -1, dtype=np.int64)
    if match is not None and reference_ids is not None:
        match = np.asarray(match, dtype=np.int64)
        ids[match >= 0] = np.asarray(reference_ids, dtype=np.int64)[match[match >= 0]]
    free = np.flatnonzero(ids < 0)
    # Decreasing weight, ties by position: deterministic for a deterministic clustering.
    free = free[np.argsort(-w[free], kind="stable")]
    ids[free] = first_new + np.arange(free.size)
    return ids


@dataclass(frozen=True)
class KFit:
    """One K's clustering with its cluster positions sorted by stable id.

    Attributes
    ----------
    clusterer : SoftClusterer
        Column ``j`` of its ``predict_proba`` is cluster ``ids[j]``.
    ids : ndarray of shape (K,)
        Stable ids, increasing.
    extra : object
        Per-K state derived from the clusterer by the owner (e.g. a temporal smoother),
        reordered the same way.

    Examples
    --------
    >>> sc = SoftClusterer(2, random_state=0).fit(np.r_[np.zeros((5, 1)), np.ones((5, 1))])
    >>> KFit(sc, np.array([0, 1])).ids.tolist()
    [0, 1]
    """

    clusterer: SoftClusterer
    ids: np.ndarray
    extra: Any = None


class ClusterRegistry:
    """Clusterings of one fit, one per K, with path-independent stable ids.

    Not locked itself: its owner (``TLCExplainer``) calls it under its own lock.

    Parameters
    ----------
    reference : SoftClusterer
        The fitted reference clustering (K0 clusters); its ids are ``0..K0-1``.
    match_points : ndarray of shape (n, D)
        Points on which other K values are matched against the reference.
    fit_k : callable
        ``fit_k(k) -> SoftClusterer``: fits K clusters on the fit's points. It must be
        deterministic (same points, same seed) for the ids to be path-independent.
    n_points : int
        Number of fitting points (upper bound of K).
    finish : callable, optional
        ``finish(clusterer) -> (clusterer, extra)`` applied to every new clustering after
        its positions are sorted by id (e.g. learning a temporal prior).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[rng.normal(0, .1, (40, 1)), rng.normal(3, .1, (30, 1)), rng.normal(6, .1, (20, 1))]
    >>> fit = lambda k: SoftClusterer(k, random_state=0).fit(x)
    >>> reg = ClusterRegistry(fit(3), x, fit, n_points=len(x))
    >>> reg.get(3).ids.tolist(), reg.get(2).ids.tolist()
    ([0, 1, 2], [0, 1])
    """

    def __init__(
        self,
        reference: SoftClusterer,
        match_points: np.ndarray,
        fit_k: Callable[[int], SoftClusterer],
        n_points: int,
        finish: Callable[[SoftClusterer], tuple[SoftClusterer, Any]] | None = None,
    ) -> None:
        self._fit_k = fit_k
        self._finish = finish
        self.n_points = int(n_points)
        self.match_points = match_points
        self.reference_k = int(reference.centroids_.shape[0])
        self._fits: dict[int, KFit] = {}
        self._fits[self.reference_k] = self._sorted(reference, None)
        self._reference_gamma = self._fits[self.reference_k].clusterer.predict_proba(match_points)

    def _sorted(self, clusterer: SoftClusterer, match: np.ndarray | None) -> KFit:
        ref_ids = None if match is None else np.arange(self.reference_k)
        first_new = 0 if match is None else self.reference_k
        ids = ids_from_reference(clusterer.weights_, match, ref_ids, first_new)
        order = np.argsort(ids, kind="stable")
        clusterer = clusterer.reordered(order)
        extra = None
        if self._finish is not None:
            clusterer, extra = self._finish(clusterer)
        return KFit(clusterer, ids[order], extra)

    @property
    def cached_k(self) -> list[int]:
        """The K values computed so far.

        Examples
        --------
        >>> reg.cached_k  # doctest: +SKIP
        [2, 3]
        """
        return sorted(self._fits)

    def __contains__(self, k: object) -> bool:
        return k in self._fits

    def get(self, k: object) -> KFit:
        """The clustering of K clusters (fitted and matched on first use).

        Parameters
        ----------
        k : int
            Number of clusters, validated by :func:`check_n_clusters`.

        Returns
        -------
        KFit

        Examples
        --------
        >>> reg.get(4).ids  # doctest: +SKIP
        array([0, 1, 2, 3])
        """
        k = check_n_clusters(k, self.n_points)
        if k not in self._fits:
            clusterer = self._fit_k(k)
            match = match_by_overlap(
                self._reference_gamma, clusterer.predict_proba(self.match_points)
            )
            self._fits[k] = self._sorted(clusterer, match)
        return self._fits[k]


def build_registry(
    opts: Any, points: np.ndarray, smooth: np.ndarray, match_points: int = 50_000
) -> ClusterRegistry:
    """The per-K cluster registry of a fit, its reference K (``opts.n_clusters``) fitted.

    Parameters
    ----------
    opts : TLCExplainer
        Read: ``n_clusters``, ``method``, ``random_state``, ``device``, ``temporal``.
    points : ndarray of shape (m, D)
        The fitting points; every K is fitted on them with the same seed.
    smooth : ndarray of shape (n, T_grid, D)
        Fitting records on which a K's temporal prior is learned (``temporal="hmm"``).
    match_points : int
        At most this many of ``points`` (seeded) are used to match K values.

    Returns
    -------
    ClusterRegistry

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> x = np.r_[np.zeros((20, 1)), np.ones((10, 1))] + np.linspace(0, .1, 30)[:, None]
    >>> opts = NS(n_clusters=2, method="gmm", random_state=0, device="cpu", temporal=None)
    >>> build_registry(opts, x, x[None]).get(2).ids.tolist()
    [0, 1]
    """
    extra = {"device": opts.device} if opts.method == "cm" else {}

    def fit_k(k: int) -> SoftClusterer:
        return SoftClusterer(k, method=opts.method, random_state=opts.random_state, **extra).fit(
            points
        )

    def finish(clusterer: SoftClusterer) -> tuple[SoftClusterer, TemporalSmoother | None]:
        if opts.temporal is None:
            return clusterer, None
        n, tg, dim = smooth.shape
        g = clusterer.predict_proba(smooth.reshape(-1, dim)).reshape(n, tg, -1)
        smoother = TemporalSmoother(random_state=opts.random_state)
        return clusterer, smoother.fit(g, clusterer.weights_)

    m = points.shape[0]
    sub = np.random.default_rng(opts.random_state + 1).permutation(m)[:match_points]
    k0 = check_n_clusters(opts.n_clusters, m)
    return ClusterRegistry(fit_k(k0), points[np.sort(sub)], fit_k, m, finish)
