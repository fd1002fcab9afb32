"""Export of labelled segments: CSV/JSON rows and WFDB annotation files.

Every segment of an explanation becomes a row with the expert name and notes of its
cluster (:mod:`.labels`); text cells a spreadsheet would run as formulas are escaped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io_utils import FORMULA_PREFIXES, atomic_write_csv, atomic_write_json, csv_safe
from ..errors import DataError
from ..explain.segments import segment_rows as base_segment_rows
from .labels import normalize_labels

__all__ = [
    "SEGMENT_COLUMNS",
    "FORMULA_PREFIXES",
    "csv_safe",
    "segment_rows",
    "write_segments",
    "write_wfdb_annotations",
]

SEGMENT_COLUMNS = (
    "record_index",
    "record_id",
    "start",
    "end",
    "start_s",
    "end_s",
    "cluster_id",
    "number",
    "name",
    "notes",
    "mean_entropy",
)


def segment_rows(
    expl: Any, labels: Mapping, record_index: int | None = None, record_id: str | None = None
) -> list[dict[str, Any]]:
    """One row per segment of an explanation, with the expert name and notes.

    Parameters
    ----------
    expl : ECGExplanation
        One record's explanation.
    labels : mapping
        Cluster labels (see :func:`normalize_labels`); unlabelled clusters get ``""``.
    record_index, record_id : optional
        Override the explanation's own record index / id.

    Returns
    -------
    list of dict
        One dict per segment with the keys of ``SEGMENT_COLUMNS``.

    Examples
    --------
    >>> from ecg_cluster_widget.explain.explanation import ECGExplanation, Segment
    >>> ex = ECGExplanation(0, "r0", 100.0, np.array([3, 5]), np.array([0, 1]),
    ...                     np.eye(2, dtype=np.float32), np.zeros(2, np.float32),
    ...                     [Segment(0, 1, 0, 3, 0.0, 0.01), Segment(1, 2, 1, 5, 0.01, 0.02)],
    ...                     np.array([0.5, 0.5]), 0.0)
    >>> rows = segment_rows(ex, {3: "P wave"})
    >>> [(r["cluster_id"], r["name"]) for r in rows]
    [(3, 'P wave'), (5, '')]
    """
    labs = normalize_labels(labels)
    rows = []
    # Bounds and entropy from the one segment export; here only the record and the
    # expert's name and notes are added.
    for base in base_segment_rows(expl.segments, expl.entropy):
        entry = labs.get(str(base["cluster_id"]), {})
        rows.append(
            {
                "record_index": int(expl.record_index if record_index is None else record_index),
                "record_id": str(expl.record_id if record_id is None else record_id),
                "start": base["start"],
                "end": base["end"],
                "start_s": round(base["start_s"], 6),
                "end_s": round(base["end_s"], 6),
                "cluster_id": base["cluster_id"],
                "number": base["number"],
                "name": entry.get("name", ""),
                "notes": entry.get("notes", ""),
                "mean_entropy": round(base["mean_entropy"], 6),
            }
        )
    return rows


def write_segments(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write segment rows as CSV (``.csv``) or JSON (``.json``), atomically.

    Text cells of the CSV that a spreadsheet would read as formulas (starting with
    ``=``, ``+``, ``-``, ``@``) are escaped by :func:`csv_safe`; the JSON keeps them
    verbatim. CSV rows end in CRLF (RFC 4180), so cells with line breaks are quoted.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its suffix picks the format.
    rows : iterable of mapping
        Rows from :func:`segment_rows`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataError
        If the suffix is neither ``.csv`` nor ``.json``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> row = dict.fromkeys(SEGMENT_COLUMNS, 0)
    >>> p = write_segments(pathlib.Path(tempfile.mkdtemp()) / "seg.csv", [row])
    >>> p.read_text().splitlines()[0].split(",")[:3]
    ['record_index', 'record_id', 'start']
    """
    path = Path(path)
    rows = list(rows)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # CRLF rows (RFC 4180): with them the writer quotes any cell holding a CR or LF;
        # with bare "\n" rows a lone "\r" in a name went out unquoted and split the row
        # for every CSV reader.
        cells = ([r.get(c) for c in SEGMENT_COLUMNS] for r in rows)
        return atomic_write_csv(path, SEGMENT_COLUMNS, cells, "\r\n", what="segments CSV")
    if suffix == ".json":
        return atomic_write_json(
            path,
            {
                "schema": "ecg_cluster_widget/segments",
                "version": 1,
                "columns": list(SEGMENT_COLUMNS),
                "segments": rows,
            },
        )
    raise DataError(
        f"cannot tell the export format from {path.name!r}: use a .csv or .json file name."
    )


