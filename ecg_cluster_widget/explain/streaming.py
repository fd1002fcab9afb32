"""Chunk-wise TLC fit for fitting sets that do not fit in memory, on one or many machines.

The in-memory fit (:meth:`TLCExplainer.fit`) holds the signals, the activations and the
features of the whole fitting set; at 500 Hz PTB-XL (21,837 x 12 x 5,000) the signals
alone are 5.2 GB. :func:`fit_chunks` never holds more than one chunk of records:

1. **Aligner** - the z-score statistics and the PCA are fitted on the activations of a
   seeded subset of chunks (at least ``align_records`` records; all chunks when the set
   is smaller). With every chunk in the subset the features equal the in-memory fit's.
2. **Features** - every chunk is run through the model, aligned and projected; its
   features go to a :class:`~ecg_cluster_widget.activations.store.FeatureStore` (or one
   in-memory array when no store is given) and a seeded share of its (record, time step)
   points (``max_fit_points * n_chunk / N``, drawn with ``(random_state, chunk index)``)
   is kept for the clustering. A progress bar shows records per second and the ETA.
3. **Clustering** - the kept points (at most ``max_fit_points`` x D, 51 MB at 2*10^5 x 32)
   are clustered in memory ("subsample then refine": the isotropic GMM converges on a
   25,000-point subsample first); ``method="cm"`` would also stream, but the kept
   points already fit in memory.
4. **Per-record outputs** - hard labels, entropy (input resolution), proportions and
   mean entropy are computed chunk by chunk from the stored features and written to the
   store, so the result is an :class:`ExplanationSet` of memory maps.

Stage 2 (the forward passes, ~90 % of the cost) is what a Dask cluster distributes
(``client=``, :mod:`ecg_cluster_widget.explain.distributed`): the chunks are mapped over
the workers, which each hold one copy of the model; the same functions run on one process
without a client, so both paths give the same clusters for the same seed.

This file is longer than ~450 lines because it holds one algorithm end to end: the chunk
sources, the picklable per-chunk tasks, the four stages and their conversion into the
explainer's fit state; split, each part would only make sense next to the others.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from tqdm.auto import tqdm

from ..activations import ActivationExtractor, FeatureAligner, resample_time
from ..activations.store import FeatureStore
from ..clustering import SoftClusterer
from ..clustering.temporal import TemporalSmoother
from ..clustering.tree import sequence_proba
from ..data.dataset import ECGDataset
from ..data.synthetic import make_synthetic
from ..errors import DataError, DataWarning, ModelError
from ..model.checkpoint import is_bundle
from .cache import chunks_fingerprint, model_checksum
from .explanation import ExplanationSet
from .uncertainty import normalized_entropy

__all__ = [
    "ChunkPipeline",
    "DatasetChunks",
    "RecordChunks",
    "StreamingFit",
    "SyntheticChunks",
    "chunked_fit_state",
    "fit_chunks",
]

#: Records whose activations fit the aligner (z-score statistics and PCA) at least.
ALIGN_RECORDS = 1024
#: Records whose grid features are kept to learn the temporal prior (as in the explainer).
_SMOOTH_RECORDS = 256


@runtime_checkable
class RecordChunks(Protocol):
    """A fitting set as a sequence of chunks of records, each an :class:`ECGDataset`.

    ``sizes`` must be known without loading the records; ``chunk(i)`` may generate or
    read the records on demand. For a Dask cluster it must be picklable (the workers
    call ``chunk(i)`` themselves).

    Parameters
    ----------
    sizes : tuple of int
        Records per chunk (an attribute or property).

    Examples
    --------
    >>> isinstance(SyntheticChunks(3, chunk_records=2, fs=100, duration=2), RecordChunks)
    True
    """

    sizes: tuple[int, ...]

    def chunk(self, i: int) -> ECGDataset:
        """The records of chunk ``i`` as an :class:`ECGDataset`."""
        ...


@dataclass(frozen=True)
class DatasetChunks:
    """An in-memory dataset cut into chunks of ``chunk_records`` records.

    Parameters
    ----------
    ds : ECGDataset
    chunk_records : int
        Records per chunk (the last one may be shorter).

    Examples
    --------
    >>> ds = make_synthetic(5, fs=100, duration=2)
    >>> DatasetChunks(ds, 2).sizes
    (2, 2, 1)
    """

    ds: ECGDataset
    chunk_records: int = 256

    def __post_init__(self) -> None:
        if not isinstance(self.ds, ECGDataset):
            raise DataError(
                f"DatasetChunks needs an ECGDataset, got {type(self.ds).__name__}; wrap arrays "
                "with ecg_cluster_widget.data.from_numpy(signals, fs)."
            )
        _check_chunk_records(self.chunk_records)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Records per chunk."""
        n, c = len(self.ds), int(self.chunk_records)
        return tuple(min(c, n - s) for s in range(0, n, c))

    def chunk(self, i: int) -> ECGDataset:
        """Records ``i * chunk_records`` to ``(i + 1) * chunk_records`` of the dataset."""
        s = int(i) * int(self.chunk_records)
        return self.ds.subset(np.arange(s, min(len(self.ds), s + int(self.chunk_records))))


