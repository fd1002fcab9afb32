"""Result types of the TLC explainer (what the widget, reports and CLI consume).

:class:`Segment` lives in :mod:`~ecg_cluster_widget.explain.segments` (with the
run-length encoders) and is re-exported here, where it has always been importable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..data.io_utils import to_jsonable
from ..errors import DataError
from .segments import SEGMENT_COLUMNS, Segment, segment_arrays, segment_rows, segments_from_labels

__all__ = ["ECGExplanation", "ExplanationSet", "ClusterInfo"]


@dataclass
class ECGExplanation:
    """TLC explanation of one ECG.

    Attributes
    ----------
    record_index : int
        Position of the record in the dataset.
    record_id : str
    fs : float
    cluster_ids : ndarray of shape (K,)
        Stable id of each cluster position.
    labels : ndarray of shape (n_samples,), int
        Hard cluster position per sample (0..K-1); -1 where ``valid`` is False.
    gamma : ndarray of shape (n_samples, K), float32
        Soft assignments.
    entropy : ndarray of shape (n_samples,), float32
        Normalised assignment entropy in [0, 1].
    segments : list of Segment
        Runs of one cluster; they tile the valid samples exactly.
    proportions : ndarray of shape (K,)
        Share of the valid time in each cluster position.
    mean_entropy : float
        Mean entropy over the valid samples.
    valid : ndarray of shape (n_samples,), bool, optional
        Which samples belong to the record. False marks padding added to fit a short
        record (or the end of a long one) to the model's input length
        (:func:`~ecg_cluster_widget.explain.windowing.explain_record`): those samples
        have label -1 and are in no segment and no proportion. Default: all valid.

    Examples
    --------
    >>> import numpy as np
    >>> ex = ECGExplanation(0, "r0", 100.0, np.array([3, 5]), np.array([0, 1]),
    ...                     np.eye(2, dtype=np.float32), np.zeros(2, np.float32),
    ...                     [Segment(0, 1, 0, 3, 0.0, 0.01), Segment(1, 2, 1, 5, 0.01, 0.02)],
    ...                     np.array([0.5, 0.5]), 0.0)
    >>> ex.to_frame()["cluster_id"].tolist(), bool(ex.valid.all())
    ([3, 5], True)
    """

    record_index: int
    record_id: str
    fs: float
    cluster_ids: np.ndarray
    labels: np.ndarray
    gamma: np.ndarray
    entropy: np.ndarray
    segments: list[Segment]
    proportions: np.ndarray
    mean_entropy: float
    valid: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.valid is None:
            self.valid = np.ones(n, dtype=bool)
        else:
            self.valid = np.asarray(self.valid, dtype=bool)
            if self.valid.shape != (n,):
                raise DataError(
                    f"valid must have one entry per sample ({n}), got shape {self.valid.shape}."
                )

    @property
    def n_clusters(self) -> int:
        """Number of clusters K."""
        return int(len(self.cluster_ids))

    @property
    def n_valid(self) -> int:
        """Number of valid samples (the record's own samples)."""
        return int(self.valid.sum())

    @property
    def valid_spans(self) -> list[tuple[int, int]]:
        """``(start, end)`` sample ranges (end exclusive) of the valid samples.

        Examples
        --------
        >>> import numpy as np
        >>> ex = ECGExplanation(0, "r", 1.0, np.array([0]), np.array([0, 0, -1]),
        ...                     np.ones((3, 1), np.float32), np.zeros(3, np.float32), [],
        ...                     np.array([1.0]), 0.0, valid=np.array([True, True, False]))
        >>> ex.valid_spans
        [(0, 2)]
        """
        _, start, end, _ = segment_arrays(np.where(self.valid, 0, -1))
        return [(int(s), int(e)) for s, e in zip(start, end)]

    @property
    def label_ids(self) -> np.ndarray:
        """Hard labels as stable cluster ids instead of positions (-1 where invalid)."""
        lab = np.asarray(self.labels)
        ids = np.asarray(self.cluster_ids)[np.clip(lab, 0, None)]
        return np.where(lab >= 0, ids, -1)

    def to_frame(self) -> pd.DataFrame:
        """One row per segment: bounds in samples and seconds, cluster, mean entropy.

        Examples
        --------
        >>> import numpy as np
        >>> ex = ECGExplanation(0, "r0", 100.0, np.array([7]), np.zeros(3, int),
        ...                     np.ones((3, 1), np.float32), np.zeros(3, np.float32),
        ...                     [Segment(0, 3, 0, 7, 0.0, 0.03)], np.array([1.0]), 0.0)
        >>> list(ex.to_frame().columns)[:4]
        ['start', 'end', 'start_s', 'end_s']
        """
        return pd.DataFrame(segment_rows(self.segments, self.entropy), columns=SEGMENT_COLUMNS)

    def to_dict(self, include_gamma: bool = True) -> dict:
        """JSON-safe dict (arrays as lists); ``valid`` lists the valid sample ranges.

        Examples
        --------
        >>> import json, numpy as np
        >>> ex = ECGExplanation(0, "r0", 100.0, np.array([7]), np.zeros(2, int),
        ...                     np.ones((2, 1), np.float32), np.zeros(2, np.float32),
        ...                     [Segment(0, 2, 0, 7, 0.0, 0.02)], np.array([1.0]), 0.0)
        >>> d = json.loads(json.dumps(ex.to_dict()))
        >>> sorted(d)[:3], d["valid"]
        (['cluster_ids', 'entropy', 'fs'], [[0, 2]])
        """
        out = {
            "record_index": int(self.record_index),
            "record_id": str(self.record_id),
            "fs": float(self.fs),
            "cluster_ids": self.cluster_ids,
            "labels": self.labels,
            "entropy": np.round(self.entropy.astype(np.float64), 5),
            "segments": [s.to_dict() for s in self.segments],
            "proportions": self.proportions,
            "mean_entropy": float(self.mean_entropy),
            "n_samples": int(len(self.labels)),
            "valid": [list(span) for span in self.valid_spans],
        }
        if include_gamma:
            out["gamma"] = np.round(self.gamma.astype(np.float64), 5)
        return to_jsonable(out)


@dataclass
class ExplanationSet:
    """TLC explanations of a whole dataset, as arrays.

    Attributes
    ----------
    labels : ndarray of shape (N, n_samples), int16
        Hard cluster positions.
    entropy : ndarray of shape (N, n_samples), float32
    proportions : ndarray of shape (N, K)
        Share of time per cluster position (rows sum to 1).
    mean_entropy : ndarray of shape (N,)
    cluster_ids : ndarray of shape (K,)
    fs : float
    record_ids : tuple of str

    Examples
    --------
    >>> import numpy as np
    >>> es = ExplanationSet(np.zeros((2, 3), np.int16), np.zeros((2, 3), np.float32),
    ...                     np.ones((2, 1)), np.zeros(2), np.array([4]), 100.0, ("a", "b"))
    >>> len(es), es.segments(1)[0].cluster_id
    (2, 4)
    """

    labels: np.ndarray
    entropy: np.ndarray
    proportions: np.ndarray
    mean_entropy: np.ndarray
    cluster_ids: np.ndarray
    fs: float = 1.0
    record_ids: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def n_clusters(self) -> int:
        """Number of clusters K."""
        return int(len(self.cluster_ids))

    def segments(self, index: int) -> list[Segment]:
        """Segments of record ``index``.

        Examples
        --------
        >>> import numpy as np
        >>> es = ExplanationSet(np.array([[0, 1]], np.int16), np.zeros((1, 2), np.float32),
        ...                     np.array([[0.5, 0.5]]), np.zeros(1), np.array([0, 1]), 1.0)
        >>> len(es.segments(0))
        2
        """
        return segments_from_labels(self.labels[index], self.fs, self.cluster_ids)

    def proportions_frame(self) -> pd.DataFrame:
        """Proportions as a DataFrame, columns ``cluster_<id>``, index record ids.

        Examples
        --------
        >>> import numpy as np
        >>> es = ExplanationSet(np.zeros((1, 2), np.int16), np.zeros((1, 2), np.float32),
        ...                     np.array([[1.0]]), np.zeros(1), np.array([3]), 1.0, ("r",))
        >>> es.proportions_frame().columns.tolist()
        ['cluster_3']
        """
        index = list(self.record_ids) if len(self.record_ids) == len(self) else None
        return pd.DataFrame(
            self.proportions, index=index, columns=[f"cluster_{int(i)}" for i in self.cluster_ids]
        )

    def to_dict(self, include_per_sample: bool = False) -> dict:
        """JSON-safe dict; per-sample arrays only when ``include_per_sample``.

        Examples
        --------
        >>> import numpy as np
        >>> es = ExplanationSet(np.zeros((1, 2), np.int16), np.zeros((1, 2), np.float32),
        ...                     np.array([[1.0]]), np.zeros(1), np.array([3]), 1.0, ("r",))
        >>> es.to_dict()["cluster_ids"]
        [3]
        """
        out: dict[str, Any] = {
            "cluster_ids": self.cluster_ids,
            "fs": float(self.fs),
            "record_ids": list(self.record_ids),
            "proportions": self.proportions,
            "mean_entropy": self.mean_entropy,
        }
        if include_per_sample:
            out["labels"] = self.labels
            out["entropy"] = np.round(self.entropy.astype(np.float64), 5)
        return to_jsonable(out)


@dataclass
class ClusterInfo:
    """Summary of one cluster over a dataset.

    Attributes
    ----------
    position : int
        Column of ``gamma``.
    cluster_id : int
        Stable id.
    share : float
        Share of all time steps assigned to this cluster.
    mean_entropy : float
        Mean normalised entropy of its time steps (NaN if it has none).
    entropy_hist : ndarray of shape (bins,)
        Fractions of its time steps per entropy bin over [0, 1] (sums to 1).
    prototype_median, prototype_q25, prototype_q75 : ndarray of shape (n_leads, width)
        Median and quartiles of signal snippets centred on its segments (mV).
    prototype_offset_s : float
        Time of the snippets' first sample relative to the segment centre (negative).
    examples : list of (record_index, start_sample, end_sample)
        Segments whose mean feature vector is closest to the cluster centroid.
    class_mix : dict of str to float, or None
        Per class, the share of positive records among the records in which this
        cluster's proportion is in the top quartile (None without labels).
    n_segments : int
    mean_duration_s : float
    lead_names : tuple of str
    fs : float

    Examples
    --------
    >>> import numpy as np
    >>> ci = ClusterInfo(0, 0, 0.5, 0.1, np.ones(10) / 10, np.zeros((1, 4)), np.zeros((1, 4)),
    ...                  np.zeros((1, 4)), -0.02, [(0, 10, 20)], None)
    >>> ci.to_dict()["examples"]
    [[0, 10, 20]]
    """

    position: int
    cluster_id: int
    share: float
    mean_entropy: float
    entropy_hist: np.ndarray
    prototype_median: np.ndarray
    prototype_q25: np.ndarray
    prototype_q75: np.ndarray
    prototype_offset_s: float
    examples: list[tuple[int, int, int]]
    class_mix: dict[str, float] | None
    n_segments: int = 0
    mean_duration_s: float = float("nan")
    lead_names: tuple[str, ...] = ()
    fs: float = 1.0

    def to_dict(self) -> dict:
        """JSON-safe dict (NaN -> None).

        Examples
        --------
        >>> import numpy as np
        >>> ci = ClusterInfo(1, 7, 0.2, float("nan"), np.zeros(10), np.zeros((1, 2)),
        ...                  np.zeros((1, 2)), np.zeros((1, 2)), -0.01, [], {"NORM": 0.5})
        >>> ci.to_dict()["mean_entropy"] is None
        True
        """
        return to_jsonable(asdict(self))
