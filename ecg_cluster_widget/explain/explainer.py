"""The TLC explainer: time-localized clusters of a CNN's internal representation.

Pipeline (METHOD.md): hook the last residual blocks -> z-score, align to one time
grid, PCA (``FeatureAligner``) -> soft clustering of all (ECG, time step) points
(``SoftClusterer``) -> per-sample soft assignments, segments, entropy, proportions.

Design choices documented here:

* Soft assignments are computed on the grid of the finest hooked block and brought
  to the input resolution by linear interpolation with centre alignment (a convex
  combination of probability vectors is again one; rows are renormalised against
  round-off). Hard labels are the argmax of the upsampled ``gamma``.
* The entropy (uncertainty) is computed on the model's grid and only then brought to
  the input samples. Interpolating ``gamma`` first would mix two confident
  neighbours into an uncertain-looking blend at every label change (measured on LUDB:
  mean entropy 0.116 vs 0.057), so entropy would peak at boundaries by construction.
* ``temporal="hmm"`` smooths ``gamma`` along time with a hidden-Markov prior whose
  transition matrix is learned on the fitting set (``clustering.TemporalSmoother``).
* Cluster *positions* (columns of ``gamma``) are always sorted by stable id. The
  first fit numbers clusters 0..K-1 by decreasing size; later fits (another K or a
  refit) inherit the id of the matched old cluster and new clusters get
  ``max id ever used + 1``. Fits are cached per K, so K=6 -> 8 -> 6 returns exactly
  the first K=6 clustering and ids.
* Matching is Hungarian on the *shared soft assignments* of the same time steps
  (``match_by_overlap``), not on centroid distances: a refit changes the PCA basis,
  so centroids of two fits are not comparable, while "which time steps does this
  cluster label" is. On tests this picks the overlap-optimal relabelling, where
  centroid matching (``match_clusters``) lost up to 15 % agreement.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from torch import nn
from tqdm.auto import tqdm

from ..activations import ActivationExtractor, FeatureAligner, resample_time
from ..activations.features import BLOCK_WEIGHTINGS, RECORD_SCALINGS
from ..clustering import SoftClusterer, match_by_overlap
from ..clustering.temporal import TemporalSmoother, transition_counts
from ..data.dataset import ECGDataset
from ..errors import DataError, ModelError, NotFittedError
from .explanation import ClusterInfo, ECGExplanation, ExplanationSet
from .prototypes import segments_from_labels, summarize_clusters
from .uncertainty import normalized_entropy

__all__ = ["TLCExplainer"]

_CACHE_SIZE = 3
_CHUNK_RECORDS = 256
_REFIT_MATCH_RECORDS = 256
_MATCH_POINTS = 50_000


class _NotFitted(NotFittedError, AttributeError):
    """NotFittedError that also lets ``hasattr(tlc, "cluster_ids_")`` return False."""


TEMPORAL_PRIORS = (None, "hmm")
#: Fitting records kept (as grid features) to learn a new K's transition matrix.
_SMOOTH_RECORDS = 256


@dataclass
class _KFit:
    clusterer: SoftClusterer
    ids: np.ndarray
    smoother: TemporalSmoother | None = None


def _locked(method):
    """Run ``method`` holding the explainer's RLock.

    The widget calls the explainer from a worker thread while the user may change K;
    holding the lock for a whole call keeps the clustering and the cached features it
    reads consistent with each other.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


def _check_ds(ds: object) -> None:
    if not isinstance(ds, ECGDataset):
        raise DataError(
            f"expected an ECGDataset, got {type(ds).__name__}; wrap arrays with "
            "ecg_cluster_widget.data.from_numpy(signals, fs)."
        )


def _is_bundle(model: object) -> bool:
    return hasattr(model, "prepare") and hasattr(model, "model")


_FP_MEMO: dict[int, tuple] = {}