@dataclass(frozen=True)
class SyntheticChunks:
    """``n_records`` synthetic ECGs generated chunk by chunk (chunk ``i`` with ``seed + i``).

    Never holds more than one chunk, so a PTB-XL-sized set (21,837 x 10 s at 500 Hz) can be
    fitted in a few GB.

    Parameters
    ----------
    n_records, chunk_records : int
    fs, duration : float
        Sampling rate (Hz) and length (s) of every record.
    n_leads, seed : int
        As for :func:`~ecg_cluster_widget.data.synthetic.make_synthetic`.

    Examples
    --------
    >>> src = SyntheticChunks(5, chunk_records=2, fs=100, duration=2)
    >>> src.sizes, src.chunk(2).signals.shape
    ((2, 2, 1), (1, 12, 200))
    """

    n_records: int
    chunk_records: int = 256
    fs: float = 500.0
    duration: float = 10.0
    n_leads: int = 12
    seed: int = 0

    def __post_init__(self) -> None:
        _check_chunk_records(self.chunk_records)
        if isinstance(self.n_records, bool) or int(self.n_records) < 1:
            raise DataError(f"n_records must be a positive integer, got {self.n_records!r}.")

    @property
    def sizes(self) -> tuple[int, ...]:
        """Records per chunk."""
        n, c = int(self.n_records), int(self.chunk_records)
        return tuple(min(c, n - s) for s in range(0, n, c))

    def chunk(self, i: int) -> ECGDataset:
        """Chunk ``i``, generated with seed ``seed + i``."""
        n = self.sizes[int(i)]
        return make_synthetic(
            n, fs=self.fs, duration=self.duration, n_leads=self.n_leads, seed=self.seed + int(i)
        )


def check_chunk(ds: Any, i: int, expect: tuple | None) -> None:
    """Refuse a chunk that does not match its source's declared layout.

    Every chunk is checked (not just the first): a chunk of another sampling rate, length
    or lead order, or with more or fewer records than ``sizes`` says, would otherwise be
    fitted silently as if it matched (misaligned or zero-filled rows).

    Parameters
    ----------
    ds : ECGDataset
        What ``chunks.chunk(i)`` returned.
    i : int
        The chunk's index.
    expect : tuple or None
        ``(size, layout, ref)``: the declared number of records, and ``(fs, n_samples,
        lead_names)`` of chunk ``ref`` (``None`` for either: not checked).

    Raises
    ------
    DataError
        Naming the chunk, what differs and what to do.

    Examples
    --------
    >>> ds = make_synthetic(2, fs=100, duration=2)
    >>> check_chunk(ds, 0, (2, (100.0, 200, tuple(ds.lead_names)), 1))
    >>> check_chunk(ds, 3, (3, None, None))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: chunk 3 holds 2 records but the source's sizes say 3; ...
    """
    if not isinstance(ds, ECGDataset):
        raise DataError(
            f"chunk {i} of the source is a {type(ds).__name__}; chunk(i) must return an "
            "ECGDataset (e.g. ecg_cluster_widget.data.from_numpy(signals, fs))."
        )
    size, layout, ref = expect if expect is not None else (None, None, None)
    if size is not None and len(ds) != int(size):
        raise DataError(
            f"chunk {i} holds {len(ds)} records but the source's sizes say {size}; make "
            f"sizes[{i}] the number of records chunk({i}) returns."
        )
    if layout is not None:
        got = (float(ds.fs), int(ds.n_samples), tuple(ds.lead_names))
        _check_chunk_layout(i, got, tuple(layout), ref)
    ds.check_finite()


