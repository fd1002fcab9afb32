"""Synthetic 12-lead ECGs with exact wave masks and label-defining pathologies.

Why one file of ~620 lines: the dipole model, beat timing, pathologies and noise of one
generator share their random stream, which must stay in one order for reproducibility.

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
from .dataset import ECGDataset, _own
from .leads import STANDARD_LEADS

SYNTHETIC_CLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "AF")

# Dipole axes: x = patient's left, y = inferior (feet), z = anterior.
_I = np.array([1.0, 0.0, 0.0])
_II = np.array([0.5, math.sqrt(3) / 2, 0.0])
_III = _II - _I
# (azimuth from +x towards +z in degrees, inferior component, gain): chest leads are
# closer to the heart, hence the larger gains with a maximum around V2-V4.
_CHEST = {
    "V1": (118.0, 0.05, 1.3),
    "V2": (95.0, 0.05, 2.0),
    "V3": (75.0, 0.08, 2.0),
    "V4": (55.0, 0.12, 1.9),
    "V5": (30.0, 0.12, 1.6),
    "V6": (8.0, 0.12, 1.25),
}

# QRS / P / T component slots. Vectors in mV, times in seconds relative to the R peak.
_SLOTS = ("P1", "P2", "SEPT", "M1", "M2", "TERM", "QMI", "BBB", "T1", "T2")
_QRS_SLOTS = slice(2, 8)
_CHUNK = 64  # records rendered per chunk; fixed so results never depend on memory


def _lead_matrix() -> dict[str, np.ndarray]:
    rows = {
        "I": _I,
        "II": _II,
        "III": _III,
        "aVR": -(_I + _II) / 2,
        "aVL": (_I - _III) / 2,
        "aVF": (_II + _III) / 2,
    }
    for name, (az, inf, gain) in _CHEST.items():
        a = math.radians(az)
        rows[name] = gain * np.array([math.cos(a), inf, math.sin(a)])
    return rows


def _electrode_matrix() -> np.ndarray:
    """(12, 9) map from electrode potentials RA, LA, LL, V1..V6 to the 12 leads."""
    e = np.zeros((12, 9))
    ra, la, ll = 0, 1, 2
    e[0, [la, ra]] = 1, -1
    e[1, [ll, ra]] = 1, -1
    e[2, [ll, la]] = 1, -1
    e[3, [ra, la, ll]] = 1, -0.5, -0.5
    e[4, [la, ra, ll]] = 1, -0.5, -0.5
    e[5, [ll, ra, la]] = 1, -0.5, -0.5
    for k in range(6):
        e[6 + k, 3 + k] = 1
        e[6 + k, [ra, la, ll]] = -1 / 3
    return e


def _leads_for(n_leads: int) -> tuple[str, ...]:
    # A single lead is most useful as lead II (the rhythm strip); otherwise keep the
    # standard order so 12 leads are exactly STANDARD_LEADS.
    return ("II",) if n_leads == 1 else STANDARD_LEADS[:n_leads]


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) about one coordinate axis."""
    c, s = np.cos(angle), np.sin(angle)
    r = np.zeros(angle.shape + (3, 3))
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    r[..., axis, axis] = 1
    r[..., i, i] = c
    r[..., j, j] = c
    r[..., i, j] = -s
    r[..., j, i] = s
    return r


def _check_args(n_records, fs, duration, n_leads, noise, baseline_wander, pathology_rate):
    if not isinstance(n_records, (int, np.integer)) or n_records <= 0:
        raise DataError(f"n_records must be a positive integer, got {n_records!r}.")
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


