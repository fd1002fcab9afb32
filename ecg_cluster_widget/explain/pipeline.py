"""The one fit pipeline of :class:`TLCExplainer`, run over chunks of records.

:func:`run_fit` fits in four stages, never holding more than one chunk of records beyond
the aligner's subset:

1. **Aligner** - the z-score statistics and the PCA are fitted on the activations of a
   seeded subset of chunks (at least ``align_records`` records; every chunk when the set
   is smaller, and then these activations also give the features).
2. **Features** - every chunk is run through the model and aligned; its features go to a
   :class:`~ecg_cluster_widget.activations.store.FeatureStore` (or one array) and a seeded
   quota of its points (``max_fit_points * n_chunk / N``) is kept for the clustering.
3. **Clustering** - the per-K registry (:func:`~ecg_cluster_widget.clustering.identity.build_registry`)
   of the kept points.
4. **Per-record outputs** (optional) - labels, entropy and proportions, chunk by chunk.

The in-memory fit (:func:`fit_state`) is one chunk of this pipeline. The chunk tasks run
through a runner (:mod:`~ecg_cluster_widget.explain.distributed`): in this process, or
mapped over a Dask cluster's workers with the same results for the same seed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..activations import ActivationExtractor, FeatureAligner
from ..activations.store import FeatureStore
from ..clustering.identity import ClusterRegistry, build_registry, check_n_clusters
from ..data.dataset import ECGDataset, check_dataset
from ..errors import DataError
from ..model.checkpoint import is_bundle
from .cache import chunks_fingerprint, data_fingerprint, fit_id, model_checksum
from .chunks import (
    ChunkPipeline,
    chunk_blocks,
    chunk_features,
    chunk_outputs,
    draw_points,
    make_aligner,
    signature_points,
)
from .distributed import DaskRunner, LocalRunner
from .explanation import ExplanationSet
from .sources import DatasetChunks, RecordChunks, model_input, same_layout

__all__ = [
    "FitState",
    "StreamingFit",
    "aligned_features",
    "fit_state",
    "make_state",
    "run_fit",
]

#: Records per chunk: raw activation blocks of a whole large dataset never coexist.
CHUNK_RECORDS = 256
#: Records whose activations fit the aligner (z-score statistics and PCA) at least.
ALIGN_RECORDS = 1024
#: Fitting records kept (as grid features) to learn a new K's transition matrix.
SMOOTH_RECORDS = 256
#: Fitting points on which other K values are matched against the reference K.
MATCH_POINTS = 50_000


@dataclass
class StreamingFit:
    """Result of :func:`run_fit` (and of :func:`~.streaming.fit_chunks`).

    ``pipeline`` holds the model, layers and fitted aligner; ``clusterer`` is the
    reference K's clustering of ``registry``; ``points`` the clustering's fitting points;
    ``features`` (N, T, D) an array or a memory map of ``store``; ``explanations`` the
    per-record outputs (``None`` when not asked for); ``data_fingerprint`` the content
    fingerprint of the records read.

    Attributes
    ----------
    pipeline : ChunkPipeline
    registry : ClusterRegistry
    features : ndarray or memmap of shape (N, T_grid, D)
    explanations : ExplanationSet or None
    store : FeatureStore or None
    timings : dict
        Seconds per stage.

    Examples
    --------
    >>> res = fit_chunks(tlc, SyntheticChunks(100, fs=100))  # doctest: +SKIP
    >>> res.explanations.proportions.shape  # doctest: +SKIP
    (100, 6)
    """

    pipeline: ChunkPipeline
    registry: ClusterRegistry
    clusterer: Any
    points: np.ndarray
    smooth_feats: np.ndarray
    features: np.ndarray
    explanations: ExplanationSet | None
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


@dataclass
class FitState(StreamingFit):
    """Everything a fit computes, replaced in one assignment (see :func:`make_state`).

    A :class:`StreamingFit` without the per-record arrays (``features``, ``explanations``
    and ``points`` are ``None``), with the fit's identity and the current K.

    Attributes
    ----------
    extractor : ActivationExtractor
    n_fit_points : int
    model_checksum, fit_id : str
        Identity of the fit (with ``data_fingerprint``).
    n_clusters : int
        The current K.
    options : dict
    preset : str

    Examples
    --------
    >>> state, feats = fit_state(tlc, ds)  # doctest: +SKIP
    >>> state.registry.reference_k  # doctest: +SKIP
    6
    """

    extractor: ActivationExtractor | None = None
    n_fit_points: int = 0
    model_checksum: str = ""
    fit_id: str = ""
    n_clusters: int = 0
    options: dict = field(default_factory=dict)
    preset: str = ""

    @property
    def layers(self) -> list[str]:
        """Names of the hooked modules."""
        return list(self.pipeline.layers)

    @property
    def aligner(self) -> FeatureAligner:
        """The fitted aligner."""
        return self.pipeline.aligner

    @property
    def n_leads(self) -> int:
        """Number of leads of the fit."""
        return len(self.lead_names)


def aligned_features(tlc: Any, ds: ECGDataset, state: Any) -> np.ndarray:
    """Aligned features (N, grid_length, feature_dim), float32, of ``ds`` through a fit.

    Prepared, run and aligned in chunks of ``CHUNK_RECORDS`` records (a progress bar when
    there are several): preparing a PTB-XL-size set at once would take about 20 GB.

    Parameters
    ----------
    tlc : TLCExplainer
    ds : ECGDataset
    state : FitState
        The fit (layers, aligner, grid).

    Returns
    -------
    ndarray of shape (N, grid_length, feature_dim), float32

    Examples
    --------
    >>> feats = aligned_features(tlc, ds, tlc._state)  # doctest: +SKIP
    """
    ext, n = extractor_for(tlc, state.layers), len(ds)
    feats = np.empty((n, state.grid_length, state.feature_dim), dtype=np.float32)
    starts = range(0, n, CHUNK_RECORDS)
    show = bool(tlc.progress) and n > CHUNK_RECORDS
    for s in tqdm(starts, desc="features", disable=not show, leave=False):
        part = ds if n <= CHUNK_RECORDS else ds.subset(slice(s, s + CHUNK_RECORDS))
        feats[s : s + len(part)] = state.aligner.transform(
            ext.extract(model_input(tlc.model, part, state))
        )
    return feats


class _MemoryStore:
    """The part of :class:`FeatureStore` a fit writes through, holding arrays in memory."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def create(self, name: str, shape: tuple, dtype: Any) -> None:
        self.arrays[name] = np.empty(shape, dtype=dtype)

    def write(self, name: str, start: int, rows: np.ndarray) -> None:
        self.arrays[name][start : start + len(rows)] = rows

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        return self.arrays[name][start:stop]

    def finish(self, name: str) -> None:
        pass

    def open(self, name: str) -> np.ndarray:
        return self.arrays[name]


