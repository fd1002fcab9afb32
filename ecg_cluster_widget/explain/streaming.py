"""Chunk-wise fits for fitting sets that do not fit in memory, on one or many machines.

:func:`fit_chunks` runs the fit pipeline (:func:`~ecg_cluster_widget.explain.pipeline.run_fit`)
on a chunk source (:mod:`~ecg_cluster_widget.explain.sources`), optionally writing the
features and per-record outputs to an on-disk
:class:`~ecg_cluster_widget.activations.store.FeatureStore`, so the result is an
:class:`ExplanationSet` of memory maps. With ``client=`` the forward passes (~90 % of the
cost) run on a Dask cluster's workers (:mod:`~ecg_cluster_widget.explain.distributed`);
both paths give the same clusters for the same seed.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..activations.store import FeatureStore
from ..data.dataset import ECGDataset
from ..errors import DataWarning
from .cache import model_checksum
from .pipeline import ALIGN_RECORDS, FitState, StreamingFit, make_state, run_fit
from .sources import DatasetChunks, RecordChunks, as_chunks

__all__ = ["chunked_fit_state", "fit_chunks"]


def fit_chunks(
    tlc: Any,
    chunks: RecordChunks,
    store: str | Path | FeatureStore | None = None,
    client: Any = None,
    progress: bool | None = None,
    align_records: int = ALIGN_RECORDS,
) -> StreamingFit:
    """Fit TLC chunk by chunk with the options of ``tlc`` (a :class:`TLCExplainer`).

    Parameters
    ----------
    tlc : TLCExplainer
        Read for its options and model; not modified.
    chunks : RecordChunks
        E.g. :class:`~.chunks.DatasetChunks` or :class:`~.chunks.SyntheticChunks`.
    store : path or FeatureStore, optional
        Folder for the features and per-record outputs; ``None`` keeps them in memory.
    client : dask.distributed.Client, optional
        Map the forward passes over a Dask cluster's workers.
    progress : bool, optional
        Progress bars (default: ``tlc.progress``).
    align_records : int
        Records (at least) whose activations fit the aligner.

    Returns
    -------
    StreamingFit

    Examples
    --------
    >>> from ecg_cluster_widget.explain import TLCExplainer
    >>> from ecg_cluster_widget.explain.sources import SyntheticChunks
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    >>> tlc = TLCExplainer(net, n_clusters=3, n_components=4, progress=False)
    >>> res = fit_chunks(tlc, SyntheticChunks(6, chunk_records=4, fs=100, duration=2))
    >>> res.features.shape, res.explanations.labels.shape
    ((6, 100, 4), (6, 200))
    """
    from .options import resolved

    tlc = resolved(tlc)  # "auto" options as the explainer's fit resolves them
    if store is None:
        return run_fit(tlc, chunks, None, client, progress, align_records)
    # A new generation, swapped in only when the whole fit succeeded: a refit that fails
    # leaves the previous fit's files intact, and no memory-mapped file is truncated.
    fst = store if isinstance(store, FeatureStore) else FeatureStore(store)
    before = fst.identity
    with fst.generation():
        res = run_fit(tlc, chunks, fst, client, progress, align_records)
        now = {
            "model_checksum": model_checksum(tlc.model),
            "data_fingerprint": res.data_fingerprint,
        }
        fst.set_identity(now)
    changed = [k for k in now if before is not None and before.get(k) != now[k]]
    if changed:
        what = " and ".join("model" if k == "model_checksum" else "data" for k in changed)
        warnings.warn(
            f"the store {fst.path} held a fit of other {what}; it now holds this fit (the "
            "previous one's memory maps stay readable). Use one store per dataset and "
            "model to keep both.",
            DataWarning,
            stacklevel=2,
        )
    return res


def chunked_fit_state(
    tlc: Any, ds: Any, client: Any, store: Any, chunk_records: int
) -> tuple[FitState, StreamingFit, ECGDataset | None]:
    """A chunk-wise fit as the explainer's fit state (what ``TLCExplainer.fit`` stores).

    ``ds`` is an ECGDataset (cut into chunks of ``chunk_records``) or a chunk source;
    ``client`` and ``store`` are as for :func:`fit_chunks`. Also returns the fit's result
    and the dataset whose features ``result.features`` are (for the feature cache), if any.

    Parameters
    ----------
    tlc : TLCExplainer
    ds : ECGDataset or RecordChunks
    client, store
        As for :func:`fit_chunks`.
    chunk_records : int

    Returns
    -------
    state : FitState
    result : StreamingFit
    cached : ECGDataset or None

    Examples
    --------
    >>> state, res, ds = chunked_fit_state(tlc, chunks, None, "store", 256)  # doctest: +SKIP
    """
    chunks = as_chunks(ds, chunk_records)
    res = fit_chunks(tlc, chunks, store=store, client=client)
    # "chunked": another fit than the in-memory one of the same data.
    state = make_state(tlc, res, chunked=True)
    return state, res, chunks.ds if isinstance(chunks, DatasetChunks) else None
