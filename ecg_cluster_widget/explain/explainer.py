"""The TLC explainer: time-localized clusters of a CNN's internal representation.

Pipeline (docs/method.md): hook the last residual blocks -> z-score, align to one time grid,
PCA -> soft clustering of all (ECG, time step) points -> per-sample soft assignments,
segments, entropy, proportions. The explainer orchestrates: the fitting steps live in
``explain.pipeline``, the results in ``explain.outputs``, cluster ids and the per-K fits in
``clustering.identity``, content hashes and the feature cache in ``explain.cache``.

* Cluster ids do not depend on the path (``clustering.identity``): K=6 -> 3 -> 8 and
  K=6 -> 8 give the same ids for K=8, in any process. Positions are sorted by id.
* One lock: every public method holds the explainer's ``RLock`` for its whole call (the
  widget calls from a worker thread), so a fit and the features it reads stay consistent.
* Cluster signatures are means of the *raw hooked activations*, not PCA-space centroids:
  a refit with other options changes the PCA basis, not the model's activations.
* Every K is a level of one cluster tree (``clustering.tree``): a K change merges the
  fine mixture's components (milliseconds), so nothing is precomputed in the background
  and a request never waits behind another K's fit.
* Options default to ``"auto"``: the model's recommendation (``meta["tlc_options"]`` of a
  bundle), resolved at :meth:`fit` and kept in :attr:`options_` (``explain.options``).
* ``fit(source, client=..., store=...)`` fits chunk by chunk (``explain.streaming``): a
  chunk source too large for memory, features in an on-disk store, or the forward passes
  on a Dask cluster (``explain.distributed``).

This file is over ~450 lines because the public API (fit, K, outputs, identity) is one
class with documented methods; the work itself lives in the modules named above.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from torch import nn

from ..activations import ActivationExtractor
from ..clustering import SoftClusterer
from ..clustering.identity import KFit, check_n_clusters
from ..clustering.temporal import transition_counts
from ..data.dataset import ECGDataset
from ..errors import DataError, ModelError, NotFittedError
from ..model.checkpoint import is_bundle
from . import outputs as out
from . import pipeline as pl
from .cache import FeatureCache, fingerprint
from .explanation import ClusterInfo, ECGExplanation, ExplanationSet
from .options import check_options, resolve_options, resolved
from .prototypes import summarize_clusters
from .sources import check_dataset, model_input

__all__ = ["TLCExplainer", "fingerprint"]

_CACHE_SIZE = 3


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


def _check_not_positional(state: pl.FitState) -> None:
    """Warn when the clusters follow the position in the record (a wrong time axis)."""
    from .diagnostics import warn_if_positional

    # A few fitting records suffice: the symptom is the same cluster at the same step in
    # (almost) every record.
    feats = state.smooth_feats[:32]
    if feats.shape[0] < 8:  # too few records to tell position from content
        return
    labels = out.grid_gamma(feats, state.registry.get(state.n_clusters)).argmax(axis=2)
    layouts = getattr(state.extractor, "layouts_", None) or []
    warn_if_positional(labels, "; ".join(str(lay.describe()) for lay in layouts))


class TLCExplainer(BaseEstimator):
    """Explain an ECG CNN by time-localized clusters of its internal activations.

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
        A bundle (its ``prepare`` checks fs/leads/length/NaN and standardises) or a
        bare module (data is fed as given after a NaN check; pass ``layers=`` unless
        it has ``default_layers()``).
    n_clusters : int
        The reference number of clusters K0 (>= 2): :meth:`fit` numbers its clusters
        ``0..K0-1`` and every other K is matched against it (see
        :mod:`~ecg_cluster_widget.clustering.identity`). Never changed by the explainer:
        the current K is :attr:`n_clusters_`, changed by :meth:`set_n_clusters`.
    layers : sequence of str, "auto" or None
        Modules to hook. ``"auto"``: the preset's (for the shipped real-ECG model, blocks
        0-1 before and 2-3 after their ReLU); ``None``: the model's default (the last
        three residual blocks).
    n_components : int or None
        PCA dimensions of the pooled features (None: no PCA).
    method : {"auto", "gmm", "soft_kmeans", "cm", "gmm_full"}
        Soft clustering method of the fine mixture, see :class:`SoftClusterer`. On LUDB
        both GMMs aligned better with the waves than the clustering module ``"cm"``
        (``docs/results.md``); the shipped real model's options pick ``"gmm_full"``.
    max_clusters : int
        Components of the fine mixture, the top of the cluster tree (default 12, the
        widget's largest K): every K up to it is a merge of those components. Components
        holding less than 2 % of the time steps are merged first, so the largest K
        available (:attr:`max_clusters_`) can be smaller.
    preset : {"auto", "paper", "generic"}
        Where ``"auto"`` options come from: ``"auto"`` (default) the model's own
        recommendation, else ``"generic"``; ``"paper"`` the TLC paper's configuration
        (last three blocks, isotropic GMM, no temporal prior). Options given explicitly
        always win. The choice is in :attr:`options_` after :meth:`fit`.
    max_fit_points : int
        The clusterer is fitted on at most this many (record, time step) points,
        drawn with ``random_state``.
    batch_size : int or "auto"
        Records per forward pass; ``"auto"`` (default) sizes the batches to the input
        (:func:`~ecg_cluster_widget.activations.hooks.auto_batch_size`: 256 records of
        12 x 1,000 samples); against batches of 64 it saved 4 % of the forward pass on a
        quiet machine, about half on a loaded one (``docs/performance.md``).
    random_state : int
        Seed for every random choice; same inputs give identical outputs.
    progress : bool
        tqdm progress bars.
    device : str
        Torch device for the forward passes.
    block_weighting : {"equal", "channels"}
        How the hooked blocks are weighted in the concatenation, see
        :class:`~ecg_cluster_widget.activations.FeatureAligner` (``"equal"``, the default:
        every block contributes the same variance; ``"channels"``: every channel does, so
        the widest, coarsest block dominates).
    center_per_record : bool
        Remove each record's temporal mean of every feature before PCA and clustering
        (default True), so the clusters follow within-record (beat-level) variation
        rather than record-level state. The defaults of these two options were chosen
        by ``benchmarks/alignment_study.py``; ``docs/alignment.md`` has the numbers.
    whiten : bool
        Whiten the PCA components (default False; it lowered wave alignment).
    detrend_s : float, None or "auto"
        Remove a centred moving average of this many seconds from every feature within
        each record (beat-scale detrending, e.g. 0.8); ``None``: off.
    scale_per_record : {"auto", None, "feature", "record"}
        Divide each record's features by their within-record spread (see
        :class:`~ecg_cluster_widget.activations.FeatureAligner`).
    temporal : {"auto", None, "hmm"}
        Temporal prior: ``"hmm"`` replaces each step's ``gamma`` by its forward-backward
        posterior under a cluster transition matrix learned on the fitting set
        (:attr:`transition_matrix_`).

    Attributes
    ----------
    n_clusters_ : int
        The current K (``n_clusters`` after :meth:`fit`, then :meth:`set_n_clusters`).
    options_ : dict
        The options the fit used (``"auto"`` resolved), with ``"preset"``: ``"model"``,
        ``"generic"`` or ``"paper"``.
    max_clusters_ : int
        The largest K this fit offers.
    fit_id_ : str
        Identity of the fit (model, data, options, seed), the same in any process.
    cluster_ids_ : ndarray of shape (K,)
        Stable id of each cluster position (path-independent, see ``clustering.identity``).
    centroids_, layers_, fs_, n_samples_, lead_names_, timings_, ...
        Documented on each attribute; before :meth:`fit` they raise ``NotFittedError``.

    A scikit-learn estimator (``BaseEstimator``): ``get_params`` / ``set_params`` /
    ``sklearn.base.clone`` work, and ``check_is_fitted`` knows when it is fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_cluster_widget.data import ECGDataset
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    >>> wave = np.sin(np.linspace(0, 40, 200)) * np.linspace(0.5, 1.5, 8)[:, None]
    >>> ds = ECGDataset(np.repeat(wave[:, None, :], 12, axis=1), fs=100)
    >>> tlc = TLCExplainer(net, n_clusters=3, n_components=4, progress=False).fit(ds)
    >>> tlc.transform(ds).shape
    (8, 200, 3)
    >>> tlc.cluster_ids_.tolist()
    [0, 1, 2]
    """

    def __init__(
        self,
        model: object,
        n_clusters: int = 6,
        layers: list[str] | str | None = "auto",
        n_components: int | None = 32,
        method: str = "auto",
        max_fit_points: int = 200_000,
        batch_size: int | str = "auto",
        random_state: int = 0,
        progress: bool = True,
        device: str = "cpu",
        block_weighting: str = "equal",
        center_per_record: bool = True,
        whiten: bool = False,
        detrend_s: float | str | None = "auto",
        scale_per_record: str | None = "auto",
        temporal: str | None = "auto",
        max_clusters: int = 12,
        preset: str = "auto",
    ) -> None:
        self.model = model
        self.n_clusters = n_clusters
        self.layers = layers
        self.n_components = n_components
        self.method = method
        self.max_fit_points = max_fit_points
        self.batch_size = batch_size
        self.random_state = random_state
        self.progress = progress
        self.device = device
        self.block_weighting = block_weighting
        self.center_per_record = center_per_record
        self.whiten = whiten
        self.detrend_s = detrend_s
        self.scale_per_record = scale_per_record
        self.temporal = temporal
        self.max_clusters = max_clusters
        self.preset = preset
        self._lock = threading.RLock()
        self._cache = FeatureCache(_CACHE_SIZE)
        self._sets: dict[tuple, tuple[weakref.ref, ExplanationSet]] = {}
        self._state: pl.FitState | None = None
        self._streaming = None

    @classmethod
    def for_model(cls, model: object, **overrides) -> TLCExplainer:
        """``TLCExplainer(model, **overrides)``: kept as an alias.

        The constructor's default ``preset="auto"`` already takes a bundle's
        ``meta["tlc_options"]`` (the shipped real-ECG model's: layers, detrending, temporal
        prior and method picked on tuning data by ``experiments/real_alignment.py`` and
        ``experiments/front.py``).

        Examples
        --------
        >>> from ecg_cluster_widget.model import load_pretrained
        >>> TLCExplainer.for_model(load_pretrained("ptbxl250"), n_clusters=8).n_clusters
        8
        """
        return cls(model, **overrides)

    def __sklearn_is_fitted__(self) -> bool:
        # sklearn.utils.validation.check_is_fitted asks this instead of scanning attributes.
        return self.is_fitted

    # ------------------------------------------------------------------ state
    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has been called."""
        return self._state is not None

    def _fitted(self, what: str = "this method") -> pl.FitState:
        if self._state is None:
            raise NotFittedError(
                f"{what} is not available: this TLCExplainer is not fitted yet; call fit(ds) first."
            )
        return self._state

    layers_ = _Fitted("Names of the hooked modules.")
    aligner_ = _Fitted("The fitted :class:`FeatureAligner`.")
    extractor_ = _Fitted("The :class:`ActivationExtractor` of the fit.")
    grid_length_ = _Fitted("Time steps of the model's grid, where the clustering happens.")
    feature_dim_ = _Fitted("Dimension of the aligned features.")
    fs_ = _Fitted("Sampling rate the explainer was fitted at.")
    n_samples_ = _Fitted("Samples per record the explainer was fitted on.")
    lead_names_ = _Fitted("Leads the explainer was fitted on.")
    n_leads_ = _Fitted("Number of leads the explainer was fitted on.")
    n_fit_points_ = _Fitted("(record, time step) points the clusterings were fitted on.")
    timings_ = _Fitted("Seconds spent in the last fit's stages.")
    fit_id_ = _Fitted("Identity of the fit (model checksum, data, options, seed), hex.")
    n_clusters_ = _Fitted("The current K (set by fit and set_n_clusters).")

    @property
    def options_(self) -> dict[str, Any]:
        """The options of the fit, ``"auto"`` resolved, and ``"preset"`` (where from)."""
        state = self._fitted("options_")
        return {"preset": state.preset, **state.options}

    @property
    def max_clusters_(self) -> int:
        """The largest K this fit offers (the cluster tree's top level)."""
        return int(self._fitted("max_clusters_").registry.k_max)

    def _kfit(self, n_clusters: object = None) -> KFit:
        """The fit of K clusters (the current K for None): a level of the cluster tree."""
        with self._lock:
            state = self._fitted()
            k = state.n_clusters if n_clusters is None else n_clusters
            return state.registry.get(k)

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
    def clusterer_(self) -> SoftClusterer:
        """The current K's clusterer: a level of the cluster tree (its fine clusterer in ``.tree.fine``)."""
        return self._kfit().clusterer

    @property
    def cached_n_clusters_(self) -> list[int]:
        """The K values whose fits are cached (switching to them is instant)."""
        with self._lock:
            return self._fitted("cached_n_clusters_").registry.cached_k

    @property
    def module_(self) -> nn.Module:
        """The torch module that is hooked."""
        module = self.model.model if is_bundle(self.model) else self.model
        if not isinstance(module, nn.Module):
            raise ModelError(
                f"model must be a ModelBundle or a torch.nn.Module, got {type(self.model).__name__}."
            )
        return module

    # ------------------------------------------------------------------ data
    def _features(self, ds: ECGDataset, store: bool = True) -> np.ndarray:
        """Aligned features (N, T_grid, D) of ``ds``; cached by content fingerprint."""
        check_dataset(ds)
        with self._lock:
            state = self._fitted()
            feats = self._cache.get(ds)
            if feats is None:
                x = model_input(self.model, ds, state)
                ext = ActivationExtractor(
                    self.module_, state.layers, self.batch_size, self.device, progress=False
                )
                feats = pl.aligned_features(
                    ext, state.aligner, x, state.grid_length, state.feature_dim, self.progress
                )
                if store:
                    self._cache.put(ds, feats)
            return feats

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        ds: Any,
        client: Any = None,
        store: Any = None,
        chunk_records: int = 256,
    ) -> TLCExplainer:
        """Extract activations of ``ds``, align them and fit the reference clustering.

        ``ds`` is the fitting set (for a bundle: the model's fs, leads and length). Never
        changes the constructor parameters; the current K (:attr:`n_clusters_`) becomes
        ``n_clusters``, whose clusters get ids ``0..n_clusters-1``. Returns ``self``.

        Parameters
        ----------
        ds : ECGDataset or RecordChunks
            The fitting set, or a chunk source (``explain.sources.SyntheticChunks``, any
            object with ``sizes`` and ``chunk(i)``) for a set too large for memory.
        client : dask.distributed.Client, optional
            Run the forward passes on a Dask cluster's workers (chunk-wise fit).
        store : path or FeatureStore, optional
            Keep the fitting set's features and per-record outputs in this folder on disk
            (chunk-wise fit).
        chunk_records : int
            Records per chunk when an ``ECGDataset`` is fitted chunk-wise.

        With a chunk source, a client or a store the fit runs chunk by chunk
        (:func:`~ecg_cluster_widget.explain.streaming.fit_chunks`: aligner on a seeded
        subset of at least 1,024 records, clusters on a seeded quota of every chunk's
        points); its per-record outputs are in :attr:`streaming_`.

        Raises
        ------
        DataError
            NaN/inf signals, wrong fs/leads/length, or n_clusters not an integer
            from 2 to the number of time steps.
        ModelError
            Missing layers, layers without a time axis, or a forward pass failure.
        """
        chunked = hasattr(ds, "chunk") and hasattr(ds, "sizes")
        if chunked or client is not None or store is not None:
            return self._fit_chunked(ds, client, store, chunk_records)
        with self._lock:
            check_n_clusters(self.n_clusters)  # fail before the forward pass
            source, options = resolve_options(self)
            opts = resolved(self)
            check_options(opts)
            state, feats = pl.fit_state(opts, ds)
            state.options, state.preset = options, source
            _check_not_positional(state)
            # Only now replace state: a failure above leaves the previous fit intact.
            self._state = state
            self._streaming = None
            self._cache.clear()
            self._sets.clear()
            self._cache.put(ds, feats)
        return self

    def _fit_chunked(self, ds: Any, client: Any, store: Any, chunk_records: int) -> TLCExplainer:
        from .streaming import chunked_fit_state

        with self._lock:
            check_n_clusters(self.n_clusters)
            source, options = resolve_options(self)
            opts = resolved(self)
            check_options(opts)
            state, res, cached = chunked_fit_state(opts, ds, client, store, chunk_records)
            state.options, state.preset = options, source
            # Only now replace state: a failure above leaves the previous fit intact.
            self._state = state
            self._streaming = res
            self._cache.clear()
            self._sets.clear()
            if cached is not None:
                self._cache.put(cached, res.features)
        return self

    @property
    def streaming_(self) -> Any:
        """The :class:`~ecg_cluster_widget.explain.pipeline.StreamingFit` of a chunk-wise fit.

        Its ``explanations`` hold every fitting record's labels, entropy and proportions
        for the reference K (memory maps when fitted with a store), ``store`` the
        :class:`~ecg_cluster_widget.activations.store.FeatureStore`.
        """
        with self._lock:
            self._fitted("streaming_")
            if self._streaming is None:
                raise NotFittedError(
                    "streaming_ is only set by a chunk-wise fit: fit(chunks), "
                    "fit(ds, store=...) or fit(ds, client=...)."
                )
            return self._streaming

    def set_n_clusters(self, k: int) -> TLCExplainer:
        """Make K = ``k`` the current number of clusters (:attr:`n_clusters_`).

        A new K is fitted on the cached points; ids do not depend on the order of calls;
        ``n_clusters`` (the reference K) is not changed. To compute for another K without
        switching, pass ``n_clusters=`` to :meth:`transform`, :meth:`explain` and the like.
        """
        with self._lock:
            state = self._fitted("set_n_clusters")
            state.n_clusters = len(self._kfit(k).ids)
        return self

    # ------------------------------------------------------------------ outputs
    def transform(
        self, ds: ECGDataset, resolution: str = "samples", n_clusters: int | None = None
    ) -> np.ndarray:
        """Soft assignments at input resolution (or on the model's time grid).

        Parameters
        ----------
        ds : ECGDataset
        resolution : {"samples", "grid"}
            ``"samples"``: one row per input sample; ``"grid"``: one row per step of the
            finest hooked block (``grid_length_`` steps), where the clustering happens.
        n_clusters : int, optional
            Compute for this K (fitted on first use) without changing the current K;
            the same for every method below.

        Returns
        -------
        ndarray of shape (N, n_samples or grid_length_, K), float32
            Rows sum to 1; column k belongs to cluster id ``cluster_ids_for(K)[k]``.
        """
        if resolution not in ("samples", "grid"):
            raise DataError(f"resolution must be 'samples' or 'grid', got {resolution!r}.")
        with self._lock:
            fit, feats, state = self._kfit(n_clusters), self._features(ds), self._fitted()
            length = state.n_samples if resolution == "samples" else None
            return out.soft_assignments(feats, fit, length)

    def predict(self, ds: ECGDataset, n_clusters: int | None = None) -> np.ndarray:
        """Hard labels (cluster positions) at input resolution, (N, n_samples) int16."""
        return self.explain_all(ds, n_clusters=n_clusters).labels

    def explain(self, ds: ECGDataset, index: int, n_clusters: int | None = None) -> ECGExplanation:
        """Explanation of record ``index`` of ``ds`` (negative counts from the end).

        Uses cached features when ``ds`` is the fitted (or a recently used) dataset;
        otherwise only this record is run through the model.
        """
        check_dataset(ds)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise DataError(f"index must be an integer record position, got {index!r}.")
        i = int(index)
        if not -len(ds) <= i < len(ds):
            raise DataError(f"index {i} is out of range for a dataset of {len(ds)} records.")
        i %= len(ds)
        with self._lock:
            fit, cached = self._kfit(n_clusters), self._cache.get(ds)
            n_samples = self._fitted().n_samples
            if cached is not None:
                # This record's rows of the dataset's posteriors when the cluster tree has
                # them (a K change over every record memoises them), else its own.
                grid = out.grid_gamma(cached, fit, rows=slice(i, i + 1))
            else:
                grid = out.grid_gamma(self._features(ds.subset([i]), store=False), fit)
            gamma, entropy = out.sample_gamma(None, fit, n_samples, grid=grid)
            labels = out.sample_labels(grid, n_samples)[0]
        return out.explanation_of(gamma[0], entropy[0], fit.ids, ds, i, labels)

    def subset(self, ds: ECGDataset, records: Any) -> ECGDataset:
        """``ds.subset(records)`` whose features are sliced from those of ``ds`` (cached, or
        computed once), so explaining it runs no forward pass of its own.

        Parameters
        ----------
        ds : ECGDataset
        records : slice, int array or boolean mask

        Returns
        -------
        ECGDataset

        Examples
        --------
        >>> sample = tlc.subset(ds, np.arange(0, len(ds), 10))  # doctest: +SKIP
        >>> tlc.explain_all(sample)  # a tenth of the records, no new forward pass  # doctest: +SKIP
        """
        sub = ds.subset(records)
        with self._lock:
            feats = self._features(ds)
            rows = np.arange(len(ds))[records]
            self._cache.put(sub, np.ascontiguousarray(feats[rows]))
            self._cache.put(ds, feats)  # the parent stays the most recently used
        return sub

    def explain_all(self, ds: ECGDataset, n_clusters: int | None = None) -> ExplanationSet:
        """Hard labels, entropy and proportions of every record (vectorised)."""
        with self._lock:
            fit, feats = self._kfit(n_clusters), self._features(ds)
            # The last few answers are kept: the widget's cards, names and uncertainty
            # scale all start from the same K's set (about 0.15 s each at 1,000 ECGs).
            key = (id(feats), tuple(int(i) for i in fit.ids), ds.record_ids, float(ds.fs))
            hit = self._sets.get(key)
            if hit is not None and hit[0]() is feats:
                return hit[1]
            es = out.explanation_set(feats, fit, ds, self._fitted().n_samples)
            for a in (es.labels, es.entropy, es.proportions, es.mean_entropy):
                a.flags.writeable = False  # shared by every caller at this K
            try:
                self._sets[key] = (weakref.ref(feats), es)
            except TypeError:  # an array type without weak references: not kept
                return es
            while len(self._sets) > 3:
                self._sets.pop(next(iter(self._sets)))
            return es

    def cluster_summary(
        self,
        ds: ECGDataset,
        window_s: float = 0.4,
        n_examples: int = 5,
        max_segments: int = 500,
        bins: int = 10,
        n_clusters: int | None = None,
    ) -> list[ClusterInfo]:
        """Per-cluster statistics, prototype waveforms and nearest real examples.

        ``window_s`` (prototype snippet length), ``n_examples`` (segments closest to the
        centroid), ``max_segments`` (segments sampled per cluster) and ``bins`` (entropy
        histogram over [0, 1]) are those of :func:`~.prototypes.summarize_clusters`;
        returns one :class:`ClusterInfo` per cluster position.
        """
        if not window_s > 0:
            raise DataError(f"window_s must be > 0 seconds, got {window_s}.")
        with self._lock:
            fit = self._kfit(n_clusters)
            es = self.explain_all(ds, n_clusters=len(fit.ids))
            feats = self._features(ds)
        kw = dict(window_s=window_s, n_examples=n_examples, max_segments=max_segments, bins=bins)
        centroids = fit.clusterer.centroids_
        return summarize_clusters(ds, es, feats, centroids, random_state=self.random_state, **kw)

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

    # ------------------------------------------------------------------ identity
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

    def __repr__(self) -> str:
        if not self.is_fitted:
            return f"TLCExplainer(n_clusters={self.n_clusters}, preset={self.preset!r}, not fitted)"
        o = self.options_
        layers = "default" if o["layers"] is None else ",".join(o["layers"])
        return (
            f"TLCExplainer(n_clusters={self.n_clusters}, fitted, K={self.n_clusters_} of "
            f"2..{self.max_clusters_}, options from {o['preset']}: method={o['method']}, "
            f"layers={layers}, temporal={o['temporal']}, detrend_s={o['detrend_s']})"
        )
