"""Preprocessing: resampling, filtering, baseline removal, cropping and lead selection.

Every function takes an :class:`ECGDataset` and returns a new one (inputs are never
modified) and appends a short description of what it did to
``meta["preprocessing"]``, so a saved model can record how its data were prepared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

import numpy as np
from scipy import ndimage, signal

from ..errors import DataError
from .dataset import ECGDataset, _own, check_choice, check_count, check_fs
from .leads import canonical_lead_name


def _with_step(ds: ECGDataset, step: str, **changes) -> ECGDataset:
    meta = dict(ds.meta)
    meta["preprocessing"] = list(ds.meta.get("preprocessing", [])) + [step]
    # The new arrays were made here from a dataset's (already checked) arrays and nobody
    # else holds them: freeze them without a copy or a second amplitude check.
    for key in ("signals", "wave_masks"):
        if isinstance(changes.get(key), np.ndarray):
            changes[key] = _own(np.ascontiguousarray(changes[key]))
    return replace(ds, meta=meta, **changes)


def _require_finite(ds: ECGDataset, what: str) -> None:
    if not np.isfinite(ds.signals).all():
        raise DataError(
            f"cannot {what}: the signals contain NaN or inf. "
            "Call interpolate_nan(ds) first or drop those records."
        )


def resample(ds: ECGDataset, fs: float) -> ECGDataset:
    """Resample to ``fs`` Hz with a polyphase anti-aliasing filter.

    Wave masks are resampled by nearest sample, so codes stay integers.

    Parameters
    ----------
    ds : ECGDataset
    fs : float
        Target sampling rate in Hz.

    Returns
    -------
    ECGDataset
        With ``round(n_samples * fs / ds.fs)`` samples per lead.

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> resample(make_synthetic(2, fs=500), 100).signals.shape
    (2, 12, 1000)
    """
    fs = check_fs(fs)
    if fs == ds.fs:
        return _with_step(ds, f"resample({fs:g} Hz): unchanged")
    _require_finite(ds, "resample")
    ratio = Fraction(fs / ds.fs).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    n_out = int(round(ds.n_samples * fs / ds.fs))
    if n_out < 1:
        raise DataError(
            f"resampling {ds.n_samples} samples from {ds.fs:g} to {fs:g} Hz leaves none."
        )
    x = signal.resample_poly(ds.signals, up, down, axis=-1)
    x = _fit_length(x, n_out)
    masks = ds.wave_masks
    if masks is not None:
        src = np.minimum(np.round(np.arange(n_out) * ds.fs / fs).astype(np.int64), ds.n_samples - 1)
        masks = masks[..., src]
    return _with_step(
        ds,
        f"resample({ds.fs:g} -> {fs:g} Hz, polyphase {up}/{down})",
        signals=x.astype(np.float32),
        fs=fs,
        wave_masks=masks,
    )


def _lerp(coarse: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``coarse`` (..., m) read at fractional sample positions ``pos`` by linear
    interpolation along the last axis; positions past its end take its last value.

    Examples
    --------
    >>> _lerp(np.array([0.0, 2.0]), np.array([0.0, 0.25, 1.0, 3.0])).tolist()
    [0.0, 0.5, 2.0, 2.0]
    """
    last = coarse.shape[-1] - 1
    pos = np.minimum(pos, last)
    i0 = np.floor(pos).astype(np.int64)
    frac = (pos - i0).astype(coarse.dtype)
    return coarse[..., i0] * (1 - frac) + coarse[..., np.minimum(i0 + 1, last)] * frac


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[-1] >= n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
    return np.pad(x, pad, mode="edge")


