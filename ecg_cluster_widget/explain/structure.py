"""What a fitted explainer knows: its fitted attributes, and its clusters at any K (ids,
centres, the cluster tree's ancestry, transitions, the identity labels files are checked
against).

Mixed into :class:`~ecg_cluster_widget.explain.explainer.TLCExplainer`, which supplies
what is declared below without a value; every method reads the fit under its lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..clustering.identity import KFit
from ..clustering.temporal import transition_counts
from ..data.dataset import ECGDataset
from . import outputs as out

__all__ = ["ClusterStructure"]


class _Fitted:
    """A fitted attribute ``name_``: read from the fit state, NotFittedError before fit."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj._fitted(self.name), self.name[:-1])


class ClusterStructure:
    """Cluster ids, centres, ancestry, transitions and fit identity at any K.

    Examples
    --------
    >>> tlc.cluster_ids_for(4).tolist()  # doctest: +SKIP
    [0, 1, 2, 3]
    """

    # Supplied by the explainer.
    _lock: threading.RLock
    #: ``transform(ds, resolution, n_clusters)``: soft assignments (the explainer's).
    transform: Callable[..., np.ndarray]
    #: ``_features(ds)``: the aligned features of ``ds`` (memoised by the explainer).
    _features: Callable[..., np.ndarray]

    layers_ = _Fitted("Names of the hooked modules.")
    aligner_ = _Fitted("The fitted :class:`FeatureAligner`.")
    extractor_ = _Fitted("The :class:`ActivationExtractor` of the fit.")
    grid_length_ = _Fitted("Time steps of the model's grid, where the clustering happens.")
    fs_ = _Fitted("Sampling rate the explainer was fitted at.")
    n_samples_ = _Fitted("Samples per record the explainer was fitted on.")
    lead_names_ = _Fitted("Leads the explainer was fitted on.")
    n_fit_points_ = _Fitted("(record, time step) points the clusterings were fitted on.")
    timings_ = _Fitted("Seconds spent in the last fit's stages.")
    fit_id_ = _Fitted("Identity of the fit (model checksum, data, options, seed), hex.")
    n_clusters_ = _Fitted("The current K (set by fit and set_n_clusters).")

    def _fitted(self, what: str = "this method") -> Any:
        raise NotImplementedError

    def _kfit(self, n_clusters: object = None) -> KFit:
        raise NotImplementedError

    @property
    def max_clusters_(self) -> int:
        """The largest K this fit offers (the cluster tree's top level)."""
        return int(self._fitted("max_clusters_").registry.k_max)

    def cluster_ids_for(self, n_clusters: int | None = None) -> np.ndarray:
        """Stable ids (a copy) of K = ``n_clusters`` (current K for None); K is not changed."""
        return self._kfit(n_clusters).ids.copy()

    def centroids_for(self, n_clusters: int | None = None) -> np.ndarray:
        """Cluster centres in feature space (K, D) of K = ``n_clusters``, a copy."""
        return self._kfit(n_clusters).clusterer.centroids_.copy()

    @property
    def cluster_ids_(self) -> np.ndarray:
        """Stable ids of the current K's clusters (a copy)."""
        return self.cluster_ids_for(None)

    @property
    def centroids_(self) -> np.ndarray:
        """Cluster centres in feature space for the current K (a copy)."""
        return self.centroids_for(None)

    @property
    def clusterer_(self) -> Any:
        """The current K's clusterer: a level of the cluster tree (its fine clusterer in ``.tree.fine``)."""
        return self._kfit().clusterer

    @property
    def cached_n_clusters_(self) -> list[int]:
        """The K values whose fits are cached (switching to them is instant)."""
        with self._lock:
            return self._fitted("cached_n_clusters_").registry.cached_k

    @property
    def transition_matrix_(self) -> np.ndarray:
        """Cluster transition matrix per grid step (K, K) of the current K, rows by position.

        With ``temporal="hmm"`` the HMM's learned matrix, aggregated over the fine
        components each cluster merges (flows weighted by the components' weights);
        otherwise the empirical one of the hard labels of the fitting records on the grid.
        """
        with self._lock:
            fit = self._kfit()
            tree = getattr(fit.clusterer, "tree", None)
            if tree is not None and tree.smoother is not None:
                m, hmm = fit.clusterer.members, tree.smoother
                flow = m.T @ (hmm.weights_[:, None] * hmm.transition_) @ m
                return flow / flow.sum(axis=1, keepdims=True)
            labels = out.grid_gamma(self._fitted().smooth_feats, fit).argmax(axis=2)
            return transition_counts(labels, len(fit.ids))

    def cluster_transitions(self, ds: ECGDataset, by_class: bool = True) -> dict[str, np.ndarray]:
        """Empirical cluster transition matrices of ``ds`` on the model's grid (current K).

        Self-transitions dominate (a cluster lasts many steps); the off-diagonal part
        says which cluster follows which (e.g. P -> QRS -> T). Returns ``{"all": (K, K)}``
        plus, with ``by_class``, one matrix per class of ``ds.labels``; rows by cluster
        position (ids in ``cluster_ids_``), each summing to 1 (0 for unvisited clusters).
        """
        grid = self.transform(ds, resolution="grid")  # one locked call: one K throughout
        return out.class_transitions(grid.argmax(axis=2), grid.shape[2], ds, by_class)

    def prefetch(self, ds: ECGDataset) -> None:
        """Compute ahead what makes every K of ``ds`` a matrix product: the posteriors of
        the fit's cluster trees (the first K above the reference otherwise waits for those
        of the finer tree: about 3 s at 1,000 ECGs).

        The explainer's lock is held only to look up the features, so requests for other
        K are answered meanwhile (the widget calls this on a background thread once it is
        shown); a request that needs the same posteriors waits for them rather than
        computing them again.

        Examples
        --------
        >>> threading.Thread(target=tlc.prefetch, args=(ds,), daemon=True).start()  # doctest: +SKIP
        """
        with self._lock:
            trees, feats = self._fitted("prefetch").registry.trees, self._features(ds)
        for tree in trees:
            tree.fine_posterior(feats)

    def fit_identity(self, n_clusters: int | None = None) -> dict[str, Any]:
        """Identity of the fit for K = ``n_clusters`` (current K for None).

        A dict of ``model_checksum``, ``data_fingerprint``, ``n_clusters``, ``cluster_ids``,
        ``fit_id`` and ``reference_k``: the ``fit`` of a labels file (``labels.save_labels``).
        """
        with self._lock:
            state, fit = self._fitted("fit_identity"), self._kfit(n_clusters)
            return {
                "model_checksum": state.model_checksum,
                "data_fingerprint": state.data_fingerprint,
                "n_clusters": len(fit.ids),
                "cluster_ids": [int(i) for i in fit.ids],
                "fit_id": state.fit_id,
                "reference_k": state.registry.reference_k,
            }

    def cluster_ancestors(self, n_clusters: int | None = None) -> dict[int, list[int]]:
        """Where each cluster of K = ``n_clusters`` (current K for None) comes from in the
        cluster tree: ``{id: [id at K-1, id at K-2, ..., id at K=2]}``.

        Every K is a merge of the tree's components, so a cluster of K splits from one
        cluster of K-1; a name given to an ancestor describes the cluster too (the widget
        shows it on clusters without a name of their own).

        Examples
        --------
        >>> tlc.cluster_ancestors(4)  # doctest: +SKIP
        {0: [0, 0], 1: [1, 1], 2: [2, 1], 3: [1, 1]}
        """
        with self._lock:
            state, fit = self._fitted("cluster_ancestors"), self._kfit(n_clusters)
            reg = state.registry
            chains = {int(i): [] for i in fit.ids}
            heads = {i: i for i in chains}
            for k in range(len(fit.ids), 2, -1):
                up = reg.parents(k)
                for i in chains:
                    heads[i] = up[heads[i]]
                    chains[i].append(heads[i])
        return chains

    def cluster_signatures(self, n_clusters: int | None = None) -> dict[int, np.ndarray]:
        """Per-cluster signature comparable across fits of the same model and data.

        ``{cluster_id: (channels,) array}``: the soft-assignment weighted mean, over
        fitting points kept for this, of the hooked activations (each channel z-scored
        over those points). Independent of the PCA basis, the seed and K, so clusters of
        two fits that label the same kind of time steps have nearby signatures.
        """
        with self._lock:
            state, fit = self._fitted("cluster_signatures"), self._kfit(n_clusters)
            w = fit.clusterer.predict_proba(state.sig_feats)
        means = (w.T @ state.sig_raw.astype(np.float64)) / np.maximum(w.sum(axis=0), 1e-12)[:, None]
        return {int(cid): means[j] for j, cid in enumerate(fit.ids)}
