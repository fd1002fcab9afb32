"""Reading WFDB records (PhysioNet format) and wrapping numpy arrays as datasets."""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import DataError, FileFormatError
from .dataset import ECGDataset, _own, check_count, check_fs
from .leads import STANDARD_LEADS, canonical_lead_name
from .preprocess import _shift_window, crop_or_pad, resample, select_leads
from .units import _canonical_units

_SUFFIXES = (".hea", ".dat", ".mat")


@contextlib.contextmanager
def quiet_wfdb() -> Iterator[None]:
    """Silence deprecation noise that wfdb triggers in pandas and numpy while reading.

    wfdb 4.3 calls ``DataFrame.set_index(inplace=True)``, which pandas 3.1 deprecates: one
    warning per annotation file, 242 for LUDB. They concern wfdb's code, not the user's,
    so our loaders hide them; any other warning still shows.

    Yields
    ------
    None

    Examples
    --------
    >>> with quiet_wfdb():
    ...     warnings.warn("x", DeprecationWarning)  # hidden
    """
    with warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
            warnings.simplefilter("ignore", category)
        yield


#: Physical units a WFDB header may name, and their factor to mV.
_WFDB_UNITS = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3, "nv": 1e-6}


def _to_mv(
    sig: np.ndarray, header_units: Sequence[str] | None, units: str | None, stem: Path
) -> np.ndarray:
    """Scale physical WFDB values (samples, channels) to mV.

    ``units`` (an override of what the header says) applies to every channel; otherwise
    each channel's header unit is used, and a unit that is not a voltage is refused.
    """
    override = None if units is None else _canonical_units(units)
    if override == "adc":
        raise DataError(
            "units='adc' does not apply to WFDB files: their header gives gain and "
            "baseline, and the loader reads physical values. Pass the physical unit the "
            "values really are in (e.g. units='uV') if the header names the wrong one."
        )
    names = list(header_units or [])
    factors = []
    for i in range(sig.shape[1]):
        u = override or (names[i] if i < len(names) else "") or "mV"  # WFDB's default: mV
        f = _WFDB_UNITS.get(str(u).strip().lower())
        if f is None:
            raise FileFormatError(
                f"WFDB record {stem}: signal {i} is in {u!r}, not a voltage; pass units='mV' "
                "(or 'uV', 'V') to say what the values are."
            )
        factors.append(f)
    factors = np.asarray(factors, dtype=np.float64)
    return sig if (factors == 1.0).all() else (sig * factors[None, :]).astype(np.float32)