def _templates(rng: np.random.Generator, lab: np.ndarray) -> dict[str, np.ndarray]:
    """Per-record component centres, half-widths and vectors (all (n, slots[, 3]))."""
    n = lab.shape[0]
    mi, sttc, cd, af = lab.T
    k = len(_SLOTS)
    vec = np.zeros((n, k, 3))
    cen = np.zeros((n, k))
    hw = np.full((n, k), 0.02)
    s = {name: i for i, name in enumerate(_SLOTS)}
    u = rng.uniform

    # Normal sinus QRS: septal q (right-anterior), two LV components, terminal basal s.
    qs = u(0.8, 1.4, n)[:, None]  # QRS amplitude
    wf = u(0.9, 1.12, n)  # QRS width factor
    vec[:, s["SEPT"]] = np.array([-0.1, 0.02, 0.15]) * qs
    vec[:, s["M1"]] = np.array([0.55, 0.7, 0.25]) * qs
    vec[:, s["M2"]] = np.array([0.55, 0.25, -0.45]) * qs
    vec[:, s["TERM"]] = np.array([-0.2, -0.25, -0.2]) * qs
    vec[:, _QRS_SLOTS] *= u(0.85, 1.15, (n, 6, 3))  # beat shape differs between people
    cen[:, s["SEPT"]], hw[:, s["SEPT"]] = -0.022 * wf, 0.016 * wf
    cen[:, s["M1"]], hw[:, s["M1"]] = -0.004 * wf, 0.020 * wf
    cen[:, s["M2"]], hw[:, s["M2"]] = 0.008 * wf, 0.020 * wf
    cen[:, s["TERM"]], hw[:, s["TERM"]] = 0.026 * wf, 0.018 * wf

    # P wave: right atrium (anterior-inferior) then left atrium (left-posterior).
    ps = u(0.7, 1.3, n)[:, None]
    vec[:, s["P1"]] = np.array([0.03, 0.07, 0.04]) * ps
    vec[:, s["P2"]] = np.array([0.06, 0.05, -0.03]) * ps
    # T wave: concordant with QRS; T1 slow upstroke, T2 steeper near the peak.
    ts = u(0.7, 1.3, n)[:, None]
    t_dir = np.array([0.22, 0.2, 0.15]) * ts * u(0.8, 1.2, (n, 3))
    vec[:, s["T1"]] = 0.6 * t_dir
    vec[:, s["T2"]] = 0.55 * t_dir
    st = np.zeros((n, 3))  # ST plateau vector (mV)

    # --- CD: right (60 %) or left bundle branch block ---------------------------
    rbbb = cd & (rng.random(n) < 0.6)
    lbbb = cd & ~rbbb
    target = u(0.12, 0.16, n)  # total QRS duration
    if rbbb.any():
        r = np.flatnonzero(rbbb)
        # Late rightward-anterior forces: R' in V1, wide slurred S in I and V6.
        off = target[r] + cen[r, s["SEPT"]] - hw[r, s["SEPT"]]
        w = u(0.028, 0.038, r.size)
        cen[r, s["BBB"]], hw[r, s["BBB"]] = off - w, w
        vec[r, s["BBB"]] = np.array([-0.35, 0.05, 0.5]) * qs[r] * u(0.8, 1.2, (r.size, 1))
        vec[r, s["TERM"]] *= 0.3
        # Secondary T inversion in the right precordial leads.
        vec[r, s["T1"], 2] = -np.abs(vec[r, s["T1"], 2])
        vec[r, s["T2"], 2] = -np.abs(vec[r, s["T2"], 2])
    if lbbb.any():
        r = np.flatnonzero(lbbb)
        # No septal q; slow leftward-posterior activation in two humps (notched R).
        vec[r, s["SEPT"]] = np.array([0.08, 0.0, -0.05]) * qs[r]
        cen[r, s["SEPT"]], hw[r, s["SEPT"]] = -0.03, 0.02
        span = target[r] - 0.01
        hw1 = 0.3 * span
        cen[r, s["M1"]], hw[r, s["M1"]] = -0.05 + hw1, hw1
        cen[r, s["M2"]], hw[r, s["M2"]] = -0.05 + span - hw1, hw1
        vec[r, s["M1"]] = np.array([0.6, 0.45, -0.15]) * qs[r]
        vec[r, s["M2"]] = np.array([0.65, 0.15, -0.55]) * qs[r]
        vec[r, s["TERM"]] = 0.0
        # Discordant T wave.
        vec[r, s["T1"]] = -0.6 * np.array([0.25, 0.12, -0.18]) * ts[r]
        vec[r, s["T2"]] = -0.55 * np.array([0.25, 0.12, -0.18]) * ts[r]

    # --- MI: Q-wave forces pointing away from the infarct ----------------------
    territory = np.full(n, "", dtype=object)
    if mi.any():
        r = np.flatnonzero(mi)
        which = rng.choice(3, r.size, p=[0.45, 0.4, 0.15])
        away = np.array([[0.0, -1.0, 0.0], [0.1, 0.0, -1.0], [-1.0, 0.1, 0.0]])
        axis = np.array([1, 2, 0])[which]
        territory[r] = np.array(["inferior", "anterior", "lateral"])[which]
        depth = u(0.3, 0.5, r.size)[:, None] * qs[r]
        vec[r, s["QMI"]] = away[which] * depth
        w = u(0.024, 0.03, r.size)
        cen[r, s["QMI"]] = cen[r, s["SEPT"]] - hw[r, s["SEPT"]] + w
        hw[r, s["QMI"]] = w
        vec[r, s["SEPT"]] = 0.0
        # Loss of R forces towards the infarct.
        for slot in ("M1", "M2"):
            comp = vec[r, s[slot], axis]
            vec[r, s[slot], axis] = np.where(comp * away[which, axis] < 0, 0.3 * comp, comp)
        tinv = rng.random(r.size) < 0.7
        for slot in ("T1", "T2"):
            comp = vec[r, s[slot], axis]
            want = np.abs(comp) * away[which, axis] * 0.8  # T points away from the infarct
            vec[r, s[slot], axis] = np.where(tinv, want, comp)
        acute = rng.random(r.size) < 0.3
        st[r] += np.where(acute[:, None], -away[which] * u(0.1, 0.25, (r.size, 1)), 0.0)

    # --- STTC: T inversion and/or ST depression, or ST elevation -------------------
    sttc_type = np.full(n, "", dtype=object)
    if sttc.any():
        r = np.flatnonzero(sttc)
        kind = rng.choice(4, r.size, p=[0.35, 0.3, 0.2, 0.15])
        inv = (kind == 0) | (kind == 2)
        dep = (kind == 1) | (kind == 2)
        elev = kind == 3
        names = np.array(
            ["T inversion", "ST depression", "T inversion + ST depression", "ST elevation"]
        )
        sttc_type[r] = names[kind]
        flip = np.where(inv, -u(0.5, 1.0, r.size), np.where(dep, u(0.1, 0.5, r.size), 1.0))
        vec[r, s["T1"]] *= flip[:, None]
        vec[r, s["T2"]] *= flip[:, None]
        lat = np.array([0.7, 0.55, 0.35])
        st[r] += np.where(dep[:, None], -lat * u(0.12, 0.25, (r.size, 1)), 0.0)
        elev_dir = np.array([[0.0, 1.0, 0.2], [0.2, 0.1, 1.0], [1.0, 0.0, 0.2]])[
            rng.integers(0, 3, r.size)
        ]
        st[r] += np.where(elev[:, None], elev_dir * u(0.12, 0.25, (r.size, 1)), 0.0)

    # --- AF: no P waves ------------------------------------------------------------
    vec[af, s["P1"]] = 0.0
    vec[af, s["P2"]] = 0.0

    active = np.abs(vec).sum(-1) > 0
    qa = active[:, _QRS_SLOTS]
    qrs_on = np.where(qa, cen[:, _QRS_SLOTS] - hw[:, _QRS_SLOTS], np.inf).min(1)
    qrs_off = np.where(qa, cen[:, _QRS_SLOTS] + hw[:, _QRS_SLOTS], -np.inf).max(1)
    cd_type = np.where(rbbb, "RBBB", np.where(lbbb, "LBBB", ""))
    return dict(
        vec=vec,
        cen=cen,
        hw=hw,
        st=st,
        qrs_on=qrs_on,
        qrs_off=qrs_off,
        mi_territory=territory.astype(str),
        sttc_type=sttc_type.astype(str),
        cd_type=cd_type.astype(str),
    )


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