def _check_chunk_layout(i: int, got: tuple, first: tuple, first_i: int) -> None:
    """Refuse chunk ``i`` whose ``(fs, n_samples, lead_names)`` differs from chunk ``first_i``'s.

    Examples
    --------
    >>> _check_chunk_layout(2, (250.0, 500, ("II",)), (500.0, 1000, ("II",)), 0)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: chunk 2 has sampling rate 250.0, chunk 0 500.0: ...
    """
    for what, a, b in zip(("sampling rate", "length (samples)", "leads"), got, first):
        if a != b:
            raise DataError(
                f"chunk {i} has {what} {a!r}, chunk {first_i} {b!r}: every chunk of a source "
                "must have one sampling rate, record length and lead order; resample or "
                "reorder the records when reading them."
            )


def _check_chunk_records(c: object) -> None:
    if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or int(c) < 1:
        raise DataError(f"chunk_records must be a positive integer, got {c!r}.")


@dataclass
class ChunkPipeline:
    """What a worker needs to turn a chunk of records into features (picklable).

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
    layers : list of str or None
    batch_size : int or "auto"
    device : str
    aligner : FeatureAligner or None
        Set after stage 1.

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    >>> ds = make_synthetic(2, fs=100, duration=2)
    >>> [b.shape for b in ChunkPipeline(net, None).blocks(ds)]
    [(2, 8, 100), (2, 8, 50), (2, 8, 25)]
    """

    model: Any
    layers: list[str] | None
    batch_size: int | str = "auto"
    device: str = "cpu"
    aligner: FeatureAligner | None = None
    _extractor: ActivationExtractor | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_extractor"] = None  # rebuilt on the worker
        return state

    def model_input(self, ds: ECGDataset) -> np.ndarray:
        """The chunk as model input (a bundle prepares it; a bare module gets the signals)."""
        if not isinstance(ds, ECGDataset):
            raise DataError(f"a chunk must be an ECGDataset, got {type(ds).__name__}.")
        if is_bundle(self.model):
            return np.asarray(self.model.prepare(ds), dtype=np.float32)
        ds.check_finite()
        return ds.signals

    def blocks(self, ds: ECGDataset) -> list[np.ndarray]:
        """The hooked activations of the chunk, one (n, C_b, T_b) array per layer."""
        if self._extractor is None:
            self._extractor = ActivationExtractor(
                self.model, self.layers, self.batch_size, self.device, progress=False
            )
            self.layers = list(self._extractor.layers)
        return self._extractor.extract(self.model_input(ds))

    def features(self, ds: ECGDataset) -> np.ndarray:
        """Aligned features (n, T_grid, D) of the chunk (needs the fitted aligner)."""
        if self.aligner is None:
            raise ModelError("the pipeline has no fitted aligner yet (stage 1 not run).")
        return self.aligner.transform(self.blocks(ds))


def chunk_blocks(
    pipe: ChunkPipeline, chunks: RecordChunks, i: int, expect: tuple | None = None
) -> tuple[list[np.ndarray], tuple[float, int, tuple[str, ...]]]:
    """Stage 1 task: hooked activations of chunk ``i`` and its (fs, n_samples, leads).

    Parameters
    ----------
    pipe : ChunkPipeline
    chunks : RecordChunks
    i : int
        Chunk index.
    expect : tuple, optional
        ``(size, layout, ref)`` the chunk must match (:func:`check_chunk`).

    Returns
    -------
    blocks : list of ndarray
    layout : tuple
        ``(fs, n_samples, lead_names)`` of the chunk.

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    >>> src = SyntheticChunks(3, chunk_records=2, fs=100, duration=2)
    >>> chunk_blocks(ChunkPipeline(net, None), src, 1)[1][:2]
    (100.0, 200)
    """
    ds = chunks.chunk(i)
    check_chunk(ds, i, expect)
    return pipe.blocks(ds), (float(ds.fs), int(ds.n_samples), tuple(ds.lead_names))


