"""LUDB loader: 12-lead 500 Hz ECGs with cardiologist P/QRS/T delineation per lead."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..errors import DataError, FileFormatError
from .dataset import ECGDataset, _own
from .leads import STANDARD_LEADS
from .preprocess import resample, select_leads
from .ptbxl import _read_csv
from .wfdb_io import _natural_key, _standard_order, quiet_wfdb, read_record

#: Annotation file extension of each standard lead.
LUDB_LEAD_EXT: dict[str, str] = {lead: lead.lower() for lead in STANDARD_LEADS}
_PEAK_CODE = {"p": 1, "N": 2, "t": 3}


def annotation_to_mask(samples: np.ndarray, symbols: Sequence[str], n_samples: int) -> np.ndarray:
    """Convert one lead's LUDB annotation to per-sample wave codes.

    Each wave is annotated as ``(`` onset, peak symbol (``p`` P, ``N`` QRS, ``t`` T),
    ``)`` offset. Samples from onset to offset *inclusive* get the wave's code, other
    samples between the first and last annotation get 0, and samples outside the
    annotated span get -1 (not annotated). Incomplete triplets are ignored.

    Parameters
    ----------
    samples : numpy.ndarray
        Annotation positions in samples.
    symbols : sequence of str
        Annotation symbols, one per position.
    n_samples : int
        Length of the mask.

    Returns
    -------
    numpy.ndarray
        ``int8`` array of length ``n_samples``: -1 not annotated, 0 between waves,
        1 P, 2 QRS, 3 T.

    Examples
    --------
    >>> m = annotation_to_mask(np.array([2, 3, 5, 8, 9, 10]), list("(N)(t)"), 12)
    >>> m.tolist()
    [-1, -1, 2, 2, 2, 2, 0, 0, 3, 3, 3, -1]
    """
    mask = np.full(n_samples, -1, dtype=np.int8)
    samples = np.asarray(samples, dtype=np.int64)
    if samples.size == 0:
        return mask
    lo, hi = max(int(samples.min()), 0), min(int(samples.max()), n_samples - 1)
    mask[lo : hi + 1] = 0
    onset = code = None
    for pos, sym in zip(samples, symbols):
        if sym == "(":
            onset, code = int(pos), None
        elif sym in _PEAK_CODE:
            code = _PEAK_CODE[sym] if onset is not None else None
        elif sym == ")":
            if onset is not None and code is not None:
                mask[max(onset, 0) : min(int(pos), n_samples - 1) + 1] = code
            onset = code = None
    return mask


def check_annotation_file(path: str | Path) -> None:
    """Refuse a WFDB annotation file that is truncated.

    A complete file in the MIT format ends with the end-of-file word ``0x0000``
    after a whole number of 16-bit words. A file cut short (an interrupted download
    or copy) lacks it, and ``wfdb.rdann`` would otherwise return the annotations before
    the cut as if they were all, leaving the rest of the record silently unannotated.

    Parameters
    ----------
    path : str or Path
        The annotation file (e.g. ``data/1.ii``).

    Raises
    ------
    FileFormatError
        If the file is missing, empty, has an odd number of bytes or does not end with
        the end-of-file marker.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "1.ii"
    >>> _ = p.write_bytes(bytes([2, 0x6c, 0, 0]))   # one annotation + end-of-file
    >>> check_annotation_file(p)
    >>> _ = p.write_bytes(bytes([2, 0x6c, 5]))      # cut in the middle of a word
    >>> check_annotation_file(p)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.FileFormatError: annotation file ... is truncated ...
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            fh.seek(max(size - 2, 0))
            tail = fh.read(2)
    except FileNotFoundError:
        raise FileFormatError(f"annotation file {path} is missing.") from None
    except OSError as exc:
        raise FileFormatError(f"cannot read annotation file {path}: {exc}") from None
    if size < 2 or size % 2 or tail != b"\x00\x00":
        raise FileFormatError(
            f"annotation file {path} is truncated or corrupt ({size} bytes, "
            + ("an odd number, " if size % 2 else "")
            + "no WFDB end-of-file marker at the end): its wave masks would be partial. "
            "Download the record again (LUDB: physionet.org/content/ludb)."
        )


def _record_list(root: Path, records) -> list[str]:
    if records is not None:
        names = [str(r) for r in ([records] if np.isscalar(records) else records)]
        if not names:
            raise DataError("records is empty; pass None for all LUDB records.")
        return names
    listing = root / "RECORDS"
    if listing.is_file():
        names = [
            Path(line.strip()).name for line in listing.read_text().splitlines() if line.strip()
        ]
    else:
        names = [p.stem for p in (root / "data").glob("*.hea")]
    if not names:
        raise FileFormatError(
            f"no LUDB records found under {root} (expected RECORDS or data/*.hea)."
        )
    return sorted(names, key=_natural_key)


