"""Landmark alignment of clusters with P / QRS / T waves, a simple delineator, baselines.

* :func:`landmark_alignment` scores how well per-time-step cluster labels line up with
  wave annotations (codes of ``WAVE_NAMES``: 0 none/TP, 1 P, 2 QRS, 3 T; -1 ignored):
  contingency table, NMI, homogeneity / completeness / V-measure, best cluster per wave.
* :func:`interval_masks` splits the "none" code into the isoelectric intervals by the
  landmarks around each run (PR: P offset to QRS onset; ST: QRS offset to T onset; TP:
  T offset to the next P onset), and :func:`propose_wave_names` names each cluster after
  the wave or interval it holds most (share weighted by enrichment), so PR and ST
  clusters are no longer all proposed as "TP baseline".
* :func:`delineate` is a small, fully deterministic rule-based delineator (Pan-Tompkins
  style R-peak detection, slope-energy QRS bounds, RR-scaled search windows for T and P)
  used when a dataset has no wave masks.
* :func:`raw_window_kmeans_labels` and :func:`untrained_model_labels` are the baselines of
  the paper-style comparison: clusters of raw signal windows, and TLC on a network with
  the same architecture but random weights. If the trained network's clusters align
  better with the waves than both, the alignment is learned rather than inherited from
  the signal or the architecture.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.signal import butter, find_peaks, sosfiltfilt
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
    "delineate",
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
    lab = np.asarray(cluster_labels)
    wm = np.asarray(wave_masks)
    if wm.ndim == 3:
        raise DataError(
            f"wave_masks has per-lead shape {wm.shape}; pass one lead, e.g. "
            "ds.wave_mask_for_lead('II')."
        )
    if lab.ndim == 1:
        lab, wm = lab[None], wm[None] if wm.ndim == 1 else wm
    if lab.shape != wm.shape:
        raise DataError(
            f"cluster_labels {lab.shape} and wave_masks {wm.shape} must have the same shape "
            "(n_records, n_samples); compute labels at the input resolution."
        )
    if not (np.issubdtype(lab.dtype, np.integer) and np.issubdtype(wm.dtype, np.integer)):
        raise DataError("cluster_labels and wave_masks must be integer arrays.")
    n_waves = len(wave_names)
    keep = wm >= 0
    lab_k, wm_k = lab[keep].astype(np.int64), wm[keep].astype(np.int64)
    if lab_k.size == 0:
        raise DataError("no annotated time step: every wave_masks value is -1.")
    if (wm_k >= n_waves).any():
        raise DataError(f"wave_masks has codes >= {n_waves}; valid codes are -1..{n_waves - 1}.")
    if (lab_k < 0).any():
        raise DataError("cluster_labels contains negative values.")
    k = int(lab_k.max()) + 1 if n_clusters is None else int(n_clusters)
    if lab_k.max() >= k:
        raise DataError(f"cluster_labels has value {int(lab_k.max())} >= n_clusters={k}.")
    cont = np.bincount(lab_k * n_waves + wm_k, minlength=k * n_waves).reshape(k, n_waves)
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
    per_cluster = []
    for j in range(k):
        maj = int(np.argmax(cont[j])) if cl_size[j] else -1
        per_cluster.append(
            {
                "cluster": j,
                "majority_wave": wave_names[maj] if maj >= 0 else None,
                "purity": float(cont[j, maj] / cl_size[j]) if cl_size[j] else 0.0,
                "size": int(cl_size[j]),
            }
        )
    return {
        "contingency": cont.tolist(),
        "wave_names": list(wave_names),
        "n_clusters": k,
        "n_points": int(lab_k.size),
        "n_ignored": int((~keep).sum()),
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
#: Proposed label (an entry of ``views.labels.LABEL_VOCAB``) per ``INTERVAL_NAMES`` code.
PROPOSED_NAMES: dict[str, str] = {
    "TP": "TP baseline",
    "P": "P wave",
    "QRS": "QRS complex",
    "T": "T wave",
    "PR": "PR segment",
    "ST": "ST segment",
}


def _check_masks(wave_masks: Any) -> np.ndarray:
    wm = np.asarray(wave_masks)
    if wm.ndim == 3:
        raise DataError(
            f"wave_masks has per-lead shape {wm.shape}; pass one lead, e.g. "
            "ds.wave_mask_for_lead('II')."
        )
    if wm.ndim == 1:
        wm = wm[None]
    if wm.ndim != 2 or not np.issubdtype(wm.dtype, np.integer):
        raise DataError(
            f"wave_masks must be an integer array (n_records, n_samples), got shape "
            f"{wm.shape} and dtype {wm.dtype}."
        )
    if wm.size and (wm.max() > 3 or wm.min() < -1):
        raise DataError(
            "wave_masks codes must be -1 (not annotated), 0 none, 1 P, 2 QRS or 3 T; "
            f"got values {int(wm.min())}..{int(wm.max())}."
        )
    return wm


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

    Raises
    ------
    DataError
        For per-lead (3-D) masks, a non-integer array or codes outside -1..3.

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
) -> dict:
    """A wave or interval name per cluster, from landmarks (annotated or delineated).

    The "none" time steps are first split into TP, PR and ST by :func:`interval_masks`;
    each cluster is then named after the code with the largest ``share * enrichment``,
    where ``share`` is the fraction of the cluster's time steps with that code and
    ``enrichment`` is that share divided by the code's share of all time steps. By plain
    majority (share alone) the TP baseline, which fills most of an ECG, would name nearly
    every cluster; by enrichment alone a short interval making up a small part of a mixed
    cluster could name it; without the split, PR and ST clusters could only be called
    "TP baseline". A proposal for an expert to confirm, not a diagnosis.

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

    Returns
    -------
    dict (JSON-safe)
        ``contingency`` (K x 6 counts over ``INTERVAL_NAMES``), ``interval_names``,
        ``code_share`` (share of each code over all annotated time steps) and
        ``clusters``: per position ``cluster_id``, ``wave`` (the code's name or None for an
        empty cluster), ``proposed_name``, ``purity`` (share of the cluster's time steps
        with that code), ``enrichment`` and ``majority_wave``.

    Raises
    ------
    DataError
        If the shapes differ, labels are out of range or no time step is annotated.

    Examples
    --------
    >>> m = np.array([[0, 1, 1, 0, 2, 2, 0, 0, 3, 3, 0, 0]])
    >>> lab = np.array([[0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 0, 0]])
    >>> [c["proposed_name"] for c in propose_wave_names(lab, m)["clusters"]]
    ['TP baseline', 'P wave', 'PR segment', 'QRS complex', 'ST segment', 'T wave']
    """
    codes = interval_masks(wave_masks)
    lab = np.asarray(cluster_labels)
    if lab.ndim == 1:
        lab = lab[None]
    if lab.shape != codes.shape:
        raise DataError(
            f"cluster_labels {lab.shape} and wave_masks {codes.shape} must have the same "
            "shape (n_records, n_samples); compute labels at the input resolution."
        )
    if not np.issubdtype(lab.dtype, np.integer):
        raise DataError("cluster_labels must be an integer array.")
    keep = codes >= 0
    lab_k, code_k = lab[keep].astype(np.int64), codes[keep].astype(np.int64)
    if lab_k.size == 0:
        raise DataError("no annotated time step: every wave_masks value is -1.")
    if (lab_k < 0).any():
        raise DataError("cluster_labels contains negative values.")
    if n_clusters is None:
        n_clusters = len(cluster_ids) if cluster_ids is not None else int(lab_k.max()) + 1
    k = int(n_clusters)
    if lab_k.max() >= k:
        raise DataError(f"cluster_labels has value {int(lab_k.max())} >= n_clusters={k}.")
    ids = list(range(k)) if cluster_ids is None else [int(c) for c in cluster_ids]
    if len(ids) != k:
        raise DataError(f"{len(ids)} cluster_ids for n_clusters={k}.")
    n_codes = len(INTERVAL_NAMES)
    cont = np.bincount(lab_k * n_codes + code_k, minlength=k * n_codes).reshape(k, n_codes)
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
# delineator
# ---------------------------------------------------------------------------
def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average (no delay, unlike a causal integrator)."""
    n = max(1, int(n))
    if n == 1:
        return x
    k = np.ones(n) / n
    return np.convolve(np.pad(x, (n // 2, n - 1 - n // 2), mode="edge"), k, mode="valid")


def _extent(dev: np.ndarray, peak: int, lo: int, hi: int, frac: float) -> tuple[int, int]:
    """Grow [start, end) around ``peak`` while |dev| stays above ``frac`` of its peak value."""
    thr = frac * abs(dev[peak])
    s = peak
    while s > lo and abs(dev[s - 1]) > thr:
        s -= 1
    e = peak + 1
    while e < hi and abs(dev[e]) > thr:
        e += 1
    return s, e


# Rule constants, chosen on LUDB lead ii (records 1-40; QRS F1 0.87 on all 200) and
# checked on the synthetic generator (QRS F1 0.87 at 100 Hz).
_QRS_ENV_FRAC = 0.015
_T_FRAC = 0.12
_P_FRAC = 0.12


def _delineate_one(x: np.ndarray, fs: float) -> np.ndarray:
    n = len(x)
    mask = np.zeros(n, dtype=np.int8)
    ms = fs / 1000.0
    d = np.gradient(x) * fs  # mV/s
    energy = _smooth(d**2, round(100 * ms))
    # Adaptive threshold between the noise floor (median) and the strong beats (99th pct).
    lo_e, hi_e = np.median(energy), np.percentile(energy, 99)
    if hi_e <= lo_e * 1.5 or hi_e <= 0:
        return mask  # flat or pure noise: no beats
    peaks, _ = find_peaks(
        energy, height=lo_e + 0.25 * (hi_e - lo_e), distance=max(1, round(250 * ms))
    )
    if peaks.size == 0:
        return mask
    # R peak: largest absolute deflection from the local level near the energy maximum.
    w = max(1, round(80 * ms))
    r_peaks = []
    for p in peaks:
        a, b = max(0, p - w), min(n, p + w + 1)
        seg = x[a:b] - np.median(x[max(0, p - 4 * w) : min(n, p + 4 * w + 1)])
        r_peaks.append(a + int(np.argmax(np.abs(seg))))
    r_peaks = np.unique(r_peaks)
    # QRS bounds: where a short slope-energy envelope falls below _QRS_ENV_FRAC of its local max.
    env = _smooth(d**2, max(1, round(20 * ms)))
    onsets, offsets = [], []
    for r in r_peaks:
        a, b = max(0, r - round(120 * ms)), min(n, r + round(120 * ms) + 1)
        thr = _QRS_ENV_FRAC * env[a:b].max()
        s = r
        while s > a and env[s - 1] > thr:
            s -= 1
        e = r + 1
        while e < b and env[e] > thr:
            e += 1
        onsets.append(s)
        offsets.append(e)
    rr_all = np.diff(r_peaks)
    rr_med = float(np.median(rr_all)) if rr_all.size else fs
    for i, r in enumerate(r_peaks):
        on, off = onsets[i], offsets[i]
        mask[on:off] = 2
        rr_next = (r_peaks[i + 1] - r) if i + 1 < len(r_peaks) else rr_med
        rr_prev = (r - r_peaks[i - 1]) if i > 0 else rr_med
        # Repolarisation shortens with heart rate (Bazett): scale the T window by sqrt(RR).
        scale = float(np.sqrt(np.clip(rr_next / fs, 0.3, 2.0)))
        next_on = onsets[i + 1] if i + 1 < len(r_peaks) else n
        base_next = np.median(x[r : min(n, r + int(rr_next))]) if r < n - 1 else 0.0
        t_lo = off + round(60 * ms * scale)
        t_hi = min(off + round(450 * ms * scale), next_on - round(80 * ms), n)
        if t_hi - t_lo > 2:
            dev = x - base_next
            tp = t_lo + int(np.argmax(np.abs(dev[t_lo:t_hi])))
            if abs(dev[tp]) > 0.02:
                s, e = _extent(dev, tp, off, min(n, next_on), _T_FRAC)
                mask[s:e][mask[s:e] == 0] = 3
        # P wave: search 300..40 ms before QRS onset, after the previous beat's T wave.
        prev_r = r_peaks[i - 1] if i > 0 else -1
        p_lo = max(0, on - round(300 * ms), prev_r + round(0.6 * rr_prev) if prev_r >= 0 else 0)
        p_hi = on - round(40 * ms)
        if p_hi - p_lo > 2:
            base_prev = np.median(x[max(0, r - int(rr_prev)) : r])
            dev = x - base_prev
            pp = p_lo + int(np.argmax(np.abs(dev[p_lo:p_hi])))
            noise = np.median(np.abs(np.diff(x))) * 3
            if abs(dev[pp]) > max(0.03, noise):
                s, e = _extent(
                    dev, pp, max(0, pp - round(70 * ms)), min(on, pp + round(70 * ms)), _P_FRAC
                )
                mask[s:e][mask[s:e] == 0] = 1
    return mask


def delineate(
    ds: ECGDataset,
    lead: str | int = "II",
    bandpass: tuple[float, float] = (0.5, 40.0),
    progress: bool = False,
) -> np.ndarray:
    """Rule-based P / QRS / T delineation of one lead.

    Steps: zero-phase Butterworth band-pass; R peaks from the derivative energy (100 ms
    centred window) with a threshold a quarter of the way from the median to the 99th
    percentile and a 250 ms refractory period; QRS onset/offset where a 20 ms slope-energy
    envelope drops below 1.5 % of its local maximum; T wave = largest deviation from the
    beat's baseline 60-450 ms (scaled by sqrt(RR)) after the QRS offset, extended while
    above 12 % of its peak; P wave likewise 300-40 ms before QRS onset, only if above
    max(0.03 mV, 3x the sample-to-sample noise).

    Parameters
    ----------
    ds : ECGDataset
    lead : str or int
        Lead to delineate (name or index). Single-lead datasets use their only lead.
    bandpass : (low, high) in Hz
    progress : bool

    Returns
    -------
    ndarray (N, T) int8 with codes 0 none, 1 P, 2 QRS, 3 T.

    Examples
    --------
    >>> t = np.arange(1000) / 100
    >>> beat = np.exp(-((t % 1) - 0.5) ** 2 / (2 * 0.012**2))  # 1 Hz spikes
    >>> m = delineate(ECGDataset(beat[None, None], fs=100, lead_names=("II",)))
    >>> int((m == 2).sum()) > 0
    True
    """
    if not isinstance(ds, ECGDataset):
        raise DataError(f"delineate needs an ECGDataset, got {type(ds).__name__}.")
    ds.check_finite()
    if ds.n_leads == 1:
        li = 0
    elif isinstance(lead, str):
        li = ds.lead_index(lead)
    else:
        li = int(lead)
        if not 0 <= li < ds.n_leads:
            raise DataError(f"lead index {li} out of range for {ds.n_leads} leads.")
    if ds.fs < 50:
        raise DataError(
            f"delineate needs fs >= 50 Hz to resolve a QRS, got {ds.fs:g} Hz; resample first."
        )
    x = ds.signals[:, li].astype(np.float64)
    low, high = bandpass
    high = min(high, 0.45 * ds.fs)
    sos = butter(2, [low, high], btype="bandpass", fs=ds.fs, output="sos")
    padlen = min(x.shape[1] - 1, 3 * 2 * len(sos))
    x = sosfiltfilt(sos, x, axis=1, padlen=padlen)
    out = np.zeros(x.shape, dtype=np.int8)
    for i in tqdm(range(len(x)), desc="delineate", disable=not progress, leave=False):
        out[i] = _delineate_one(x[i], ds.fs)
    return out


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

    Parameters
    ----------
    ds : ECGDataset
        Records to label.
    n_clusters : int
        Number of k-means clusters.
    window_s : float
        Window length in seconds.
    random_state : int
        Seed of the point sample, PCA and k-means.
    max_fit_points : int
        Windows used to fit PCA and k-means.
    max_taps : int
        Samples kept per lead and window.
    n_components : int
        PCA dimensions.
    fit_ds : ECGDataset, optional
        Records to fit on (default ``ds``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    ndarray (N, T) int16 cluster labels.

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

    Raises
    ------
    ModelError
        If the network has no ``config`` dict to rebuild it from.

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
