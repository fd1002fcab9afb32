"""The one dataset type used throughout the package, with its unit and amplitude checks.

Datasets are immutable: their arrays are read-only numpy arrays (``writeable=False``), so
an in-place edit raises numpy's ``ValueError`` instead of silently changing data that an
explainer, a cache or a fit has already seen. Build a modified copy with
:meth:`ECGDataset.with_signals` or :meth:`ECGDataset.copy`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, DataWarning, ReadOnlyDataError
from .leads import STANDARD_LEADS, canonical_lead_name
from .units import _canonical_units, _names, amplitude_problems, to_millivolts

#: What to do about implausible amplitudes (``amplitude_check``).
_ACTIONS = ("warn", "raise", "ignore")
#: Integer codes of ``ECGDataset.wave_masks``.
WAVE_NAMES: tuple[str, ...] = ("none", "P", "QRS", "T")


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


def check_fs(fs: Any) -> float:
    """``fs`` as a float, or a :class:`~ecg_cluster_widget.errors.DataError` unless it is a
    positive, finite number of Hz; the package's one check of a sampling rate.

    Parameters
    ----------
    fs : object
        The sampling rate as given (a number, or text holding one).

    Returns
    -------
    float

    Examples
    --------
    >>> check_fs(250)
    250.0
    >>> check_fs(0)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: fs must be a positive sampling rate (a number of Hz), got 0.
    """
    try:
        value = math.nan if isinstance(fs, bool) else float(fs)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"fs must be a positive sampling rate (a number of Hz), got {fs!r}.")
    return value


def check_choice(value: Any, choices: Sequence, what: str, error: type = DataError) -> Any:
    """``value`` if it is one of ``choices``, else ``error`` (a
    :class:`~ecg_cluster_widget.errors.DataError` unless given) naming them all.

    Parameters
    ----------
    value : object
        The value given.
    choices : sequence
        The values allowed.
    what : str
        Its name, for the message.
    error : type
        The exception raised.

    Returns
    -------
    object
        ``value``.

    Examples
    --------
    >>> check_choice("center", ("start", "center"), "align")
    'center'
    >>> check_choice("end", ("start", "center"), "align")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: align must be one of 'start', 'center', got 'end'.
    """
    if value not in choices:
        raise error(f"{what} must be one of {', '.join(map(repr, choices))}, got {value!r}.")
    return value


def check_count(value: Any, what: str) -> int:
    """``value`` as an int, or a :class:`~ecg_cluster_widget.errors.DataError` unless it is
    a whole number of at least 1 (a bool is not a count).

    Parameters
    ----------
    value : object
        The count given.
    what : str
        Its name, for the message.

    Returns
    -------
    int

    Examples
    --------
    >>> check_count(3, "n_records")
    3
    >>> check_count(2.5, "n_records")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: n_records must be a positive integer, got 2.5.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(f"{what} must be a positive integer, got {value!r}.")
    return int(value)


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
        check_choice(amplitude_check, _ACTIONS, "amplitude_check")
        unit_name = _canonical_units(units)
        from_dataset = _is_frozen(self.signals)  # taken from a dataset: already checked
        sig = np.asarray(self.signals)
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
        meta = dict(self.meta or {})  # the dataset's own: a caller's dict may change later
        if unit_name != "mV" or gain is not None:
            sig = _own(np.ascontiguousarray(to_millivolts(sig, unit_name, gain, baseline)))
            step = f"units({unit_name} -> mV" + (
                f", gain {gain}, baseline {baseline})" if unit_name == "adc" else ")"
            )
            meta.update(units="mV", preprocessing=[*meta.get("preprocessing", []), step])
            from_dataset = False
        self.meta = meta
        self.signals = _freeze(sig, np.float32)
        self.fs = check_fs(self.fs)
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
                lab = np.asarray(self.labels, dtype=np.float32)
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
            wm = np.asarray(self.wave_masks)
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
            folds = np.asarray(self.folds)
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
        check_choice(action, _ACTIONS, "action")
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
            ids = _names([self.record_ids[i] for i in np.flatnonzero(bad)])
            raise DataError(
                f"{int(bad.sum())} record(s) contain NaN or inf values: {ids}. "
                "Interpolate or drop them first (e.g. ds.subset(np.isfinite(ds.signals).all(axis=(1, 2))))."
            )

    def __repr__(self) -> str:
        lab = "" if self.class_names is None else f", classes={list(self.class_names)}"
        return (
            f"ECGDataset(n={len(self)}, leads={self.n_leads}, samples={self.n_samples}, "
            f"fs={self.fs:g} Hz{lab})"
        )


_FIELD_NAMES = frozenset(f.name for f in fields(ECGDataset))


def check_dataset(ds: object) -> None:
    """Raise a :class:`~ecg_cluster_widget.errors.DataError` naming the fix unless ``ds``
    is an :class:`ECGDataset`.

    Parameters
    ----------
    ds : object

    Examples
    --------
    >>> check_dataset(np.zeros((1, 12, 100)))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: expected an ECGDataset, got ndarray; ...
    """
    if not isinstance(ds, ECGDataset):
        raise DataError(
            f"expected an ECGDataset, got {type(ds).__name__}; wrap arrays with "
            "ecg_cluster_widget.data.from_numpy(signals, fs)."
        )


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