def chunk_features(
    pipe: ChunkPipeline,
    chunks: RecordChunks,
    i: int,
    n_points: int,
    seed: int,
    expect: tuple | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str]:
    """Stage 2 task: features, a seeded sample of their points and the record ids.

    Parameters
    ----------
    pipe : ChunkPipeline
        With the fitted aligner.
    chunks : RecordChunks
    i : int
        Chunk index.
    n_points : int
        (record, time step) points to keep for the clustering.
    seed : int
        The draw uses ``default_rng([seed, i])``.
    expect : tuple, optional
        ``(size, layout, ref)`` the chunk must match (:func:`check_chunk`).

    Returns
    -------
    feats : ndarray of shape (n, T_grid, D)
    points : ndarray of shape (n_points, D)
    record_ids : tuple of str
    fingerprint : str
        The chunk's content fingerprint (:func:`~.cache.data_fingerprint`).

    Examples
    --------
    >>> feats, pts, ids = chunk_features(pipe, chunks, 0, 100, 0)  # doctest: +SKIP
    """
    from .cache import data_fingerprint

    ds = chunks.chunk(i)
    check_chunk(ds, i, expect)
    feats = pipe.features(ds)
    n, tg, dim = feats.shape
    rng = np.random.default_rng([int(seed), int(i)])
    m = min(int(n_points), n * tg)
    pick = np.sort(rng.choice(n * tg, size=m, replace=False))
    points = np.ascontiguousarray(feats.reshape(-1, dim)[pick])
    return feats, points, tuple(ds.record_ids), data_fingerprint(ds)


def chunk_outputs(
    feats: np.ndarray,
    clusterer: SoftClusterer,
    smoother: TemporalSmoother | None,
    n_samples: int,
) -> dict[str, np.ndarray]:
    """Stage 4: per-record outputs of one chunk of features (as the explainer computes them).

    Parameters
    ----------
    feats : ndarray of shape (n, T_grid, D)
    clusterer : SoftClusterer
    smoother : TemporalSmoother or None
    n_samples : int
        Input length the outputs are brought to.

    Returns
    -------
    dict
        ``gamma`` (n, T_grid, K) on the grid, ``labels`` (n, n_samples) int16, ``entropy``
        (n, n_samples) float32, ``proportions`` (n, K), ``mean_entropy`` (n,).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(2, 10, 3)).astype(np.float32)
    >>> sc = SoftClusterer(2).fit(f.reshape(-1, 3))
    >>> chunk_outputs(f, sc, None, 40)["labels"].shape
    (2, 40)
    """
    n = feats.shape[0]
    g = sequence_proba(clusterer, smoother, feats)
    k = g.shape[2]
    ent = np.clip(resample_time(normalized_entropy(g)[:, :, None], n_samples)[:, :, 0], 0, 1)
    up = resample_time(g, n_samples)
    labels = up.argmax(axis=2).astype(np.int16)
    flat = labels.astype(np.int64) + k * np.arange(n)[:, None]
    props = np.bincount(flat.ravel(), minlength=n * k).reshape(n, k) / n_samples
    return {
        "gamma": g,
        "labels": labels,
        "entropy": ent.astype(np.float32),
        "proportions": props,
        "mean_entropy": ent.mean(axis=1),
    }


class LocalRunner:
    """Runs the chunk tasks in this process, in order (the single-machine path).

    Examples
    --------
    >>> list(LocalRunner().map(pow, [1, 2, 3], 2))
    [2, 4, 8]
    """

    def broadcast(self, obj: Any) -> Any:
        """The object itself (nothing to ship)."""
        return obj

    def map(
        self,
        fn: Callable,
        items: Iterable[int],
        *args: Any,
        extra: Callable[[int], tuple] | None = None,
    ) -> Iterator[Any]:
        """``fn(*args, i, *extra(i))`` for each ``i``, in order."""
        for i in items:
            yield fn(*args, i, *(extra(i) if extra is not None else ()))


