"""Prototype waveforms and per-cluster statistics.

The run-length encoders ``segment_arrays`` / ``segments_from_labels`` live in
:mod:`~ecg_cluster_widget.explain.segments` and are re-exported here for existing imports.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..data.dataset import ECGDataset
from ..errors import DataError
from .explanation import ClusterInfo, ExplanationSet
from .segments import segment_arrays, segments_from_labels
from .uncertainty import cluster_stats

__all__ = [
    "segments_from_labels",
    "segment_arrays",
    "extract_snippets",
    "prototype_stats",
    "summarize_clusters",
]


def extract_snippets(
    signals: np.ndarray, record: np.ndarray, centre: np.ndarray, width: int
) -> np.ndarray:
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
    # numpy's nanquantile loops over every (lead, sample) column in Python (1.1 s of a 1.2 s
    # K change on the real model): sort once (NaN last) and interpolate like its "linear"
    # method instead.
    srt = np.sort(s, axis=0)
    n = (~np.isnan(s)).sum(axis=0)
    out = []
    for q in (0.5, 0.25, 0.75):
        pos = q * np.maximum(n - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        a = np.take_along_axis(srt, lo[None], axis=0)[0]
        b = np.take_along_axis(srt, hi[None], axis=0)[0]
        val = a + (b - a) * (pos - lo)
        out.append(np.where(n > 0, val, np.nan).astype(np.float32))
    return out[0], out[1], out[2]


def _class_mix(ds: ECGDataset, prop: np.ndarray) -> dict[str, float] | None:
    if ds.labels is None or ds.class_names is None:
        return None
    top = prop >= np.quantile(prop, 0.75)
    if prop.max() > 0:
        top &= prop > 0  # a cluster absent from most records: only records that contain it
    return {c: float(ds.labels[top, j].mean()) for j, c in enumerate(ds.class_names)}


_CUMSUM: list = []  # [(weakref to features, shape, their cumulative sums)]


def _grid_cumsum(feats: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``feats`` along time, with a leading zero step; the last
    features' sums are kept, since every K of the same records needs them (0.15 s at
    1,000 ECGs)."""
    for ref, shape, cs in _CUMSUM:
        if ref() is feats and shape == feats.shape:
            return cs
    cs = np.zeros((feats.shape[0], feats.shape[1] + 1, feats.shape[2]), dtype=np.float32)
    np.cumsum(feats, axis=1, out=cs[:, 1:])
    try:
        _CUMSUM[:] = [(weakref.ref(feats), feats.shape, cs)]
    except TypeError:  # an array type without weak references: not kept
        pass
    return cs


def summarize_clusters(
    ds: ECGDataset,
    es: ExplanationSet,
    feats: np.ndarray,
    centroids: np.ndarray,
    *,
    window_s: float = 0.4,
    n_examples: int = 5,
    max_segments: int = 500,
    bins: int = 10,
    random_state: int = 0,
) -> list[ClusterInfo]:
    """Per-cluster statistics, prototypes and nearest examples (see ``TLCExplainer.cluster_summary``).

    Parameters
    ----------
    ds : ECGDataset
        The records (prototypes are cut from ``ds.signals``, in mV).
    es : ExplanationSet
        Hard labels / entropy / proportions of ``ds`` at input resolution.
    feats : ndarray of shape (N, T_grid, D)
        The clustered features of ``ds``.
    centroids : ndarray of shape (K, D)
        Cluster centres, by position.
    window_s, n_examples, max_segments, bins, random_state
        Snippet length, number of nearest segments, segments sampled per prototype
        (seeded), entropy histogram bins.

    Returns
    -------
    list of ClusterInfo

    Examples
    --------
    >>> import numpy as np
    >>> ds = ECGDataset(np.tile(np.arange(4.0), (1, 1, 1)), fs=4, lead_names=["II"])
    >>> es = ExplanationSet(np.array([[0, 0, 1, 1]], np.int16), np.zeros((1, 4), np.float32),
    ...                     np.array([[0.5, 0.5]]), np.zeros(1), np.array([0, 1]), 4.0)
    >>> feats = np.array([[[0.0], [0.0], [1.0], [1.0]]], np.float32)
    >>> infos = summarize_clusters(ds, es, feats, np.array([[0.0], [1.0]]), window_s=0.5)
    >>> infos[1].examples, infos[1].prototype_median.tolist()
    ([(0, 2, 4)], [[2.0, 3.0]])
    """
    if not window_s > 0:
        raise DataError(f"window_s must be > 0 seconds, got {window_s}.")
    n, t = es.labels.shape
    tg = feats.shape[1]
    rec, start, end, cl = segment_arrays(es.labels)
    # Mean grid feature of each segment via cumulative sums (one pass, vectorised).
    cs = _grid_cumsum(feats)
    gs = np.minimum((start * tg) // t, tg - 1)
    ge = np.clip(-((-end * tg) // t), gs + 1, tg)
    seg_feat = (cs[rec, ge] - cs[rec, gs]) / (ge - gs)[:, None]
    width = max(1, int(round(window_s * ds.fs)))
    rng = np.random.default_rng(random_state)
    k = len(es.cluster_ids)
    flat_lab, flat_ent = es.labels.ravel(), es.entropy.ravel()
    if flat_lab.min() < 0:  # padding carries no cluster
        valid = flat_lab >= 0
        flat_lab, flat_ent = flat_lab[valid], flat_ent[valid]
    count, mean_ent, hists = cluster_stats(flat_lab, flat_ent, k, bins)
    out = []
    for pos in range(k):
        hist = hists[pos].astype(np.float64)
        hist = hist / hist.sum() if hist.sum() else hist
        seg = np.flatnonzero(cl == pos)
        chosen = (
            seg
            if seg.size <= max_segments
            else np.sort(rng.choice(seg, max_segments, replace=False))
        )
        snippets = extract_snippets(
            ds.signals, rec[chosen], (start[chosen] + end[chosen]) // 2, width
        )
        med, q25, q75 = prototype_stats(snippets)
        dist = np.linalg.norm(seg_feat[seg] - np.asarray(centroids)[pos], axis=1)
        near = seg[np.argsort(dist, kind="stable")[:n_examples]]
        out.append(
            ClusterInfo(
                position=pos,
                cluster_id=int(es.cluster_ids[pos]),
                share=float(count[pos] / es.labels.size),
                mean_entropy=float(mean_ent[pos]),
                entropy_hist=hist,
                prototype_median=med,
                prototype_q25=q25,
                prototype_q75=q75,
                prototype_offset_s=-(width // 2) / float(ds.fs),
                examples=[(int(rec[j]), int(start[j]), int(end[j])) for j in near],
                class_mix=_class_mix(ds, es.proportions[:, pos]),
                n_segments=int(seg.size),
                mean_duration_s=float((end[seg] - start[seg]).mean() / ds.fs)
                if seg.size
                else float("nan"),
                lead_names=tuple(ds.lead_names),
                fs=float(ds.fs),
            )
        )
    return out
