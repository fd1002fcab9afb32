"""Landmark alignment of clusters with P / QRS / T waves, and its baselines.

* :func:`landmark_alignment` scores how well per-time-step cluster labels line up with
  wave codes (``WAVE_NAMES``; annotated, or from
  :func:`~ecg_cluster_widget.explain.delineation.delineate`).
* :func:`interval_masks` splits the "none" code into TP, PR and ST; :func:`propose_wave_names`
  names each cluster after the wave or interval it holds most.
* :func:`raw_window_kmeans_labels` and :func:`untrained_model_labels` are the baselines:
  clusters of raw signal windows, and TLC on the same architecture with random weights.
  If the trained network's clusters align better than both, the alignment is learned.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import (
    adjusted_rand_score,
    homogeneity_completeness_v_measure,
    normalized_mutual_info_score,
)
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..data.dataset import WAVE_NAMES, ECGDataset
from ..errors import DataError, ModelError
from .segments import segment_arrays

__all__ = [
    "landmark_alignment",
    "interval_masks",
    "propose_wave_names",
    "INTERVAL_NAMES",
    "PROPOSED_NAMES",
    "raw_window_kmeans_labels",
    "untrained_model_labels",
    "WAVE_NAMES",
]


# ---------------------------------------------------------------------------
# alignment scores
# ---------------------------------------------------------------------------
def landmark_alignment(
    cluster_labels: Any,
    wave_masks: Any,
    n_clusters: int | None = None,
    wave_names: Sequence[str] = WAVE_NAMES,
) -> dict:
    """Agreement between per-time-step cluster labels and wave annotations.

    Parameters
    ----------
    cluster_labels : int array (N, T)
        Cluster position per time step, in ``0..n_clusters-1``.
    wave_masks : int array (N, T)
        Wave code per time step (index into ``wave_names``); ``-1`` = not annotated,
        those time steps are left out of every score.
    n_clusters : int, optional
        Number of clusters (rows of the contingency table); default ``max(label) + 1``.
    wave_names : sequence of str
        Names of the wave codes.

    Returns
    -------
    dict (JSON-safe)
        ``contingency`` (K x W counts), ``nmi`` (arithmetic normalisation, as sklearn),
        ``homogeneity``, ``completeness``, ``v_measure``, ``ari``, ``n_points``,
        ``per_wave`` {name: {cluster, precision, recall, f1, support}} (the cluster whose
        time steps best match the wave, by F1), ``per_cluster`` [{cluster, majority_wave,
        purity, size}] and ``purity`` (share of time steps in their cluster's majority wave).

    Examples
    --------
    >>> masks = np.array([[0, 1, 1, 0, 2, 2, 0, 3, 3, -1]])
    >>> d = landmark_alignment((masks + 1) % 4, masks)
    >>> round(d["nmi"], 6), d["n_points"]
    (1.0, 9)
    """
    n_waves = len(wave_names)
    wm = _check_masks(wave_masks, n_waves)
    lab_k, wm_k, cont = _contingency(cluster_labels, wm, n_clusters, n_waves)
    k = cont.shape[0]
    h, c, v = homogeneity_completeness_v_measure(wm_k, lab_k)
    cl_size = cont.sum(axis=1)
    wave_size = cont.sum(axis=0)

    per_wave = {}
    for w, name in enumerate(wave_names):
        if wave_size[w] == 0:
            per_wave[name] = None
            continue
        prec = cont[:, w] / np.maximum(cl_size, 1)
        rec = cont[:, w] / wave_size[w]
        f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)
        best = int(np.argmax(f1))
        per_wave[name] = {
            "cluster": best,
            "precision": float(prec[best]),
            "recall": float(rec[best]),
            "f1": float(f1[best]),
            "support": int(wave_size[w]),
        }
    maj = cont.argmax(axis=1)
    per_cluster = [
        {
            "cluster": j,
            "majority_wave": wave_names[maj[j]] if cl_size[j] else None,
            "purity": float(cont[j, maj[j]] / cl_size[j]) if cl_size[j] else 0.0,
            "size": int(cl_size[j]),
        }
        for j in range(k)
    ]
    return {
        "contingency": cont.tolist(),
        "wave_names": list(wave_names),
        "n_clusters": k,
        "n_points": int(lab_k.size),
        "n_ignored": int((wm < 0).sum()),
        "nmi": float(normalized_mutual_info_score(wm_k, lab_k)),
        "homogeneity": float(h),
        "completeness": float(c),
        "v_measure": float(v),
        "ari": float(adjusted_rand_score(wm_k, lab_k)),
        "purity": float(cont.max(axis=1).sum() / lab_k.size),
        "per_wave": per_wave,
        "per_cluster": per_cluster,
    }


# ---------------------------------------------------------------------------
# isoelectric intervals and name proposals
# ---------------------------------------------------------------------------
#: Codes of :func:`interval_masks`: the wave codes of ``WAVE_NAMES`` with 0 now meaning
#: the TP baseline only, plus the two intervals inside a beat.
INTERVAL_NAMES: tuple[str, ...] = ("TP", "P", "QRS", "T", "PR", "ST")
_TP, _P, _QRS, _T, _PR, _ST = range(6)
#: Proposed label (an entry of ``labels.LABEL_VOCAB``) per ``INTERVAL_NAMES`` code.
PROPOSED_NAMES: dict[str, str] = {
    "TP": "TP baseline",
    "P": "P wave",
    "QRS": "QRS complex",
    "T": "T wave",
    "PR": "PR segment",
    "ST": "ST segment",
}


def _check_masks(wave_masks: Any, n_codes: int = 4) -> np.ndarray:
    """Wave masks as (N, T) integer codes in -1..n_codes-1, or a DataError naming the fix."""
    wm = np.asarray(wave_masks)
    if wm.ndim == 3:
        raise DataError(
            f"wave_masks has per-lead shape {wm.shape}; pass one lead, e.g. "
            "ds.wave_mask_for_lead('II')."
        )
    wm = wm[None] if wm.ndim == 1 else wm
    if wm.ndim != 2 or not np.issubdtype(wm.dtype, np.integer):
        raise DataError(
            f"wave_masks must be an integer array (n_records, n_samples), got shape "
            f"{wm.shape} and dtype {wm.dtype}."
        )
    if wm.size and (wm.max() >= n_codes or wm.min() < -1):
        raise DataError(
            f"wave_masks codes must be -1 (not annotated) or 0..{n_codes - 1} (for the wave "
            f"names 0 none, 1 P, 2 QRS, 3 T); got values {int(wm.min())}..{int(wm.max())}."
        )
    return wm


def _contingency(
    cluster_labels: Any, codes: np.ndarray, n_clusters: int | None, n_codes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and codes of the annotated time steps, and their (K, n_codes) counts."""
    lab = np.asarray(cluster_labels)
    lab = lab[None] if lab.ndim == 1 else lab
    if lab.shape != codes.shape:
        raise DataError(
            f"cluster_labels {lab.shape} and wave_masks {codes.shape} must have the same "
            "shape (n_records, n_samples); compute labels at the input resolution."
        )
    if not np.issubdtype(lab.dtype, np.integer):
        raise DataError("cluster_labels must be an integer array.")
    keep = codes >= 0
    if keep.all():  # no copy of every time step when all are annotated (delineated masks)
        lab_k, code_k = lab.ravel(), codes.ravel()
    else:
        lab_k, code_k = lab[keep], codes[keep]
    if lab_k.size == 0:
        raise DataError("no annotated time step: every wave_masks value is -1.")
    if (lab_k < 0).any():
        raise DataError("cluster_labels contains negative values.")
    k = int(lab_k.max()) + 1 if n_clusters is None else int(n_clusters)
    if lab_k.max() >= k:
        raise DataError(f"cluster_labels has value {int(lab_k.max())} >= n_clusters={k}.")
    cell = lab_k.astype(np.int64 if k * n_codes >= 2**31 else np.int32) * n_codes + code_k
    cont = np.bincount(cell, minlength=k * n_codes).reshape(k, n_codes)
    return lab_k, code_k, cont


def interval_masks(wave_masks: Any) -> np.ndarray:
    """Split the "none" time steps of wave masks into TP, PR and ST by the landmarks.

    A run of "none" (code 0) between two annotated waves is named by them:

    * PR segment: after a P offset and before the next QRS onset;
    * ST segment: after a QRS offset and before the next T onset;
    * TP baseline: everything else (T offset to the next P or QRS onset, before the
      first wave of a record, after the last, or next to a gap of unannotated ``-1``).

    Parameters
    ----------
    wave_masks : int array (N, T) or (T,)
        Codes of ``WAVE_NAMES`` (0 none, 1 P, 2 QRS, 3 T; -1 not annotated).

    Returns
    -------
    ndarray (N, T) int8
        Codes of ``INTERVAL_NAMES``: 0 TP, 1 P, 2 QRS, 3 T, 4 PR, 5 ST, and -1 where the
        input is -1.

    Examples
    --------
    >>> m = np.array([0, 1, 1, 0, 2, 2, 0, 0, 3, 3, 0, 1])
    >>> interval_masks(m)[0].tolist()
    [0, 1, 1, 4, 2, 2, 5, 5, 3, 3, 0, 1]
    """
    wm = _check_masks(wave_masks)
    out = wm.astype(np.int8, copy=True)
    for r in range(wm.shape[0]):
        row = wm[r]
        # Boundaries of the runs of equal codes, then each zero run looks at its neighbours.
        _, starts, ends, codes = segment_arrays(row, drop_invalid=False)
        for j in np.flatnonzero(codes == 0):
            prev = codes[j - 1] if j > 0 else -1
            nxt = codes[j + 1] if j + 1 < len(codes) else -1
            if prev == _P and nxt == _QRS:
                out[r, starts[j] : ends[j]] = _PR
            elif prev == _QRS and nxt == _T:
                out[r, starts[j] : ends[j]] = _ST
    return out


def propose_wave_names(
    cluster_labels: Any,
    wave_masks: Any,
    n_clusters: int | None = None,
    cluster_ids: Sequence[int] | None = None,
    intervals: np.ndarray | None = None,
) -> dict:
    """A wave or interval name per cluster, from landmarks (annotated or delineated).

    The "none" time steps are first split into TP, PR and ST by :func:`interval_masks`;
    each cluster is then named after the code with the largest ``share * enrichment``,
    where ``share`` is the fraction of the cluster's time steps with that code and
    ``enrichment`` is that share divided by the code's share of all time steps (by share
    alone the TP baseline, which fills most of an ECG, would name nearly every cluster).
    A proposal for an expert to confirm, not a diagnosis.

    Parameters
    ----------
    cluster_labels : int array (N, T)
        Cluster position per time step, ``0..n_clusters-1`` (e.g.
        ``tlc.explain_all(ds).labels``).
    wave_masks : int array (N, T)
        Wave codes of ``WAVE_NAMES`` (-1 ignored), e.g. ``ds.wave_mask_for_lead("II")``
        or :func:`delineate`.
    n_clusters : int, optional
        K (default ``max(label) + 1``, or ``len(cluster_ids)``).
    cluster_ids : sequence of int, optional
        Stable id of each position (default the positions).
    intervals : int array (N, T), optional
        ``interval_masks(wave_masks)`` when already computed (it does not depend on the
        clusters, so a caller naming the clusters of several K computes it once).

    Returns
    -------
    dict (JSON-safe)
        ``contingency`` (K x 6 counts over ``INTERVAL_NAMES``), ``interval_names``,
        ``code_share`` (share of each code over all annotated time steps) and
        ``clusters``: per position ``cluster_id``, ``wave`` (the code's name or None for an
        empty cluster), ``proposed_name``, ``purity`` (share of the cluster's time steps
        with that code), ``enrichment`` and ``majority_wave``.

    Examples
    --------
    >>> m = np.array([[0, 1, 1, 0, 2, 2, 0, 0, 3, 3, 0, 0]])
    >>> lab = np.array([[0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 0, 0]])
    >>> [c["proposed_name"] for c in propose_wave_names(lab, m)["clusters"]]
    ['TP baseline', 'P wave', 'PR segment', 'QRS complex', 'ST segment', 'T wave']
    """
    codes = (
        interval_masks(wave_masks)
        if intervals is None
        else _check_masks(intervals, len(INTERVAL_NAMES))
    )
    if n_clusters is None and cluster_ids is not None:
        n_clusters = len(cluster_ids)
    n_codes = len(INTERVAL_NAMES)
    cont = _contingency(cluster_labels, codes, n_clusters, n_codes)[2]
    k = cont.shape[0]
    ids = list(range(k)) if cluster_ids is None else [int(c) for c in cluster_ids]
    if len(ids) != k:
        raise DataError(f"{len(ids)} cluster_ids for n_clusters={k}.")
    code_share = cont.sum(axis=0) / cont.sum()
    clusters = []
    for cid, row in zip(ids, cont):
        entry = {
            "cluster_id": cid,
            "wave": None,
            "proposed_name": None,
            "purity": 0.0,
            "enrichment": None,
            "majority_wave": None,
        }
        if row.sum() > 0:
            share = row / row.sum()
            lift = np.divide(share, code_share, out=np.zeros(n_codes), where=code_share > 0)
            w = int(np.argmax(share * lift))
            entry.update(
                wave=INTERVAL_NAMES[w],
                proposed_name=PROPOSED_NAMES[INTERVAL_NAMES[w]],
                purity=float(share[w]),
                enrichment=float(lift[w]),
                majority_wave=INTERVAL_NAMES[int(np.argmax(row))],
            )
        clusters.append(entry)
    return {
        "contingency": cont.tolist(),
        "interval_names": list(INTERVAL_NAMES),
        "code_share": [float(v) for v in code_share],
        "clusters": clusters,
    }


# ---------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------
def _window_features(sig: np.ndarray, half: int, step: int) -> np.ndarray:
    """(L, T) standardised record -> (T, L * taps) windows centred on every sample."""
    pad = np.pad(sig, ((0, 0), (half, half)), mode="edge")
    offsets = np.arange(-half, half + 1, step) + half
    t = np.arange(sig.shape[1])
    win = pad[:, t[:, None] + offsets[None, :]]  # (L, T, taps)
    return win.transpose(1, 0, 2).reshape(sig.shape[1], -1)


def raw_window_kmeans_labels(
    ds: ECGDataset,
    n_clusters: int,
    window_s: float = 0.12,
    random_state: int = 0,
    max_fit_points: int = 20_000,
    max_taps: int = 13,
    n_components: int = 16,
    fit_ds: ECGDataset | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Baseline: k-means on raw multi-lead windows centred on every time step.

    Each lead is z-scored (statistics of ``fit_ds``, default ``ds``); the window of
    ``window_s`` seconds around each sample is subsampled to at most ``max_taps`` taps per
    lead; the windows are reduced by PCA to ``n_components`` and k-means (k-means++,
    ``n_init=2``) is fitted on ``max_fit_points`` random points
    and every time step of ``ds`` is labelled.

    Returns the (N, T) int16 cluster labels of ``ds``.

    Parameters
    ----------
    ds : ECGDataset
    n_clusters : int
    window_s : float
        Window length in seconds.
    random_state : int
    max_fit_points : int
        Windows that fit the PCA and k-means.
    max_taps : int
        Samples kept per lead and window.
    n_components : int
        PCA dimensions.
    fit_ds : ECGDataset, optional
    progress : bool

    Returns
    -------
    ndarray of shape (N, T), int16

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ds = ECGDataset(rng.normal(size=(2, 3, 200)), fs=100, lead_names=("I", "II", "III"))
    >>> raw_window_kmeans_labels(ds, 4).shape
    (2, 200)
    """
    if not isinstance(ds, ECGDataset):
        raise DataError(f"raw_window_kmeans_labels needs an ECGDataset, got {type(ds).__name__}.")
    if int(n_clusters) < 2:
        raise DataError(f"n_clusters must be >= 2, got {n_clusters}.")
    fit_ds = ds if fit_ds is None else fit_ds
    ds.check_finite()
    fit_ds.check_finite()
    if fit_ds.n_leads != ds.n_leads:
        raise DataError(f"fit_ds has {fit_ds.n_leads} leads but ds has {ds.n_leads}.")
    mu = fit_ds.signals.mean(axis=(0, 2))[:, None]
    sd = fit_ds.signals.std(axis=(0, 2))[:, None] + 1e-6
    half = max(1, round(window_s * ds.fs / 2))
    step = max(1, int(np.ceil((2 * half + 1) / max_taps)))
    rng = np.random.default_rng(random_state)
    n_fit, t_fit = len(fit_ds), fit_ds.n_samples
    n_pts = min(int(max_fit_points), n_fit * t_fit)
    flat = np.sort(rng.choice(n_fit * t_fit, size=n_pts, replace=False))
    rec, ts = np.divmod(flat, t_fit)
    feats = []
    for r in np.unique(rec):
        f = _window_features((fit_ds.signals[r] - mu) / sd, half, step)
        feats.append(f[ts[rec == r]])
    fit_x = np.concatenate(feats).astype(np.float32)
    # PCA first: k-means in ~150-700 raw dimensions is slow and mostly fits noise.
    # One BLAS/OpenMP thread: these problems are small, and on a shared machine thread
    # oversubscription made k-means several times slower.
    with threadpool_limits(1):
        pca = PCA(n_components=min(n_components, fit_x.shape[1]), random_state=random_state)
        pca.fit(fit_x)
        km = KMeans(int(n_clusters), n_init=2, max_iter=100, random_state=random_state)
        km.fit(pca.transform(fit_x))
    centers = km.cluster_centers_.astype(np.float32)
    out = np.empty((len(ds), ds.n_samples), dtype=np.int16)
    for i in tqdm(range(len(ds)), desc="raw k-means", disable=not progress, leave=False):
        z = pca.transform(
            _window_features((ds.signals[i] - mu) / sd, half, step).astype(np.float32)
        )
        out[i] = ((z[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)
    return out


def untrained_model_labels(
    model: Any,
    train_ds: ECGDataset,
    test_ds: ECGDataset | None = None,
    n_clusters: int = 6,
    random_state: int = 0,
    **tlc_kwargs: Any,
) -> np.ndarray:
    """Baseline: the TLC pipeline on a randomly re-initialised copy of the network.

    The copy has the same architecture (``type(net)(**net.config)``, seeded with
    ``random_state``) and, for a bundle, the same preprocessing (standardiser, leads, fs).
    The explainer is fitted on ``train_ds`` and labels ``test_ds`` (default ``train_ds``).

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
        The trained model; it is not modified.
    train_ds : ECGDataset
        Records the explainer is fitted on.
    test_ds : ECGDataset, optional
        Records to label (default ``train_ds``).
    n_clusters : int
        Number of clusters K.
    random_state : int
        Seed of the re-initialisation and of the explainer.
    **tlc_kwargs
        Passed to :class:`TLCExplainer`.

    Returns
    -------
    ndarray (N_test, T) int cluster positions at input resolution.

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    >>> wave = np.sin(np.linspace(0, 40, 200)) * np.linspace(0.5, 1.5, 8)[:, None]
    >>> ds = ECGDataset(np.repeat(wave[:, None, :], 12, axis=1), fs=100)
    >>> untrained_model_labels(net, ds, n_clusters=3, n_components=4, progress=False).shape
    (8, 200)
    """
    import torch

    from ..model.checkpoint import is_bundle
    from .explainer import TLCExplainer

    bundled = is_bundle(model)
    net = model.model if bundled else model
    config = getattr(net, "config", None)
    if not isinstance(config, dict):
        raise ModelError(
            f"{type(net).__name__} has no .config dict, so it cannot be re-initialised; "
            "build the untrained copy yourself and pass it to TLCExplainer."
        )
    # Seed a private generator state so the caller's global torch RNG is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(random_state))
        fresh = type(net)(**config).eval()
    if bundled:
        # Shallow copy: same standardiser / leads / fs, but the original keeps its network.
        target = copy.copy(model)
        target.model = fresh
    else:
        target = fresh
    tlc_kwargs.setdefault("progress", False)
    tlc = TLCExplainer(target, n_clusters=n_clusters, random_state=random_state, **tlc_kwargs)
    tlc.fit(train_ds)
    return np.asarray(tlc.explain_all(train_ds if test_ds is None else test_ds).labels)
