"""A fitting set as chunks of records, and the picklable per-chunk tasks of a fit.

:func:`~ecg_cluster_widget.explain.pipeline.run_fit` runs these tasks through a runner
(:mod:`~ecg_cluster_widget.explain.distributed`): in this process, or on a Dask cluster's
workers, which call ``chunks.chunk(i)`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..activations import ActivationExtractor, FeatureAligner, resample_time
from ..clustering.tree import sequence_proba
from ..data.dataset import ECGDataset
from ..data.synthetic import make_synthetic
from ..errors import DataError
from ..model.checkpoint import is_bundle
from .cache import data_fingerprint
from .uncertainty import normalized_entropy

__all__ = [
    "ChunkPipeline",
    "DatasetChunks",
    "RecordChunks",
    "SyntheticChunks",
    "as_chunks",
    "check_chunk",
    "chunk_blocks",
    "chunk_features",
    "chunk_outputs",
    "draw_points",
    "same_layout",
]


@runtime_checkable
class RecordChunks(Protocol):
    """A fitting set as a sequence of chunks of records, each an :class:`ECGDataset`.

    ``sizes`` (records per chunk) must be known without loading the records; ``chunk(i)``
    may generate or read them on demand. For a Dask cluster it must be picklable.

    Examples
    --------
    >>> isinstance(SyntheticChunks(3, chunk_records=2, fs=100, duration=2), RecordChunks)
    True
    """

    sizes: tuple[int, ...]

    def chunk(self, i: int) -> ECGDataset:
        """The records of chunk ``i`` as an :class:`ECGDataset`."""
        ...


def _sizes(n: int, c: int) -> tuple[int, ...]:
    return tuple(min(c, n - s) for s in range(0, n, c))


def _check_count(name: str, c: object) -> None:
    if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or int(c) < 1:
        raise DataError(f"{name} must be a positive integer, got {c!r}.")


@dataclass(frozen=True)
class DatasetChunks:
    """An in-memory dataset cut into chunks of ``chunk_records`` records (the last may be shorter).

    Examples
    --------
    >>> DatasetChunks(make_synthetic(5, fs=100, duration=2), 2).sizes
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
        _check_count("chunk_records", self.chunk_records)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Records per chunk."""
        return _sizes(len(self.ds), int(self.chunk_records))

    def chunk(self, i: int) -> ECGDataset:
        """Records ``i * chunk_records`` to ``(i + 1) * chunk_records`` of the dataset."""
        s = int(i) * int(self.chunk_records)
        if s == 0 and int(self.chunk_records) >= len(self.ds):
            return self.ds  # one chunk: the dataset itself, not a copy
        return self.ds.subset(np.arange(s, min(len(self.ds), s + int(self.chunk_records))))


@dataclass(frozen=True)
class SyntheticChunks:
    """``n_records`` synthetic ECGs generated chunk by chunk (chunk ``i`` with ``seed + i``).

    Never holds more than one chunk, so a PTB-XL-sized set can be fitted in a few GB.
    ``fs``, ``duration``, ``n_leads`` and ``seed`` are as for
    :func:`~ecg_cluster_widget.data.synthetic.make_synthetic`.

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
        _check_count("chunk_records", self.chunk_records)
        _check_count("n_records", self.n_records)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Records per chunk."""
        return _sizes(int(self.n_records), int(self.chunk_records))

    def chunk(self, i: int) -> ECGDataset:
        """Chunk ``i``, generated with seed ``seed + i``."""
        return make_synthetic(
            self.sizes[int(i)],
            fs=self.fs,
            duration=self.duration,
            n_leads=self.n_leads,
            seed=self.seed + int(i),
        )


def as_chunks(source: Any, chunk_records: int) -> RecordChunks:
    """``source`` as a chunk source: an :class:`ECGDataset` is cut into :class:`DatasetChunks`.

    Examples
    --------
    >>> as_chunks(make_synthetic(3, fs=100, duration=2), 2).sizes
    (2, 1)
    """
    if isinstance(source, ECGDataset):
        return DatasetChunks(source, chunk_records)
    if not (hasattr(source, "chunk") and hasattr(source, "sizes")):
        raise DataError(
            f"expected an ECGDataset or a chunk source (with sizes and chunk(i)), got "
            f"{type(source).__name__}."
        )
    return source


def check_chunk(ds: Any, i: int, size: int | None, layout: tuple | None, ref: int = 0) -> None:
    """Refuse chunk ``i`` unless it holds ``size`` records of chunk ``ref``'s layout.

    Every chunk is checked: a chunk of another sampling rate, length or lead order would
    otherwise be fitted as if it matched. ``layout`` is ``(fs, n_samples, lead_names)``;
    ``None`` (for ``size`` or ``layout``) is not checked.

    Examples
    --------
    >>> ds = make_synthetic(2, fs=100, duration=2)
    >>> check_chunk(ds, 0, 2, (100.0, 200, tuple(ds.lead_names)), 1)
    >>> check_chunk(ds, 3, 3, None)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: chunk 3 holds 2 records but the source's sizes say 3; ...
    """
    if not isinstance(ds, ECGDataset):
        raise DataError(
            f"chunk {i} of the source is a {type(ds).__name__}; chunk(i) must return an "
            "ECGDataset (e.g. ecg_cluster_widget.data.from_numpy(signals, fs))."
        )
    if size is not None and len(ds) != int(size):
        raise DataError(
            f"chunk {i} holds {len(ds)} records but the source's sizes say {size}; make "
            f"sizes[{i}] the number of records chunk({i}) returns."
        )
    if layout is not None:
        same_layout(i, (float(ds.fs), int(ds.n_samples), tuple(ds.lead_names)), layout, ref)
    ds.check_finite()


def same_layout(i: int, got: tuple, layout: tuple, ref: int) -> None:
    """Refuse chunk ``i`` whose ``(fs, n_samples, lead_names)`` differs from chunk ``ref``'s.

    Examples
    --------
    >>> same_layout(2, (250.0, 500, ("II",)), (500.0, 1000, ("II",)), 0)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: chunk 2 has sampling rate 250.0, chunk 0 500.0: ...
    """
    for what, a, b in zip(("sampling rate", "length (samples)", "leads"), got, layout):
        if a != b:
            raise DataError(
                f"chunk {i} has {what} {a!r}, chunk {ref} {b!r}: every chunk of a source "
                "must have one sampling rate, record length and lead order; resample or "
                "reorder the records when reading them."
            )


@dataclass
class ChunkPipeline:
    """What a worker needs to turn a chunk of records into features (picklable).

    ``aligner`` is set once the aligner is fitted.

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
        return {**self.__dict__, "_extractor": None}  # rebuilt on the worker

    def blocks(self, ds: ECGDataset) -> list[np.ndarray]:
        """The hooked activations of the chunk, one (n, C_b, T_b) array per layer."""
        if self._extractor is None:
            self._extractor = ActivationExtractor(
                self.model, self.layers, self.batch_size, self.device, progress=False
            )
            self.layers = list(self._extractor.layers)
        x = np.asarray(self.model.prepare(ds), np.float32) if is_bundle(self.model) else ds.signals
        return self._extractor.extract(x)


def draw_points(feats: np.ndarray, n_points: int, seed: int, i: int) -> np.ndarray:
    """A seeded sample of ``n_points`` (record, time step) points of chunk ``i``'s features.

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

    Examples
    --------
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
    """
    ds = chunks.chunk(i)
    check_chunk(ds, i, *expect)
    feats = pipe.aligner.transform(pipe.blocks(ds))
    return feats, draw_points(feats, n_points, seed, i), tuple(ds.record_ids), data_fingerprint(ds)


def chunk_outputs(feats: np.ndarray, clusterer: Any, n_samples: int) -> dict[str, np.ndarray]:
    """Per-record outputs of one chunk of features, at input resolution.

    Returns ``labels`` (n, n_samples) int16, ``entropy`` (n, n_samples) float32,
    ``proportions`` (n, K) and ``mean_entropy`` (n,).

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
