"""Cluster cards: per-cluster facts, prototype bands and nearest-example snippets.

What the widget's side panel shows per cluster, built from ``tlc.cluster_summary`` in one
place (the widget sends it to the browser; anything else drawing cluster cards can reuse
it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..data.dataset import ECGDataset
from .explanation import ClusterInfo
from .prototypes import extract_snippets


@dataclass
class ClusterCards:
    """Everything the cluster cards draw, for K clusters.

    Attributes
    ----------
    clusters : list of dict
        Per cluster: ``id``, ``position``, ``share``, ``mean_entropy``, ``entropy_hist``,
        ``class_mix``, ``examples`` (record index and id, start/end samples, start in s)
        and ``n_segments`` (NaN statistics become 0 so the list is JSON).
    prototypes : ndarray of shape (K, 3, n_leads, width), float32
        Median, 25th and 75th percentile waveform of each cluster.
    snippets : ndarray of shape (K, n_examples, n_leads, width), float32
        The nearest real examples, centred on their segment (zeros where a cluster has
        fewer examples or a window leaves the record).

    Examples
    --------
    >>> ClusterCards([], np.zeros((0, 3, 12, 40)), np.zeros((0, 3, 12, 40))).clusters
    []
    """

    clusters: list[dict]
    prototypes: np.ndarray
    snippets: np.ndarray


def cluster_cards(infos: Sequence[ClusterInfo], ds: ECGDataset, n_examples: int) -> ClusterCards:
    """Cards of the clusters in ``infos`` (from ``tlc.cluster_summary(ds, ...)``).

    Parameters
    ----------
    infos : sequence of ClusterInfo
    ds : ECGDataset
        The dataset ``infos`` was computed on (snippets are cut from its signals).
    n_examples : int
        Examples kept per cluster.

    Returns
    -------
    ClusterCards

    Examples
    --------
    >>> cards = cluster_cards(tlc.cluster_summary(ds), ds, 3)
    >>> cards.snippets.shape
    (6, 3, 12, 40)
    """
    fs = float(ds.fs)
    n_examples = int(n_examples)
    width = infos[0].prototype_median.shape[1] if infos else 1
    clusters, protos, snips = [], [], []
    for c in infos:
        ex = list(c.examples)[:n_examples]
        clusters.append(
            {
                "id": int(c.cluster_id),
                "position": int(c.position),
                "share": float(c.share),
                "mean_entropy": float(np.nan_to_num(c.mean_entropy)),
                "entropy_hist": [float(v) for v in np.nan_to_num(c.entropy_hist)],
                "class_mix": None
                if c.class_mix is None
                else {k: float(v) for k, v in c.class_mix.items()},
                "examples": [
                    {
                        "record_index": int(r),
                        "record_id": ds.record_ids[int(r)],
                        "start": int(s),
                        "end": int(e),
                        "start_s": s / fs,
                    }
                    for r, s, e in ex
                ],
                "n_segments": int(c.n_segments),
            }
        )
        protos.append(np.stack([c.prototype_median, c.prototype_q25, c.prototype_q75]))
        snip = np.zeros((n_examples, ds.n_leads, width), dtype=np.float32)
        if ex:
            rec = np.array([r for r, _, _ in ex])
            centre = np.array([(s + e) // 2 for _, s, e in ex])
            snip[: len(ex)] = np.nan_to_num(extract_snippets(ds.signals, rec, centre, width))
        snips.append(snip)
    shape = (0, 3, ds.n_leads, width)
    return ClusterCards(
        clusters=clusters,
        prototypes=np.nan_to_num(np.stack(protos)).astype(np.float32)
        if protos
        else np.zeros(shape, np.float32),
        snippets=np.stack(snips)
        if snips
        else np.zeros((0, n_examples, ds.n_leads, width), np.float32),
    )
