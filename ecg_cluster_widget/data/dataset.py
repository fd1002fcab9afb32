"""The one dataset type used throughout the package, with its unit and amplitude checks.

Datasets are immutable: their arrays are read-only numpy arrays (``writeable=False``), so
an in-place edit raises numpy's ``ValueError`` instead of silently changing data that an
explainer, a cache or a fit has already seen. Build a modified copy with
:meth:`ECGDataset.with_signals` or :meth:`ECGDataset.copy`.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, DataWarning, ReadOnlyDataError

STANDARD_LEADS: tuple[str, ...] = (
    "I",
    "II",
    "III",
    "aVR",
    "aVL",
    "aVF",
    "V1",
    "V2",
    "V3",
    "V4",
    "V5",
    "V6",
)
#: Integer codes of ``ECGDataset.wave_masks``.
WAVE_NAMES: tuple[str, ...] = ("none", "P", "QRS", "T")


#: Other spellings of standard leads (keys upper case, spaces and dashes removed): the
#: modified limb leads of Holter and MIT-BIH records (MLII, ML2) are lead II's axis.
LEAD_ALIASES: dict[str, str] = {
    "MLII": "II",
    "ML2": "II",
    "MLI": "I",
    "ML1": "I",
    "MLIII": "III",
    "ML3": "III",
    "DI": "I",
    "DII": "II",
    "DIII": "III",
    "LEADI": "I",
    "LEADII": "II",
    "LEADIII": "III",
}


def canonical_lead_name(name: str) -> str:
    """Map spellings such as ``'avr'``, ``'v 1'`` or ``'MLII'`` to ``'aVR'`` / ``'V1'`` / ``'II'``.

    Case, spaces, dashes and underscores are ignored, and the aliases of
    :data:`LEAD_ALIASES` (modified limb leads MLII/ML2 -> II, ...) are applied.

    Parameters
    ----------
    name : str
        A lead name in any case, possibly with spaces (``"V 1"``, ``"lead-II"``).

    Returns
    -------
    str
        The standard spelling, or ``name`` stripped when it is not a standard lead.

    Examples
    --------
    >>> canonical_lead_name(" avr"), canonical_lead_name("V 1"), canonical_lead_name("MLII")
    ('aVR', 'V1', 'II')
    >>> canonical_lead_name("ml2"), canonical_lead_name("CM5")
    ('II', 'CM5')
    """
    key = "".join(name.split()).upper().replace("-", "").replace("_", "")
    key = LEAD_ALIASES.get(key, key)
    for lead in STANDARD_LEADS:
        if lead.upper() == key:
            return lead
    return name.strip()


def _is_frozen(a: Any) -> bool:
    """True for a read-only array none of whose bases is writeable (nobody can edit it)."""
    while isinstance(a, np.ndarray):
        if a.flags.writeable:
            return False
        a = a.base
    return a is None or isinstance(a, bytes)


def _own(a: np.ndarray) -> np.ndarray:
    """Freeze an array that nothing else holds a writeable reference to (no copy)."""
    b = a
    while isinstance(b, np.ndarray):
        b.flags.writeable = False
        b = b.base
    return a


def _freeze(value: Any, dtype) -> np.ndarray:
    """A read-only array with ``value``'s contents, copied unless it is already frozen, so
    a later edit of the caller's array cannot change the dataset."""
    if _is_frozen(value) and value.dtype == dtype and value.flags.c_contiguous:
        return value
    return _own(np.array(value, dtype=dtype, order="C", copy=True))


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


def _canonical_units(units: str) -> str:
    key = str(units).strip()
    lowered = {k.lower(): k for k in UNITS}
    if key.lower() in ("microvolt", "microvolts", "mcv"):
        return "uV"
    if key.lower() in ("millivolt", "millivolts"):
        return "mV"
    if key.lower() in ("volt", "volts"):
        return "V"
    if key.lower() in lowered:
        name = lowered[key.lower()]
        if name in ("µV", "μV"):
            return "uV"
        # "v" is volts, "mv" millivolts: case only matters for "mV" vs "MV", rejected below
        return name
    raise DataError(
        f"units={units!r} is not known; use one of 'mV', 'uV', 'V' or 'adc' "
        "(with gain=ADC units per mV and baseline=ADC value of 0 mV)."
    )


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