def bandpass(
    ds: ECGDataset, low: float | None = 0.5, high: float | None = 40.0, order: int = 2
) -> ECGDataset:
    """Zero-phase Butterworth band-pass (``sosfiltfilt``) on every lead.

    Parameters
    ----------
    ds : ECGDataset
    low, high : float or None
        Cut-off frequencies in Hz; ``None`` (or ``low=0``) drops that side, giving a
        low-pass or high-pass filter. ``high`` must be below the Nyquist frequency.
    order : int
        Filter order per pass (the effective order is doubled by filtering twice).

    Returns
    -------
    ECGDataset
        A filtered copy; the step is appended to ``meta["preprocessing"]``.

    Raises
    ------
    DataError
        If both cut-offs are missing, a cut-off lies outside (0, Nyquist), ``low >= high``,
        ``order`` is not a positive integer, or the signals contain NaN/inf.

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> bandpass(make_synthetic(2), 0.5, 40).meta["preprocessing"][-1]
    'band-pass 0.5-40 Hz (Butterworth order 2, zero-phase)'
    """
    from .filtering import SignalFilter

    f = SignalFilter(bandpass=(low, high), order=order)  # checks the cut-offs and order
    if f.is_identity:
        raise DataError("bandpass needs at least one of low or high.")
    return _with_step(ds, f.describe(), signals=f.apply(ds.signals, ds.fs))


