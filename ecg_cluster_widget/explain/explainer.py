"""The TLC explainer: time-localized clusters of a CNN's internal representation.

Pipeline (docs/method.md): hook residual blocks -> z-score, align to one time grid, PCA ->
soft clustering of all (ECG, time step) points -> per-sample soft assignments, segments,
entropy, proportions. :class:`TLCExplainer` is the estimator users hold; the fit is in
``explain.pipeline``, results in ``explain.outputs``, clusters at any K in
``explain.structure``, ids and the tree in ``clustering.identity`` / ``clustering.tree``.

* Every K is a level of a cluster tree: a K change merges components (milliseconds), and
  ids do not depend on the path (K=6 -> 3 -> 8 and 6 -> 8 give the same ids at K=8).
* One lock: every public method holds the ``RLock`` for its whole call (the widget calls
  from a worker thread), so a fit and the features it reads stay consistent.
* ``"auto"`` options are resolved at :meth:`fit` (``explain.options``): :attr:`options_`.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from torch import nn

from ..clustering.identity import KFit, check_n_clusters
from ..data.dataset import ECGDataset, check_dataset
from ..errors import DataError, ModelError, NotFittedError
from ..model.checkpoint import is_bundle
from . import outputs as out
from . import pipeline as pl
from .cache import FeatureCache, fingerprint
from .diagnostics import check_not_positional
from .explanation import ClusterInfo, ECGExplanation, ExplanationSet
from .options import check_options, resolve_options, resolved
from .prototypes import summarize_clusters
from .structure import ClusterStructure

__all__ = ["TLCExplainer", "fingerprint"]

_CACHE_SIZE = 3
#: Memory for the explanation sets kept by ``explain_all`` (15 MB per K at 1,000 ECGs).
_SETS_BYTES = 256 * 2**20


class TLCExplainer(ClusterStructure, BaseEstimator):
    """Explain an ECG CNN by time-localized clusters of its internal activations.

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
        A bundle (its ``prepare`` checks fs/leads/length/NaN and standardises) or a bare
        module (data fed as given after a NaN check; ``layers=`` unless it has
        ``default_layers()``).
    n_clusters : int
        The reference K0 (>= 2): :meth:`fit` numbers its clusters ``0..K0-1`` and every
        other K is matched against it. Never changed: the current K is :attr:`n_clusters_`
        (:meth:`set_n_clusters`).
    layers : sequence of str, "auto", "early", "late" or None
        Modules to hook. ``"auto"``: the preset's; ``"late"`` or ``None``: the last three
        blocks, ``"early"``: the first three (:func:`.activations.default_layers`).
    n_components : int or None
        PCA dimensions of the pooled features (None: no PCA).
    method : {"auto", "gmm", "soft_kmeans", "cm", "gmm_full"}
        Soft clustering of the fine mixture (:class:`SoftClusterer`).
    max_fit_points : int
        At most this many (record, time step) points fit the clusterer (seeded).
    batch_size : int or "auto"
        Records per forward pass; ``"auto"`` sizes batches to the input
        (:func:`~ecg_cluster_widget.activations.batching.auto_batch_size`).
    random_state : int
        Seed for every random choice; same inputs give identical outputs.
    progress : bool
        tqdm progress bars.
    device : str
        Torch device for the forward passes.
    block_weighting : {"equal", "channels"}
        Weight of each hooked block in the concatenation
        (:class:`~ecg_cluster_widget.activations.FeatureAligner`).
    center_per_record : bool
        Remove each record's temporal mean of every feature, so clusters follow
        beat-level rather than record-level variation (``docs/alignment.md``).
    whiten : bool
        Whiten the PCA components (default False; it lowered wave alignment).
    detrend_s : float, None or "auto"
        Remove a centred moving average of this many seconds from every feature.
    scale_per_record : {"auto", None, "feature", "record"}
        Divide each record's features by their within-record spread.
    temporal : {"auto", None, "hmm"}
        ``"hmm"``: a temporal prior whose transition matrix is learned on the fitting set
        (:attr:`transition_matrix_`).
    max_clusters : int
        Components of the finest mixture (default 12): every K up to it is a merge of
        components; those under 2 % of the time steps merge first, so the largest K
        offered (:attr:`max_clusters_`) can be smaller.
    preset : {"auto", "paper", "generic"}
        Where ``"auto"`` options come from: the model's recommendation (else
        ``"generic"``), or ``"paper"`` (the TLC paper's configuration). Explicit options
        win; the choice is in :attr:`options_`.
    time_axis, layer_output : int, dict or None
        The hooked layers' time axis, and the element of a tuple or dict output to cluster
        (one for all, or ``{layer: value}``): ``time_axis`` and ``output`` of
        :class:`ActivationExtractor` (default: the axis is probed; a tuple needs a choice).

    Attributes
    ----------
    n_clusters_ : int
        The current K.
    options_ : dict
        The options of the fit (``"auto"`` resolved) and their ``"preset"``.
    max_clusters_ : int
        The largest K this fit offers.
    fit_id_ : str
        Identity of the fit (model, data, options, seed), the same in any process.
    cluster_ids_ : ndarray of shape (K,)
        Stable id of each cluster position.
    centroids_, layers_, fs_, n_samples_, lead_names_, timings_, ...
        Documented on each attribute; ``NotFittedError`` before :meth:`fit`.

    A scikit-learn estimator: ``get_params`` / ``set_params`` / ``clone`` and
    ``check_is_fitted`` work.

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
        time_axis: int | dict[str, int] | None = None,
        layer_output: int | str | dict[str, int | str] | None = None,
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
        self.time_axis = time_axis
        self.layer_output = layer_output
        self._lock = threading.RLock()
        self._cache = FeatureCache(_CACHE_SIZE)
        self._sets: dict[tuple, tuple[weakref.ref, ExplanationSet]] = {}
        self._state: pl.FitState | None = None
        self._streaming = None

    @classmethod
    def for_model(cls, model: object, **overrides) -> TLCExplainer:
        """``TLCExplainer(model, **overrides)``, kept as an alias: the constructor's
        ``preset="auto"`` already takes a bundle's ``meta["tlc_options"]``.

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

    @property
    def options_(self) -> dict[str, Any]:
        """The options of the fit, ``"auto"`` resolved, and ``"preset"`` (where from)."""
        state = self._fitted("options_")
        return {"preset": state.preset, **state.options}

    def _kfit(self, n_clusters: object = None) -> KFit:
        """The fit of K clusters (the current K for None): a level of the cluster tree."""
        with self._lock:
            state = self._fitted()
            k = state.n_clusters if n_clusters is None else n_clusters
            return state.registry.get(k)

    @property
    def module_(self) -> nn.Module:
        """The torch module that is hooked."""
        module = self.model.model if is_bundle(self.model) else self.model
        if not isinstance(module, nn.Module):
            raise ModelError(
                f"model must be a ModelBundle or a torch.nn.Module, got {type(self.model).__name__}."
            )
        return module

    def _features(self, ds: ECGDataset, store: bool = True) -> np.ndarray:
        """Aligned features (N, T_grid, D) of ``ds``; cached by content fingerprint."""
        check_dataset(ds)
        with self._lock:
            state = self._fitted()
            feats = self._cache.get(ds)
            if feats is None:
                feats = pl.aligned_features(self, ds, state)
                if store:
                    self._cache.put(ds, feats)
            return feats

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
            check_not_positional(state)
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

        A new K is a merge of the cluster tree (nothing is fitted); ids do not depend on the order of calls;
        ``n_clusters`` (the reference K) is not changed. To compute for another K without
        switching, pass ``n_clusters=`` to :meth:`transform`, :meth:`explain` and the like.
        """
        with self._lock:
            state = self._fitted("set_n_clusters")
            state.n_clusters = len(self._kfit(k).ids)
        return self

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
            Compute for this K (a level of the cluster tree) without changing the current K;
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
            labels = out.sample_labels(grid, n_samples)[0].astype(np.int64)
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
            # Answers kept within _SETS_BYTES (every K of 1,000 ECGs): a computed K is
            # answered at once; the widget's cards, names and uncertainty share one set.
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
            size = sum(e.labels.nbytes + e.entropy.nbytes for _, e in self._sets.values())
            while len(self._sets) > 1 and size > _SETS_BYTES:
                old = self._sets.pop(next(iter(self._sets)))[1]
                size -= old.labels.nbytes + old.entropy.nbytes
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

    def __repr__(self) -> str:
        if not self.is_fitted:
            return f"TLCExplainer(n_clusters={self.n_clusters}, preset={self.preset!r}, not fitted)"
        o = self.options_
        lay = o["layers"] or "late"
        return (
            f"TLCExplainer(n_clusters={self.n_clusters}, fitted, K={self.n_clusters_} of "
            f"2..{self.max_clusters_}, options from {o['preset']}: method={o['method']}, "
            f"layers={lay if isinstance(lay, str) else ','.join(lay)}, "
            f"temporal={o['temporal']}, detrend_s={o['detrend_s']})"
        )