@dataclass
class StreamingFit:
    """Result of :func:`fit_chunks`.

    Attributes
    ----------
    pipeline : ChunkPipeline
        Model, layers and the fitted aligner.
    clusterer : SoftClusterer
        Clusters sorted by decreasing weight (position = id ``0..K-1``).
    smoother : TemporalSmoother or None
    points : ndarray (m, D)
        The clustering's fitting points.
    smooth_feats : ndarray (r, T, D)
        Grid features of up to 256 seeded records (for a new K's temporal prior).
    features : ndarray or memmap (N, T, D)
    explanations : ExplanationSet
        Per-record outputs (memory maps when a store was given).
    store : FeatureStore or None
    grid_length, feature_dim, n_samples : int
    fs : float
    lead_names : tuple of str
    sig_feats, sig_raw : ndarray
        Signature points (aligned features, z-scored raw activations) of the aligner's
        records, as the explainer keeps them.
    timings : dict
        Seconds per stage.
    data_fingerprint : str
        Content fingerprint of all the chunks' records (their count, layout and a
        hash of every chunk's contents, :func:`~.cache.chunks_fingerprint`).

    Examples
    --------
    >>> res = fit_chunks(tlc, SyntheticChunks(100, fs=100))
    >>> res.explanations.proportions.shape
    (100, 6)
    """

    pipeline: ChunkPipeline
    clusterer: SoftClusterer
    smoother: TemporalSmoother | None
    points: np.ndarray
    smooth_feats: np.ndarray
    features: np.ndarray
    explanations: ExplanationSet
    store: FeatureStore | None
    grid_length: int
    feature_dim: int
    n_samples: int
    fs: float
    lead_names: tuple[str, ...]
    sig_feats: np.ndarray
    sig_raw: np.ndarray
    timings: dict = field(default_factory=dict)
    data_fingerprint: str = ""


def _default_clusters(
    tlc: Any, points: np.ndarray, smooth_feats: np.ndarray
) -> tuple[Any, TemporalSmoother | None]:
    from ..clustering.identity import build_registry

    # The temporal prior lives in the tree level (it runs on the fine components).
    return build_registry(tlc, points, smooth_feats).get(int(tlc.n_clusters)).clusterer, None


def fit_chunks(
    tlc: Any,
    chunks: RecordChunks,
    store: str | Path | FeatureStore | None = None,
    client: Any = None,
    progress: bool | None = None,
    align_records: int = ALIGN_RECORDS,
    cluster_fn: Callable[[np.ndarray, np.ndarray], tuple[SoftClusterer, Any]] | None = None,
) -> StreamingFit:
    """Fit TLC chunk by chunk with the options of ``tlc`` (a :class:`TLCExplainer`).

    Parameters
    ----------
    tlc : TLCExplainer
        Read for its options (model, layers, n_components, block_weighting, ...,
        n_clusters, method, max_fit_points, random_state); not modified.
    chunks : RecordChunks
        E.g. :class:`DatasetChunks` or :class:`SyntheticChunks`.
    store : path or FeatureStore, optional
        Folder for the features and per-record outputs; ``None`` keeps them in memory.
    client : dask.distributed.Client, optional
        Map stages 1-2 over a Dask cluster's workers.
    progress : bool, optional
        Progress bars (default: ``tlc.progress``).
    align_records : int
        Records (at least) whose activations fit the aligner.
    cluster_fn : callable, optional
        ``cluster_fn(points, smooth_feats) -> (clusterer, smoother_or_None)`` fits the
        clusters (the explainer passes its per-K registry's reference fit); default: a
        :class:`SoftClusterer` with ``tlc``'s options and, for ``temporal="hmm"``, a
        :class:`TemporalSmoother`.

    Returns
    -------
    StreamingFit

    Examples
    --------
    >>> from ecg_cluster_widget.explain import TLCExplainer
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    >>> tlc = TLCExplainer(net, n_clusters=3, n_components=4, progress=False)
    >>> res = fit_chunks(tlc, SyntheticChunks(6, chunk_records=4, fs=100, duration=2))
    >>> res.features.shape, res.explanations.labels.shape
    ((6, 100, 4), (6, 200))
    """
    # A store gets a new generation, swapped in only when the whole fit succeeded: a
    # refit that fails leaves the previous fit's files intact, and no file another live
    # fit has memory-mapped is ever truncated (activations/store.py).
    fst = None
    if store is not None:
        fst = store if isinstance(store, FeatureStore) else FeatureStore(store)
    if fst is None:
        return _fit_chunks(tlc, chunks, None, client, progress, align_records, cluster_fn)
    before = fst.identity
    with fst.generation():
        res = _fit_chunks(tlc, chunks, fst, client, progress, align_records, cluster_fn)
        now = {
            "model_checksum": model_checksum(tlc.model),
            "data_fingerprint": res.data_fingerprint,
        }
        fst.set_identity(now)
    changed = [k for k in now if before is not None and before.get(k) != now[k]]
    if changed:
        # Seen from content, not from the folder's name: the store held another fit.
        what = " and ".join("model" if k == "model_checksum" else "data" for k in changed)
        warnings.warn(
            f"the store {fst.path} held a fit of other {what}; it now holds this fit (the "
            "previous one's memory maps stay readable). Use one store per dataset and "
            "model to keep both.",
            DataWarning,
            stacklevel=2,
        )
    return res