def fingerprint(ds: ECGDataset) -> tuple:
    """Cheap identity of a dataset's contents (shape, fs, leads, hashes of samples).

    Reads every record once (per-record sums) plus a strided sample, so it notices
    edits of whole records as well as scattered changes. The full read is memoised
    per array object (re-validated by the strided sample), so repeated calls on
    the same large dataset - one per widget click - cost ~0.1 ms.

    Parameters
    ----------
    ds : ECGDataset

    Returns
    -------
    tuple
        ``(shape, fs, lead_names, strided_hash, per_record_hash)``; equal tuples mean
        (with overwhelming probability) equal contents.

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((2, 12, 100), dtype=np.float32), fs=100, amplitude_check="ignore")
    >>> fingerprint(ds) == fingerprint(ds.subset([0, 1]))
    True
    >>> x = ds.signals.copy(); x[1, 3, 50] = 1.0   # datasets are read-only: edit a copy
    >>> fingerprint(ds.with_signals(x, amplitude_check="ignore")) == fingerprint(ds)
    False
    """
    a = ds.signals
    flat = a.reshape(-1)
    step = max(1, flat.size // 65_536)
    quick = hashlib.blake2b(flat[::step].tobytes(), digest_size=16).hexdigest()
    memo = _FP_MEMO.get(id(a))
    if memo is not None and memo[0]() is a and memo[1] == quick:
        full = memo[2]
    else:
        full = hashlib.blake2b(
            a.sum(axis=(1, 2), dtype=np.float64).tobytes(), digest_size=16
        ).hexdigest()
        if len(_FP_MEMO) > 64:
            _FP_MEMO.clear()
        _FP_MEMO[id(a)] = (weakref.ref(a), quick, full)
    return (a.shape, float(ds.fs), tuple(ds.lead_names), quick, full)


class TLCExplainer:
    """Explain an ECG CNN by time-localized clusters of its internal activations.

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
        A bundle (its ``prepare`` checks fs/leads/length/NaN and standardises) or a
        bare module (data is fed as given after a NaN check; pass ``layers=`` unless
        it has ``default_layers()``).
    n_clusters : int
        Number of clusters K (>= 2). Changed by :meth:`set_n_clusters`.
    layers : sequence of str, optional
        Modules to hook; default: the last three residual blocks.
    n_components : int or None
        PCA dimensions of the pooled features (None: no PCA).
    method : {"gmm", "soft_kmeans", "cm", "gmm_full"}
        Soft clustering method, see :class:`SoftClusterer` (``"cm"``: the paper's
        clustering module, minibatch-trained in torch on ``device``; ``"gmm_full"``:
        full covariances, slower per K). On LUDB both GMMs aligned better with the waves
        than the clustering module (``docs/results.md``); the isotropic GMM stays the
        default, the shipped real model's options pick ``"gmm_full"``.
    max_fit_points : int
        The clusterer is fitted on at most this many (record, time step) points,
        drawn with ``random_state``.
    batch_size : int
        Records per forward pass.
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
    detrend_s : float or None
        Remove a centred moving average of this many seconds from every feature within
        each record (beat-scale detrending, e.g. 0.8); ``None``: off.
    scale_per_record : {None, "feature", "record"}
        Divide each record's features by their within-record spread (see
        :class:`~ecg_cluster_widget.activations.FeatureAligner`).
    temporal : {None, "hmm"}
        Temporal prior: ``"hmm"`` replaces each step's ``gamma`` by its forward-backward
        posterior under a cluster transition matrix learned on the fitting set
        (:attr:`transition_matrix_`).

    Attributes
    ----------
    cluster_ids_ : ndarray of shape (K,)
        Stable id of each cluster position.
    centroids_ : ndarray of shape (K, D)
    layers_ : list of str
    fs_ : float
    n_samples_ : int
    timings_ : dict
        Seconds spent in the last fit's stages.

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
        layers: list[str] | None = None,
        n_components: int | None = 32,
        method: str = "gmm",
        max_fit_points: int = 200_000,
        batch_size: int = 64,
        random_state: int = 0,
        progress: bool = True,
        device: str = "cpu",
        block_weighting: str = "equal",
        center_per_record: bool = True,
        whiten: bool = False,
        detrend_s: float | None = None,
        scale_per_record: str | None = None,
        temporal: str | None = None,
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
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._fits: dict[int, _KFit] = {}
        self._next_id = 0

    @classmethod
    def for_model(cls, model: object, **overrides) -> TLCExplainer:
        """An explainer with the options recommended for ``model``, then ``overrides``.

        A bundle may carry ``meta["tlc_options"]`` (the shipped real-ECG model does: the
        layers, detrending and temporal prior picked on LUDB records 1-100 by
        ``experiments/real_alignment.py``); other models get the constructor defaults.

        Examples
        --------
        >>> from ecg_cluster_widget.model import load_pretrained
        >>> TLCExplainer.for_model(load_pretrained("ptbxl250"), n_clusters=8).n_clusters
        8
        """
        meta = getattr(model, "meta", None)
        recommended = dict(meta.get("tlc_options") or {}) if isinstance(meta, dict) else {}
        return cls(model, **{**recommended, **overrides})

    # ------------------------------------------------------------------ state
    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` has been called."""
        return bool(self._fits)

    def _check_fitted(self) -> None:
        if not self._fits:
            raise _NotFitted("this TLCExplainer is not fitted yet; call fit(ds) first.")

    def _current(self) -> _KFit:
        with self._lock:
            self._check_fitted()
            return self._fits[self._fitted_k]

    @property
    def cluster_ids_(self) -> np.ndarray:
        """Stable ids of the current K's clusters (a copy)."""
        return self._current().ids.copy()

    @property
    def centroids_(self) -> np.ndarray:
        """Cluster centres in feature space for the current K, one row per cluster (a copy)."""
        return self._current().clusterer.centroids_.copy()

    @property
    def clusterer_(self) -> SoftClusterer:
        """The fitted :class:`SoftClusterer` of the current K."""
        return self._current().clusterer

    @property
    def cached_n_clusters_(self) -> list[int]:
        """The K values whose fits are cached (switching to them is instant)."""
        with self._lock:
            return sorted(self._fits)

    def __getattr__(self, name: str):
        # Fitted attributes set by fit(); before that, raise a clear NotFittedError.
        if name.endswith("_") and not name.startswith("__"):
            raise _NotFitted(
                f"{name} is not available: this TLCExplainer is not fitted yet; call fit(ds) first."
            )
        raise AttributeError(name)

    @property
    def module_(self) -> nn.Module:
        """The torch module that is hooked."""
        module = self.model.model if _is_bundle(self.model) else self.model
        if not isinstance(module, nn.Module):
            raise ModelError(
                f"model must be a ModelBundle or a torch.nn.Module, got {type(self.model).__name__}."
            )
        return module

    # ------------------------------------------------------------------ data
    def _prepare(self, ds: ECGDataset, fitting: bool) -> np.ndarray:
        _check_ds(ds)
        if _is_bundle(self.model):
            return np.asarray(self.model.prepare(ds), dtype=np.float32)
        ds.check_finite()
        if not fitting:
            if not np.isclose(ds.fs, self.fs_):
                raise DataError(
                    f"the data is sampled at {ds.fs:g} Hz but the explainer was fitted at "
                    f"{self.fs_:g} Hz; resample with ecg_cluster_widget.data.resample(ds, {self.fs_:g})."
                )
            if ds.n_leads != self.n_leads_ or ds.n_samples != self.n_samples_:
                raise DataError(
                    f"records are shaped ({ds.n_leads} leads, {ds.n_samples} samples) but the "
                    f"explainer was fitted on ({self.n_leads_}, {self.n_samples_}); select the "
                    "same leads and crop/pad to the same length."
                )
            if tuple(ds.lead_names) != tuple(self.lead_names_):
                raise DataError(
                    f"the data's leads ({', '.join(ds.lead_names)}) differ from those the explainer "
                    f"was fitted on ({', '.join(self.lead_names_)}); select/reorder the leads to match."
                )
        return ds.signals

    def _features(self, ds: ECGDataset, store: bool = True) -> np.ndarray:
        """Aligned features (N, T_grid, D) of ``ds``; cached by content fingerprint."""
        _check_ds(ds)
        with self._lock:
            self._check_fitted()
            key = fingerprint(ds)
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            x = self._prepare(ds, fitting=False)
            n = x.shape[0]
            feats = np.empty((n, self.grid_length_, self.feature_dim_), dtype=np.float32)
            extractor = ActivationExtractor(
                self.module_, self.layers_, self.batch_size, self.device, progress=False
            )
            starts = range(0, n, _CHUNK_RECORDS)
            # Chunking bounds memory: raw blocks of a whole large dataset never coexist.
            for s in tqdm(
                starts,
                desc="features",
                disable=not self.progress or n <= _CHUNK_RECORDS,
                leave=False,
            ):
                blocks = extractor.extract(x[s : s + _CHUNK_RECORDS])
                feats[s : s + _CHUNK_RECORDS] = self.aligner_.transform(blocks)
            if store:
                self._cache[key] = feats
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
            return feats

    # ------------------------------------------------------------------ fit
    def _check_k(self, k: object, n_points: int) -> int:
        try:
            k_int = int(k)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise DataError(f"n_clusters must be an integer, got {k!r}.") from None
        if k_int != k:
            raise DataError(f"n_clusters must be an integer, got {k!r}.")
        if k_int < 2:
            raise DataError(f"n_clusters must be at least 2, got {k_int}.")
        if k_int > n_points:
            raise DataError(
                f"n_clusters={k_int} exceeds the number of time steps available ({n_points}); "
                "use fewer clusters or more records."
            )
        return k_int

    def _new_clusterer(self, k: int) -> SoftClusterer:
        extra = {"device": self.device} if self.method == "cm" else {}
        return SoftClusterer(
            n_clusters=k, method=self.method, random_state=self.random_state, **extra
        )

    def _fit_smoother(self, clusterer: SoftClusterer, feats: np.ndarray) -> TemporalSmoother | None:
        """Learn the cluster transition matrix on grid features of fitting records."""
        if self.temporal is None:
            return None
        n, tg, dim = feats.shape
        g = clusterer.predict_proba(feats.reshape(-1, dim)).reshape(n, tg, -1)
        return TemporalSmoother(random_state=self.random_state).fit(g, clusterer.weights_)

    def _check_options(self) -> None:
        """Validate constructor options before any expensive work."""
        if self.block_weighting not in BLOCK_WEIGHTINGS:
            raise DataError(
                f"block_weighting must be one of {BLOCK_WEIGHTINGS}, got {self.block_weighting!r}."
            )
        if self.scale_per_record not in RECORD_SCALINGS:
            raise DataError(
                f"scale_per_record must be one of {RECORD_SCALINGS}, got {self.scale_per_record!r}."
            )
        if self.temporal not in TEMPORAL_PRIORS:
            raise DataError(f"temporal must be one of {TEMPORAL_PRIORS}, got {self.temporal!r}.")
        if self.detrend_s is not None and not (np.isfinite(self.detrend_s) and self.detrend_s > 0):
            raise DataError(
                f"detrend_s must be a positive number of seconds or None, got {self.detrend_s!r}."
            )
        try:
            mfp = int(self.max_fit_points)
        except (TypeError, ValueError):
            mfp = -1
        if mfp < 1 or mfp != self.max_fit_points:
            raise DataError(
                f"max_fit_points must be a positive integer, got {self.max_fit_points!r}."
            )
        if str(self.device).startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ModelError(
                    f"device={self.device!r} was requested but this torch has no usable CUDA GPU; "
                    "use device='cpu' (or install a CUDA build of torch on a GPU machine)."
                )

    def _assign_ids(
        self, clusterer: SoftClusterer, match: np.ndarray | None, ref_ids: np.ndarray | None
    ) -> _KFit:
        """Give ``clusterer``'s clusters stable ids and sort its positions by id.

        ``match[j]`` is the reference cluster (row of ``ref_ids``) that new cluster
        ``j`` inherits its id from, or -1 for a fresh id.
        """
        k = clusterer.centroids_.shape[0]
        smoother = self._fit_smoother(clusterer, self._smooth_feats) if self.temporal else None
        ids = np.full(k, -1, dtype=np.int64)
        if match is not None and ref_ids is not None:
            ids[match >= 0] = np.asarray(ref_ids)[match[match >= 0]]
        # Unmatched clusters (in decreasing-weight order) get never-used ids.
        for pos in np.flatnonzero(ids < 0):
            ids[pos] = self._next_id
            self._next_id += 1
        self._next_id = max(self._next_id, int(ids.max()) + 1)
        order = np.argsort(ids, kind="stable")
        return _KFit(
            clusterer.reordered(order),
            ids[order],
            None if smoother is None else smoother.reordered(order),
        )

    def _refit_match(self, blocks: list[np.ndarray], feats: np.ndarray, clusterer: SoftClusterer):
        """Match a refit's clusters to the previous fit's via shared time steps.

        The previous pipeline (aligner + clusterer) and the new one both assign the
        same records' time steps; clusters that label the same steps share an id.
        Returns (None, None) on the first fit or when the layers changed.
        """
        if not self._fits:
            return None, None
        old = self._fits[self._fitted_k]
        n = feats.shape[0]
        rng = np.random.default_rng(self.random_state)
        pick = np.sort(rng.choice(n, size=min(n, _REFIT_MATCH_RECORDS), replace=False))
        try:
            old_feats = self.aligner_.transform([b[pick] for b in blocks])
        except DataError:
            return None, None  # different layers/model: nothing to match against
        old_gamma = old.clusterer.predict_proba(old_feats.reshape(-1, old_feats.shape[-1]))
        new_gamma = clusterer.predict_proba(feats[pick].reshape(-1, feats.shape[-1]))
        return match_by_overlap(old_gamma, new_gamma), old.ids

    @_locked
    def fit(self, ds: ECGDataset) -> TLCExplainer:
        """Extract activations of ``ds``, align them and fit the soft clustering.

        Parameters
        ----------
        ds : ECGDataset
            The fitting set (for a bundle: the model's fs, leads and length).

        Returns
        -------
        self

        Raises
        ------
        DataError
            NaN/inf signals, wrong fs/leads/length, or n_clusters < 2 or larger
            than the number of time steps.
        ModelError
            Missing layers, layers without a time axis, or a forward pass failure.

        Examples
        --------
        >>> tlc = TLCExplainer(bundle, n_clusters=6).fit(ds)  # doctest: +SKIP
        """
        with self._lock:
            t0 = time.perf_counter()
            self._check_k(self.n_clusters, np.iinfo(np.int64).max)  # fail before the forward pass
            self._check_options()
            x = self._prepare(ds, fitting=True)
            extractor = ActivationExtractor(
                self.module_, self.layers, self.batch_size, self.device, progress=self.progress
            )
            blocks = extractor.extract(x)
            t1 = time.perf_counter()
            stages = tqdm(total=2, desc="TLC fit: features", disable=not self.progress, leave=False)
            detrend_window = None
            if self.detrend_s is not None:
                # Grid steps per second: the finest block's length over the record's duration.
                fs_in = float(self.model.fs) if _is_bundle(self.model) else float(ds.fs)
                grid_fs = max(b.shape[2] for b in blocks) / (x.shape[2] / fs_in)
                detrend_window = max(2, int(round(self.detrend_s * grid_fs)))
            aligner = FeatureAligner(
                self.n_components,
                random_state=self.random_state,
                block_weighting=self.block_weighting,
                center_per_record=self.center_per_record,
                whiten=self.whiten,
                detrend_window=detrend_window,
                scale_per_record=self.scale_per_record,
            ).fit(blocks)
            feats = aligner.transform(blocks)
            stages.update(1)
            stages.set_description("TLC fit: clustering")
            t2 = time.perf_counter()
            n, tg, dim = feats.shape
            k = self._check_k(self.n_clusters, n * tg)
            rng = np.random.default_rng(self.random_state)
            m = min(int(self.max_fit_points), n * tg)
            pick = np.sort(rng.choice(n * tg, size=m, replace=False))
            points = np.ascontiguousarray(feats.reshape(-1, dim)[pick])
            try:
                clusterer = self._new_clusterer(k).fit(points)
                stages.update(1)  # a completed bar: tqdm shows a closed, unfinished one in red
            finally:
                stages.close()
            t3 = time.perf_counter()
            match, ref_ids = self._refit_match(blocks, feats, clusterer)
            smooth_pick = np.sort(rng.choice(n, size=min(n, _SMOOTH_RECORDS), replace=False))
            # Only now replace state: a failure above leaves the previous fit intact.
            self._smooth_feats = feats[smooth_pick]
            self.extractor_ = extractor
            self.layers_ = list(extractor.layers)
            self.aligner_ = aligner
            self.grid_length_ = tg
            self.feature_dim_ = dim
            if _is_bundle(self.model):
                self.fs_ = float(self.model.fs)
                self.n_samples_ = int(self.model.n_samples)
                self.lead_names_ = tuple(self.model.lead_names)
            else:
                self.fs_ = float(ds.fs)
                self.n_samples_ = int(ds.n_samples)
                self.lead_names_ = tuple(ds.lead_names)
            self.n_leads_ = len(self.lead_names_)
            self._fit_points = points
            sub = np.random.default_rng(self.random_state + 1).permutation(m)[:_MATCH_POINTS]
            self._match_points = points[np.sort(sub)]
            self._fits = {k: self._assign_ids(clusterer, match, ref_ids)}
            self._fitted_k = k
            self.n_clusters = k
            self._cache.clear()
            self._cache[fingerprint(ds)] = feats
            self.n_fit_points_ = m
            self.timings_ = {
                "activations_s": t1 - t0,
                "features_s": t2 - t1,
                "clustering_s": t3 - t2,
                "total_s": time.perf_counter() - t0,
            }
        return self

    @_locked
    def set_n_clusters(self, k: int) -> TLCExplainer:
        """Switch to K clusters, reusing cached features and cached fits.

        A K seen before returns its cached clustering (same ids); a new K is fitted
        on the cached points and its clusters inherit the ids of the current
        clusters they match.

        Examples
        --------
        >>> tlc.set_n_clusters(8).cluster_ids_  # doctest: +SKIP
        array([0, 1, 2, 3, 4, 5, 6, 7])
        """
        with self._lock:
            self._check_fitted()
            k = self._check_k(k, self._fit_points.shape[0])
            if k not in self._fits:
                cur = self._fits[self._fitted_k]
                clusterer = self._new_clusterer(k).fit(self._fit_points)
                pts = self._match_points
                match = match_by_overlap(
                    cur.clusterer.predict_proba(pts), clusterer.predict_proba(pts)
                )
                self._fits[k] = self._assign_ids(clusterer, match, cur.ids)
            self.n_clusters = k
            self._fitted_k = k
        return self

    # ------------------------------------------------------------------ outputs
    def _grid_gamma(self, feats: np.ndarray, fit: _KFit) -> np.ndarray:
        """Soft assignments on the model's time grid (n, T_grid, K), after the temporal prior."""
        n, tg, dim = feats.shape
        g = (
            fit.clusterer.predict_proba(feats.reshape(-1, dim))
            .astype(np.float32)
            .reshape(n, tg, -1)
        )
        if fit.smoother is not None:
            g = fit.smoother.transform(g)
        return g

    def _gamma_from_features(self, feats: np.ndarray, fit: _KFit) -> np.ndarray:
        g = resample_time(self._grid_gamma(feats, fit), self.n_samples_)
        g /= g.sum(axis=2, keepdims=True)
        return g

    def _outputs(self, feats: np.ndarray, fit: _KFit) -> tuple[np.ndarray, np.ndarray]:
        """(gamma, entropy) at input resolution; entropy computed on the grid first."""
        grid = self._grid_gamma(feats, fit)
        ent = resample_time(normalized_entropy(grid)[:, :, None], self.n_samples_)[:, :, 0]
        g = resample_time(grid, self.n_samples_)
        g /= g.sum(axis=2, keepdims=True)
        return g, np.clip(ent, 0.0, 1.0)

    @_locked
    def transform(self, ds: ECGDataset, resolution: str = "samples") -> np.ndarray:
        """Soft assignments at input resolution (or on the model's time grid).

        Parameters
        ----------
        ds : ECGDataset
        resolution : {"samples", "grid"}
            ``"samples"``: one row per input sample; ``"grid"``: one row per step of the
            finest hooked block (``grid_length_`` steps), where the clustering happens.

        Returns
        -------
        ndarray of shape (N, n_samples or grid_length_, K), float32
            Rows sum to 1; column k belongs to cluster id ``cluster_ids_[k]``.

        Examples
        --------
        >>> gamma = tlc.transform(ds)  # doctest: +SKIP
        """
        if resolution not in ("samples", "grid"):
            raise DataError(f"resolution must be 'samples' or 'grid', got {resolution!r}.")
        fit = self._current()
        feats = self._features(ds)
        length = self.n_samples_ if resolution == "samples" else self.grid_length_
        out = np.empty((feats.shape[0], length, len(fit.ids)), dtype=np.float32)
        step = self._gamma_from_features if resolution == "samples" else self._grid_gamma
        for s in range(0, feats.shape[0], _CHUNK_RECORDS):
            out[s : s + _CHUNK_RECORDS] = step(feats[s : s + _CHUNK_RECORDS], fit)
        return out

    def predict(self, ds: ECGDataset) -> np.ndarray:
        """Hard labels (cluster positions) at input resolution, (N, n_samples) int16.

        Examples
        --------
        >>> tlc.predict(ds).shape  # doctest: +SKIP
        (1000, 1000)
        """
        return self.explain_all(ds).labels

    @_locked
    def explain(self, ds: ECGDataset, index: int) -> ECGExplanation:
        """Explanation of record ``index`` of ``ds``.

        Uses cached features when ``ds`` is the fitted (or a recently used)
        dataset; otherwise only this record is run through the model.

        Examples
        --------
        >>> ex = tlc.explain(ds, 0)  # doctest: +SKIP
        >>> ex.to_frame().head()  # doctest: +SKIP
        """
        fit = self._current()
        _check_ds(ds)
        try:
            i = int(index)
        except (TypeError, ValueError):
            raise DataError(f"index must be an integer, got {index!r}.") from None
        if isinstance(index, bool) or i != index:
            raise DataError(f"index must be an integer record position, got {index!r}.")
        if not -len(ds) <= i < len(ds):
            raise DataError(f"index {i} is out of range for a dataset of {len(ds)} records.")
        i %= len(ds)
        with self._lock:
            cached = self._cache.get(fingerprint(ds))
        feats = (
            cached[i : i + 1] if cached is not None else self._features(ds.subset([i]), store=False)
        )
        gamma_all, entropy_all = self._outputs(feats, fit)
        gamma, entropy = gamma_all[0], entropy_all[0]
        labels = gamma.argmax(axis=1)
        k = gamma.shape[1]
        return ECGExplanation(
            record_index=i,
            record_id=ds.record_ids[i],
            fs=float(ds.fs),
            cluster_ids=fit.ids.copy(),
            labels=labels,
            gamma=gamma,
            entropy=entropy,
            segments=segments_from_labels(labels, ds.fs, fit.ids),
            proportions=np.bincount(labels, minlength=k) / labels.size,
            mean_entropy=float(entropy.mean()),
        )

    @_locked
    def explain_all(self, ds: ECGDataset) -> ExplanationSet:
        """Hard labels, entropy and proportions of every record (vectorised).

        Examples
        --------
        >>> es = tlc.explain_all(ds)  # doctest: +SKIP
        >>> es.proportions.shape  # doctest: +SKIP
        (1000, 6)
        """
        fit = self._current()
        feats = self._features(ds)
        n, k = feats.shape[0], len(fit.ids)
        labels = np.empty((n, self.n_samples_), dtype=np.int16)
        entropy = np.empty((n, self.n_samples_), dtype=np.float32)
        for s in range(0, n, _CHUNK_RECORDS):
            g, ent = self._outputs(feats[s : s + _CHUNK_RECORDS], fit)
            labels[s : s + len(g)] = g.argmax(axis=2)
            entropy[s : s + len(g)] = ent
        # Per-record cluster counts in one bincount (offset each record by k * row).
        flat = labels.astype(np.int64) + k * np.arange(n)[:, None]
        proportions = np.bincount(flat.ravel(), minlength=n * k).reshape(n, k) / labels.shape[1]
        return ExplanationSet(
            labels=labels,
            entropy=entropy,
            proportions=proportions,
            mean_entropy=entropy.mean(axis=1),
            cluster_ids=fit.ids.copy(),
            fs=float(ds.fs),
            record_ids=tuple(ds.record_ids),
        )

    @_locked
    def cluster_summary(
        self,
        ds: ECGDataset,
        window_s: float = 0.4,
        n_examples: int = 5,
        max_segments: int = 500,
        bins: int = 10,
    ) -> list[ClusterInfo]:
        """Per-cluster statistics, prototype waveforms and nearest real examples.

        Parameters
        ----------
        ds : ECGDataset
        window_s : float
            Length of the prototype snippets, centred on segment middles.
        n_examples : int
            Segments closest to the centroid (mean feature over the segment).
        max_segments : int
            Segments per cluster sampled (seeded) for the prototype.
        bins : int
            Entropy histogram bins over [0, 1].

        Returns
        -------
        list of ClusterInfo, one per cluster position

        Examples
        --------
        >>> infos = tlc.cluster_summary(ds)  # doctest: +SKIP
        >>> [round(c.share, 2) for c in infos]  # doctest: +SKIP
        """
        if not window_s > 0:
            raise DataError(f"window_s must be > 0 seconds, got {window_s}.")
        fit = self._current()
        es = self.explain_all(ds)
        feats = self._features(ds)
        return summarize_clusters(
            ds,
            es,
            feats,
            fit.clusterer.centroids_,
            window_s=window_s,
            n_examples=n_examples,
            max_segments=max_segments,
            bins=bins,
            random_state=self.random_state,
        )

    @property
    def transition_matrix_(self) -> np.ndarray:
        """Cluster transition matrix per grid step (K, K), rows by cluster position.

        With ``temporal="hmm"`` the HMM's learned matrix; otherwise the empirical one of
        the hard labels of the fitting records on the model's grid.
        """
        fit = self._current()
        if fit.smoother is not None:
            return fit.smoother.transition_.copy()
        feats = self._smooth_feats
        labels = self._grid_gamma(feats, fit).argmax(axis=2)
        return transition_counts(labels, len(fit.ids))

    @_locked
    def cluster_transitions(self, ds: ECGDataset, by_class: bool = True) -> dict[str, np.ndarray]:
        """Empirical cluster transition matrices of ``ds`` on the model's grid.

        Self-transitions dominate (a cluster lasts many steps); the off-diagonal part
        says which cluster follows which (e.g. P -> QRS -> T), and comparing classes
        shows how a pathology changes the sequence.

        Parameters
        ----------
        ds : ECGDataset
        by_class : bool
            Also one matrix per class of ``ds.labels`` (records where the class is 1).

        Returns
        -------
        dict
            ``{"all": (K, K), "<class>": (K, K), ...}``, rows by cluster position
            (ids in ``cluster_ids_``), each row summing to 1 (0 for unvisited clusters).

        Examples
        --------
        >>> tlc.cluster_transitions(ds)["all"].shape  # doctest: +SKIP
        (6, 6)
        """
        fit = self._current()
        feats = self._features(ds)
        k = len(fit.ids)
        labels = np.concatenate(
            [
                self._grid_gamma(feats[s : s + _CHUNK_RECORDS], fit).argmax(axis=2)
                for s in range(0, feats.shape[0], _CHUNK_RECORDS)
            ]
        )
        out = {"all": transition_counts(labels, k)}
        if by_class and ds.labels is not None and ds.class_names is not None:
            y = np.asarray(ds.labels) >= 0.5
            for j, name in enumerate(ds.class_names):
                if y[:, j].any():
                    out[str(name)] = transition_counts(labels[y[:, j]], k)
        return out

    def __repr__(self) -> str:
        state = f"fitted, ids={self.cluster_ids_.tolist()}" if self.is_fitted else "not fitted"
        return f"TLCExplainer(n_clusters={self.n_clusters}, method={self.method!r}, {state})"
