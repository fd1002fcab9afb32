"""Where a fit's records come from: checked model input, and chunk sources.

A chunk source (:class:`RecordChunks`) is a fitting set as a sequence of chunks of records
(:class:`DatasetChunks` of an in-memory dataset, :class:`SyntheticChunks`, or any object
with ``sizes`` and ``chunk(i)``); every chunk is checked against the others' layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..data.dataset import ECGDataset, check_count, check_dataset
from ..data.synthetic import make_synthetic
from ..errors import DataError
from ..model.checkpoint import is_bundle

__all__ = [
    "DatasetChunks",
    "RecordChunks",
    "SyntheticChunks",
    "as_chunks",
    "check_chunk",
    "check_layout",
    "model_input",
    "same_layout",
]


@runtime_checkable
class RecordChunks(Protocol):
    """A fitting set as a sequence of chunks of records, each an :class:`ECGDataset`.

    ``sizes`` (records per chunk) must be known without loading the records; ``chunk(i)``
    may generate or read them on demand. For a Dask cluster it must be picklable.

    Attributes
    ----------
    sizes : tuple of int
        Records per chunk.

    Examples
    --------
    >>> isinstance(SyntheticChunks(3, chunk_records=2, fs=100, duration=2), RecordChunks)
    True
    """

    sizes: tuple[int, ...]

    def chunk(self, i: int) -> ECGDataset:
        """The records of chunk ``i`` as an :class:`ECGDataset`."""
        ...


def check_layout(ds: ECGDataset, fs: float, n_samples: int, lead_names: tuple) -> None:
    """Check that ``ds`` has the sampling rate, length and leads an explainer was fitted on.

    Parameters
    ----------
    ds : ECGDataset
    fs : float
    n_samples : int
    lead_names : tuple of str

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((1, 1, 100)), fs=100, lead_names=["II"], amplitude_check="ignore")
    >>> check_layout(ds, 250.0, 100, ("II",))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: the data is sampled at 100 Hz but ...
    """
    if not np.isclose(ds.fs, fs):
        raise DataError(
            f"the data is sampled at {ds.fs:g} Hz but the explainer was fitted at "
            f"{fs:g} Hz; resample with ecg_cluster_widget.data.resample(ds, {fs:g})."
        )
    if ds.n_leads != len(lead_names) or ds.n_samples != n_samples:
        raise DataError(
            f"records are shaped ({ds.n_leads} leads, {ds.n_samples} samples) but the "
            f"explainer was fitted on ({len(lead_names)}, {n_samples}); select the "
            "same leads and crop/pad to the same length."
        )
    if tuple(ds.lead_names) != tuple(lead_names):
        raise DataError(
            f"the data's leads ({', '.join(ds.lead_names)}) differ from those the explainer "
            f"was fitted on ({', '.join(lead_names)}); select/reorder the leads to match."
        )


def model_input(model: Any, ds: ECGDataset, state: Any = None) -> np.ndarray:
    """Model input (N, leads, samples) of ``ds``: a bundle prepares it; else the signals.

    Bare-module input is checked against the layout of ``state`` (a fitted explainer's).

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
    ds : ECGDataset
    state : FitState, optional

    Returns
    -------
    ndarray of shape (N, leads, samples)

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((1, 1, 100)), fs=100, lead_names=["II"], amplitude_check="ignore")
    >>> model_input(None, ds, None).shape
    (1, 1, 100)
    """
    check_dataset(ds)
    if is_bundle(model):
        return np.asarray(model.prepare(ds), dtype=np.float32)
    ds.check_finite()
    if state is not None:
        check_layout(ds, state.fs, state.n_samples, state.lead_names)
    return ds.signals


def _sizes(n: int, c: int) -> tuple[int, ...]:
    return tuple(min(c, n - s) for s in range(0, n, c))


@dataclass(frozen=True)
class DatasetChunks:
    """An in-memory dataset cut into chunks of ``chunk_records`` records (the last may be shorter).

    Parameters
    ----------
    ds : ECGDataset
    chunk_records : int

    Examples
    --------
    >>> DatasetChunks(make_synthetic(5, fs=100, duration=2), 2).sizes
    (2, 2, 1)
    """

    ds: ECGDataset
    chunk_records: int = 256

    def __post_init__(self) -> None:
        check_dataset(self.ds)
        check_count(self.chunk_records, "chunk_records")

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

    Parameters
    ----------
    n_records, chunk_records : int
    fs, duration : float
    n_leads, seed : int

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
        check_count(self.chunk_records, "chunk_records")
        check_count(self.n_records, "n_records")

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

    Parameters
    ----------
    source : ECGDataset or RecordChunks
    chunk_records : int
        Records per chunk of a dataset.

    Returns
    -------
    RecordChunks

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

    Parameters
    ----------
    ds : ECGDataset
        What ``chunks.chunk(i)`` returned.
    i : int
    size : int or None
        The number of records the source's ``sizes`` declare.
    layout : tuple or None
    ref : int
        The chunk ``layout`` was read from.

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

    Parameters
    ----------
    i : int
    got, layout : tuple
        ``(fs, n_samples, lead_names)`` of chunk ``i`` and of chunk ``ref``.
    ref : int

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
