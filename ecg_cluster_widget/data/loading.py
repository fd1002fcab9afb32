"""Data specs and loading policy: what ``--data synthetic:200`` or ``ptbxl:PATH`` means.

The command line, notebooks and experiments share these: :func:`parse_data_spec`
checks a spec without loading anything (the command line validates ``--data`` with it
while parsing), :func:`load_data` loads one, :func:`use_leads` picks the ``--leads``,
:func:`fit_to_model` also resamples and crops/pads to a model's input,
:func:`split_dataset` is the train / held-out split (PTB-XL folds when present, see
:func:`~ecg_cluster_widget.data.ptbxl.split_folds`) and :func:`check_writable` checks an
output path before any work.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, FileFormatError
from .dataset import ECGDataset, check_choice, check_fs

__all__ = [
    "DataSpec",
    "parse_data_spec",
    "load_data",
    "parse_leads",
    "use_leads",
    "fit_to_model",
    "split_dataset",
    "check_writable",
    "DEFAULT_SYNTHETIC_RECORDS",
    "DEFAULT_FS",
]

#: Records of ``synthetic`` without ``:N``.
DEFAULT_SYNTHETIC_RECORDS = 600
#: Sampling rate of synthetic / PTB-XL data when none is asked for.
DEFAULT_FS = 100.0
_PATH_KINDS = ("ptbxl", "ludb", "wfdb")

Log = Callable[[str], None]


@dataclass(frozen=True)
class DataSpec:
    """A parsed data spec.

    Attributes
    ----------
    kind : {"synthetic", "real", "ptbxl", "ludb", "wfdb"}
    n_records : int or None
        ``synthetic:N``'s N.
    name : str or None
        ``real:NAME``'s NAME.
    path : pathlib.Path or None
        The folder or record of the path kinds (a bare path is ``wfdb``).
    text : str
        The spec as given.

    Examples
    --------
    >>> DataSpec("synthetic", 8, text="synthetic:8").n_records
    8
    """

    kind: str
    n_records: int | None = None
    name: str | None = None
    path: Path | None = None
    text: str = ""


def parse_data_spec(spec: str) -> DataSpec:
    """Check and split a data spec without loading anything.

    Parameters
    ----------
    spec : str
        ``synthetic`` / ``synthetic:N``, ``real:ptbxl`` / ``real:ludb``, ``ptbxl:PATH``,
        ``ludb:PATH``, ``wfdb:PATH`` or a bare WFDB record / folder path.

    Returns
    -------
    DataSpec

    Raises
    ------
    DataError
        For a malformed spec (``synthetic:abc``, ``synthetic:0``, ``real:xyz``,
        ``ptbxl:`` without a path); the message shows a valid one.

    Examples
    --------
    >>> parse_data_spec("synthetic:8").n_records
    8
    >>> parse_data_spec("synthetic:abc")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: --data 'synthetic:abc': N must be a whole number of records >= 1, e.g. synthetic:200.
    """
    text = str(spec).strip()
    if not text:
        raise DataError("--data is empty: give e.g. synthetic:200, real:ptbxl or ptbxl:PATH.")
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    if kind == "synthetic":
        if not sep:
            return DataSpec("synthetic", None, text=text)
        try:
            n = int(rest)
        except ValueError:
            n = 0
        if n < 1:
            raise DataError(
                f"--data {text!r}: N must be a whole number of records >= 1, e.g. synthetic:200."
            )
        return DataSpec("synthetic", n, text=text)
    if kind == "real":
        from .samples import REAL_SAMPLES

        name = rest or "ptbxl"
        if name not in REAL_SAMPLES:
            raise DataError(
                f"--data real:{name}: choose one of {', '.join('real:' + n for n in REAL_SAMPLES)}."
            )
        return DataSpec("real", name=name, text=text)
    if kind in _PATH_KINDS:
        if not rest:
            raise DataError(f"--data {text!r} needs a path, e.g. {kind}:/data/{kind}.")
        return DataSpec(kind, path=Path(rest).expanduser(), text=text)
    return DataSpec("wfdb", path=Path(text).expanduser(), text=text)


def load_data(
    spec: str | DataSpec,
    *,
    fs: float | None = None,
    n_records: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> ECGDataset:
    """Load a dataset from a data spec (see :func:`parse_data_spec`).

    Parameters
    ----------
    spec : str or DataSpec
    fs : float, optional
        Sampling rate for synthetic / PTB-XL data (PTB-XL ships 100 and 500 Hz; other
        rates load 500 Hz, to be resampled); default 100. Must be positive.
    n_records : int, optional
        Cap on the number of records.
    seed : int
        Seed of the synthetic generator.
    progress : bool
        Progress bars.

    Returns
    -------
    ECGDataset

    Raises
    ------
    DataError
        For a malformed spec or a non-positive ``fs`` / ``n_records``.
    FileFormatError
        If a path does not exist.

    Examples
    --------
    >>> load_data("synthetic:8", progress=False).signals.shape
    (8, 12, 1000)
    """
    parsed = spec if isinstance(spec, DataSpec) else parse_data_spec(spec)
    fs = None if fs is None else check_fs(fs)
    if n_records is not None and int(n_records) < 1:
        raise DataError(f"n_records must be at least 1, got {n_records}.")
    if parsed.kind == "real":
        from .samples import load_real_sample

        ds = load_real_sample(parsed.name)
    elif parsed.kind == "synthetic":
        from .synthetic import make_synthetic

        n = parsed.n_records or n_records or DEFAULT_SYNTHETIC_RECORDS
        return make_synthetic(
            n_records=n, fs=DEFAULT_FS if fs is None else fs, seed=seed, progress=progress
        )
    elif parsed.kind == "ptbxl":  # a missing folder: the loaders say what they expected
        from .ptbxl import load_ptbxl

        ptb_fs = int(fs) if fs in (100, 500) else (100 if fs is None else 500)
        return load_ptbxl(parsed.path, fs=ptb_fs, max_records=n_records, progress=progress)
    elif parsed.kind == "ludb":
        from .ludb import load_ludb

        recs = None if n_records is None else list(range(1, int(n_records) + 1))
        ds = load_ludb(parsed.path, records=recs, progress=progress)
    else:
        path = parsed.path
        if not path.exists() and not path.with_suffix(".hea").exists():
            raise FileFormatError(
                f"data {str(path)!r} not found: give a WFDB record path (without extension), a "
                "folder of records, 'synthetic', 'ptbxl:PATH' or 'ludb:PATH'."
            )
        from .wfdb_io import load_wfdb

        ds = load_wfdb(path, progress=progress)
    if n_records is not None and len(ds) > n_records:
        ds = ds.subset(slice(0, n_records))
    return ds


def parse_leads(values: str | Sequence[str] | None) -> list[str] | None:
    """Lead names from ``--leads`` values: space- and/or comma-separated.

    Parameters
    ----------
    values : str, sequence of str or None

    Returns
    -------
    list of str or None
        ``None`` when no lead was given.

    Examples
    --------
    >>> parse_leads(["I,II", "v1"])
    ['I', 'II', 'v1']
    >>> parse_leads(None) is None
    True
    """
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    names = [part.strip() for v in values for part in str(v).split(",") if part.strip()]
    if not names:
        raise DataError("--leads needs at least one lead name, e.g. --leads I,II,V1.")
    return names


def use_leads(
    ds: ECGDataset,
    leads: Sequence[str] | None,
    log: Log | None = None,
    check: Callable[[tuple[str, ...]], None] | None = None,
) -> ECGDataset:
    """``ds`` with the ``--leads`` asked for (``None``: all), saying so in one line.

    Parameters
    ----------
    ds : ECGDataset
    leads : sequence of str or None
        Lead names in the order wanted (any spelling, e.g. ``["ii", "V1"]``).
    log : callable, optional
        Called with a one-line note when leads were selected.
    check : callable, optional
        Called with the selected lead names before the note (a model's lead check).

    Returns
    -------
    ECGDataset

    Examples
    --------
    >>> use_leads(load_data("synthetic:2", progress=False), ["V1", "ii"], print).lead_names
    using leads V1, II (of I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6)
    ('V1', 'II')
    """
    from .preprocess import select_leads

    picked = select_leads(ds, leads) if leads else ds
    if check is not None:
        check(picked.lead_names)
    if log and picked.lead_names != ds.lead_names:
        log(f"using leads {', '.join(picked.lead_names)} (of {', '.join(ds.lead_names)})")
    return picked


def fit_to_model(
    ds: ECGDataset,
    bundle,
    log: Log | None = None,
    leads: Sequence[str] | None = None,
    *,
    length: bool = True,
) -> ECGDataset:
    """Select leads, then resample (and, with ``length``, crop / pad) to the model's input.

    The lead check comes first (it only compares names), so a lead mismatch is
    reported before any expensive resampling.

    Parameters
    ----------
    ds : ECGDataset
        The records to adapt.
    bundle : ModelBundle
        The model whose leads, ``fs`` and ``n_samples`` the records must match.
    log : callable, optional
        Called with a one-line message for each change made.
    leads : sequence of str, optional
        Leads to keep, in this order; default: as they are.
    length : bool
        Crop / zero-pad to ``bundle.n_samples`` (``evaluate``). ``False`` keeps every
        record's length, for :func:`~ecg_cluster_widget.explain.windowing.explain_records`,
        which explains records of any length.

    Returns
    -------
    ECGDataset
        ``ds`` itself when it already fits, else a selected / resampled / cropped /
        padded copy.

    Raises
    ------
    DataError
        If the leads do not match the model's (after selection).

    Examples
    --------
    >>> from ecg_cluster_widget.model import load_demo_model
    >>> ds = load_data("synthetic:2", fs=200, progress=False)
    >>> fit_to_model(ds, load_demo_model(), log=print).signals.shape
    resampling 200 Hz -> 100 Hz to match the model
    (2, 12, 1000)
    """
    from . import preprocess

    ds = use_leads(ds, leads, log, check=bundle.check_leads)
    if abs(ds.fs - bundle.fs) > 1e-6:
        if log:
            log(f"resampling {ds.fs:g} Hz -> {bundle.fs:g} Hz to match the model")
        ds = preprocess.resample(ds, bundle.fs)
    if not length:
        ds.check_finite()
        return ds
    if ds.n_samples != bundle.n_samples:
        if log:
            log(f"cropping/padding {ds.n_samples} -> {bundle.n_samples} samples to match the model")
        ds = preprocess.crop_or_pad(ds, bundle.n_samples)
    bundle.check_dataset(ds)
    return ds


def split_dataset(
    ds: ECGDataset, seed: int = 0, val_frac: float = 0.2, holdout: str = "val"
) -> tuple[ECGDataset, ECGDataset]:
    """Train / held-out split: PTB-XL folds when present, else a seeded random split.

    With folds the PTB-XL convention of :func:`~ecg_cluster_widget.data.ptbxl.split_folds`
    holds: folds 1-8 train; fold 9 is held out with ``holdout="val"`` (early stopping in
    training) and fold 10 with ``holdout="test"`` (evaluation), so the test fold never
    steers training.

    Parameters
    ----------
    ds : ECGDataset
        At least two records.
    seed : int
        Seed of the random split (ignored when PTB-XL folds are used).
    val_frac : float
        Fraction of records held out by the random split (at least one record).
    holdout : {"val", "test"}
        Which PTB-XL fold to hold out: 9 (validation) or 10 (test).

    Returns
    -------
    train, held_out : ECGDataset
        Disjoint subsets, each in the original record order.

    Raises
    ------
    DataError
        If ``ds`` has fewer than two records or ``holdout`` is unknown.

    Examples
    --------
    >>> ds = load_data("synthetic:10", progress=False)
    >>> tr, va = split_dataset(ds); len(tr), len(va)
    (8, 2)
    """
    from .ptbxl import TEST_FOLDS, TRAIN_FOLDS, VAL_FOLDS, split_folds

    if len(ds) < 2:
        raise DataError(f"training needs at least 2 records, got {len(ds)}.")
    held = VAL_FOLDS if check_choice(holdout, ("val", "test"), "holdout") == "val" else TEST_FOLDS
    if (
        ds.folds is not None
        and np.isin(ds.folds, TRAIN_FOLDS).any()
        and np.isin(ds.folds, held).any()
    ):
        train, held_out, _ = split_folds(ds, TRAIN_FOLDS, held, held)
        return train, held_out
    order = np.random.default_rng(seed).permutation(len(ds))
    n_val = max(1, int(round(val_frac * len(ds))))
    return ds.subset(np.sort(order[n_val:])), ds.subset(np.sort(order[:n_val]))


def check_writable(path: str | os.PathLike, *, folder: bool) -> Path:
    """``path`` if a folder (``folder=True``) or file can be written there, else a clear error.

    Checked before any work, so a long run never ends in an unwritable output. Missing
    folders are fine (they get created) as long as the nearest existing one is a
    writable folder.

    Parameters
    ----------
    path : str or os.PathLike
    folder : bool
        Whether ``path`` is an output folder or an output file.

    Returns
    -------
    pathlib.Path
        ``path`` with ``~`` expanded.

    Raises
    ------
    FileFormatError
        If ``path`` (or the nearest existing folder above it) is a file where a folder
        is needed, a folder where a file is needed, or not writable.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_writable(d / "new" / "out", folder=True) == d / "new" / "out"
    True
    >>> (d / "f.txt").write_text("x")
    1
    >>> check_writable(d / "f.txt" / "out", folder=True)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.FileFormatError: cannot write ...f.txt/out': ...f.txt' is a file, not a folder; choose another path.
    """
    p = Path(path).expanduser()
    if folder and p.exists() and not p.is_dir():
        raise FileFormatError(f"{str(p)!r} is a file; give a folder to write into.")
    if not folder and p.is_dir():
        raise FileFormatError(
            f"{str(p)!r} is a folder; give a file name, e.g. {str(p / 'model.pt')!r}."
        )
    base = p if folder else p.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise FileFormatError(
            f"cannot write {str(p)!r}: {str(base)!r} is a file, not a folder; choose another path."
        )
    if not os.access(base, os.W_OK | os.X_OK):
        raise FileFormatError(
            f"cannot write {str(p)!r}: no write permission in {str(base)!r}; choose a folder "
            "you can write to."
        )
    return p