def _fit_chunks(
    tlc: Any,
    chunks: RecordChunks,
    fst: FeatureStore | None,
    client: Any,
    progress: bool | None,
    align_records: int,
    cluster_fn: Callable[[np.ndarray, np.ndarray], tuple[SoftClusterer, Any]] | None,
) -> StreamingFit:
    from .options import resolved

    tlc = resolved(tlc)  # "auto" options as the explainer's fit resolves them
    t0 = time.perf_counter()
    sizes = tuple(int(s) for s in chunks.sizes)
    if not sizes or min(sizes) < 1:
        raise DataError("the chunk source has no records (every chunk needs at least one).")
    n_total = sum(sizes)
    seed = int(tlc.random_state)
    show = bool(tlc.progress if progress is None else progress)
    if client is None:
        runner: Any = LocalRunner()
    else:
        from .distributed import DaskRunner

        runner = DaskRunner(client)
    pipe = ChunkPipeline(tlc.model, tlc.layers, tlc.batch_size, tlc.device)

    # -- stage 1: the aligner, on a seeded subset of chunks -------------------------
    order = np.random.default_rng(seed).permutation(len(sizes))
    take, have = [], 0
    for i in order:
        take.append(int(i))
        have += sizes[i]
        if have >= int(align_records):
            break
    take.sort()
    parts = list(
        runner.map(chunk_blocks, take, pipe, chunks, extra=lambda i: ((sizes[i], None, None),))
    )
    for i, part in zip(take, parts):
        _check_chunk_layout(i, part[1], parts[0][1], take[0])
    blocks = [np.concatenate([p[0][b] for p in parts]) for b in range(len(parts[0][0]))]
    fs_data, len_data, leads_data = parts[0][1]
    layout = parts[0][1]
    del parts
    bundle = is_bundle(tlc.model)
    fs_in = float(tlc.model.fs) if bundle else fs_data
    x_len = int(tlc.model.n_samples) if bundle else len_data
    detrend_window = None
    if tlc.detrend_s is not None:
        grid_fs = max(b.shape[2] for b in blocks) / (x_len / fs_in)
        detrend_window = max(2, int(round(tlc.detrend_s * grid_fs)))
    aligner = FeatureAligner(
        tlc.n_components,
        random_state=seed,
        block_weighting=tlc.block_weighting,
        center_per_record=tlc.center_per_record,
        whiten=tlc.whiten,
        detrend_window=detrend_window,
        scale_per_record=tlc.scale_per_record,
    ).fit(blocks)
    from .pipeline import signature_points

    sig_feats, sig_raw = signature_points(blocks, aligner.transform(blocks), seed)
    del blocks
    # A new object: a runner that shipped the aligner-less pipeline must ship this one.
    pipe = dataclasses.replace(
        pipe,
        aligner=aligner,
        layers=list(ActivationExtractor(pipe.model, pipe.layers, progress=False).layers),
        _extractor=None,
    )
    tg, dim = aligner.grid_length_, aligner.n_features_out_
    t1 = time.perf_counter()

    # -- stage 2: features of every chunk, and the clustering's points ---------------
    if fst is not None:
        fst.create("features", (n_total, tg, dim), np.float32)
        features: np.ndarray | None = None
    else:
        features = np.empty((n_total, tg, dim), dtype=np.float32)
    m_total = min(int(tlc.max_fit_points), n_total * tg)
    quota = [math.floor(m_total * s / n_total) for s in sizes]
    for j in np.argsort([-(m_total * s / n_total) % 1 for s in sizes], kind="stable")[
        : m_total - sum(quota)
    ]:
        quota[j] += 1  # largest remainders: the quotas add up to exactly m_total
    smooth_rec = np.sort(
        np.random.default_rng(seed).choice(
            n_total, size=min(n_total, _SMOOTH_RECORDS), replace=False
        )
    )
    starts = np.concatenate([[0], np.cumsum(sizes)])
    points, smooth, record_ids, chunk_fps = [], [], [], []
    bar = tqdm(total=n_total, desc="TLC fit: features", unit="rec", disable=not show)
    try:
        tasks = runner.map(
            chunk_features,
            range(len(sizes)),
            pipe,
            chunks,
            extra=lambda i: (quota[i], seed, (sizes[i], layout, take[0])),
        )
        for i, (feats, pts, ids, fp) in enumerate(tasks):
            chunk_fps.append(fp)
            record_ids.extend(ids)
            s = int(starts[i])
            if fst is not None:
                fst.write("features", s, feats)
            else:
                features[s : s + len(feats)] = feats
            points.append(pts)
            sel = smooth_rec[(smooth_rec >= s) & (smooth_rec < s + len(feats))] - s
            if sel.size:
                smooth.append(feats[sel])
            bar.update(len(feats))
    finally:
        bar.close()
    if fst is not None:
        fst.finish("features")
    points_arr = np.concatenate(points)
    smooth_feats = np.concatenate(smooth)
    t2 = time.perf_counter()

    # -- stage 3: clustering of the kept points ---------------------------------------
    if int(tlc.n_clusters) > points_arr.shape[0]:
        raise DataError(
            f"n_clusters={tlc.n_clusters} exceeds the number of time steps available ({points_arr.shape[0]}); "
            "use fewer clusters or more records."
        )
    if cluster_fn is None:
        cluster_fn = functools.partial(_default_clusters, tlc)
    clusterer, smoother = cluster_fn(points_arr, smooth_feats)
    t3 = time.perf_counter()

    # -- stage 4: per-record outputs, chunk by chunk ----------------------------------
    n_samples = x_len
    k = int(clusterer.centroids_.shape[0])
    out_arrays = {
        "labels": ((n_total, n_samples), np.int16),
        "entropy": ((n_total, n_samples), np.float32),
        "proportions": ((n_total, k), np.float64),
        "mean_entropy": ((n_total,), np.float64),
    }
    mem: dict[str, np.ndarray] = {}
    for name, (shape, dtype) in out_arrays.items():
        if fst is not None:
            fst.create(name, shape, dtype)
        else:
            mem[name] = np.empty(shape, dtype=dtype)
    for i in tqdm(range(len(sizes)), desc="TLC fit: outputs", disable=not show, leave=False):
        s, e = int(starts[i]), int(starts[i + 1])
        feats = fst.read("features", s, e) if fst is not None else features[s:e]
        res = chunk_outputs(feats, clusterer, smoother, n_samples)
        for name in out_arrays:
            if fst is not None:
                fst.write(name, s, res[name])
            else:
                mem[name][s:e] = res[name]
    if fst is not None:
        for name in out_arrays:
            fst.finish(name)
        mem = {name: fst.open(name) for name in out_arrays}
        features = fst.open("features")
    lead_names = tuple(tlc.model.lead_names) if bundle else leads_data
    explanations = ExplanationSet(
        labels=mem["labels"],
        entropy=mem["entropy"],
        proportions=mem["proportions"],
        mean_entropy=mem["mean_entropy"],
        cluster_ids=np.arange(k),
        fs=fs_in,
        record_ids=tuple(record_ids),
    )
    t4 = time.perf_counter()
    return StreamingFit(
        pipeline=pipe,
        clusterer=clusterer,
        smoother=smoother,
        points=points_arr,
        smooth_feats=smooth_feats,
        features=features,
        explanations=explanations,
        store=fst,
        grid_length=tg,
        feature_dim=dim,
        n_samples=n_samples,
        fs=fs_in,
        lead_names=lead_names,
        sig_feats=sig_feats,
        sig_raw=sig_raw,
        data_fingerprint=chunks_fingerprint(sizes, layout, chunk_fps),
        timings={
            "aligner_s": t1 - t0,
            "features_s": t2 - t1,
            "clustering_s": t3 - t2,
            "outputs_s": t4 - t3,
            "total_s": t4 - t0,
        },
    )


