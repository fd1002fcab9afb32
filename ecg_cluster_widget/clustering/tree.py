"""A cluster tree: every K derived from one fine mixture by merging its components.

Why: a K change in the widget must be live. Refitting a mixture per K cost 0.3-100 s;
merging the components of one fine fit costs a matrix product. Merging also gives what
separate fits cannot: clusters nested across K (a cluster at K=4 is a union of clusters
at K=8), so a name given to a parent describes its children.

* **Fine mixture.** One soft clusterer with ``K_fine`` components; the explainer keeps two
  trees (``clustering.identity.build_registry``): the reference mixture for every K up to
  the reference K, a ``max_clusters`` mixture for the K above it.
* **Merge order** (:func:`merge_partitions`): greedy, from ``K_fine`` down to 2. First,
  while a group holds less than ``min_share`` of the points (by hard assignment), it is
  merged into its nearest group: a mixture fitted with more components than the data
  supports leaves some nearly empty, and those are not clusters a person can inspect.
  Then the pair with the smallest Ward cost (increase of the within-group sum of squares
  of the component means, weighted by the mixture weights) is merged. On the tuning
  split (LUDB 1-100, the real-ECG model) Ward merges of the reference mixture kept the
  waves better than the entropy criterion of Baudry et al. (JCGS 2010) and than merging a
  finer mixture down (docs/results.md, section 00).
* **Levels.** Column ``g`` of a level's soft assignments is the sum of the fine columns in
  group ``g``; a temporal prior runs on the fine components, and its posteriors are
  summed the same way (the exact marginal of a merged state in the fine HMM).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["ClusterTree", "MergedMixture", "merge_partitions", "members_matrix", "sequence_proba"]
#: Records per block when posteriors are computed for a whole dataset.
_RECORD_BLOCK = 256

_EPS = 1e-12


def merge_partitions(
    weights: np.ndarray,
    means: np.ndarray,
    gamma: np.ndarray | None = None,
    min_share: float = 0.02,
    keep: int = 2,
) -> dict[int, np.ndarray]:
    """Greedy merges of mixture components: one partition of the components per K.

    Parameters
    ----------
    weights : ndarray of shape (K_fine,)
        Mixture weights of the fine components.
    means : ndarray of shape (K_fine, D)
        Their means.
    gamma : ndarray of shape (n, K_fine), optional
        Soft assignments of (a sample of) the fitting points, to measure each group's
        share of the points by hard assignment; without it no share is checked.
    min_share : float
        Groups holding less than this share of the points are merged first (into their
        nearest group); K values whose partition still has such a group are not
        returned, except K <= ``keep`` (the caller's reference K stays available; its
        small groups are the caller's to report).
    keep : int
        The caller's reference K: every level at or below it is returned.

    Returns
    -------
    dict {K: ndarray of shape (K_fine,)}
        For every K returned, from the largest down to 2: the group (``0..K-1``) of each
        fine component, groups numbered by their smallest component.

    Examples
    --------
    >>> w = np.array([.3, .2, .3, .2])
    >>> mu = np.array([[0.], [0.5], [5.], [5.4]])
    >>> {k: p.tolist() for k, p in merge_partitions(w, mu).items()}
    {4: [0, 1, 2, 3], 3: [0, 1, 2, 2], 2: [0, 0, 1, 1]}
    """
    w = np.asarray(weights, dtype=np.float64).ravel()
    mu = np.asarray(means, dtype=np.float64)
    kf = w.size
    if kf < 2 or mu.shape[0] != kf:
        raise DataError(f"need >= 2 components with one mean each, got {kf} and {mu.shape}.")
    groups = [[j] for j in range(kf)]
    g = None if gamma is None else np.asarray(gamma, dtype=np.float64)
    out: dict[int, np.ndarray] = {}

    def partition() -> np.ndarray:
        part = np.empty(kf, dtype=np.int64)
        for gi, members in enumerate(sorted(groups, key=min)):
            part[members] = gi
        return part

    def ward(a: int, b: int) -> float:
        # Increase of the within-group sum of squares when a and b become one (Ward).
        wa, wb = w[groups[a]].sum(), w[groups[b]].sum()
        ma = w[groups[a]] @ mu[groups[a]] / max(wa, _EPS)
        mb = w[groups[b]] @ mu[groups[b]] / max(wb, _EPS)
        return float(wa * wb / max(wa + wb, _EPS) * ((ma - mb) ** 2).sum())

    while len(groups) >= 2:
        small = np.array([], dtype=np.int64)
        if g is not None and min_share > 0:
            cols = np.stack([g[:, m].sum(axis=1) for m in groups], axis=1)
            hard = np.bincount(cols.argmax(axis=1), minlength=len(groups)) / g.shape[0]
            small = np.flatnonzero(hard < min_share)
        if small.size == 0 or len(groups) <= keep:
            out[len(groups)] = partition()
            pairs = [(a, b) for a in range(len(groups)) for b in range(a + 1, len(groups))]
        else:
            a = int(small[np.argmin(hard[small])])
            pairs = [(min(a, b), max(a, b)) for b in range(len(groups)) if b != a]
        if len(groups) == 2 and small.size == 0:
            break
        a, b = min(pairs, key=lambda p: (ward(*p), p))
        groups[a] = groups[a] + groups[b]
        del groups[b]
    return dict(sorted(out.items(), reverse=True))


def members_matrix(partition: np.ndarray, k: int | None = None) -> np.ndarray:
    """The (K_fine, K) 0/1 matrix of a partition: ``gamma_K = gamma_fine @ M``.

    Parameters
    ----------
    partition : ndarray of shape (K_fine,)
        Group of each fine component.
    k : int, optional
        Number of groups (default: the largest group + 1).

    Returns
    -------
    ndarray of shape (K_fine, K)

    Examples
    --------
    >>> members_matrix(np.array([0, 1, 0])).tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """
    part = np.asarray(partition, dtype=np.int64)
    k = int(part.max()) + 1 if k is None else int(k)
    m = np.zeros((part.size, k))
    m[np.arange(part.size), part] = 1.0
    return m


class ClusterTree:
    """A fine mixture, its temporal prior and the partition of its components for every K.

    Parameters
    ----------
    fine : SoftClusterer
        The fitted fine clusterer (``K_fine`` components).
    smoother : TemporalSmoother or None
        A temporal prior fitted on the fine components' soft assignments.
    partitions : dict {K: ndarray of shape (K_fine,)}
        From :func:`merge_partitions`.
    shares_of : ndarray of shape (n, K_fine), optional
        Point-wise assignments on which :meth:`shares` counts each group's points.

    Soft assignments of the fine components are the expensive part of every level; the
    tree keeps those of the last few arrays it was asked about (held weakly: an array
    that is garbage-collected leaves the memo), so that every K of the same records is a
    matrix product.

    Examples
    --------
    >>> from ecg_cluster_widget.clustering import SoftClusterer
    >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1)) * 0.2, np.ones((5, 1)) * 5]
    >>> fine = SoftClusterer(3, random_state=0).fit(X)
    >>> tree = ClusterTree(fine, None, merge_partitions(fine.weights_, fine.centroids_))
    >>> tree.k_max, tree.level(2).predict_proba(X).shape
    (3, (15, 2))
    """

    _MEMO = 4

    def __init__(
        self,
        fine: Any,
        smoother: Any,
        partitions: dict[int, np.ndarray],
        shares_of: np.ndarray | None = None,
    ) -> None:
        if not partitions:
            raise DataError("a cluster tree needs at least one level.")
        self.fine = fine
        self.smoother = smoother
        self._share_gamma = shares_of
        self.partitions = {int(k): np.asarray(p, dtype=np.int64) for k, p in partitions.items()}
        self._memo: list[tuple[Any, tuple, str, np.ndarray]] = []
        self._computing = threading.Lock()

    def __getstate__(self) -> dict:
        # Memoised posteriors (weak references) and the lock stay with this process.
        return {**self.__dict__, "_memo": [], "_computing": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _computing=threading.Lock())

    @property
    def k_max(self) -> int:
        """The largest K of the tree (no group under the minimum share)."""
        return max(self.partitions)

    def shares(self, k: int) -> np.ndarray:
        """Share of the points (hard assignment) of each group of level ``k`` (by group).

        Measured on the ``shares_of`` assignments given at construction (else the
        mixture weights).
        """
        m = members_matrix(self.partitions[int(k)])
        if self._share_gamma is None:
            return np.asarray(self.fine.weights_) @ m
        hard = (self._share_gamma @ m).argmax(axis=1)
        return np.bincount(hard, minlength=m.shape[1]) / hard.size

    def level(self, k: int) -> MergedMixture:
        """The clusterer of K = ``k`` (groups numbered by their smallest component)."""
        if int(k) not in self.partitions:
            raise DataError(
                f"K={k} is not a level of this cluster tree (levels: "
                f"{min(self.partitions)}..{self.k_max}); choose K in that range."
            )
        return MergedMixture(self, self.partitions[int(k)])

    def _recall(self, arr: np.ndarray, kind: str) -> np.ndarray | None:
        for ref, shape, k, value in self._memo:
            if k == kind and ref() is arr and shape == arr.shape:
                return value
        return None

    def _remember(self, arr: np.ndarray, kind: str, compute: Any) -> np.ndarray:
        value = self._recall(arr, kind)
        if value is not None:
            return value
        # One computation at a time per tree: a request arriving while the same
        # posteriors are being computed (e.g. by ``TLCExplainer.prefetch``) waits for
        # them instead of computing them a second time.
        with self._computing:
            value = self._recall(arr, kind)
            if value is not None:
                return value
            value = compute()
            try:
                ref = weakref.ref(arr)
            except TypeError:  # e.g. a memmap subclass without weakref support
                return value
            self._memo = [e for e in self._memo if e[0]() is not None][-(self._MEMO - 1) :]
            self._memo.append((ref, arr.shape, kind, value))
        return value

    def fine_proba(self, X: np.ndarray) -> np.ndarray:
        """Point-wise soft assignments to the fine components (n, K_fine), float32."""
        return self._remember(
            X, "points", lambda: self.fine.predict_proba(X).astype(np.float32, copy=False)
        )

    def fine_posterior(self, feats: np.ndarray, rows: Any = None) -> np.ndarray:
        """Soft assignments of sequences to the fine components, after the temporal prior.

        Parameters
        ----------
        feats : ndarray of shape (n, T, D)
        rows : slice or index array, optional
            Only these records: taken from the memoised posteriors of ``feats`` when they
            exist, else computed for those records alone (the prior runs per record).

        Returns
        -------
        ndarray of shape (n or len(rows), T, K_fine), float32
        """

        def compute(x: np.ndarray) -> np.ndarray:
            n, t, d = x.shape
            out = np.empty((n, t, len(self.fine.weights_)), dtype=np.float32)
            # In blocks of records: the float64 intermediates of the mixture and the prior
            # for a PTB-XL-size set at once would take more than 10 GB.
            for s in range(0, n, _RECORD_BLOCK):
                xb = np.asarray(x[s : s + _RECORD_BLOCK])
                g = self.fine.predict_proba(xb.reshape(-1, d)).astype(np.float32)
                g = g.reshape(len(xb), t, -1)
                out[s : s + len(xb)] = g if self.smoother is None else self.smoother.transform(g)
            return out

        if rows is not None:
            known = self._recall(feats, "sequences")
            return compute(feats[rows]) if known is None else known[rows]
        return self._remember(feats, "sequences", lambda: compute(feats))


class MergedMixture:
    """One level of a :class:`ClusterTree`: groups of the fine components.

    Behaves as the clusterer of that level for everything point-wise
    (``predict_proba``, ``weights_``, ``centroids_``, ``reordered``); sequences go through
    :meth:`sequence_proba`, which applies the tree's temporal prior to the fine
    components before summing them.

    Parameters
    ----------
    tree : ClusterTree
    partition : ndarray of shape (K_fine,)
        Group of each fine component, ``0..K-1``.

    Examples
    --------
    >>> from ecg_cluster_widget.clustering import SoftClusterer
    >>> X = np.r_[np.zeros((5, 1)), np.ones((5, 1)) * 0.2, np.ones((5, 1)) * 5]
    >>> fine = SoftClusterer(3, random_state=0).fit(X)
    >>> level = ClusterTree(fine, None, {2: np.array([0, 0, 1])}).level(2)
    >>> level.predict_proba(X).shape, round(float(level.weights_.sum()), 6)
    ((15, 2), 1.0)
    """

    def __init__(self, tree: ClusterTree, partition: np.ndarray) -> None:
        self.tree = tree
        self.partition = np.asarray(partition, dtype=np.int64)
        self.members = members_matrix(self.partition)
        w = np.asarray(tree.fine.weights_, dtype=np.float64)
        self.weights_ = w @ self.members
        # Weighted means of the fine centres: the centre of each group's points.
        self.centroids_ = (
            (self.members * w[:, None]).T
            @ np.asarray(tree.fine.centroids_)
            / (self.weights_[:, None] + _EPS)
        )
        self.n_features_in_ = tree.fine.n_features_in_

    @property
    def n_clusters(self) -> int:
        """Number of groups K of this level."""
        return self.members.shape[1]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Point-wise soft assignments (n, K): the fine components', summed per group."""
        return self.tree.fine_proba(X) @ self.members.astype(np.float32)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Hard labels ``argmax_k gamma`` (n,)."""
        return self.predict_proba(X).argmax(axis=1)

    def sequence_proba(self, feats: np.ndarray, rows: Any = None) -> np.ndarray:
        """Soft assignments of sequences (n, T, K) after the tree's temporal prior (of
        the records ``rows`` only, when given)."""
        return self.tree.fine_posterior(feats, rows) @ self.members.astype(np.float32)

    def reordered(self, order: np.ndarray) -> MergedMixture:
        """A copy whose group ``j`` is this level's group ``order[j]``."""
        order = np.asarray(order, dtype=np.int64)
        if sorted(order.tolist()) != list(range(self.n_clusters)):
            raise DataError(f"order must be a permutation of 0..{self.n_clusters - 1}.")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        return MergedMixture(self.tree, inverse[self.partition])


