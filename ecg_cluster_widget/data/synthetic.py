"""Synthetic 12-lead ECGs with exact wave masks and label-defining pathologies.

Each record is generated from a 3-D cardiac dipole (a vectorcardiogram) that is
projected onto the 12 standard lead vectors, so the leads are mutually consistent
(Einthoven: ``III = II - I``, ``aVR = -(I + II) / 2``, ...) and lead-specific
morphology follows from geometry: aVR is negative, V1 shows rS, V5/V6 show qR, the
R/S transition sits around V3.

Every wave is a sum of compactly supported bumps ``(1 - u**2)**3`` (``|u| < 1``), so
a wave is *exactly* zero outside its support and ``wave_masks`` (0 none, 1 P,
2 QRS, 3 T) mark precisely where the P, QRS and T dipole components were drawn.
ST-segment shifts are a plateau that rises inside the QRS and falls inside the T
wave, so the ST segment stays code 0 (it is not a wave).

Pathologies (multi-label, columns of ``SYNTHETIC_CLASSES``):

* **MI** - pathological Q waves (deep, >= 40 ms) in an inferior, anterior or lateral
  territory, loss of R there, often with T inversion and sometimes ST elevation.
* **STTC** - T-wave inversion and/or ST depression, or ST elevation.
* **CD** - right or left bundle branch block: QRS 120-160 ms, rSR' or notched R,
  secondary (discordant) T changes.
* **AF** - no P waves, irregularly irregular RR, fibrillatory f-wave baseline.
* **NORM** - none of the above.

Noise (white, baseline wander, occasional powerline and muscle bursts) is generated
per electrode (RA, LA, LL, V1-V6) and passed through the same lead equations, so it
is consistent across leads as well.
"""

from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from ..errors import DataError
from .dataset import ECGDataset, _own, check_count
from .dipole import (
    _QRS_SLOTS,
    _SLOTS,
    _bump_render,
    _lead_projection,
    _paint,
    _plateau_render,
    _templates,
)
from .leads import STANDARD_LEADS
from .preprocess import _lerp

SYNTHETIC_CLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "AF")

_CHUNK = 64  # records rendered per chunk; fixed so results never depend on memory


def _leads_for(n_leads: int) -> tuple[str, ...]:
    # A single lead is most useful as lead II (the rhythm strip); otherwise keep the
    # standard order so 12 leads are exactly STANDARD_LEADS.
    return ("II",) if n_leads == 1 else STANDARD_LEADS[:n_leads]


def _check_args(n_records, fs, duration, n_leads, noise, baseline_wander, pathology_rate):
    check_count(n_records, "n_records")
    for name, val in (("fs", fs), ("duration", duration)):
        if not isinstance(val, (int, float, np.number)) or not np.isfinite(val) or val <= 0:
            raise DataError(f"{name} must be a positive number, got {val!r}.")
    if fs < 50:
        raise DataError(f"fs={fs} Hz is too low to draw a QRS complex; use fs >= 50 Hz.")
    if duration < 1.0:
        raise DataError(f"duration={duration} s is too short; use at least 1 s.")
    if not isinstance(n_leads, (int, np.integer)) or not 1 <= n_leads <= 12:
        raise DataError(f"n_leads must be an integer in 1..12, got {n_leads!r}.")
    for name, val in (("noise", noise), ("baseline_wander", baseline_wander)):
        if not np.isfinite(val) or val < 0:
            raise DataError(f"{name} must be a non-negative amplitude in mV, got {val!r}.")
    if not np.isfinite(pathology_rate) or not 0 <= pathology_rate <= 1:
        raise DataError(f"pathology_rate must be in [0, 1], got {pathology_rate!r}.")


def _draw_labels(rng: np.random.Generator, n: int, pathology_rate: float) -> np.ndarray:
    """(n, 4) bool for MI, STTC, CD, AF: one primary pathology, others co-occur at 15 %."""
    abnormal = rng.random(n) < pathology_rate
    primary = rng.integers(0, 4, n)
    extra = rng.random((n, 4)) < 0.15
    lab = extra.copy()
    lab[np.arange(n), primary] = True
    lab &= abnormal[:, None]
    return lab