def _record_stem(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix.lower() in _SUFFIXES else p


def read_record(
    path: str | Path, units: str | None = None
) -> tuple[np.ndarray, float, tuple[str, ...], list[str]]:
    """Read one WFDB record in mV.

    Parameters
    ----------
    path : str or Path
        Record path without extension (``.hea``/``.dat`` are stripped if given).
    units : {"mV", "uV", "V"}, optional
        Units of the physical values; default: each signal's unit in the header
        (``uV``/``V`` signals are converted to mV).

    Returns
    -------
    signals : ndarray (n_leads, n_samples) float32, in mV
    fs : float
    lead_names : tuple of str (canonical spelling, e.g. ``'aVR'``)
    comments : list of str (header comment lines)

    Raises
    ------
    FileFormatError
        If the header or signal file is missing, unreadable or corrupt.

    Examples
    --------
    >>> sig, fs, leads, comments = read_record("shared/data/ludb/data/1")  # doctest: +SKIP
    """
    with quiet_wfdb():  # importing wfdb builds pandas tables with deprecated calls
        import wfdb  # slow import, only needed when reading files

    stem = _record_stem(path)
    header = stem.parent / f"{stem.name}.hea"
    if not header.is_file():
        raise FileFormatError(
            f"WFDB header {header} not found; pass the record path without extension "
            "(e.g. 'data/100' for data/100.hea + data/100.dat)."
        )
    try:
        with quiet_wfdb():
            rec = wfdb.rdrecord(str(stem), physical=True)
    except Exception as exc:  # wfdb raises many types for corrupt input
        raise FileFormatError(
            f"could not read WFDB record {stem} ({type(exc).__name__}: {exc}). "
            "Check that its .hea and signal files are complete and uncorrupted."
        ) from None
    sig = rec.p_signal
    if sig is None or sig.ndim != 2 or sig.shape[0] == 0:
        raise FileFormatError(f"WFDB record {stem} contains no samples.")
    if rec.sig_len is not None and sig.shape[0] != rec.sig_len:
        raise FileFormatError(
            f"WFDB record {stem}: header says {rec.sig_len} samples but the signal file "
            f"holds {sig.shape[0]}; the .dat file is truncated or corrupt."
        )
    names = tuple(canonical_lead_name(n) for n in rec.sig_name)
    sig = _to_mv(np.asarray(sig, dtype=np.float32), rec.units, units, stem)
    return (
        np.ascontiguousarray(sig.T, dtype=np.float32),
        float(rec.fs),
        names,
        list(rec.comments or []),
    )


def _natural_key(name: str) -> list:
    """Sort key that puts record ``2`` before ``10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _standard_order(sig: np.ndarray, names: Sequence[str], where: object) -> np.ndarray:
    """``sig`` (leads, samples) with its rows in :data:`STANDARD_LEADS` order."""
    missing = [lead for lead in STANDARD_LEADS if lead not in names]
    if missing:
        raise FileFormatError(f"{where} lacks lead(s) {', '.join(missing)}.")
    return sig[[names.index(lead) for lead in STANDARD_LEADS]]


def load_wfdb(
    path: str | Path,
    n_samples: int | None = None,
    progress: bool = True,
    leads: Sequence[str] | None = None,
    units: str | None = None,
    fs: float | None = None,
) -> ECGDataset:
    """Load one WFDB record, or every record in a folder, as an :class:`ECGDataset`.

    Amplitudes are checked (see :meth:`ECGDataset.check_amplitudes`): implausible units
    and flat or all-zero leads give a :class:`~ecg_cluster_widget.errors.DataWarning`.

    Parameters
    ----------
    path : str or Path
        A record path without extension (``data/100``) or a folder of records. All
        records in a folder must share the sampling rate and lead names.
    n_samples : int, optional
        Crop (keep the start) or zero-pad every record to this length (at ``fs`` when
        given). Needed when the records of a folder differ in length.
    progress : bool
        Show a tqdm progress bar when loading a folder.
    leads : sequence of str, optional
        Keep only these leads, in this order. Names are matched case-insensitively and
        with aliases (``"MLII"`` and ``"ML2"`` are lead II, ``"V 1"`` is V1).
    units : {"mV", "uV", "V"}, optional
        Units of the physical values when the headers name the wrong one; default: the
        unit each header gives.
    fs : float, optional
        Resample to this rate on load (e.g. a 360 Hz MIT-BIH record to a 250 Hz
        model's rate); default: the records' own rate.

    Returns
    -------
    ECGDataset
        ``record_ids`` are the record names; ``meta["comments"]`` holds each header's
        comment lines.

    Examples
    --------
    >>> ds = load_wfdb("shared/data/wfdb_samples/mitdb/100")  # doctest: +SKIP
    >>> ds.lead_names, ds.fs  # doctest: +SKIP
    (('II', 'V5'), 360.0)
    >>> load_wfdb("shared/data/wfdb_samples/mitdb/100", fs=250, leads=["MLII"]).fs  # doctest: +SKIP
    250.0
    """
    p = Path(path)
    if p.is_dir():
        stems = sorted(
            {h.with_suffix("") for h in p.glob("*.hea")}, key=lambda h: _natural_key(h.name)
        )
        if not stems:
            raise FileFormatError(f"folder {p} contains no WFDB headers (*.hea).")
    else:
        stems = [_record_stem(p)]
    n_samples = None if n_samples is None else check_count(n_samples, "n_samples")
    target_fs = None if fs is None else check_fs(fs)  # `fs` is reused for each record's rate
    sigs, comments = [], []
    fs0 = names0 = None
    for stem in tqdm(stems, desc="reading WFDB", disable=not progress or len(stems) < 2):
        sig, fs, names, com = read_record(stem, units=units)
        if fs0 is None:
            fs0, names0 = fs, names
        if fs != fs0:
            raise DataError(
                f"record {stem.name} has fs={fs:g} Hz but {stems[0].name} has {fs0:g} Hz; "
                "load them separately and resample() to a common rate."
            )
        if names != names0:
            raise DataError(
                f"record {stem.name} has leads {', '.join(names)} but {stems[0].name} has "
                f"{', '.join(names0)}; load records with the same leads together."
            )
        sigs.append(sig)
        comments.append(com)
    lengths = {s.shape[1] for s in sigs}
    if n_samples is None and len(lengths) > 1:
        raise DataError(
            f"records differ in length ({min(lengths)}..{max(lengths)} samples); pass "
            "n_samples=... to crop/pad them to a common length."
        )
    if n_samples is None:
        target = lengths.pop()
    else:
        # Crop at the records' own rate to what n_samples covers at the target rate.
        ratio = 1.0 if target_fs is None else fs0 / target_fs
        target = int(np.ceil(n_samples * ratio))
    x = np.stack([_shift_window(s, 0, target, 0.0) for s in sigs])  # crop / zero-pad the end
    ds = ECGDataset(
        signals=_own(x),
        fs=fs0,
        lead_names=names0,
        record_ids=tuple(s.name for s in stems),
        meta={"source": str(p), "units": "mV", "comments": comments, "per_record": ("comments",)},
    )
    if leads is not None:
        ds = select_leads(ds, leads)
    if target_fs is not None and not np.isclose(ds.fs, target_fs):
        ds = resample(ds, target_fs)
    if n_samples is not None and ds.n_samples != n_samples:
        ds = crop_or_pad(ds, n_samples)
    ds.check_amplitudes("warn")
    return ds


def from_numpy(
    signals: np.ndarray,
    fs: float,
    lead_names: Sequence[str] = STANDARD_LEADS,
    *,
    allow_nan: bool = False,
    units: str = "mV",
    gain: float | Sequence[float] | None = None,
    baseline: float | Sequence[float] = 0.0,
    amplitude_check: str = "warn",
    **kw,
) -> ECGDataset:
    """Wrap an array of ECGs as an :class:`ECGDataset` (converted to mV).

    The amplitudes are checked per record and lead: microvolts or raw ADC counts passed
    as mV, volts, and flat or all-zero leads and records give a
    :class:`~ecg_cluster_widget.errors.DataWarning` that names them and says what to do
    (e.g. "values look like microvolts: divide by 1000 or pass units='uV'").

    Parameters
    ----------
    signals : array-like
        ``(n_records, n_leads, n_samples)``, a single record ``(n_leads, n_samples)``,
        or the PTB-XL/wfdb layout ``(n_records, n_samples, n_leads)``, which is
        recognised when only its last axis matches ``len(lead_names)``.
    fs : float
        Sampling rate in Hz.
    lead_names : sequence of str
        One name per lead.
    allow_nan : bool
        If False (default) NaN/inf values raise :class:`DataError`.
    units : {"mV", "uV", "V", "adc"}
        Units of ``signals``; ``"adc"`` needs ``gain`` (ADC units per mV) and
        ``baseline`` (the ADC value of 0 mV), one value or one per lead.
    gain, baseline : float or sequence of float
        See ``units``.
    amplitude_check : {"warn", "raise", "ignore"}
        What to do about implausible amplitudes (see :meth:`ECGDataset.check_amplitudes`).
    **kw
        Passed to :class:`ECGDataset` (``labels``, ``class_names``, ``wave_masks``,
        ``record_ids``, ``folds``, ``meta``).

    Returns
    -------
    ECGDataset
        ``float32`` signals of shape ``(n_records, n_leads, n_samples)``.

    Raises
    ------
    DataError
        If the array is not numeric, has the wrong number of dimensions or leads, or
        contains NaN/inf while ``allow_nan`` is False.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(0, 0.3, (3, 1000, 12))
    >>> from_numpy(x, fs=100).signals.shape
    (3, 12, 1000)
    >>> uv = from_numpy(x * 1000, fs=100, units="uV")  # microvolts, converted to mV
    >>> bool(np.allclose(uv.signals, from_numpy(x, fs=100).signals))
    True
    """
    try:
        if np.iscomplexobj(signals):
            raise TypeError("complex values are not ECG samples")
        x = np.asarray(signals, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(f"signals must be a numeric array ({exc}).") from None
    n_leads = len(lead_names)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise DataError(f"signals must have shape (n_records, n_leads, n_samples); got {x.shape}.")
    if x.shape[1] != n_leads and x.shape[2] == n_leads:
        x = x.transpose(0, 2, 1)
    if x.shape[1] != n_leads:
        raise DataError(
            f"signals have {x.shape[1]} leads (axis 1) but {n_leads} lead names were given; "
            "pass lead_names=[...] with one name per lead."
        )
    if not allow_nan and not np.isfinite(x).all():
        raise DataError(
            "signals contain NaN or inf; clean them, or pass allow_nan=True and then "
            "call interpolate_nan(ds)."
        )
    ds = ECGDataset(
        signals=x,
        fs=fs,
        lead_names=tuple(lead_names),
        units=units,
        gain=gain,
        baseline=baseline,
        amplitude_check="ignore",
        **kw,
    )
    if amplitude_check != "ignore":
        ds.check_amplitudes(amplitude_check)
    return ds
