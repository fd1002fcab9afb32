"""Cluster identity: path-independent stable ids for every K of one fitted pipeline.

A :class:`ClusterRegistry` holds the clusterings of one fit (one aligner, one set of
fitting points), one per K, and gives their clusters stable integer ids. Every K is a level
of one cluster tree (:mod:`~ecg_cluster_widget.clustering.tree`): a new K is a merge of the
fine mixture's components, computed in milliseconds, never a refit.

Design choice: the ids of a K depend only on the fit and on that K, never on the order in
which K values were visited.

* The *reference* clustering (the explainer's constructor ``n_clusters``, ``K0``) numbers
  its clusters ``0..K0-1`` by decreasing weight (size).
* Any other K is matched against the reference clustering - never against whatever K was
  current - by the soft assignments the two share on the same time steps
  (:func:`~ecg_cluster_widget.clustering.match_by_overlap`, Hungarian). A matched cluster
  takes the id of its reference cluster; unmatched clusters get ``K0, K0+1, ...`` in
  decreasing weight.
* Every K is a level of the same deterministic cluster tree, so a K computed after any
  history of K changes (or in another process) is the same clustering, and its ids are
  the same.

Limits:

* Ids ``>= K0`` are unique within one K only: id 6 at K=8 is "the largest cluster that
  has no counterpart among the reference clusters", which at K=10 may be another one.
  Ids below ``K0`` mean "the cluster that labels the same time steps as reference
  cluster i" at every K.
* A process that constructs the explainer with another reference K (or other options,
  seed, data or model) gets other ids. Labels then re-attach by cluster signature
  (``labels.attach_labels``), not by id.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations.features import single_thread_blas
from ..errors import DataError
from .matching import match_by_overlap
from .soft_clustering import SoftClusterer
from .temporal import TemporalSmoother
from .tree import ClusterTree, merge_partitions

__all__ = [
    "MIN_SHARE",
    "ClusterRegistry",
    "KFit",
    "build_registry",
    "check_n_clusters",
    "ids_from_reference",
]

#: Share of the fitting time steps below which a cluster is merged away (issue: clusters
#: that cover 0.0-0.1 % of the data are cards that say "absent" on every ECG).
MIN_SHARE = 0.02
#: Points on which the merge order of the cluster tree is decided.
_TREE_POINTS = 50_000


def check_n_clusters(
    k: object,
    n_points: int | None = None,
    k_range: tuple[int, int] | None = None,
    what: str = "n_clusters",
) -> int:
    """The one rule for a number of clusters, for the estimator and the widget alike: an
    integer (no bool, no float, not even ``3.0``) from 2 to ``n_points``, or in ``k_range``.

    Parameters
    ----------
    k : object
        The requested K (Python or numpy integer).
    n_points : int, optional
        Number of time steps available; K may not exceed it.
    k_range : (int, int), optional
        Lowest and highest K allowed instead (the widget's ``k_min..k_max``).
    what : str
        The name used in the error (``"K"`` in the widget).

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
    >>> check_n_clusters(50, k_range=(2, 8), what="K")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: K must be an integer from 2 to 8, got 50.
    """
    lo, hi = (2, n_points) if k_range is None else (int(k_range[0]), int(k_range[1]))
    msg = f"{what} must be an integer from {lo}" + ("" if hi is None else f" to {int(hi)}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise DataError(f"{msg}, got {k!r}.")
    k_int = int(k)
    if k_int < lo:
        raise DataError(f"{msg} (at least {lo}), got {k_int}.")
    if hi is not None and k_int > hi:
        if k_range:
            raise DataError(f"{msg}, got {k_int}.")
        raise DataError(
            f"{msg}: n_clusters={k_int} exceeds the number of time steps available; "
            "use fewer clusters or more records."
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
    clusterer : MergedMixture or SoftClusterer
        Column ``j`` of its ``predict_proba`` is cluster ``ids[j]``.
    ids : ndarray of shape (K,)
        Stable ids, increasing.

    Examples
    --------
    >>> sc = SoftClusterer(2, random_state=0).fit(np.r_[np.zeros((5, 1)), np.ones((5, 1))])
    >>> KFit(sc, np.array([0, 1])).ids.tolist()
    [0, 1]
    """

    clusterer: Any
    ids: np.ndarray


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
        ``fit_k(k)``: the clustering of K clusters (a tree level, or any fitted clusterer
        with ``weights_``, ``predict_proba`` and ``reordered``). It must be deterministic
        for the ids to be path-independent.
    n_points : int
        Number of fitting points (upper bound of K).
    k_max : int, optional
        The largest K available (the cluster tree's top level); default ``n_points``.
    trees : tuple of ClusterTree
        The trees whose levels ``fit_k`` returns, if any.

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
        k_max: int | None = None,
        trees: tuple = (),
    ) -> None:
        self._fit_k = fit_k
        #: The cluster trees whose levels ``fit_k`` returns (none for refits per K).
        self.trees = tuple(trees)
        self.n_points = int(n_points)
        self.k_max = self.n_points if k_max is None else int(k_max)
        self.match_points = match_points
        self.reference_k = int(reference.centroids_.shape[0])
        self._fits: dict[int, KFit] = {}
        self._parents: dict[int, dict[int, int]] = {}
        self._fits[self.reference_k] = self._sorted(reference, None)
        self._reference_gamma = self._fits[self.reference_k].clusterer.predict_proba(match_points)

    def _sorted(self, clusterer: SoftClusterer, match: np.ndarray | None) -> KFit:
        ref_ids = None if match is None else np.arange(self.reference_k)
        first_new = 0 if match is None else self.reference_k
        ids = ids_from_reference(clusterer.weights_, match, ref_ids, first_new)
        order = np.argsort(ids, kind="stable")
        return KFit(clusterer.reordered(order), ids[order])

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
        if k > self.k_max:
            raise DataError(
                f"K={k} is not available: this fit supports K from 2 to {self.k_max} (larger "
                f"K would add clusters holding less than {MIN_SHARE:.0%} of the time steps); "
                "choose a smaller K, or refit with a larger max_clusters."
            )
        if k not in self._fits:
            clusterer = self._fit_k(k)
            match = match_by_overlap(
                self._reference_gamma, clusterer.predict_proba(self.match_points)
            )
            self._fits[k] = self._sorted(clusterer, match)
        return self._fits[k]

    def parents(self, k: object) -> dict[int, int]:
        """The cluster of K-1 each cluster of K comes from: ``{id at K: id at K-1}``.

        The cluster of K-1 sharing most of its points (on the matching points). Inside one
        cluster tree that is the group it merges into, so the relation is a tree; between
        the reference K0 and K0+1, which come from two mixtures, it is the best overlap.

        Examples
        --------
        >>> reg.parents(3)  # doctest: +SKIP
        {0: 0, 1: 1, 2: 1}
        """
        k = check_n_clusters(k, self.n_points)
        if k <= 2:
            return {}
        if k in self._parents:  # fixed for a fit; every K's ancestors ask for K-1 .. 3
            return dict(self._parents[k])
        child, parent = self.get(k), self.get(k - 1)
        # Soft contingency of the two levels on the matching points.
        overlap = child.clusterer.predict_proba(self.match_points).T @ (
            parent.clusterer.predict_proba(self.match_points)
        )
        best = overlap.argmax(axis=1)
        self._parents[k] = {
            int(c): int(parent.ids[b]) for c, b in zip(child.ids, best, strict=True)
        }
        return dict(self._parents[k])


def build_registry(
    opts: Any, points: np.ndarray, smooth: np.ndarray, match_points: int = 50_000
) -> ClusterRegistry:
    """The per-K cluster registry of a fit: one cluster tree, its reference K (ids ``0..K0-1``).

    Two cluster trees (:mod:`~ecg_cluster_widget.clustering.tree`): the reference mixture
    (``n_clusters`` components, ids ``0..K0-1``), whose merges give every K below it, and,
    when ``max_clusters`` is larger, a mixture of ``max_clusters`` components whose merges
    give every K above it. With ``temporal="hmm"`` each tree learns a temporal prior on its
    components. Every K is then a merge, computed in milliseconds.

    Parameters
    ----------
    opts : TLCExplainer
        Read: ``n_clusters``, ``max_clusters``, ``method``, ``random_state``, ``device``,
        ``temporal``.
    points : ndarray of shape (m, D)
        The fitting points.
    smooth : ndarray of shape (n, T_grid, D)
        Fitting records: the temporal prior and the merge order are learned on them.
    match_points : int
        At most this many of ``points`` (seeded) are used to match K values.

    Returns
    -------
    ClusterRegistry

    Warns
    -----
    UserWarning
        When the data do not support the reference K (some of its clusters hold less than
        ``MIN_SHARE`` of the time steps); the message names a K that works.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> x = np.r_[np.zeros((20, 1)), np.ones((10, 1))] + np.linspace(0, .1, 30)[:, None]
    >>> opts = NS(n_clusters=2, max_clusters=2, method="gmm", random_state=0, device="cpu",
    ...           temporal=None)
    >>> build_registry(opts, x, x[None]).get(2).ids.tolist()
    [0, 1]
    """
    m = points.shape[0]
    k0 = check_n_clusters(opts.n_clusters, m)
    top = min(max(int(opts.max_clusters), k0), m)
    # The two trees are independent: on two threads they take the time of the longer one
    # (their NumPy products release the GIL). BLAS stays at one thread for the whole
    # section, as each fit asks, so the threads do not fight over the cores; the limit is
    # set here, around both, because threadpool limits are process-wide.
    with single_thread_blas(), ThreadPoolExecutor(max_workers=2) as pool:
        upper_job = pool.submit(_fit_tree, opts, points, smooth, top, 0) if top > k0 else None
        lower = _fit_tree(opts, points, smooth, k0, keep=k0)
        upper = None if upper_job is None else upper_job.result()
    share = lower.shares(k0)
    if share.min() < MIN_SHARE:
        fewer = max(
            [k for k in lower.partitions if k < k0 and lower.shares(k).min() >= MIN_SHARE] or [2]
        )
        warnings.warn(
            f"n_clusters={k0} is more clusters than these data support: "
            f"{int((share < MIN_SHARE).sum())} of them hold less than {MIN_SHARE:.0%} of the "
            f"time steps. Use n_clusters <= {fewer}, or fit on more (or more varied) records.",
            UserWarning,
            stacklevel=3,
        )
    trees = {k: lower for k in lower.partitions}
    if upper is not None:
        # K above the reference comes from a second, finer mixture merged down to K0+1:
        # merging the reference fit itself keeps every K <= K0 as good as a separate fit
        # (docs/results.md), which merging a finer mixture down to K0 did not.
        trees.update({k: upper for k in upper.partitions if k > k0})

    def level(k: int) -> Any:
        if k not in trees:
            raise DataError(f"K={k} is not a level of this fit's cluster trees.")
        return trees[k].level(k)

    k_max = max(trees)
    sub = np.random.default_rng(opts.random_state + 1).permutation(m)[:match_points]
    distinct = (lower,) if upper is None else (lower, upper)
    return ClusterRegistry(level(k0), points[np.sort(sub)], level, m, k_max=k_max, trees=distinct)


def _fit_tree(opts: Any, points: np.ndarray, smooth: np.ndarray, k: int, keep: int) -> ClusterTree:
    """A cluster tree of ``k`` fine components on ``points`` (prior learned on ``smooth``).

    With ``keep == k`` (the reference mixture, whose K must be offered), a component that
    ends with less than ``MIN_SHARE`` of the points is re-seeded on a point of the largest
    one and the mixture refitted from there (at most twice): EM with many components
    leaves some nearly empty, and the reference K cannot merge them away.
    """
    extra = {"device": opts.device} if opts.method == "cm" else {}
    n, tg, dim = smooth.shape
    rng = np.random.default_rng(opts.random_state + 3)
    sample = smooth.reshape(-1, dim)
    if sample.shape[0] > _TREE_POINTS:
        sample = sample[np.sort(rng.choice(sample.shape[0], _TREE_POINTS, replace=False))]
    init = None
    for attempt in range(3):
        fine = SoftClusterer(k, method=opts.method, random_state=opts.random_state, **extra)
        fine.fit(points, init=init)
        g = fine.predict_proba(sample).astype(np.float32)
        share = np.bincount(g.argmax(axis=1), minlength=k) / g.shape[0]
        small = np.flatnonzero(share < MIN_SHARE)
        if keep < k or small.size == 0 or attempt == 2 or opts.method == "cm":
            break
        owner = fine.predict(points)
        donors = np.flatnonzero(owner == int(np.argmax(share)))
        init = fine.centroids_.copy()
        # More empty components than donor points (a tiny fit): donors are reused.
        init[small] = points[rng.choice(donors, small.size, replace=donors.size < small.size)]
    smoother = None
    if opts.temporal == "hmm":
        seq = fine.predict_proba(smooth.reshape(-1, dim)).astype(np.float32).reshape(n, tg, -1)
        smoother = TemporalSmoother(random_state=opts.random_state).fit(seq, fine.weights_)
    parts = merge_partitions(fine.weights_, fine.centroids_, g, MIN_SHARE, keep=keep)
    return ClusterTree(fine, smoother, parts, shares_of=g)