_DATA_DIR = str(Path(__file__).resolve().parent)


def _caller_stacklevel() -> int:
    """``stacklevel`` of the first frame outside this package's data layer (and outside
    ``dataclasses`` and generated ``__init__`` code), so a warning points at user code."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        name = frame.f_code.co_filename
        inside = (
            name.startswith(_DATA_DIR)
            or name == dataclasses.__file__
            or name == "<string>"
            or name.startswith("<dataclass")
        )
        if not inside:
            return level
        frame, level = frame.f_back, level + 1
    return 2


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


@dataclass
class ECGDataset:
    """A set of equally long multi-lead ECGs.

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_leads, n_samples)
        Signals in mV, converted to float32.
    fs : float
        Sampling rate in Hz.
    lead_names : sequence of str
        One name per lead; spellings are canonicalised (``'avr'`` -> ``'aVR'``).
    labels : ndarray of shape (n_records, n_classes), optional
        Multi-label 0/1 targets (float32). For regression, shape (n_records, 1).
    class_names : sequence of str, optional
        One name per column of ``labels``.
    wave_masks : ndarray of shape (n_records, n_samples) or (n_records, n_leads, n_samples), optional
        Integer wave codes per sample, see ``WAVE_NAMES`` (0 none, 1 P, 2 QRS, 3 T).
        ``-1`` marks samples that are not annotated.
    record_ids : sequence of str, optional
        Identifiers; defaults to ``"0"``, ``"1"``, ...
    folds : ndarray of shape (n_records,), optional
        Integer fold per record (PTB-XL ``strat_fold``).
    meta : dict
        Free-form metadata (source, units, preprocessing applied, ...). Keys listed in
        ``meta["per_record"]`` hold one entry per record (array, list or DataFrame)
        and are subset along with the records by :meth:`subset`.
    units : {"mV", "uV", "V", "adc"}
        Units of ``signals`` as given; they are converted to mV (``meta["units"]`` is
        then ``"mV"`` and the conversion is appended to ``meta["preprocessing"]``).
    gain, baseline : float or sequence of float, optional
        For ``units="adc"``: ADC units per mV and the ADC value of 0 mV (one value or
        one per lead).
    amplitude_check : {"warn", "raise", "ignore"}
        What to do when the amplitudes of newly given signals are implausible for an ECG
        in mV (microvolts or ADC counts passed as mV, volts) or leads/records are flat or
        all zeros: warn with :class:`~ecg_cluster_widget.errors.DataWarning` (default),
        raise :class:`~ecg_cluster_widget.errors.DataError`, or skip the check. Arrays
        taken from another dataset (``subset``, ``copy``, preprocessing) are not rechecked.

    Notes
    -----
    The arrays are read-only (an in-place edit raises numpy's ``ValueError``) and
    reassigning a field raises :class:`~ecg_cluster_widget.errors.ReadOnlyDataError`. Make a modified copy with
    :meth:`with_signals` or :meth:`copy`. A writeable input array is copied, so editing
    it afterwards does not change the dataset.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(0, 0.3, (2, 12, 1000))
    >>> ds = ECGDataset(x, fs=100, lead_names=STANDARD_LEADS)
    >>> len(ds), ds.n_leads, ds.duration
    (2, 12, 10.0)
    >>> bool(ECGDataset(x * 1000, fs=100, units="uV").signals.max() == ds.signals.max())
    True
    """

    signals: np.ndarray
    fs: float
    lead_names: tuple[str, ...] = STANDARD_LEADS
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None
    wave_masks: np.ndarray | None = None
    record_ids: tuple[str, ...] | None = None
    folds: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    units: InitVar[str] = "mV"
    gain: InitVar[Any] = None
    baseline: InitVar[Any] = 0.0
    amplitude_check: InitVar[str] = "warn"

    def __post_init__(
        self,
        units: str = "mV",
        gain: Any = None,
        baseline: Any = 0.0,
        amplitude_check: str = "warn",
    ) -> None:
        if amplitude_check not in ("warn", "raise", "ignore"):
            raise DataError(
                f"amplitude_check must be 'warn', 'raise' or 'ignore', got {amplitude_check!r}."
            )
        unit_name = _canonical_units(units)
        from_dataset = _is_frozen(self.signals)  # taken from a dataset: already checked
        sig = self.signals if from_dataset else np.asarray(self.signals)
        if sig.ndim == 2:
            sig = sig[None]
        if sig.ndim != 3:
            raise DataError(
                f"signals must have shape (n_records, n_leads, n_samples); got {sig.ndim} "
                f"dimensions {tuple(sig.shape)}."
            )
        if sig.shape[0] == 0:
            raise DataError("the dataset is empty: signals has 0 records.")
        if sig.shape[2] == 0:
            raise DataError("signals have 0 samples per lead.")
        if not np.issubdtype(sig.dtype, np.number) or np.iscomplexobj(sig):
            raise DataError(f"signals must be numeric (real numbers), got dtype {sig.dtype}.")
        meta = {} if self.meta is None else self.meta
        meta = meta if isinstance(meta, dict) else dict(meta)
        if unit_name != "mV" or gain is not None:
            sig = _own(np.ascontiguousarray(to_millivolts(sig, unit_name, gain, baseline)))
            meta = dict(meta)
            meta["units"] = "mV"
            step = f"units({unit_name} -> mV" + (
                f", gain {gain}, baseline {baseline})" if unit_name == "adc" else ")"
            )
            meta["preprocessing"] = list(meta.get("preprocessing", [])) + [step]
            from_dataset = False
        self.meta = meta
        self.signals = _freeze(sig, np.float32)
        try:
            self.fs = float(self.fs)
        except (TypeError, ValueError) as exc:
            raise DataError(f"fs must be a number in Hz, got {self.fs!r}.") from exc
        if not np.isfinite(self.fs) or self.fs <= 0:
            raise DataError(f"fs must be a positive sampling rate in Hz, got {self.fs}.")
        leads = tuple(canonical_lead_name(str(x)) for x in self.lead_names)
        if len(leads) != self.signals.shape[1]:
            raise DataError(
                f"{len(leads)} lead names given for signals with {self.signals.shape[1]} leads "
                "(signals must be shaped (n_records, n_leads, n_samples))."
            )
        self.lead_names = leads
        n = self.signals.shape[0]
        if self.labels is not None:
            try:
                lab = (
                    self.labels
                    if _is_frozen(self.labels)
                    else np.asarray(self.labels, dtype=np.float32)
                )
            except (TypeError, ValueError) as exc:
                raise DataError(f"labels must be numeric ({exc}).") from None
            if lab.ndim == 1:
                lab = lab[:, None]
            if lab.ndim != 2 or lab.shape[0] != n:
                raise DataError(f"labels has {lab.shape[0]} rows but there are {n} records.")
            self.labels = _freeze(lab, np.float32)
            if self.class_names is None:
                self.class_names = tuple(f"class_{i}" for i in range(lab.shape[1]))
            self.class_names = tuple(self.class_names)
            if len(self.class_names) != lab.shape[1]:
                raise DataError(
                    f"{len(self.class_names)} class names for {lab.shape[1]} label columns."
                )
        if self.wave_masks is not None:
            wm = self.wave_masks if _is_frozen(self.wave_masks) else np.asarray(self.wave_masks)
            if wm.shape[0] != n or wm.shape[-1] != self.signals.shape[2] or wm.ndim not in (2, 3):
                raise DataError(
                    f"wave_masks has shape {wm.shape}; expected ({n}, {self.signals.shape[2]}) "
                    f"or ({n}, {self.signals.shape[1]}, {self.signals.shape[2]})."
                )
            self.wave_masks = _freeze(wm, np.int8)
        if self.record_ids is None:
            self.record_ids = tuple(str(i) for i in range(n))
        self.record_ids = tuple(str(r) for r in self.record_ids)
        if len(self.record_ids) != n:
            raise DataError(f"{len(self.record_ids)} record ids for {n} records.")
        if self.folds is not None:
            folds = self.folds if _is_frozen(self.folds) else np.asarray(self.folds)
            if folds.shape != (n,):
                raise DataError(f"folds has shape {folds.shape}; expected ({n},).")
            self.folds = _freeze(folds, np.int64)
        if not from_dataset and amplitude_check != "ignore":
            self.check_amplitudes(amplitude_check)
        object.__setattr__(self, "_sealed", True)

    # -- immutability --------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FIELD_NAMES and self.__dict__.get("_sealed", False):
            raise ReadOnlyDataError(
                f"ECGDataset.{name} cannot be reassigned: datasets are immutable so results "
                f"computed from them can never go stale. Make a modified copy: "
                f"ds2 = ds.copy({name}=...)"
                + (" or ds.with_signals(x)" if name == "signals" else "")
                + "."
            )
        object.__setattr__(self, name, value)

    def __setstate__(self, state: dict) -> None:
        # pickle / copy.deepcopy: unpickled arrays are writeable again, freeze them.
        for key, val in state.items():
            if isinstance(val, np.ndarray) and key in _FIELD_NAMES:
                val = _own(np.array(val, copy=True, subok=False))
            object.__setattr__(self, key, val)

    def copy(self, **changes: Any) -> ECGDataset:
        """A new dataset with some fields replaced; unchanged arrays are shared.

        Sharing is safe because the arrays are read-only. New arrays are checked like
        those given to the constructor.

        Parameters
        ----------
        **changes
            Fields to replace (``signals``, ``labels``, ``wave_masks``, ``meta``, ...) and
            optionally ``units``, ``gain``, ``baseline``, ``amplitude_check`` for new
            signals.

        Returns
        -------
        ECGDataset

        Examples
        --------
        >>> ds = ECGDataset(np.ones((2, 1, 50)), fs=100, lead_names=["II"], amplitude_check="ignore")
        >>> ds.copy(labels=[0, 1], class_names=["MI"]).labels.ravel().tolist()
        [0.0, 1.0]
        >>> ds.copy().signals is ds.signals
        True
        """
        return replace(self, **changes)

    def with_signals(self, signals: Any, **changes: Any) -> ECGDataset:
        """A new dataset with ``signals`` replaced (everything else kept).

        The way to edit signals: copy, edit, wrap. ``signals`` must keep the number of
        records (and of samples, when there are wave masks).

        Parameters
        ----------
        signals : array-like of shape (n_records, n_leads, n_samples)
            The new signals (in mV unless ``units=`` is passed).
        **changes
            Other fields to replace, as in :meth:`copy`.

        Returns
        -------
        ECGDataset

        Examples
        --------
        >>> ds = ECGDataset(np.ones((1, 1, 50)), fs=100, lead_names=["II"], amplitude_check="ignore")
        >>> x = ds.signals.copy()
        >>> x[0, 0, :10] = 2.0
        >>> new = ds.with_signals(x)
        >>> float(new.signals[0, 0, 0]), float(ds.signals[0, 0, 0])
        (2.0, 1.0)
        """
        return replace(self, signals=signals, **changes)

    def check_amplitudes(self, action: str = "warn") -> list[str]:
        """Check that the signals look like an ECG in mV; warn or raise otherwise.

        See :func:`amplitude_problems` for what is checked: implausible units per record
        (microvolts or ADC counts passed as mV, volts), flat or all-zero records and
        leads, leads beyond any ECG amplitude.

        Parameters
        ----------
        action : {"warn", "raise", "ignore"}
            Issue one :class:`~ecg_cluster_widget.errors.DataWarning` per problem, raise
            :class:`~ecg_cluster_widget.errors.DataError` with all of them, or only
            return them.

        Returns
        -------
        list of str
            The problems found (empty if none).

        Examples
        --------
        >>> x = np.random.default_rng(0).normal(0, 0.3, (2, 2, 100))
        >>> x[1, 0] = 0.0
        >>> ds = ECGDataset(x, fs=100, lead_names=["I", "II"], amplitude_check="ignore")
        >>> ds.check_amplitudes("ignore")
        ['lead(s) 1/I (record/lead) are all zeros.']
        """
        if action not in ("warn", "raise", "ignore"):
            raise DataError(f"action must be 'warn', 'raise' or 'ignore', got {action!r}.")
        problems = amplitude_problems(self.signals, self.lead_names, self.record_ids)
        if problems and action == "raise":
            raise DataError(
                "implausible ECG amplitudes: "
                + " ".join(problems)
                + " Pass amplitude_check='warn' or 'ignore' to accept them."
            )
        if action == "warn":
            level = _caller_stacklevel()
            for text in problems:
                warnings.warn(text, DataWarning, stacklevel=level)
        return problems

    # -- shape helpers -------------------------------------------------
    def __len__(self) -> int:
        return int(self.signals.shape[0])

    @property
    def n_leads(self) -> int:
        """Number of leads (``signals.shape[1]``)."""
        return int(self.signals.shape[1])

    @property
    def n_samples(self) -> int:
        """Samples per record (``signals.shape[2]``)."""
        return int(self.signals.shape[2])

    @property
    def duration(self) -> float:
        """Length of each record in seconds."""
        return self.n_samples / self.fs

    def subset(self, index) -> ECGDataset:
        """Return the records selected by ``index`` (slice, int array or boolean mask)."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        if idx.size == 0:
            raise DataError("the selection is empty: no record matches.")

        def take(a):
            return None if a is None else _own(np.ascontiguousarray(a[idx]))

        return replace(
            self,
            signals=take(self.signals),
            labels=take(self.labels),
            wave_masks=take(self.wave_masks),
            record_ids=tuple(self.record_ids[i] for i in idx),
            folds=take(self.folds),
            meta=_subset_meta(self.meta, idx),
        )

    def index_of(self, record_id: str) -> int:
        """Position of the record whose id is ``record_id``."""
        try:
            return self.record_ids.index(str(record_id))
        except ValueError:
            raise DataError(f"no record with id {record_id!r} in this dataset.") from None

    def wave_mask_for_lead(self, lead: int | str = "II") -> np.ndarray | None:
        """Per-sample wave codes (n_records, n_samples) for one lead, or ``None``."""
        if self.wave_masks is None:
            return None
        if self.wave_masks.ndim == 2:
            return self.wave_masks
        li = self.lead_index(lead) if isinstance(lead, str) else int(lead)
        return self.wave_masks[:, li]

    def lead_index(self, lead: str) -> int:
        """Position of ``lead`` (any spelling, e.g. ``'avr'``) in ``lead_names``.

        Raises
        ------
        DataError
            If the dataset has no such lead.

        Examples
        --------
        >>> ECGDataset(np.zeros((1, 12, 10)), fs=100, amplitude_check="ignore").lead_index("avr")
        3
        """
        name = canonical_lead_name(lead)
        if name not in self.lead_names:
            raise DataError(
                f"lead {lead!r} is not in this dataset (leads: {', '.join(self.lead_names)})."
            )
        return self.lead_names.index(name)

    def check_finite(self) -> None:
        """Raise :class:`DataError` naming the records that contain NaN or inf."""
        bad = ~np.isfinite(self.signals).all(axis=(1, 2))
        if bad.any():
            ids = [self.record_ids[i] for i in np.flatnonzero(bad)[:5]]
            more = "" if bad.sum() <= 5 else f" and {int(bad.sum()) - 5} more"
            raise DataError(
                f"{int(bad.sum())} record(s) contain NaN or inf values: {', '.join(ids)}{more}. "
                "Interpolate or drop them first (e.g. ds.subset(np.isfinite(ds.signals).all(axis=(1, 2))))."
            )

    def __repr__(self) -> str:
        lab = "" if self.class_names is None else f", classes={list(self.class_names)}"
        return (
            f"ECGDataset(n={len(self)}, leads={self.n_leads}, samples={self.n_samples}, "
            f"fs={self.fs:g} Hz{lab})"
        )


_FIELD_NAMES = frozenset(f.name for f in fields(ECGDataset))


def _subset_meta(meta: dict, idx: np.ndarray) -> dict:
    """Copy ``meta``, selecting ``idx`` from the per-record entries it names."""
    out = dict(meta)
    for key in meta.get("per_record", ()):
        val = meta.get(key)
        if val is None:
            continue
        if hasattr(val, "iloc"):  # pandas DataFrame / Series
            out[key] = val.iloc[idx].reset_index(drop=True)
        elif isinstance(val, np.ndarray):
            out[key] = val[idx]
        else:
            out[key] = [val[i] for i in idx]
    return out
