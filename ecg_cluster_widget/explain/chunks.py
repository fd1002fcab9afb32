"""The picklable per-chunk tasks of a fit, and the aligner and signature steps.

:func:`~ecg_cluster_widget.explain.pipeline.run_fit` runs these tasks through a runner
(:mod:`~ecg_cluster_widget.explain.distributed`): in this process, or on a Dask cluster's
workers, which call ``chunks.chunk(i)`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import ActivationExtractor, FeatureAligner, resample_time
from ..clustering.tree import sequence_proba
from ..data.dataset import ECGDataset
from .cache import data_fingerprint
from .sources import RecordChunks, check_chunk, model_input
from .uncertainty import normalized_entropy

__all__ = [
    "ChunkPipeline",
    "chunk_blocks",
    "chunk_features",
    "chunk_outputs",
    "draw_points",
    "make_aligner",
    "signature_points",
]

#: Fitting records and points whose raw activations define the cluster signatures.
SIG_RECORDS, SIG_POINTS = 64, 8192


@dataclass
class ChunkPipeline:
    """What a worker needs to turn a chunk of records into features (picklable).

    ``aligner`` is set once the aligner is fitted.

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
    layers : list of str or None
    batch_size : int or "auto"
    device : str
    aligner : FeatureAligner or None
    output, time_axis
        The layers' output element and time axis (:class:`ActivationExtractor`).

    Examples
    --------
    >>> from ecg_cluster_widget.data.synthetic import make_synthetic
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
    output: Any = None
    time_axis: Any = None
    _extractor: ActivationExtractor | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_extractor": None}  # rebuilt on the worker

    def blocks(self, ds: ECGDataset) -> list[np.ndarray]:
        """The hooked activations of the chunk, one (n, C_b, T_b) array per layer."""
        if self._extractor is None:
            self._extractor = ActivationExtractor(
                self.model,
                self.layers,
                self.batch_size,
                self.device,
                progress=False,
                output=self.output,
                time_axis=self.time_axis,
            )
        blocks = self._extractor.extract(model_input(self.model, ds))
        # Read after the first extract: a model without default_layers() has its layers
        # found by running it.
        self.layers = list(self._extractor.layers)
        return blocks


def draw_points(feats: np.ndarray, n_points: int, seed: int, i: int) -> np.ndarray:
    """A seeded sample of ``n_points`` (record, time step) points of chunk ``i``'s features.

    Parameters
    ----------
    feats : ndarray of shape (n, T_grid, D)
    n_points : int
    seed, i : int
        The draw uses ``default_rng([seed, i])``.

    Returns
    -------
    ndarray of shape (min(n_points, n * T_grid), D)

    Examples
    --------
    >>> draw_points(np.zeros((2, 5, 3)), 4, 0, 0).shape
    (4, 3)
    """
    n, tg, dim = feats.shape
    rng = np.random.default_rng([int(seed), int(i)])
    pick = np.sort(rng.choice(n * tg, size=min(int(n_points), n * tg), replace=False))
    return np.ascontiguousarray(feats.reshape(-1, dim)[pick])


def chunk_blocks(
    pipe: ChunkPipeline, chunks: RecordChunks, i: int, size: int | None = None
) -> tuple[list[np.ndarray], tuple, tuple[str, ...], str]:
    """Aligner task: chunk ``i``'s activations, (fs, n_samples, leads), record ids, fingerprint.

    Parameters
    ----------
    pipe : ChunkPipeline
    chunks : RecordChunks
    i : int
        Chunk index.
    size : int, optional
        The records the source declares for chunk ``i``.

    Returns
    -------
    blocks : list of ndarray of shape (n, C_b, T_b)
    layout : tuple
        ``(fs, n_samples, lead_names)``.
    record_ids : tuple of str
    fingerprint : str
        :func:`~.cache.data_fingerprint` of the chunk.

    Examples
    --------
    >>> from ecg_cluster_widget.explain.sources import SyntheticChunks
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    >>> src = SyntheticChunks(3, chunk_records=2, fs=100, duration=2)
    >>> chunk_blocks(ChunkPipeline(net, None), src, 1)[1][:2]
    (100.0, 200)
    """
    ds = chunks.chunk(i)
    check_chunk(ds, i, size, None)
    layout = (float(ds.fs), int(ds.n_samples), tuple(ds.lead_names))
    return pipe.blocks(ds), layout, tuple(ds.record_ids), data_fingerprint(ds)


def chunk_features(
    pipe: ChunkPipeline,
    chunks: RecordChunks,
    i: int,
    n_points: int,
    seed: int,
    expect: tuple = (None, None, 0),
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str]:
    """Features task: chunk ``i``'s features, :func:`draw_points`, record ids and fingerprint.

    ``pipe`` has its fitted aligner; ``expect`` is ``(size, layout, ref)`` for
    :func:`check_chunk`.

    Parameters
    ----------
    pipe : ChunkPipeline
        With its fitted aligner.
    chunks : RecordChunks
    i : int
        Chunk index.
    n_points, seed : int
        As for :func:`draw_points`.
    expect : tuple
        ``(size, layout, ref)`` for :func:`check_chunk`.

    Returns
    -------
    feats : ndarray of shape (n, T_grid, D)
    points : ndarray of shape (n_points, D)
    record_ids : tuple of str
    fingerprint : str

    Examples
    --------
    >>> from ecg_cluster_widget.explain.sources import SyntheticChunks
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    >>> src = SyntheticChunks(3, chunk_records=2, fs=100, duration=2)
    >>> pipe = ChunkPipeline(net, None)
    >>> pipe.aligner = FeatureAligner(4).fit(chunk_blocks(pipe, src, 0)[0])
    >>> chunk_features(pipe, src, 1, 10, 0)[1].shape
    (10, 4)
    """
    ds = chunks.chunk(i)
    check_chunk(ds, i, *expect)
    feats = pipe.aligner.transform(pipe.blocks(ds))
    return feats, draw_points(feats, n_points, seed, i), tuple(ds.record_ids), data_fingerprint(ds)