def _bump_render(out, rec, c, w, v, fs):
    """Add bumps (1-u^2)^3 with centres c, half-widths w, vectors v (m, 3) to out (R, 3, T)."""
    n_rec, _, t_len = out.shape
    if c.size == 0:
        return
    start = np.floor((c - w) * fs).astype(np.int64) + 1
    length = int(np.ceil(2 * w.max() * fs)) + 2
    idx = start[:, None] + np.arange(length)[None]
    u = (idx / fs - c[:, None]) / w[:, None]
    val = np.where(np.abs(u) < 1, (1 - u * u) ** 3, 0.0)
    ok = (idx >= 0) & (idx < t_len) & (val > 0)
    flat = (rec[:, None] * t_len + idx)[ok]
    val_ok = val[ok]
    rows = np.broadcast_to(np.arange(len(c))[:, None], idx.shape)[ok]
    for d in range(3):
        out[:, d] += np.bincount(
            flat, weights=val_ok * v[rows, d], minlength=n_rec * t_len
        ).reshape(n_rec, t_len)


def _plateau_render(out, rec, t0, t1, t2, t3, v, fs):
    """Add ST plateaus: smooth rise t0->t1, flat to t2, smooth fall to t3."""
    n_rec, _, t_len = out.shape
    if t0.size == 0:
        return
    start = np.floor(t0 * fs).astype(np.int64) + 1
    length = int(np.ceil((t3 - t0).max() * fs)) + 2
    idx = start[:, None] + np.arange(length)[None]
    t = idx / fs

    def smooth(x):
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)

    rise = smooth((t - t0[:, None]) / (t1 - t0)[:, None])
    fall = 1 - smooth((t - t2[:, None]) / (t3 - t2)[:, None])
    val = np.where((t > t0[:, None]) & (t < t3[:, None]), np.minimum(rise, fall), 0.0)
    ok = (idx >= 0) & (idx < t_len) & (val > 0)
    flat = (rec[:, None] * t_len + idx)[ok]
    rows = np.broadcast_to(np.arange(len(t0))[:, None], idx.shape)[ok]
    for d in range(3):
        out[:, d] += np.bincount(
            flat, weights=val[ok] * v[rows, d], minlength=n_rec * t_len
        ).reshape(n_rec, t_len)