def _beat_times(rng, n, duration, af, hr):
    """R-peak times (n, B) with NaN padding, plus the previous and next RR of each beat."""
    rr0 = 60.0 / hr
    b = int(math.ceil((duration + 3.0) / 0.38)) + 2
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    f_resp = rng.uniform(0.15, 0.35, n)[:, None]
    t_first = -1.2 - rng.uniform(0, 1, n)[:, None] * rr0[:, None]
    approx = t_first + np.arange(b)[None] * rr0[:, None]
    # Sinus: respiratory sinus arrhythmia + small jitter. AF: irregularly irregular.
    sinus = rr0[:, None] * (
        1 + 0.04 * np.sin(2 * np.pi * f_resp * approx + phase) + rng.normal(0, 0.015, (n, b))
    )
    irregular = np.clip(rr0[:, None] * np.exp(rng.normal(0, 0.22, (n, b))), 0.4, 1.6)
    gaps = np.where(af[:, None], irregular, sinus)
    gaps = np.maximum(gaps, 0.4)
    r = t_first + np.concatenate([np.zeros((n, 1)), np.cumsum(gaps[:, :-1], 1)], 1)
    prev = np.concatenate([rr0[:, None], gaps[:, :-1]], 1)
    keep = (r > -1.0) & (r < duration + 1.0)
    return np.where(keep, r, np.nan), prev, gaps, f_resp, phase