def chunked_fit_state(
    tlc: Any, ds: Any, client: Any, store: Any, chunk_records: int
) -> tuple[Any, StreamingFit, ECGDataset | None]:
    """A chunk-wise fit as the explainer's fit state (what ``TLCExplainer.fit`` stores).

    Parameters
    ----------
    tlc : TLCExplainer
        Options, model; not modified.
    ds : ECGDataset or RecordChunks
    client, store
        As for :func:`fit_chunks`.
    chunk_records : int
        Records per chunk of an ``ECGDataset``.

    Returns
    -------
    state : explain.pipeline.FitState
        With the per-K registry of the fitting points (reference K fitted).
    result : StreamingFit
    cached : ECGDataset or None
        The dataset whose features ``result.features`` are (for the feature cache).

    Examples
    --------
    >>> state, res, ds = chunked_fit_state(tlc, chunks, None, "store", 256)  # doctest: +SKIP
    """
    from ..clustering.identity import build_registry
    from . import pipeline as pl
    from .cache import data_fingerprint, fit_id, model_checksum

    chunks = DatasetChunks(ds, chunk_records) if isinstance(ds, ECGDataset) else ds
    if not (hasattr(chunks, "chunk") and hasattr(chunks, "sizes")):
        raise DataError(
            f"expected an ECGDataset or a chunk source (with sizes and chunk(i)), got "
            f"{type(ds).__name__}."
        )
    holder: dict = {}

    def clusters(points: np.ndarray, smooth: np.ndarray) -> tuple[SoftClusterer, Any]:
        reg = build_registry(tlc, points, smooth, pl.MATCH_POINTS)
        holder["registry"] = reg
        return reg.get(reg.reference_k).clusterer, None

    res = fit_chunks(tlc, chunks, store=store, client=client, cluster_fn=clusters)
    registry = holder["registry"]
    model_sum = model_checksum(tlc.model)
    if isinstance(chunks, DatasetChunks):
        data_sum = data_fingerprint(chunks.ds)  # the same as the in-memory fit's
    else:
        data_sum = res.data_fingerprint  # from the records read, never from a repr
    params = {k: v for k, v in tlc.get_params().items() if k not in ("model", "progress")}
    params["chunked"] = True  # another fit than the in-memory one of the same data
    extractor = ActivationExtractor(
        tlc.module_, res.pipeline.layers, tlc.batch_size, tlc.device, progress=False
    )
    state = pl.FitState(
        extractor=extractor,
        layers=list(res.pipeline.layers),
        aligner=res.pipeline.aligner,
        grid_length=res.grid_length,
        feature_dim=res.feature_dim,
        fs=res.fs,
        n_samples=res.n_samples,
        lead_names=tuple(res.lead_names),
        n_leads=len(res.lead_names),
        n_fit_points=int(res.points.shape[0]),
        timings=dict(res.timings),
        registry=registry,
        smooth_feats=res.smooth_feats,
        sig_feats=res.sig_feats,
        sig_raw=res.sig_raw,
        model_checksum=model_sum,
        data_fingerprint=data_sum,
        fit_id=fit_id(model_sum, data_sum, params),
        n_clusters=registry.reference_k,
    )
    return state, res, chunks.ds if isinstance(chunks, DatasetChunks) else None