def _paint(mask, rec, on, off, code, fs):
    """Write ``code`` where on < i/fs < off (the same open interval the bumps use)."""
    n_rec, t_len = mask.shape
    lo = np.clip(np.floor(on * fs).astype(np.int64) + 1, 0, t_len)
    hi = np.clip(np.ceil(off * fs).astype(np.int64), 0, t_len)
    keep = hi > lo
    diff = np.zeros(n_rec * t_len + 1, dtype=np.int64)
    np.add.at(diff, rec[keep] * t_len + lo[keep], code)
    np.add.at(diff, rec[keep] * t_len + hi[keep], -code)
    painted = np.cumsum(diff[:-1]).reshape(n_rec, t_len)
    # Waves never overlap by construction, so each sample is painted at most once.
    np.copyto(mask, painted.astype(np.int8), where=painted != 0)


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

    # Per-record heart orientation (electrical axis) and electrode placement.
    rot = _rot(2, np.radians(rng.normal(0, 12, n))) @ _rot(1, np.radians(rng.normal(0, 8, n)))
    leads = _leads_for(int(n_leads))
    lm = _lead_matrix()
    base = np.stack([lm[name] for name in leads])  # (L, 3)
    # Chest electrodes are placed less reproducibly than limb electrodes; limb leads
    # get no jitter so Einthoven's law (III = II - I, ...) holds exactly.
    jitter = u(0.9, 1.1, (n, len(leads), 1))
    jitter[:, [name not in _CHEST for name in leads]] = 1.0
    lead_mat = base[None] * jitter
    lead_mat = np.einsum("nlk,nkj->nlj", lead_mat, rot)
    all_leads = list(STANDARD_LEADS)
    elec = _electrode_matrix()[[all_leads.index(name) for name in leads]]

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
        "heart_rate": (60.0 / mean_rr).astype(np.float32),
        "qrs_ms": (1000 * qrs_dur).astype(np.float32),
        "pr_ms": np.where(af, np.nan, 1000 * pr0[:, 0]).astype(np.float32),
        "qt_ms": (1000 * (qtc[:, 0] + np.maximum(qrs_dur - 0.09, 0))).astype(np.float32),
        "mi_territory": tpl["mi_territory"],
        "sttc_type": tpl["sttc_type"],
        "cd_type": tpl["cd_type"],
        "beats": beats,
        "units": "mV",
        "per_record": (
            "heart_rate",
            "qrs_ms",
            "pr_ms",
            "qt_ms",
            "mi_territory",
            "sttc_type",
            "cd_type",
            "beats",
        ),
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
        pos = t * 10.0
        i0 = np.floor(pos).astype(np.int64)
        frac = pos - i0
        out += coarse[..., i0] * (1 - frac) + coarse[..., i0 + 1] * frac
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