def write_wfdb_annotations(
    record_name: str, folder: str | os.PathLike, expl: Any, labels: Mapping, extension: str = "tlc"
) -> Path:
    """Write segments as a WFDB annotation file ``<folder>/<record_name>.<extension>``.

    Each segment becomes an onset ``(`` at its first sample and an offset ``)`` at its
    last sample (the WFDB waveform-boundary convention); the onset's ``aux_note``
    carries ``C<id>`` and the expert name, so ``wfdb.rdann`` reads the labels back.

    Parameters
    ----------
    record_name : str
        Bare WFDB record name (no folder).
    folder : str or os.PathLike
        Output folder; created if missing.
    expl : ECGExplanation
        One record's explanation.
    labels : mapping
        Cluster labels (see :func:`normalize_labels`).
    extension : str
        Annotator extension.

    Returns
    -------
    pathlib.Path
        The annotation file written.

    Raises
    ------
    DataError
        If ``record_name`` contains a path separator or there are no segments.

    Examples
    --------
    >>> import tempfile, wfdb
    >>> from ecg_cluster_widget.explain.explanation import ECGExplanation, Segment
    >>> ex = ECGExplanation(0, "r0", 100.0, np.array([3, 5]), np.array([0, 1]),
    ...                     np.eye(2, dtype=np.float32), np.zeros(2, np.float32),
    ...                     [Segment(0, 1, 0, 3, 0.0, 0.01), Segment(1, 2, 1, 5, 0.01, 0.02)],
    ...                     np.array([0.5, 0.5]), 0.0)
    >>> p = write_wfdb_annotations("r0", tempfile.mkdtemp(), ex, {3: "P wave"})
    >>> wfdb.rdann(str(p.with_suffix("")), "tlc").aux_note[0]
    'C3 P wave'
    """
    import wfdb

    if not record_name or any(c in str(record_name) for c in "/\\"):
        raise DataError(f"record_name must be a bare WFDB record name, got {record_name!r}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    labs = normalize_labels(labels)
    samples: list[int] = []
    symbols: list[str] = []
    notes: list[str] = []
    for s in expl.segments:
        name = labs.get(str(int(s.cluster_id)), {}).get("name", "")
        samples += [int(s.start), int(s.end) - 1]
        symbols += ["(", ")"]
        notes += [f"C{int(s.cluster_id)} {name}".strip(), ""]
    if not samples:
        raise DataError("the explanation has no segments to write.")
    order = np.argsort(np.asarray(samples), kind="stable")
    target = folder / f"{record_name}.{extension}"
    # wrann writes in place; write into a private temp folder and os.replace so a crash
    # never leaves a truncated annotation file next to the record.
    tmp = Path(tempfile.mkdtemp(prefix=f".{record_name}.", dir=folder))
    try:
        wfdb.wrann(
            str(record_name),
            extension,
            sample=np.asarray(samples, dtype=np.int64)[order],
            symbol=[symbols[i] for i in order],
            aux_note=[notes[i] for i in order],
            fs=float(expl.fs),
            write_dir=str(tmp),
        )
        os.replace(tmp / target.name, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
