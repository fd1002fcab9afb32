"""Units of ECG signals and the plausibility of their amplitudes as an ECG in mV."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DataError

#: Accepted ``units`` and their factor to mV (``"adc"`` uses ``gain`` and ``baseline``).
UNITS: dict[str, float | None] = {
    "mV": 1.0,
    "uV": 1e-3,
    "µV": 1e-3,
    "μV": 1e-3,
    "V": 1e3,
    "adc": None,
}
#: Peak-to-peak (mV) below which a lead counts as flat: no ECG lead is under 10 uV.
FLAT_PTP_MV = 0.01
#: A record whose median lead peak-to-peak is below this (mV) is implausibly small.
SMALL_PTP_MV = 0.05
#: Above this peak-to-peak (mV) a lead cannot be an ECG in mV (QRS is about 0.3-5 mV).
LARGE_PTP_MV = 30.0


#: Accepted spellings of the units, lower case, and the name each stands for.
_UNIT_NAMES: dict[str, str] = {
    **{k.lower(): "uV" if k in ("µV", "μV") else k for k in UNITS},
    **dict.fromkeys(("microvolt", "microvolts", "mcv"), "uV"),
    **dict.fromkeys(("millivolt", "millivolts"), "mV"),
    **dict.fromkeys(("volt", "volts"), "V"),
}


def _canonical_units(units: str) -> str:
    name = _UNIT_NAMES.get(str(units).strip().lower())
    if name is None:
        raise DataError(
            f"units={units!r} is not known; use one of 'mV', 'uV', 'V' or 'adc' "
            "(with gain=ADC units per mV and baseline=ADC value of 0 mV)."
        )
    return name


def to_millivolts(x: np.ndarray, units: str, gain: Any = None, baseline: Any = 0.0) -> np.ndarray:
    """Convert ``x`` (records, leads, samples) from ``units`` to mV as float32.

    Parameters
    ----------
    x : ndarray
        Signals of shape ``(n_records, n_leads, n_samples)``.
    units : {"mV", "uV", "V", "adc"}
        Units of ``x``. ``"adc"``: raw digital counts, converted as
        ``(x - baseline) / gain``.
    gain : float or sequence of float, optional
        ADC units per mV, one value or one per lead (needed for ``"adc"``; e.g. 1000 for
        PTB-XL, 200 for MIT-BIH).
    baseline : float or sequence of float
        ADC value of 0 mV (``"adc"`` only).

    Returns
    -------
    ndarray
        float32 signals in mV (``x`` itself when already in mV and float32).

    Examples
    --------
    >>> to_millivolts(np.array([[[1000.0, -500.0]]]), "uV").tolist()
    [[[1.0, -0.5]]]
    >>> to_millivolts(np.array([[[1224.0, 1024.0]]]), "adc", gain=200, baseline=1024).tolist()
    [[[1.0, 0.0]]]
    """
    name = _canonical_units(units)
    if name != "adc" and (gain is not None or np.any(np.asarray(baseline) != 0)):
        raise DataError(f"gain and baseline apply to units='adc' only, not units={units!r}.")
    if name == "mV":
        return np.asarray(x, dtype=np.float32)
    if name == "adc":
        if gain is None:
            raise DataError(
                "units='adc' needs gain= (ADC units per mV, e.g. 1000 for PTB-XL, 200 for "
                "MIT-BIH) and baseline= (the ADC value of 0 mV, default 0)."
            )
        n_leads = x.shape[1]
        g = np.asarray(gain, dtype=np.float64)
        b = np.asarray(baseline, dtype=np.float64)
        for what, v in (("gain", g), ("baseline", b)):
            if v.ndim > 1 or (v.ndim == 1 and v.size != n_leads):
                raise DataError(
                    f"{what} must be one number or one per lead ({n_leads}), got shape {v.shape}."
                )
        if not np.isfinite(g).all() or (g <= 0).any() or not np.isfinite(b).all():
            raise DataError(f"gain must be positive and finite (ADC units per mV), got {gain!r}.")
        g = g.reshape(-1, 1) if g.ndim == 1 else g
        b = b.reshape(-1, 1) if b.ndim == 1 else b
        return ((np.asarray(x, dtype=np.float64) - b) / g).astype(np.float32)
    return (np.asarray(x, dtype=np.float64) * UNITS[name]).astype(np.float32)


def _names(pairs: Sequence[str], limit: int = 5) -> str:
    more = "" if len(pairs) <= limit else f" and {len(pairs) - limit} more"
    return ", ".join(pairs[:limit]) + more


def amplitude_problems(
    signals: np.ndarray, lead_names: Sequence[str], record_ids: Sequence[str]
) -> list[str]:
    """Describe implausible amplitudes of signals that should be in mV.

    A 12-lead ECG in mV has QRS peak-to-peak amplitudes of roughly 0.3-5 mV. Each
    record's median lead peak-to-peak is compared with that range (microvolts and raw
    ADC counts are about 1000 times larger, volts 1000 times smaller), and each lead is
    checked for being flat (below 10 uV peak-to-peak) or all zeros.

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_leads, n_samples)
    lead_names, record_ids : sequence of str

    Returns
    -------
    list of str
        One message per kind of problem, naming the records (and leads) concerned and
        what to do; empty when the amplitudes look like an ECG in mV.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(0, 300, (2, 3, 500))  # microvolts
    >>> print(amplitude_problems(x, ["I", "II", "V1"], ["a", "b"])[0])  # doctest: +ELLIPSIS
    values look like microvolts: divide by 1000 or pass units='uV' ...
    >>> amplitude_problems(x / 1000, ["I", "II", "V1"], ["a", "b"])
    []
    """
    x = np.asarray(signals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN leads: reported elsewhere
        hi, lo = np.nanmax(x, axis=2), np.nanmin(x, axis=2)
        ptp = (hi - lo).astype(np.float64)
        zero = (hi == 0) & (lo == 0)
        centre = np.nanmedian(x[..., :: max(1, x.shape[2] // 512)], axis=2)
        rec_ptp = np.nanmedian(ptp, axis=1)  # NaN for a record without a finite sample
        rec_centre = np.nanmedian(np.abs(centre), axis=1)
    out: list[str] = []
    rid = [str(r) for r in record_ids]
    zero_rec = np.flatnonzero(zero.all(axis=1))
    flat_rec = np.flatnonzero(~zero.all(axis=1) & (rec_ptp < FLAT_PTP_MV))
    small_rec = np.flatnonzero((rec_ptp >= FLAT_PTP_MV) & (rec_ptp < SMALL_PTP_MV))
    large = rec_ptp > LARGE_PTP_MV
    adc_rec = np.flatnonzero(large & (rec_centre > 2 * rec_ptp))
    uv_rec = np.flatnonzero(large & ~(rec_centre > 2 * rec_ptp))
    n = len(rid)

    def which(idx: np.ndarray) -> str:
        return "all records" if idx.size == n else f"record(s) {_names([rid[i] for i in idx])}"

    if uv_rec.size:
        out.append(
            "values look like microvolts: divide by 1000 or pass units='uV' (for raw ADC "
            f"counts: units='adc', gain=...). Median lead peak-to-peak "
            f"{np.median(rec_ptp[uv_rec]):.4g} where an ECG in mV has about 0.3-5, in "
            f"{which(uv_rec)}."
        )
    if adc_rec.size:
        out.append(
            "values look like raw ADC counts with an offset: pass units='adc', gain=<ADC units "
            f"per mV>, baseline={np.median(rec_centre[adc_rec]):.4g} (or convert to mV). Median "
            f"lead peak-to-peak {np.median(rec_ptp[adc_rec]):.4g} around a level of "
            f"{np.median(rec_centre[adc_rec]):.4g}, in {which(adc_rec)}."
        )
    if small_rec.size:
        out.append(
            f"amplitudes are far below an ECG's 0.3-5 mV (median lead peak-to-peak "
            f"{np.median(rec_ptp[small_rec]):.3g} mV) in {which(small_rec)}: if the values are "
            "in volts multiply by 1000 or pass units='V'; otherwise the leads are flat or "
            "disconnected."
        )
    if zero_rec.size:
        out.append(f"{which(zero_rec)} are all zeros (every lead): no ECG to explain; drop them.")
    if flat_rec.size:
        out.append(
            f"{which(flat_rec)} are flat (median lead peak-to-peak below {FLAT_PTP_MV} mV): "
            "disconnected leads, or values in volts (multiply by 1000 or pass units='V')."
        )
    bad_rec = set(zero_rec) | set(flat_rec) | set(small_rec) | set(uv_rec) | set(adc_rec)
    ok_rec = np.array(sorted(set(range(n)) - bad_rec), dtype=np.int64)
    if ok_rec.size:
        sub_zero = zero[ok_rec]
        sub_flat = (ptp[ok_rec] < FLAT_PTP_MV) & ~sub_zero
        sub_big = ptp[ok_rec] > LARGE_PTP_MV
        for mask, text in (
            (sub_zero, "are all zeros"),
            (sub_flat, f"are flat (peak-to-peak below {FLAT_PTP_MV} mV: disconnected?)"),
            (
                sub_big,
                f"have a peak-to-peak above {LARGE_PTP_MV:g} mV, beyond any ECG: a lead "
                "in other units or a large artefact",
            ),
        ):
            pairs = [f"{rid[ok_rec[r]]}/{lead_names[c]}" for r, c in np.argwhere(mask)]
            if pairs:
                out.append(f"lead(s) {_names(pairs)} (record/lead) {text}.")
    return out