def sequence_proba(
    clusterer: Any, smoother: Any, feats: np.ndarray, rows: Any = None
) -> np.ndarray:
    """Soft assignments of sequences (n, T, K), float32, after the temporal prior.

    A tree level applies its tree's prior to the fine components; any other clusterer
    gets ``smoother`` (or none) on its own assignments.

    Parameters
    ----------
    clusterer : MergedMixture or SoftClusterer
    smoother : TemporalSmoother or None
        Used for a clusterer that is not a tree level.
    feats : ndarray of shape (n, T, D)
    rows : slice or index array, optional
        Only these records of ``feats``.

    Returns
    -------
    ndarray of shape (n, T, K)

    Examples
    --------
    >>> from ecg_cluster_widget.clustering import SoftClusterer
    >>> f = np.r_[np.zeros((6, 1)), np.ones((4, 1))].reshape(2, 5, 1)
    >>> sequence_proba(SoftClusterer(2).fit(f.reshape(-1, 1)), None, f).shape
    (2, 5, 2)
    """
    if isinstance(clusterer, MergedMixture):
        return clusterer.sequence_proba(feats, rows)
    feats = feats if rows is None else feats[rows]
    n, t, d = feats.shape
    g = clusterer.predict_proba(feats.reshape(-1, d)).astype(np.float32).reshape(n, t, -1)
    return g if smoother is None else smoother.transform(g)