def remove_baseline(ds: ECGDataset, windows_s: tuple[float, float] = (0.2, 0.6)) -> ECGDataset:
    """Subtract the baseline estimated by two cascaded median filters (200 ms, 600 ms).

    The first window removes QRS and P waves, the second T waves; what is left is the
    wander, which is subtracted. Unlike a high-pass filter this keeps ST levels.

    Parameters
    ----------
    ds : ECGDataset
    windows_s : tuple of float
        Median-filter windows in seconds, applied one after the other.

    Returns
    -------
    ECGDataset
        A copy with the baseline subtracted; the step is appended to
        ``meta["preprocessing"]``.

    Raises
    ------
    DataError
        If a window is not positive or the signals contain NaN/inf.

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> ds = remove_baseline(make_synthetic(2, baseline_wander=0.5))
    >>> ds.meta["preprocessing"][-1].startswith("remove_baseline")
    True
    """
    _require_finite(ds, "remove the baseline")
    if len(windows_s) == 0 or any(w <= 0 for w in windows_s):
        raise DataError(f"windows_s must be positive durations in seconds, got {windows_s}.")
    # The baseline varies slowly, so estimate it at ~50 Hz and interpolate back:
    # median filters cost O(window) per sample, which is slow at 500 Hz.
    q = max(1, int(ds.fs // 50))
    coarse = ds.signals[..., ::q]
    for w in windows_s:
        k = max(1, int(round(w * ds.fs / q)) | 1)  # odd, so the filter is centred
        coarse = ndimage.median_filter(coarse, size=(1, 1, k), mode="nearest")
    base = _lerp(coarse, np.arange(ds.n_samples) / q)
    ms = ", ".join(f"{1000 * w:g}" for w in windows_s)
    return _with_step(
        ds,
        f"remove_baseline(median filters {ms} ms)",
        signals=(ds.signals - base).astype(np.float32),
    )


def crop_or_pad(ds: ECGDataset, n_samples: int, align: str = "start") -> ECGDataset:
    """Crop or zero-pad every record to ``n_samples``.

    Parameters
    ----------
    ds : ECGDataset
    n_samples : int
        Target length.
    align : {"start", "center"}
        Keep the start (crop/pad at the end) or the centre (crop/pad both ends).

    Returns
    -------
    ECGDataset
        A copy with ``n_samples`` samples per record. Padded samples are 0 mV and get
        wave code -1 (not annotated).

    Raises
    ------
    DataError
        If ``n_samples`` is not a positive integer or ``align`` is unknown.

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> crop_or_pad(make_synthetic(2), 1024).signals.shape
    (2, 12, 1024)
    """
    n_samples = check_count(n_samples, "n_samples")
    check_choice(align, ("start", "center"), "align")
    cur = ds.n_samples
    if n_samples == cur:
        return _with_step(ds, f"crop_or_pad({n_samples}): unchanged")
    offset = 0 if align == "start" else (cur - n_samples) // 2
    sig = _shift_window(ds.signals, offset, n_samples, 0.0)
    masks = None if ds.wave_masks is None else _shift_window(ds.wave_masks, offset, n_samples, -1)
    return _with_step(
        ds, f"crop_or_pad({cur} -> {n_samples}, align={align})", signals=sig, wave_masks=masks
    )


def _shift_window(x: np.ndarray, offset: int, n: int, fill) -> np.ndarray:
    """Samples ``offset .. offset + n`` of ``x`` along the last axis, filling outside."""
    out = np.full(x.shape[:-1] + (n,), fill, dtype=x.dtype)
    src_lo, src_hi = max(offset, 0), min(offset + n, x.shape[-1])
    if src_hi > src_lo:
        out[..., src_lo - offset : src_hi - offset] = x[..., src_lo:src_hi]
    return out


def select_leads(ds: ECGDataset, leads: Sequence[str] | str) -> ECGDataset:
    """Keep only ``leads`` (in the order given); names are matched case-insensitively.

    Parameters
    ----------
    ds : ECGDataset
    leads : str or sequence of str
        One lead name or several, e.g. ``["II", "V1"]``.

    Returns
    -------
    ECGDataset
        A copy with only those leads (and their wave masks).

    Raises
    ------
    DataError
        If no lead is given, a lead is missing from ``ds`` or a name repeats.

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> select_leads(make_synthetic(2), ["ii", "V1"]).lead_names
    ('II', 'V1')
    """
    if isinstance(leads, str):
        leads = [leads]
    names = [canonical_lead_name(str(x)) for x in leads]
    if not names:
        raise DataError("select_leads needs at least one lead name.")
    missing = [n for n in names if n not in ds.lead_names]
    if missing:
        raise DataError(
            f"lead(s) {', '.join(missing)} not in this dataset; available leads: "
            f"{', '.join(ds.lead_names)}."
        )
    if len(set(names)) != len(names):
        raise DataError(f"lead names repeat in {names}.")
    idx = [ds.lead_names.index(n) for n in names]
    masks = ds.wave_masks
    if masks is not None and masks.ndim == 3:
        masks = masks[:, idx]
    return _with_step(
        ds,
        f"select_leads({', '.join(names)})",
        signals=ds.signals[:, idx],
        lead_names=tuple(names),
        wave_masks=masks,
    )


def interpolate_nan(ds: ECGDataset, max_gap_s: float | None = None) -> ECGDataset:
    """Fill NaN/inf samples by linear interpolation within each lead.

    Parameters
    ----------
    ds : ECGDataset
    max_gap_s : float, optional
        Refuse to bridge gaps longer than this many seconds (raise DataError).

    Returns
    -------
    ECGDataset
        A copy with every non-finite sample filled.

    Raises
    ------
    DataError
        For leads that are entirely missing (the message names the records and leads), or
        a gap longer than ``max_gap_s``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 1, 5)); x[0, 0, 2] = np.nan
    >>> interpolate_nan(ECGDataset(x, fs=100, lead_names=["II"], amplitude_check="ignore")).signals[0, 0].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    x = ds.signals.copy()
    bad = ~np.isfinite(x)
    if not bad.any():
        return _with_step(ds, "interpolate_nan: nothing to fill")
    all_bad = bad.all(axis=2)
    if all_bad.any():
        pairs = [f"{ds.record_ids[r]}/{ds.lead_names[c]}" for r, c in np.argwhere(all_bad)[:5]]
        raise DataError(
            f"{int(all_bad.sum())} lead(s) contain no finite sample ({', '.join(pairs)}); "
            "drop those records or leads (select_leads) instead."
        )
    t = np.arange(ds.n_samples)
    for r, c in np.argwhere(bad.any(axis=2)):
        b = bad[r, c]
        if max_gap_s is not None:
            longest = np.bincount(ndimage.label(b)[0])[1:].max()  # samples per gap
            if longest / ds.fs > max_gap_s:
                raise DataError(
                    f"record {ds.record_ids[r]} lead {ds.lead_names[c]} has a gap of "
                    f"{longest / ds.fs:.3g} s, longer than max_gap_s={max_gap_s}."
                )
        x[r, c, b] = np.interp(t[b], t[~b], x[r, c, ~b])
    return _with_step(ds, f"interpolate_nan({int(bad.sum())} samples)", signals=x)