def _quotas(m: int, sizes: tuple[int, ...]) -> list[int]:
    """``m`` points shared in proportion to ``sizes`` (largest remainders: exactly ``m``)."""
    n = sum(sizes)
    quota = [math.floor(m * s / n) for s in sizes]
    rest = np.argsort([-(m * s / n) % 1 for s in sizes], kind="stable")[: m - sum(quota)]
    for j in rest:
        quota[j] += 1
    return quota


def run_fit(
    tlc: Any,
    chunks: RecordChunks,
    fst: FeatureStore | None = None,
    client: Any = None,
    progress: bool | None = None,
    align_records: int = ALIGN_RECORDS,
    outputs: bool = True,
) -> StreamingFit:
    """Fit TLC chunk by chunk with the (resolved) options of ``tlc``; see the module doc.

    Parameters
    ----------
    tlc : TLCExplainer
        Read for its options and model; not modified.
    chunks : RecordChunks
    fst : FeatureStore, optional
        Where features and outputs are written (inside a generation); ``None``: memory.
    client : dask.distributed.Client, optional
        Map the chunk tasks over a Dask cluster's workers.
    progress : bool, optional
        Progress bars (default: ``tlc.progress``).
    align_records : int
        Records (at least) whose activations fit the aligner.
    outputs : bool
        Compute the per-record outputs (stage 4).

    Returns
    -------
    StreamingFit

    Examples
    --------
    >>> res = run_fit(resolved(tlc), SyntheticChunks(6, fs=100, duration=2))  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    sizes = tuple(int(s) for s in chunks.sizes)
    if not sizes or min(sizes) < 1:
        raise DataError("the chunk source has no records (every chunk needs at least one).")
    n_total, seed = sum(sizes), int(tlc.random_state)
    show = bool(tlc.progress if progress is None else progress)
    runner = LocalRunner() if client is None else DaskRunner(client)
    pipe = ChunkPipeline(
        tlc.model,
        tlc.layers,
        tlc.batch_size,
        tlc.device,
        output=tlc.layer_output,
        time_axis=tlc.time_axis,
    )

    # 1. The aligner, on a seeded subset of chunks.
    order = np.random.default_rng(seed).permutation(len(sizes))
    n_take = np.searchsorted(np.cumsum(np.asarray(sizes)[order]), int(align_records)) + 1
    take = sorted(order[:n_take].tolist())
    parts = list(runner.map(chunk_blocks, take, pipe, chunks, extra=lambda i: (sizes[i],)))
    layout = parts[0][1]
    for i, part in zip(take, parts):
        same_layout(i, part[1], layout, take[0])
    blocks = [np.concatenate([p[0][b] for p in parts]) for b in range(len(parts[0][0]))]
    bundle = is_bundle(tlc.model)
    fs = float(tlc.model.fs) if bundle else layout[0]
    n_samples = int(tlc.model.n_samples) if bundle else layout[1]
    aligner = make_aligner(tlc, blocks, n_samples / fs)
    feats = aligner.transform(blocks)
    sig_feats, sig_raw = signature_points(blocks, feats, seed)
    held = {}
    if len(take) == len(sizes):  # every chunk's activations are here: no second pass
        split = np.split(feats, np.cumsum(sizes)[:-1])
        held = {i: (split[i], parts[i][2], parts[i][3]) for i in range(len(sizes))}
    del blocks, parts, feats
    if pipe._extractor is None:  # the tasks ran elsewhere: resolve the default layers here
        ext = ActivationExtractor(
            pipe.model, pipe.layers, progress=False, output=pipe.output, time_axis=pipe.time_axis
        )
        pipe.layers = list(ext.layers)
    # A new object: a runner that shipped the aligner-less pipeline must ship this one.
    pipe = dataclasses.replace(pipe, aligner=aligner, _extractor=None)
    tg, dim = aligner.grid_length_, aligner.n_features_out_
    t1 = time.perf_counter()

    # 2. Features of every chunk, and the clustering's points.
    st = fst if fst is not None else _MemoryStore()
    st.create("features", (n_total, tg, dim), np.float32)
    quota = _quotas(min(int(tlc.max_fit_points), n_total * tg), sizes)
    n_smooth = min(n_total, SMOOTH_RECORDS)
    smooth_rec = np.sort(np.random.default_rng(seed).choice(n_total, n_smooth, replace=False))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    todo = [i for i in range(len(sizes)) if i not in held]
    expect = lambda i: (quota[i], seed, (sizes[i], layout, take[0]))  # noqa: E731
    remote = runner.map(chunk_features, todo, pipe, chunks, extra=expect)
    points, smooth, record_ids, fps = [], [], [], []
    with tqdm(total=n_total, desc="TLC fit: features", unit="rec", disable=not show) as bar:
        for i, s in enumerate(starts[:-1]):
            if i in held:
                f, ids, fp = held.pop(i)
                pts = draw_points(f, quota[i], seed, i)
            else:
                f, pts, ids, fp = next(remote)
            st.write("features", int(s), f)
            points.append(pts)
            record_ids.extend(ids)
            fps.append(fp)
            sel = smooth_rec[(smooth_rec >= s) & (smooth_rec < s + len(f))] - s
            if sel.size:
                smooth.append(f[sel])
            bar.update(len(f))
    st.finish("features")
    features = st.open("features")
    points_arr, smooth_feats = np.concatenate(points), np.concatenate(smooth)
    t2 = time.perf_counter()

    # 3. The per-K registry of the kept points.
    check_n_clusters(tlc.n_clusters, points_arr.shape[0])
    # One step that ends complete (a bar closed at 0/1 reads as a failure in a notebook).
    with tqdm(total=1, desc="TLC fit: clustering", disable=not show, leave=False) as bar:
        registry = build_registry(tlc, points_arr, smooth_feats, MATCH_POINTS)
        bar.update(1)
    clusterer = registry.get(registry.reference_k).clusterer
    t3 = time.perf_counter()

    # 4. Per-record outputs, chunk by chunk.
    explanations = None
    if outputs:
        k = int(clusterer.centroids_.shape[0])
        arrays = {
            "labels": ((n_total, n_samples), np.int16),
            "entropy": ((n_total, n_samples), np.float32),
            "proportions": ((n_total, k), np.float64),
            "mean_entropy": ((n_total,), np.float64),
        }
        for name, (shape, dtype) in arrays.items():
            st.create(name, shape, dtype)
        for s, e in tqdm(zip(starts[:-1], starts[1:]), desc="TLC fit: outputs", disable=not show):
            # Read, not sliced from a memory map: the store's pages stay out of this process.
            res = chunk_outputs(st.read("features", int(s), int(e)), clusterer, n_samples)
            for name in arrays:
                st.write(name, int(s), res[name])
        for name in arrays:
            st.finish(name)
        mem = {name: st.open(name) for name in arrays}
        explanations = ExplanationSet(
            **mem, cluster_ids=np.arange(k), fs=fs, record_ids=tuple(record_ids)
        )
    t4 = time.perf_counter()
    if isinstance(chunks, DatasetChunks):  # as the in-memory fit of the same data
        data_sum = fps[0] if len(fps) == 1 else data_fingerprint(chunks.ds)
    else:
        data_sum = chunks_fingerprint(sizes, layout, fps)
    stages = ("aligner_s", "features_s", "clustering_s", "outputs_s", "total_s")
    return StreamingFit(
        pipeline=pipe,
        registry=registry,
        clusterer=clusterer,
        points=points_arr,
        smooth_feats=smooth_feats,
        features=features,
        explanations=explanations,
        store=fst,
        grid_length=tg,
        feature_dim=dim,
        n_samples=n_samples,
        fs=fs,
        lead_names=tuple(tlc.model.lead_names) if bundle else layout[2],
        sig_feats=sig_feats,
        sig_raw=sig_raw,
        data_fingerprint=data_sum,
        timings=dict(zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0))),
    )


def extractor_for(tlc: Any, layers: Any, progress: bool = False) -> ActivationExtractor:
    """The explainer's extractor of ``layers`` (its batch size, device, layer outputs and
    time axes).

    Parameters
    ----------
    tlc : TLCExplainer
    layers : list of str or None
    progress : bool

    Returns
    -------
    ActivationExtractor

    Examples
    --------
    >>> extractor_for(tlc, tlc.layers_).layers  # doctest: +SKIP
    ['blocks.1', 'blocks.2', 'blocks.3']
    """
    return ActivationExtractor(
        tlc.module_,
        layers,
        tlc.batch_size,
        tlc.device,
        progress=progress,
        output=tlc.layer_output,
        time_axis=tlc.time_axis,
    )


def make_state(tlc: Any, res: StreamingFit, **params: Any) -> FitState:
    """The explainer's fit state of a fit's result; ``params`` join the options in ``fit_id``.

    Parameters
    ----------
    tlc : TLCExplainer
    res : StreamingFit
    **params
        Added to the options hashed into ``fit_id`` (e.g. ``chunked=True``).

    Returns
    -------
    FitState

    Examples
    --------
    >>> state = make_state(tlc, run_fit(tlc, chunks), chunked=True)  # doctest: +SKIP
    """
    model_sum = model_checksum(tlc.model)
    opts = {k: v for k, v in tlc.get_params().items() if k not in ("model", "progress")}
    kept = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
    return FitState(
        **{**kept, "features": None, "explanations": None, "points": None},
        extractor=extractor_for(tlc, res.pipeline.layers, tlc.progress),
        n_fit_points=int(res.points.shape[0]),
        model_checksum=model_sum,
        fit_id=fit_id(model_sum, res.data_fingerprint, {**opts, **params}),
        n_clusters=res.registry.reference_k,
    )


def fit_state(opts: Any, ds: ECGDataset) -> tuple[FitState, np.ndarray]:
    """The in-memory fit: :func:`run_fit` with ``ds`` as one chunk.

    ``opts`` is a :class:`TLCExplainer` with validated options. Returns the fit state and
    the aligned features (N, T_grid, D) of ``ds`` (for the feature cache).

    Parameters
    ----------
    opts : TLCExplainer
    ds : ECGDataset

    Returns
    -------
    state : FitState
    feats : ndarray of shape (N, T_grid, D)

    Examples
    --------
    >>> state, feats = fit_state(tlc, ds)  # doctest: +SKIP
    """
    check_dataset(ds)
    res = run_fit(opts, DatasetChunks(ds, max(1, len(ds))), align_records=len(ds), outputs=False)
    return make_state(opts, res), res.features
