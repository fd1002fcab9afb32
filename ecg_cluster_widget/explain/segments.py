"""Segments: runs of one cluster in the hard labels, and their one export format.

This is the single home of run-length encoding of cluster labels (:func:`segment_arrays`,
:func:`segments_from_labels`) and of the per-segment table every writer uses
(:func:`segment_rows`). It depends on nothing else in :mod:`ecg_cluster_widget.explain`,
so the result types (``explanation``) and the prototypes (``prototypes``) both import
from here without importing each other.

A negative label marks a sample that carries no explanation (padding added to fit a
record to the model, see :mod:`~ecg_cluster_widget.explain.windowing`): such runs are
never segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = [
    "Segment",
    "runs",
    "segment_arrays",
    "segments_from_labels",
    "segment_rows",
    "SEGMENT_COLUMNS",
]

#: Columns of :func:`segment_rows`, in order (what ``to_frame`` and the CLI write).
SEGMENT_COLUMNS = (
    "start",
    "end",
    "start_s",
    "end_s",
    "duration_s",
    "cluster",
    "cluster_id",
    "number",
    "mean_entropy",
)
# ``number`` is the cluster's display number, 1..K (its position + 1, positions being
# sorted by stable id): what the widget, the reports and the command line show. ``cluster``
# (the 0-based position) and ``cluster_id`` (the stable id) are for programs.


@dataclass
class Segment:
    """A run of time steps assigned to one cluster.

    Attributes
    ----------
    start, end : int
        Sample indices; ``end`` is exclusive.
    cluster : int
        Cluster position (column of ``gamma``).
    cluster_id : int
        Stable cluster id (what colours and labels key on).
    start_s, end_s : float
        The same bounds in seconds.

    Examples
    --------
    >>> Segment(0, 10, 1, 4, 0.0, 0.1).duration_s
    0.1
    """

    start: int
    end: int
    cluster: int
    cluster_id: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Length of the segment in seconds."""
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        """JSON-safe dict.

        Examples
        --------
        >>> Segment(0, 10, 1, 4, 0.0, 0.1).to_dict()["cluster_id"]
        4
        """
        return {
            "start": int(self.start),
            "end": int(self.end),
            "cluster": int(self.cluster),
            "cluster_id": int(self.cluster_id),
            "start_s": float(self.start_s),
            "end_s": float(self.end_s),
        }


def runs(values: Any) -> list[tuple[int, int, Any]]:
    """``(start, stop, value)`` of every run of equal values of a 1-D array (stop exclusive).

    Parameters
    ----------
    values : array-like

    Returns
    -------
    list of (int, int, value)

    Examples
    --------
    >>> runs([2, 2, -1, 0])
    [(0, 2, 2), (2, 3, -1), (3, 4, 0)]
    """
    v = np.asarray(values).ravel()
    cut = np.r_[0, np.flatnonzero(v[1:] != v[:-1]) + 1, v.size] if v.size else []
    return [(int(a), int(b), v[a].item()) for a, b in zip(cut[:-1], cut[1:])]


def segment_arrays(
    labels: np.ndarray, drop_invalid: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encode hard labels of many records at once; the package's one encoder.

    Runs of negative labels (samples without an explanation) are left out unless
    ``drop_invalid=False`` (drawing code shows them as gaps; any integer codes, e.g.
    wave masks, can be encoded that way).

    Parameters
    ----------
    labels : ndarray of shape (n_records, n_samples) or (n_samples,)
        Hard cluster positions; negative values mark invalid samples.
    drop_invalid : bool
        Leave out the runs of negative values (default).

    Returns
    -------
    record, start, end, cluster : ndarrays of shape (n_segments,), int64
        ``end`` is exclusive. Segments are ordered by record, then time.

    Examples
    --------
    >>> import numpy as np
    >>> [a.tolist() for a in segment_arrays(np.array([[0, 0, 1], [2, 2, 2]]))]
    [[0, 0, 1], [0, 2, 0], [2, 3, 3], [0, 1, 2]]
    >>> [a.tolist() for a in segment_arrays(np.array([1, 1, -1, -1]))]
    [[0], [0], [2], [1]]
    >>> [a.tolist() for a in segment_arrays(np.array([1, 1, -1, -1]), drop_invalid=False)]
    [[0, 0], [0, 2], [2, 4], [1, -1]]
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
    cluster = lab[rec, start].astype(np.int64)
    keep = cluster >= 0 if drop_invalid else np.ones(cluster.shape, dtype=bool)
    return (
        rec[keep].astype(np.int64),
        start[keep].astype(np.int64),
        end[keep].astype(np.int64),
        cluster[keep],
    )


def segments_from_labels(
    labels: np.ndarray, fs: float, cluster_ids: np.ndarray | None = None
) -> list[Segment]:
    """Runs of equal labels in one record, as :class:`Segment` objects.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Hard cluster positions of one record; negative values (invalid samples) are
        in no segment.
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
    if cl.size == 0:
        return []
    ids = np.arange(int(cl.max()) + 1) if cluster_ids is None else np.asarray(cluster_ids)
    return [
        Segment(int(s), int(e), int(c), int(ids[c]), float(s / fs), float(e / fs))
        for s, e, c in zip(start, end, cl)
    ]


def segment_rows(segments: list[Segment], entropy: np.ndarray) -> list[dict[str, Any]]:
    """One plain dict per segment: bounds in samples and seconds, cluster, mean entropy.

    The one export of segments: ``ECGExplanation.to_frame``, the command line's CSV and
    JSON files and the widget's segment table are all built from these rows.

    Parameters
    ----------
    segments : list of Segment
    entropy : ndarray of shape (n_samples,)
        Per-sample normalised entropy of the same record.

    Returns
    -------
    list of dict
        Keys :data:`SEGMENT_COLUMNS`; only Python ``int``/``float`` values. The mean
        entropy of an empty segment is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> rows = segment_rows([Segment(0, 2, 0, 7, 0.0, 0.02)], np.array([0.2, 0.4]))
    >>> rows[0]["cluster_id"], round(rows[0]["mean_entropy"], 3)
    (7, 0.3)
    """
    ent = np.asarray(entropy, dtype=np.float64)
    rows = []
    for s in segments:
        start, end = int(s.start), int(s.end)
        rows.append(
            {
                "start": start,
                "end": end,
                "start_s": float(s.start_s),
                "end_s": float(s.end_s),
                "duration_s": float(s.end_s - s.start_s),
                "cluster": int(s.cluster),
                "cluster_id": int(s.cluster_id),
                "number": int(s.cluster) + 1,
                "mean_entropy": float(ent[start:end].mean()) if end > start else float("nan"),
            }
        )
    return rows
