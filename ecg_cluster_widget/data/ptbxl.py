"""PTB-XL loader (PhysioNet layout: ``ptbxl_database.csv`` + ``records100/`` / ``records500/``)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import signal
from tqdm.auto import tqdm

from ..errors import DataError, FileFormatError
from .dataset import ECGDataset, _own, check_count, check_fs
from .leads import STANDARD_LEADS
from .preprocess import resample, select_leads
from .wfdb_io import _standard_order, read_record

#: PTB-XL's recommended use of ``strat_fold``: folds 1-8 train, 9 validation, 10 test.
TRAIN_FOLDS: tuple[int, ...] = tuple(range(1, 9))
VAL_FOLDS: tuple[int, ...] = (9,)
TEST_FOLDS: tuple[int, ...] = (10,)

#: The five diagnostic superclasses of PTB-XL, in the usual column order.
PTBXL_CLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
_QUALITY = ("baseline_drift", "static_noise", "burst_noise", "electrodes_problems")
_INFO_COLUMNS = (
    "patient_id",
    "age",
    "sex",
    "height",
    "weight",
    "site",
    "device",
    "recording_date",
    "report",
    "heart_axis",
    "validated_by_human",
    "second_opinion",
    *_QUALITY,
    "extra_beats",
    "pacemaker",
    "strat_fold",
)


def _read_csv(path: Path, **kw) -> pd.DataFrame:
    if not path.is_file():
        raise FileFormatError(
            f"{path} not found; root must be the PTB-XL folder that holds ptbxl_database.csv, "
            "scp_statements.csv and records500/."
        )
    try:
        return pd.read_csv(path, **kw)
    except Exception as exc:
        raise FileFormatError(f"could not parse {path} ({type(exc).__name__}: {exc}).") from None


def read_ptbxl_database(root: str | Path) -> pd.DataFrame:
    """``ptbxl_database.csv`` indexed by ``ecg_id`` with parsed ``scp_codes``,
    a ``superclasses`` column (sorted list) and a ``quality_issue`` flag.

    Superclasses follow the standard mapping: statements with ``diagnostic == 1`` in
    ``scp_statements.csv`` map to their ``diagnostic_class``.

    Parameters
    ----------
    root : str or pathlib.Path
        PTB-XL folder holding ``ptbxl_database.csv`` and ``scp_statements.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per record, sorted by ``ecg_id``.

    Raises
    ------
    FileFormatError
        If a file is missing or unreadable, a required column is absent or
        ``scp_codes`` cannot be parsed.

    Examples
    --------
    >>> db = read_ptbxl_database("shared/data/ptbxl_subset")  # doctest: +SKIP
    >>> db.superclasses.iloc[0]  # doctest: +SKIP
    ['NORM']
    """
    root = Path(root)
    db = _read_csv(root / "ptbxl_database.csv", index_col="ecg_id")
    scp = _read_csv(root / "scp_statements.csv", index_col=0)
    for col in ("scp_codes", "strat_fold", "filename_hr"):
        if col not in db.columns:
            raise FileFormatError(f"{root / 'ptbxl_database.csv'} has no column {col!r}.")
    try:
        db["scp_codes"] = db.scp_codes.apply(ast.literal_eval)
    except (ValueError, SyntaxError) as exc:
        raise FileFormatError(f"unparseable scp_codes in ptbxl_database.csv ({exc}).") from None
    diag = scp[scp.diagnostic == 1].diagnostic_class.to_dict()
    db["superclasses"] = db.scp_codes.apply(lambda d: sorted({diag[k] for k in d if k in diag}))
    present = [c for c in _QUALITY if c in db.columns]
    db["quality_issue"] = db[present].notna().any(axis=1) if present else False
    return db.sort_index()


def load_ptbxl(
    root: str | Path,
    fs: int = 100,
    folds: int | Sequence[int] | None = None,
    max_records: int | None = None,
    progress: bool = True,
    resample_from_500: bool = True,
    units: str | None = None,
    *,
    leads: Sequence[str] | None = None,
) -> ECGDataset:
    """Load labelled PTB-XL records with the 5 diagnostic superclasses.

    Amplitudes are checked per record and lead (see
    :meth:`~ecg_cluster_widget.data.ECGDataset.check_amplitudes`): flat or all-zero
    leads and implausible units give a :class:`~ecg_cluster_widget.errors.DataWarning`.

    Parameters
    ----------
    root : str or Path
        PTB-XL folder (``ptbxl_database.csv``, ``scp_statements.csv``, ``records500/``).
    fs : float
        Sampling rate. With ``fs=100`` and ``resample_from_500=True`` (default) every
        record is read from ``records500`` and decimated by 5 (zero-phase), so all
        records are treated identically even where official 100 Hz files are missing.
        With ``resample_from_500=False`` the official ``records100`` files are read.
        Any other rate (e.g. 250) reads ``records500`` and resamples on load.
    folds : int or sequence of int, optional
        Keep only these ``strat_fold`` values (convention: 1-8 train, 9 val, 10 test).
    max_records : int, optional
        Keep the first ``max_records`` records (by ``ecg_id``) after fold filtering.
    progress : bool
        Show a tqdm progress bar.
    units : {"mV", "uV", "V"}, optional
        Units of the physical values when the headers name the wrong one; default: the
        headers' units (mV for PTB-XL).
    leads : sequence of str, optional
        Keep only these leads, in this order (case-insensitive, aliases such as "V 1").

    Returns
    -------
    ECGDataset
        ``labels`` (n, 5) multi-label for ``PTBXL_CLASSES`` (records without a
        diagnostic statement have all zeros), ``folds`` = ``strat_fold``,
        ``record_ids`` = ``ecg_id`` and ``meta["info"]``, a DataFrame with age, sex,
        the signal-quality columns, ``quality_issue``, ``scp_codes`` and
        ``superclasses`` per record.

    Examples
    --------
    >>> ds = load_ptbxl("shared/data/ptbxl_subset", folds=[10], progress=False)  # doctest: +SKIP
    >>> ds.signals.shape[1:], ds.class_names  # doctest: +SKIP
    ((12, 1000), ('NORM', 'MI', 'STTC', 'CD', 'HYP'))
    """
    # PTB-XL ships 100 and 500 Hz; other rates are resampled from 500 Hz after loading.
    target_fs = check_fs(fs)
    fs = int(target_fs) if target_fs in (100, 500) else 500
    root = Path(root)
    db = read_ptbxl_database(root)
    db = _select(db, folds, max_records, "ptbxl_database.csv")
    if fs == 100 and not resample_from_500:
        col, factor = "filename_lr", 1
        if col not in db.columns or db[col].isna().any():
            raise FileFormatError(
                "some records have no official 100 Hz file (filename_lr); use "
                "resample_from_500=True to decimate records500 uniformly instead."
            )
    else:
        col, factor = "filename_hr", 5 if fs == 100 else 1
    _check_files(root, db[col].tolist(), fs == 100 and not resample_from_500)
    x = _read_signals(root, db[col].tolist(), 500 if factor == 5 else fs, factor, progress, units)
    labels = np.array([[c in s for c in PTBXL_CLASSES] for s in db.superclasses], dtype=np.float32)
    info = _info(db)
    source = (
        "records500 decimated by 5 (zero-phase)"
        if factor == 5
        else ("records100" if fs == 100 else "records500")
    )
    ds = ECGDataset(
        signals=_own(x),
        fs=float(fs),
        lead_names=STANDARD_LEADS,
        labels=labels,
        class_names=PTBXL_CLASSES,
        record_ids=tuple(str(i) for i in db.index),
        folds=db.strat_fold.to_numpy().astype(np.int64),
        meta={
            "source": f"PTB-XL {root}",
            "signal_source": source,
            "units": "mV",
            "info": info,
            "per_record": ("info",),
        },
    )
    if leads is not None:
        ds = select_leads(ds, leads)
    if target_fs != fs:
        ds = resample(ds, target_fs)
    ds.check_amplitudes("warn")
    return ds


def load_ptbxl_unlabeled(
    root: str | Path,
    fs: int = 100,
    max_records: int | None = None,
    progress: bool = True,
    units: str | None = None,
) -> ECGDataset:
    """Load the records listed in ``extra_unlabeled_records.csv`` (no PTB-XL labels).

    They have no superclass labels and no fold; ``meta["info"]`` carries the columns
    of that file (age, sex, the competition's weak ``myocard`` MI flag, ...). At
    ``fs=100`` the 500 Hz files are decimated by 5, as in :func:`load_ptbxl`.

    Parameters
    ----------
    root : str or pathlib.Path
        PTB-XL folder holding ``extra_unlabeled_records.csv`` and the records.
    fs : {100, 500}
        Sampling rate of the returned signals.
    max_records : int, optional
        Load only the first records (by ``ecg_id``).
    progress : bool
        Show a progress bar.
    units : {"mV", "uV", "V"}, optional
        Override of the headers' units, as in :func:`load_ptbxl`.

    Returns
    -------
    ECGDataset
        Records without ``labels`` or ``folds``.

    Raises
    ------
    DataError
        If ``fs`` is not 100 or 500.
    FileFormatError
        If the list or a record file is missing or malformed.

    Examples
    --------
    >>> ds = load_ptbxl_unlabeled("shared/data/ptbxl_subset", max_records=5)  # doctest: +SKIP
    >>> ds.labels is None  # doctest: +SKIP
    True
    """
    if fs not in (100, 500):
        raise DataError(f"PTB-XL comes at fs=100 or fs=500 Hz, got fs={fs!r}.")
    root = Path(root)
    extra = _read_csv(root / "extra_unlabeled_records.csv").sort_values("ecg_id")
    if "filename_hr" not in extra.columns:
        raise FileFormatError("extra_unlabeled_records.csv has no filename_hr column.")
    extra = extra.set_index("ecg_id")
    extra = _select(extra, None, max_records, "extra_unlabeled_records.csv")
    x = _read_signals(root, extra.filename_hr.tolist(), 500, 5 if fs == 100 else 1, progress, units)
    info = extra.drop(columns=["filename_hr"]).reset_index()
    ds = ECGDataset(
        signals=_own(x),
        fs=float(fs),
        lead_names=STANDARD_LEADS,
        record_ids=tuple(str(i) for i in extra.index),
        meta={
            "source": f"PTB-XL extra records {root}",
            "units": "mV",
            "info": info,
            "per_record": ("info",),
        },
    )
    ds.check_amplitudes("warn")
    return ds


def split_folds(
    ds: ECGDataset,
    train_folds: Sequence[int] = TRAIN_FOLDS,
    val_folds: Sequence[int] = VAL_FOLDS,
    test_folds: Sequence[int] = TEST_FOLDS,
) -> tuple[ECGDataset, ECGDataset, ECGDataset]:
    """(train, validation, test) subsets by PTB-XL ``strat_fold``.

    The one implementation of the fold convention, used by the command line (``train``
    holds out fold 9, ``evaluate`` fold 10) and by the experiments. Default: folds 1-8
    train, 9 validation, 10 test, so the test fold never steers training.

    Parameters
    ----------
    ds : ECGDataset
        Records with ``folds`` (``load_ptbxl`` sets them from ``strat_fold``).
    train_folds, val_folds, test_folds : sequence of int
        The folds of each part.

    Returns
    -------
    train, val, test : ECGDataset
        Each in the original record order.

    Raises
    ------
    DataError
        If ``ds`` has no folds, or a part would hold no record.

    Examples
    --------
    >>> ds = ECGDataset(np.ones((10, 1, 8)), fs=4, lead_names=["II"], folds=np.arange(1, 11))
    >>> [p.folds.tolist() for p in split_folds(ds)]
    [[1, 2, 3, 4, 5, 6, 7, 8], [9], [10]]
    """
    if ds.folds is None:
        raise DataError(
            "the records have no folds; fold splits need PTB-XL records (load_ptbxl), "
            "otherwise split at random."
        )
    f = np.asarray(ds.folds)
    parts = []
    for name, folds in (("train", train_folds), ("validation", val_folds), ("test", test_folds)):
        wanted = [int(x) for x in folds]
        mask = np.isin(f, wanted)
        if not mask.any():
            raise DataError(
                f"no record is in the {name} folds {wanted} (the data has folds "
                f"{sorted(set(f.tolist()))})."
            )
        parts.append(ds.subset(mask))
    return parts[0], parts[1], parts[2]


def _select(db: pd.DataFrame, folds, max_records, what: str) -> pd.DataFrame:
    if folds is not None:
        wanted = [int(folds)] if np.isscalar(folds) else [int(f) for f in folds]
        db = db[db.strat_fold.isin(wanted)]
        if db.empty:
            raise DataError(f"no record of {what} is in folds {wanted} (valid folds: 1..10).")
    if max_records is not None:
        db = db.iloc[: check_count(max_records, "max_records")]
    if db.empty:
        raise DataError(f"{what} lists no records.")
    return db


def _check_files(root: Path, files: list[str], official_100: bool) -> None:
    """Fail before a long read if any record's header is missing."""
    missing = [f for f in files if not (root / f"{f}.hea").is_file()]
    if not missing:
        return
    hint = (
        " Official 100 Hz files exist only for part of the data; use "
        "resample_from_500=True to decimate records500 uniformly instead."
        if official_100
        else ""
    )
    raise FileFormatError(
        f"{len(missing)} of {len(files)} record files are missing under {root}, e.g. "
        f"{', '.join(missing[:3])}.{hint}"
    )


def _read_signals(
    root: Path,
    files: list[str],
    fs_file: int,
    factor: int,
    progress: bool,
    units: str | None = None,
):
    n_out = None
    out = None
    for i, rel in enumerate(tqdm(files, desc="reading PTB-XL", disable=not progress)):
        sig, fs, names, _ = read_record(root / rel, units=units)
        if fs != fs_file:
            raise FileFormatError(f"{root / rel} is sampled at {fs:g} Hz, expected {fs_file} Hz.")
        sig = _standard_order(sig, names, root / rel)
        if factor > 1:
            sig = signal.decimate(sig.astype(np.float64), factor, axis=-1, zero_phase=True)
        if out is None:
            n_out = sig.shape[1]
            out = np.empty((len(files), 12, n_out), dtype=np.float32)
        if sig.shape[1] != n_out:
            raise FileFormatError(
                f"{root / rel} has {sig.shape[1]} samples; other records have {n_out}."
            )
        out[i] = sig
    return out


def _info(db: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in _INFO_COLUMNS if c in db.columns]
    info = db[cols].copy()
    info["quality_issue"] = db.quality_issue
    info["scp_codes"] = db.scp_codes
    info["superclasses"] = db.superclasses
    return info.reset_index()