def make_synthetic(
    n_records: int = 1000,
    fs: float = 100.0,
    duration: float = 10.0,
    n_leads: int = 12,
    seed: int = 0,
    *,
    noise: float = 0.03,
    baseline_wander: float = 0.1,
    pathology_rate: float = 0.5,
    progress: bool = False,
) -> ECGDataset:
    """Generate realistic synthetic ECGs with exact P/QRS/T masks and pathology labels.

    Parameters
    ----------
    n_records : int
        Number of ECGs.
    fs : float
        Sampling rate in Hz (>= 50).
    duration : float
        Length of each ECG in seconds (>= 1).
    n_leads : int
        1..12. Twelve gives ``STANDARD_LEADS``; fewer gives the first ``n_leads`` of
        them, except a single lead, which is lead II.
    seed : int
        Seed; the same arguments always give identical arrays.
    noise : float
        Standard deviation of white noise per lead, in mV.
    baseline_wander : float
        Amplitude of low-frequency baseline wander, in mV.
    pathology_rate : float
        Probability that a record has at least one pathology (MI, STTC, CD, AF).
        The default 0.5 keeps about half of the records NORM.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    ECGDataset
        ``signals`` (n, n_leads, round(duration * fs)) float32 in mV; ``labels`` (n, 5)
        with ``class_names == SYNTHETIC_CLASSES``; ``wave_masks`` (n, n_samples) int8
        with 0 none, 1 P, 2 QRS, 3 T; ``meta`` with per-record arrays ``heart_rate``
        (bpm, mean over the record), ``qrs_ms``, ``pr_ms`` (NaN in AF), ``qt_ms``,
        ``mi_territory``, ``sttc_type``, ``cd_type``, ``beats`` (list of R-peak sample
        indices per record) and the generator arguments.

    Examples
    --------
    >>> ds = make_synthetic(8, seed=1)
    >>> ds.signals.shape, ds.class_names[0], ds.wave_masks.dtype
    ((8, 12, 1000), 'NORM', dtype('int8'))
    >>> bool((make_synthetic(8, seed=1).signals == ds.signals).all())
    True
    """
    _check_args(n_records, fs, duration, n_leads, noise, baseline_wander, pathology_rate)
    n = int(n_records)
    fs = float(fs)
    t_len = int(round(duration * fs))
    rng = np.random.default_rng(seed)
    lab = _draw_labels(rng, n, float(pathology_rate))
    mi, sttc, cd, af = lab.T
    tpl = _templates(rng, lab)
    u = rng.uniform

    hr = np.where(af, u(65, 110, n), u(50, 105, n))
    r_t, rr_prev, rr_next, f_resp, phase = _beat_times(rng, n, duration, af, hr)
    qrs_on, qrs_off = tpl["qrs_on"], tpl["qrs_off"]
    qrs_dur = qrs_off - qrs_on

    # Intervals: PR and QT shorten with heart rate (QT by Fridericia's cube root).
    pr0 = u(0.13, 0.19, n)[:, None]
    p_dur = u(0.08, 0.11, n)[:, None]
    qtc = u(0.38, 0.44, n)[:, None]
    t_frac = u(0.42, 0.5, n)[:, None]
    pr = pr0 * rr_prev**0.2
    pr_next = pr0 * rr_next**0.2
    qt = qtc * rr_prev ** (1 / 3) + np.maximum(qrs_dur - 0.09, 0)[:, None]
    next_on = rr_next + qrs_on[:, None] - np.where(af[:, None], 0.0, pr_next)
    t_end = np.minimum(qrs_on[:, None] + qt, next_on - 0.04)
    t_on = np.maximum(t_end - t_frac * qt, qrs_off[:, None] + 0.02)
    t_dur = t_end - t_on
    p_on = qrs_on[:, None] - pr

    beat_amp = 1 + 0.05 * np.sin(2 * np.pi * f_resp * np.nan_to_num(r_t) + phase + 1.0)
    beat_amp = beat_amp * (1 + rng.normal(0, 0.02, r_t.shape))

    leads = _leads_for(int(n_leads))
    lead_mat, elec = _lead_projection(rng, n, leads)

    # AF fibrillatory waves: a few 4-9 Hz oscillations along a mostly inferior-anterior axis.
    f_freq = u(4, 9, (n, 3))
    f_phase = u(0, 2 * np.pi, (n, 3))
    f_amp = u(0.03, 0.08, (n, 3))
    f_dir = np.array([-0.2, 0.5, 0.7]) + rng.normal(0, 0.15, (n, 3))
    f_dir /= np.linalg.norm(f_dir, axis=1, keepdims=True)

    noise_seeds = np.random.SeedSequence(seed).spawn((n + _CHUNK - 1) // _CHUNK)
    signals = np.empty((n, len(leads), t_len), dtype=np.float32)
    masks = np.zeros((n, t_len), dtype=np.int8)
    beats: list[np.ndarray] = []
    tt = np.arange(t_len) / fs
    s = {name: i for i, name in enumerate(_SLOTS)}
    starts = range(0, n, _CHUNK)
    for ci, a in enumerate(tqdm(starts, desc="synthetic ECG", disable=not progress)):
        z = slice(a, min(a + _CHUNK, n))
        m = z.stop - z.start
        valid = ~np.isnan(r_t[z])
        rec, bi = np.nonzero(valid)
        rabs = r_t[z][rec, bi]
        amp = beat_amp[z][rec, bi]
        dip = np.zeros((m, 3, t_len))
        cen = tpl["cen"][z][rec].copy()  # (beats, slots)
        hw = tpl["hw"][z][rec].copy()
        vec = tpl["vec"][z][rec] * amp[:, None, None]
        pon = p_on[z][rec, bi]
        pd_ = p_dur[z][rec, 0]
        cen[:, s["P1"]], hw[:, s["P1"]] = pon + 0.4 * pd_, 0.4 * pd_
        cen[:, s["P2"]], hw[:, s["P2"]] = pon + 0.6 * pd_, 0.4 * pd_
        ton, tdu = t_on[z][rec, bi], t_dur[z][rec, bi]
        cen[:, s["T1"]], hw[:, s["T1"]] = ton + 0.45 * tdu, 0.45 * tdu
        cen[:, s["T2"]], hw[:, s["T2"]] = ton + 0.62 * tdu, 0.38 * tdu
        act = np.abs(vec).sum(-1) > 0
        bb, kk = np.nonzero(act)
        _bump_render(dip, rec[bb], rabs[bb] + cen[bb, kk], hw[bb, kk], vec[bb, kk], fs)

        st = tpl["st"][z][rec] * amp[:, None]
        has_st = np.abs(st).sum(1) > 0
        if has_st.any():
            h = has_st
            t0 = rabs[h]
            t1 = t0 + tpl["qrs_off"][z][rec[h]]
            t2 = rabs[h] + ton[h] + 0.55 * tdu[h]
            t3 = rabs[h] + ton[h] + tdu[h]
            _plateau_render(dip, rec[h], t0, t1, t2, t3, st[h], fs)

        afz = np.flatnonzero(af[z])
        if afz.size:
            g = z.start + afz
            wobble = 0.3 * np.sin(2 * np.pi * 0.3 * tt[None, None] + f_phase[g][..., None])
            osc = np.sin(2 * np.pi * f_freq[g][..., None] * tt + f_phase[g][..., None] + wobble)
            fw = (f_amp[g][..., None] * osc).sum(1)  # (a, T)
            dip[afz] += f_dir[g][:, :, None] * fw[:, None, :]

        sig = np.einsum("nlk,nkt->nlt", lead_mat[z], dip)
        sig += np.einsum(
            "le,net->nlt",
            elec,
            _electrode_noise(
                np.random.default_rng(noise_seeds[ci]), m, t_len, fs, noise, baseline_wander
            ),
        )
        signals[z] = sig.astype(np.float32)

        for code, slots in ((1, ("P1", "P2")), (2, _SLOTS[_QRS_SLOTS]), (3, ("T1", "T2"))):
            idx = [s[x] for x in slots]
            on = np.where(act[:, idx], cen[:, idx] - hw[:, idx], np.inf).min(1)
            off = np.where(act[:, idx], cen[:, idx] + hw[:, idx], -np.inf).max(1)
            ok = np.isfinite(on)
            _paint(masks[z], rec[ok], rabs[ok] + on[ok], rabs[ok] + off[ok], code, fs)
        for j in range(m):
            rj = r_t[z][j][valid[j]]
            inside = (rj >= 0) & (rj < duration)
            beats.append(np.round(rj[inside] * fs).astype(np.int64))

    labels = np.zeros((n, 5), dtype=np.float32)
    labels[:, 1:] = lab
    labels[:, 0] = ~lab.any(1)
    mean_rr = np.array(
        [np.diff(b).mean() / fs if b.size > 1 else 60 / h for b, h in zip(beats, hr)]
    )
    per_record = {
        "heart_rate": (60.0 / mean_rr).astype(np.float32),
        "qrs_ms": (1000 * qrs_dur).astype(np.float32),
        "pr_ms": np.where(af, np.nan, 1000 * pr0[:, 0]).astype(np.float32),
        "qt_ms": (1000 * (qtc[:, 0] + np.maximum(qrs_dur - 0.09, 0))).astype(np.float32),
        "mi_territory": tpl["mi_territory"],
        "sttc_type": tpl["sttc_type"],
        "cd_type": tpl["cd_type"],
        "beats": beats,
    }
    meta = {
        "source": "synthetic",
        "generator": dict(
            n_records=n,
            fs=fs,
            duration=float(duration),
            n_leads=int(n_leads),
            seed=seed,
            noise=float(noise),
            baseline_wander=float(baseline_wander),
            pathology_rate=float(pathology_rate),
        ),
        **per_record,
        "units": "mV",
        "per_record": tuple(per_record),
    }
    return ECGDataset(
        signals=_own(signals),
        fs=fs,
        lead_names=leads,
        labels=labels,
        class_names=SYNTHETIC_CLASSES,
        wave_masks=masks,
        record_ids=tuple(f"syn{i:05d}" for i in range(n)),
        meta=meta,
    )


def _electrode_noise(rng, m, t_len, fs, noise, wander):
    """Noise per electrode (m, 9, T): white, baseline wander, powerline and muscle bursts."""
    t = np.arange(t_len) / fs
    # Lead noise combines ~2 electrodes, so scale per-electrode white noise down.
    out = rng.standard_normal((m, 9, t_len), dtype=np.float32)
    out *= np.float32(noise / math.sqrt(2))
    if wander > 0:
        freq = rng.uniform(0.05, 0.5, (m, 9, 3))
        ph = rng.uniform(0, 2 * np.pi, (m, 9, 3))
        amp = rng.uniform(0.2, 1.0, (m, 9, 3)) * wander / 1.5
        # Wander is below 0.5 Hz: evaluate on a 10 Hz grid and interpolate linearly,
        # which is far cheaper than a sine per sample and indistinguishable.
        tc = np.arange(int(np.ceil(t[-1] * 10)) + 2) / 10.0
        coarse = (amp[..., None] * np.sin(2 * np.pi * freq[..., None] * tc + ph[..., None])).sum(2)
        out += _lerp(coarse, t * 10.0)
    # Powerline and muscle artefacts scale with ``noise`` so that noise=0 is truly clean.
    level = noise / 0.03
    mains = rng.choice([50.0, 60.0], m)
    has_pl = (rng.random(m) < 0.1) & (mains < fs / 2)
    pl_amp = rng.uniform(0.01, 0.04, (m, 9)) * level
    pl_ph = rng.uniform(0, 2 * np.pi, m)
    for k in np.flatnonzero(has_pl):
        out[k] += pl_amp[k][:, None] * np.sin(2 * np.pi * mains[k] * t + pl_ph[k])
    has_emg = rng.random(m) < 0.15
    if has_emg.any():
        k = np.flatnonzero(has_emg)
        raw = rng.normal(0, 1, (k.size, 9, t_len + 1))
        hp = np.diff(raw, axis=-1) / 2  # first difference: mostly high-frequency content
        centre = rng.uniform(0, t_len / fs, (k.size, 1, 1))
        width = rng.uniform(0.5, 2.0, (k.size, 1, 1))
        env = np.exp(-0.5 * ((t - centre) / width) ** 2)
        amp = rng.uniform(0.02, 0.06, (k.size, 9, 1)) * level
        amp[:, 3:] *= 0.3  # muscle artefact is mostly on the limb electrodes
        out[k] += amp * env * hp
    return out
