"""Export of labelled segments: CSV/JSON rows and WFDB annotation files.

Every segment of an explanation (:func:`~ecg_cluster_widget.explain.segments.segment_rows`)
becomes a row with its record and the expert name and notes of its cluster; text cells a
spreadsheet would run as formulas are escaped. Every file is written atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io_utils import atomic_write_bytes, atomic_write_csv, atomic_write_json
from ..errors import DataError
from ..explain.segments import SEGMENT_COLUMNS, segment_rows
from .schema import normalize_labels

#: Columns of :func:`labelled_rows` and of the files :func:`write_segments` writes.
EXPORT_COLUMNS = ("record_index", "record_id", *SEGMENT_COLUMNS, "name", "notes")


def labelled_rows(expl: Any, labels: Mapping) -> list[dict[str, Any]]:
    """One row per segment of an explanation, with its record and expert name and notes.

    Parameters
    ----------
    expl : ECGExplanation
        One record's explanation.
    labels : mapping
        Cluster labels (:func:`~.schema.normalize_labels`); unlabelled clusters get ``""``.

    Returns
    -------
    list of dict
        One dict per segment with the keys of :data:`EXPORT_COLUMNS`.

    Examples
    --------
    >>> from ecg_cluster_widget.explain.explanation import ECGExplanation, Segment
    >>> ex = ECGExplanation(0, "r0", 100.0, np.array([3, 5]), np.array([0, 1]),
    ...                     np.eye(2, dtype=np.float32), np.zeros(2, np.float32),
    ...                     [Segment(0, 1, 0, 3, 0.0, 0.01), Segment(1, 2, 1, 5, 0.01, 0.02)],
    ...                     np.array([0.5, 0.5]), 0.0)
    >>> [(r["cluster_id"], r["name"]) for r in labelled_rows(ex, {3: "P wave"})]
    [(3, 'P wave'), (5, '')]
    """
    labs = normalize_labels(labels)
    record = {"record_index": int(expl.record_index), "record_id": str(expl.record_id)}
    return [
        {
            **record,
            **row,
            "name": labs.get(str(row["cluster_id"]), {}).get("name", ""),
            "notes": labs.get(str(row["cluster_id"]), {}).get("notes", ""),
        }
        for row in segment_rows(expl.segments, expl.entropy)
    ]


def write_segments(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write segment rows as CSV (``.csv``) or JSON (``.json``), atomically.

    Text cells of the CSV that a spreadsheet would read as formulas (starting with
    ``=``, ``+``, ``-``, ``@``) are escaped (:func:`~ecg_cluster_widget.data.io_utils.csv_safe`);
    the JSON keeps them verbatim. CSV rows end in CRLF (RFC 4180), so that any cell
    holding a CR or LF is quoted and keeps its row whole.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its suffix picks the format.
    rows : iterable of mapping
        Rows from :func:`labelled_rows`; missing columns are left empty.

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
    >>> row = dict.fromkeys(EXPORT_COLUMNS, 0)
    >>> p = write_segments(pathlib.Path(tempfile.mkdtemp()) / "seg.csv", [row])
    >>> p.read_text().splitlines()[0].split(",")[:3]
    ['record_index', 'record_id', 'start']
    """
    path, rows = Path(path), list(rows)
    if path.suffix.lower() == ".csv":
        cells = ([r.get(c) for c in EXPORT_COLUMNS] for r in rows)
        return atomic_write_csv(path, EXPORT_COLUMNS, cells, "\r\n", what="segments CSV")
    if path.suffix.lower() == ".json":
        columns = list(EXPORT_COLUMNS)
        doc = {"schema": "ecg_cluster_widget/segments", "version": 1, "columns": columns}
        return atomic_write_json(path, {**doc, "segments": rows})
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
        Cluster labels (:func:`~.schema.normalize_labels`).
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
    rows = labelled_rows(expl, labels)
    if not rows:
        raise DataError("the explanation has no segments to write.")
    samples = np.ravel([[r["start"], r["end"] - 1] for r in rows]).astype(np.int64)
    notes = np.ravel([[f"C{r['cluster_id']} {r['name']}".strip(), ""] for r in rows])
    order = np.argsort(samples, kind="stable")
    target = Path(folder) / f"{record_name}.{extension}"
    # wrann writes in place: write into a private folder, then atomically into place.
    with tempfile.TemporaryDirectory() as tmp:
        wfdb.wrann(
            str(record_name),
            extension,
            sample=samples[order],
            symbol=["(", ")"] * len(rows),  # onsets and offsets alternate in time
            aux_note=notes[order].tolist(),
            fs=float(expl.fs),
            write_dir=tmp,
        )
        data = (Path(tmp) / target.name).read_bytes()
    return atomic_write_bytes(target, data, what="WFDB annotation file")
