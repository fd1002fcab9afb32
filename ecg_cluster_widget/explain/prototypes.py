"""Segments (runs of one cluster) and prototype waveforms per cluster."""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import DataError
from .explanation import Segment

__all__ = ["segments_from_labels", "segment_arrays", "extract_snippets", "prototype_stats"]


def segment_arrays(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encode hard labels of many records at once.

    Parameters
    ----------
    labels : ndarray of shape (n_records, n_samples) or (n_samples,)
        Hard cluster positions.

    Returns
    -------
    record, start, end, cluster : ndarrays of shape (n_segments,), int64
        ``end`` is exclusive. Segments are ordered by record, then time.

    Examples
    --------
    >>> import numpy as np
    >>> [a.tolist() for a in segment_arrays(np.array([[0, 0, 1], [2, 2, 2]]))]
    [[0, 0, 1], [0, 2, 0], [2, 3, 3], [0, 1, 2]]
    """
    lab = np.asarray(labels)
    if lab.ndim == 1:
        lab = lab[None]
    if lab.ndim != 2 or lab.shape[1] == 0:
        raise DataError(f"labels must have shape (n_records, n_samples); got {lab.shape}.")
    n, t = lab.shape
    change = np.ones((n, t), dtype=bool)
    change[:, 1:] = lab[:, 1:] != lab[:, :-1]
    rec, start = np.nonzero(change)
    flat_start = rec * t + start
    flat_end = np.r_[flat_start[1:], n * t]
    # A run never crosses records because every record's first sample starts a run.
    end = flat_end - rec * t
    return rec.astype(np.int64), start.astype(np.int64), end.astype(np.int64), lab[rec, start].astype(np.int64)


def segments_from_labels(
    labels: np.ndarray, fs: float, cluster_ids: np.ndarray | None = None
) -> list[Segment]:
    """Runs of equal labels in one record, as :class:`Segment` objects.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Hard cluster positions of one record.
    fs : float
        Sampling rate, for the start/end times in seconds.
    cluster_ids : ndarray of shape (K,), optional
        Stable ids per position; default: the position itself.

    Returns
    -------
    list of Segment

    Examples
    --------
    >>> import numpy as np
    >>> [(s.start, s.end, s.cluster) for s in segments_from_labels(np.array([1, 1, 0]), fs=100)]
    [(0, 2, 1), (2, 3, 0)]
    """
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise DataError(f"labels of one record must be 1-D; got shape {lab.shape}.")
    _, start, end, cl = segment_arrays(lab)
    ids = np.arange(int(cl.max()) + 1) if cluster_ids is None else np.asarray(cluster_ids)
    return [
        Segment(int(s), int(e), int(c), int(ids[c]), float(s / fs), float(e / fs))
        for s, e, c in zip(start, end, cl)
    ]


def extract_snippets(signals: np.ndarray, record: np.ndarray, centre: np.ndarray, width: int) -> np.ndarray:
    """Fixed-length windows of ``signals`` centred on given samples, NaN-padded at edges.

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_leads, n_samples)
    record, centre : ndarray of shape (m,)
        Record index and centre sample of each window.
    width : int
        Window length in samples; the window starts at ``centre - width // 2``.

    Returns
    -------
    ndarray of shape (m, n_leads, width), float32

    Examples
    --------
    >>> import numpy as np
    >>> sig = np.arange(10, dtype=float).reshape(1, 1, 10)
    >>> extract_snippets(sig, np.array([0]), np.array([1]), 4)[0, 0].tolist()
    [nan, 0.0, 1.0, 2.0]
    """
    sig = np.asarray(signals)
    n_samples = sig.shape[2]
    offs = np.arange(width) - width // 2
    idx = np.asarray(centre)[:, None] + offs[None, :]
    valid = (idx >= 0) & (idx < n_samples)
    clipped = np.clip(idx, 0, n_samples - 1)
    snip = sig[np.asarray(record)[:, None], :, clipped]  # (m, width, n_leads)
    snip = np.where(valid[:, :, None], snip, np.nan).astype(np.float32)
    return snip.transpose(0, 2, 1)


def prototype_stats(snippets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and 25 % / 75 % quantiles over snippets, ignoring NaN padding.

    Parameters
    ----------
    snippets : ndarray of shape (m, n_leads, width)

    Returns
    -------
    median, q25, q75 : ndarrays of shape (n_leads, width), float32
        All-NaN where no snippet covers a sample (or ``m == 0``).

    Examples
    --------
    >>> import numpy as np
    >>> med, lo, hi = prototype_stats(np.array([[[0.0]], [[1.0]], [[2.0]]]))
    >>> med.tolist(), lo.tolist(), hi.tolist()
    ([[1.0]], [[0.5]], [[1.5]])
    """
    s = np.asarray(snippets, dtype=np.float32)
    if s.shape[0] == 0:
        nan = np.full(s.shape[1:], np.nan, dtype=np.float32)
        return nan, nan.copy(), nan.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are expected at edges
        q = np.nanquantile(s, [0.5, 0.25, 0.75], axis=0).astype(np.float32)
    return q[0], q[1], q[2]