def _read_info(root: Path) -> pd.DataFrame | None:
    path = root / "ludb.csv"
    if not path.is_file():
        return None
    info = _read_csv(path)
    # Cells hold multi-line text ("F\n", "Left ventricular overload\nLeft ...").
    for col in info.columns:
        if not pd.api.types.is_numeric_dtype(info[col]):
            info[col] = info[col].str.strip().str.replace("\n", "; ", regex=False)
    if "Age" in info.columns:
        age = pd.to_numeric(info["Age"], errors="coerce")
        info["Age"] = age if age.notna().all() else info["Age"]
    info["ID"] = info["ID"].astype(str)
    return info.set_index("ID")


def load_ludb(
    root: str | Path,
    records: Sequence[int | str] | int | str | None = None,
    progress: bool = True,
    units: str | None = None,
    *,
    fs: float | None = None,
    leads: Sequence[str] | None = None,
) -> ECGDataset:
    """Load LUDB records with per-lead ground-truth wave masks.

    Every annotation file is checked to be complete (:func:`check_annotation_file`),
    so a truncated one raises instead of giving a partial mask, and the amplitudes are
    checked like any dataset's (flat leads give a
    :class:`~ecg_cluster_widget.errors.DataWarning`).

    Parameters
    ----------
    root : str or Path
        The LUDB folder (holding ``data/``, ``RECORDS`` and ``ludb.csv``).
    records : int, str or sequence, optional
        Record numbers to load (e.g. ``[1, 2, 3]``); default all 200.
    progress : bool
        Show a tqdm progress bar.
    units : {"mV", "uV", "V"}, optional
        Override of the headers' units (mV for LUDB).
    fs : float, optional
        Resample signals and wave masks to this rate on load; default 500 Hz as stored.
    leads : sequence of str, optional
        Keep only these leads, in this order (case-insensitive, aliases such as "V 1").

    Returns
    -------
    ECGDataset
        ``signals`` (n, 12, 5000) at 500 Hz in mV, ``wave_masks`` (n, 12, 5000) int8
        (0 none, 1 P, 2 QRS, 3 T, -1 outside the annotated span of that lead),
        ``record_ids`` the record numbers, ``labels`` None, and ``meta["info"]`` the
        matching rows of ``ludb.csv`` (sex, age, rhythm, axis, conduction
        abnormalities, hypertrophies, ischemia, ...) plus boolean columns ``af``,
        ``conduction_abnormality``, ``hypertrophy`` and ``ischemia``.

    Examples
    --------
    >>> ds = load_ludb("shared/data/ludb", records=[1], progress=False)  # doctest: +SKIP
    >>> ds.wave_masks.shape  # doctest: +SKIP
    (1, 12, 5000)
    """
    with quiet_wfdb():  # importing wfdb builds pandas tables with deprecated calls
        import wfdb  # slow import, only needed when reading files

    root = Path(root)
    if not (root / "data").is_dir():
        raise FileFormatError(f"{root} is not an LUDB folder: {root / 'data'} is missing.")
    names = _record_list(root, records)
    sigs, masks = [], []
    for name in tqdm(names, desc="reading LUDB", disable=not progress):
        stem = root / "data" / name
        sig, rec_fs, rec_leads, _ = read_record(stem, units=units)
        if rec_fs != 500 or sig.shape[0] != 12:
            raise FileFormatError(f"{stem} is not a 12-lead 500 Hz LUDB record (fs={rec_fs:g}).")
        sig = _standard_order(sig, rec_leads, stem)
        mask = np.empty(sig.shape, dtype=np.int8)
        for li, lead in enumerate(STANDARD_LEADS):
            ext = LUDB_LEAD_EXT[lead]
            check_annotation_file(f"{stem}.{ext}")
            try:
                with quiet_wfdb():
                    ann = wfdb.rdann(str(stem), ext)
            except Exception as exc:
                raise FileFormatError(
                    f"could not read annotation {stem}.{ext} ({type(exc).__name__}: {exc})."
                ) from None
            mask[li] = annotation_to_mask(ann.sample, ann.symbol, sig.shape[1])
        sigs.append(sig)
        masks.append(mask)
    lengths = {s.shape[1] for s in sigs}
    if len(lengths) > 1:
        raise FileFormatError(f"LUDB records differ in length ({sorted(lengths)}).")
    meta: dict = {"source": f"LUDB {root}", "units": "mV"}
    info = _read_info(root)
    if info is not None:
        rows = info.reindex(names)
        text = rows.astype("string").fillna("")
        rows["af"] = text.get("Rhythms", "").str.contains("fibrillation", case=False)
        for col, flag in (
            ("Conduction abnormalities", "conduction_abnormality"),
            ("Hypertrophies", "hypertrophy"),
            ("Ischemia", "ischemia"),
        ):
            rows[flag] = text[col].str.len() > 0 if col in rows.columns else False
        meta["info"] = rows.reset_index()
        meta["per_record"] = ("info",)
    ds = ECGDataset(
        signals=_own(np.stack(sigs)),
        fs=500.0,
        lead_names=STANDARD_LEADS,
        wave_masks=_own(np.stack(masks)),
        record_ids=tuple(names),
        meta=meta,
    )
    if leads is not None:
        ds = select_leads(ds, leads)
    if fs is not None and not np.isclose(ds.fs, fs):
        ds = resample(ds, float(fs))
    ds.check_amplitudes("warn")
    return ds