def chunk_outputs(feats: np.ndarray, clusterer: Any, n_samples: int) -> dict[str, np.ndarray]:
    """Per-record outputs of one chunk of features, at input resolution.

    Returns ``labels`` (n, n_samples) int16, ``entropy`` (n, n_samples) float32,
    ``proportions`` (n, K) and ``mean_entropy`` (n,).

    Parameters
    ----------
    feats : ndarray of shape (n, T_grid, D)
    clusterer : MergedMixture or SoftClusterer
    n_samples : int
        The input length the outputs are brought to.

    Returns
    -------
    dict of ndarray

    Examples
    --------
    >>> from ecg_cluster_widget.clustering import SoftClusterer
    >>> f = np.random.default_rng(0).normal(size=(2, 10, 3)).astype(np.float32)
    >>> chunk_outputs(f, SoftClusterer(2).fit(f.reshape(-1, 3)), 40)["labels"].shape
    (2, 40)
    """
    n = feats.shape[0]
    g = sequence_proba(clusterer, None, feats)
    k = g.shape[2]
    ent = np.clip(resample_time(normalized_entropy(g)[:, :, None], n_samples)[:, :, 0], 0, 1)
    labels = resample_time(g, n_samples).argmax(axis=2).astype(np.int16)
    flat = labels.astype(np.int64) + k * np.arange(n)[:, None]
    props = np.bincount(flat.ravel(), minlength=n * k).reshape(n, k) / n_samples
    return {
        "labels": labels,
        "entropy": ent.astype(np.float32),
        "proportions": props,
        "mean_entropy": ent.mean(axis=1),
    }


def make_aligner(opts: Any, blocks: list[np.ndarray], duration_s: float) -> FeatureAligner:
    """A :class:`FeatureAligner` with an explainer's options, fitted on ``blocks``.

    ``duration_s`` (one record's duration) converts ``detrend_s`` to grid steps.

    Parameters
    ----------
    opts : TLCExplainer
        Read: ``n_components``, ``random_state``, ``block_weighting``,
        ``center_per_record``, ``whiten``, ``detrend_s``, ``scale_per_record``.
    blocks : list of ndarray of shape (N, C_b, T_b)
    duration_s : float

    Returns
    -------
    FeatureAligner

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> opts = NS(n_components=2, random_state=0, block_weighting="equal",
    ...           center_per_record=True, whiten=False, detrend_s=None, scale_per_record=None)
    >>> blocks = [np.random.default_rng(0).normal(size=(3, 4, 10))]
    >>> make_aligner(opts, blocks, 1.0).transform(blocks).shape
    (3, 10, 2)
    """
    window = None
    if opts.detrend_s is not None:
        grid_fs = max(b.shape[2] for b in blocks) / duration_s
        window = max(2, int(round(opts.detrend_s * grid_fs)))
    return FeatureAligner(
        opts.n_components,
        random_state=opts.random_state,
        block_weighting=opts.block_weighting,
        center_per_record=opts.center_per_record,
        whiten=opts.whiten,
        detrend_window=window,
        scale_per_record=opts.scale_per_record,
    ).fit(blocks)


def signature_points(
    blocks: list[np.ndarray], feats: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned features (m, D) and per-channel z-scored raw activations (m, sum C_b).

    Of the same at most ``SIG_POINTS`` points of at most ``SIG_RECORDS`` records, from the
    hooked activations ``blocks`` and their aligned features ``feats`` (N, T_grid, D).

    Parameters
    ----------
    blocks : list of ndarray of shape (N, C_b, T_b)
    feats : ndarray of shape (N, T_grid, D)
    seed : int

    Returns
    -------
    feats : ndarray of shape (m, D)
    raw : ndarray of shape (m, sum of C_b), float32

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f, r = signature_points([rng.normal(size=(3, 4, 10))], rng.normal(size=(3, 10, 2)), 0)
    >>> f.shape, r.shape
    ((30, 2), (30, 4))
    """
    n, tg, dim = feats.shape
    rng = np.random.default_rng(seed + 2)
    recs = np.sort(rng.choice(n, size=min(n, SIG_RECORDS), replace=False))
    raw = np.concatenate([resample_time(b[recs].transpose(0, 2, 1), tg) for b in blocks], axis=2)
    raw = raw.reshape(-1, raw.shape[2])
    pick = np.sort(rng.choice(raw.shape[0], size=min(raw.shape[0], SIG_POINTS), replace=False))
    raw = raw[pick].astype(np.float64)
    raw = (raw - raw.mean(axis=0)) / (raw.std(axis=0) + 1e-8)
    return np.ascontiguousarray(feats[recs].reshape(-1, dim)[pick]), raw.astype(np.float32)
