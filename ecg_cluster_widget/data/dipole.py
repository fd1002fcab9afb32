"""The cardiac dipole behind the synthetic generator: lead geometry, beat templates per
pathology and the rendering of compactly supported waves (see :mod:`.synthetic`)."""

from __future__ import annotations

import math

import numpy as np

from .leads import STANDARD_LEADS

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


def _lead_projection(rng: np.random.Generator, n: int, leads: tuple[str, ...]):
    """Per-record (n, L, 3) maps from the dipole to ``leads``, and the (L, 9) electrode map.

    Each record gets its own heart orientation (electrical axis) and electrode placement;
    chest electrodes are placed less reproducibly than limb electrodes, and limb leads get
    no jitter so Einthoven's law (III = II - I, ...) holds exactly.
    """
    rot = _rot(2, np.radians(rng.normal(0, 12, n))) @ _rot(1, np.radians(rng.normal(0, 8, n)))
    lm = _lead_matrix()
    base = np.stack([lm[name] for name in leads])  # (L, 3)
    jitter = rng.uniform(0.9, 1.1, (n, len(leads), 1))
    jitter[:, [name not in _CHEST for name in leads]] = 1.0
    lead_mat = np.einsum("nlk,nkj->nlj", base[None] * jitter, rot)
    all_leads = list(STANDARD_LEADS)
    return lead_mat, _electrode_matrix()[[all_leads.index(name) for name in leads]]


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


def _scatter(out, rec, idx, val, v):
    """Add ``val[i, j] * v[i]`` at sample ``idx[i, j]`` of record ``rec[i]`` of ``out`` (R, 3, T)."""
    n_rec, _, t_len = out.shape
    ok = (idx >= 0) & (idx < t_len) & (val > 0)
    flat = (rec[:, None] * t_len + idx)[ok]
    rows = np.broadcast_to(np.arange(len(rec))[:, None], idx.shape)[ok]
    for d in range(3):
        out[:, d] += np.bincount(
            flat, weights=val[ok] * v[rows, d], minlength=n_rec * t_len
        ).reshape(n_rec, t_len)


def _bump_render(out, rec, c, w, v, fs):
    """Add bumps (1-u^2)^3 with centres c, half-widths w, vectors v (m, 3) to out (R, 3, T)."""
    if c.size == 0:
        return
    start = np.floor((c - w) * fs).astype(np.int64) + 1
    length = int(np.ceil(2 * w.max() * fs)) + 2
    idx = start[:, None] + np.arange(length)[None]
    u = (idx / fs - c[:, None]) / w[:, None]
    val = np.where(np.abs(u) < 1, (1 - u * u) ** 3, 0.0)
    _scatter(out, rec, idx, val, v)


def _plateau_render(out, rec, t0, t1, t2, t3, v, fs):
    """Add ST plateaus: smooth rise t0->t1, flat to t2, smooth fall to t3."""
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
    _scatter(out, rec, idx, val, v)


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
