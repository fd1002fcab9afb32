"""Expert cluster labels: validation, versioned JSON persistence and segment export.

Labels key on the *stable* cluster id (``TLCExplainer.cluster_ids_``) as a string,
``{"3": {"name": "QRS complex", "notes": "..."}}``, so they survive changes of K.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io_utils import atomic_write_json, atomic_write_text
from ..errors import DataError, FileFormatError

LABELS_SCHEMA = "ecg_cluster_widget/cluster-labels"
LABELS_VERSION = 1
#: The controlled vocabulary offered next to free text.
LABEL_VOCAB: tuple[str, ...] = (
    "P wave", "QRS complex", "T wave", "ST segment", "TP baseline", "PR segment", "artifact", "other",
)
SEGMENT_COLUMNS = (
    "record_index", "record_id", "start", "end", "start_s", "end_s", "cluster_id", "name", "notes",
    "mean_entropy",
)


def normalize_labels(obj: Any) -> dict[str, dict[str, str]]:
    """Check and canonicalise a labels mapping.

    Keys become ``str(int(id))``; values must be mappings with optional string
    ``name`` and ``notes`` (a bare string is taken as the name). Entries with
    neither are dropped.

    Parameters
    ----------
    obj : mapping or None
        ``{cluster_id: {"name": ..., "notes": ...}}`` or ``{cluster_id: name}``.

    Returns
    -------
    dict
        ``{str(id): {"name": str, "notes": str}}`` sorted by id; ``{}`` for ``None``.

    Raises
    ------
    DataError
        When ids are not integers or values have the wrong type.

    Examples
    --------
    >>> normalize_labels({3: "QRS complex", "4": {"name": "T wave", "notes": "late"}})
    {'3': {'name': 'QRS complex', 'notes': ''}, '4': {'name': 'T wave', 'notes': 'late'}}
    """
    if obj is None:
        return {}
    if not isinstance(obj, Mapping):
        raise DataError(
            f"cluster labels must be a dict {{cluster_id: {{'name', 'notes'}}}}, got {type(obj).__name__}."
        )
    out: dict[str, dict[str, str]] = {}
    for key, val in obj.items():
        try:
            cid = int(str(key).strip())
        except ValueError:
            raise DataError(f"cluster label key {key!r} is not an integer cluster id.") from None
        if cid < 0:
            raise DataError(f"cluster label key {key!r} must be a non-negative cluster id.")
        if isinstance(val, str):
            val = {"name": val}
        if not isinstance(val, Mapping):
            raise DataError(
                f"label of cluster {cid} must be a dict with 'name' and 'notes', got {type(val).__name__}."
            )
        unknown = set(val) - {"name", "notes"}
        if unknown:
            raise DataError(f"label of cluster {cid} has unknown fields {sorted(unknown)}; use 'name' and 'notes'.")
        name = val.get("name", "") or ""
        notes = val.get("notes", "") or ""
        if not isinstance(name, str) or not isinstance(notes, str):
            raise DataError(f"label of cluster {cid}: 'name' and 'notes' must be strings.")
        if name.strip() or notes.strip():
            out[str(cid)] = {"name": name.strip(), "notes": notes.strip()}
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def save_labels(path: str | os.PathLike, labels: Mapping, meta: Mapping | None = None) -> Path:
    """Write labels atomically as versioned JSON.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.json`` file.
    labels : mapping
        Cluster labels, checked by :func:`normalize_labels`.
    meta : mapping, optional
        Extra information stored next to the labels (e.g. the dataset and K).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataError
        If the labels are malformed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.json"
    >>> _ = save_labels(p, {"2": {"name": "P wave", "notes": ""}})
    >>> load_labels(p)
    {'2': {'name': 'P wave', 'notes': ''}}
    """
    doc = {
        "schema": LABELS_SCHEMA, "version": LABELS_VERSION, "labels": normalize_labels(labels),
        "meta": dict(meta or {}),
    }
    return atomic_write_json(path, doc)


def load_labels(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """Read labels written by :func:`save_labels`.

    Parameters
    ----------
    path : str or os.PathLike
        A labels JSON file.

    Returns
    -------
    dict
        ``{str(id): {"name": str, "notes": str}}``, as :func:`normalize_labels` returns.

    Raises
    ------
    FileFormatError
        When the file is missing, not JSON, of another schema or a newer version,
        or holds malformed labels.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = save_labels(pathlib.Path(tempfile.mkdtemp()) / "l.json", {5: "T wave"})
    >>> load_labels(p)
    {'5': {'name': 'T wave', 'notes': ''}}
    >>> load_labels(p.with_name("missing.json"))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.FileFormatError: labels file ...missing.json does not exist.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileFormatError(f"labels file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read labels file {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"labels file {path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
            "it may be truncated or edited by hand."
        ) from None
    if not isinstance(doc, dict) or doc.get("schema") != LABELS_SCHEMA:
        raise FileFormatError(
            f"{path} is not a cluster-labels file (expected schema {LABELS_SCHEMA!r})."
        )
    version = doc.get("version")
    if not isinstance(version, int) or version > LABELS_VERSION or version < 1:
        raise FileFormatError(
            f"{path} has labels format version {version!r}; this package reads versions 1..{LABELS_VERSION}."
        )
    try:
        return normalize_labels(doc.get("labels", {}))
    except DataError as exc:
        raise FileFormatError(f"{path} holds malformed labels: {exc}") from None


def segment_rows(expl: Any, labels: Mapping, record_index: int | None = None,
                 record_id: str | None = None) -> list[dict[str, Any]]:
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
    ent = np.asarray(expl.entropy, dtype=np.float64)
    rows = []
    for s in expl.segments:
        entry = labs.get(str(int(s.cluster_id)), {})
        rows.append({
            "record_index": int(expl.record_index if record_index is None else record_index),
            "record_id": str(expl.record_id if record_id is None else record_id),
            "start": int(s.start), "end": int(s.end),
            "start_s": round(float(s.start_s), 6), "end_s": round(float(s.end_s), 6),
            "cluster_id": int(s.cluster_id), "name": entry.get("name", ""),
            "notes": entry.get("notes", ""),
            "mean_entropy": round(float(ent[s.start:s.end].mean()), 6) if s.end > s.start else float("nan"),
        })
    return rows


def write_segments(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write segment rows as CSV (``.csv``) or JSON (``.json``), atomically.

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
    import pandas as pd

    path = Path(path)
    rows = list(rows)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))
        return atomic_write_text(path, frame.to_csv(index=False))
    if suffix == ".json":
        return atomic_write_json(path, {"schema": "ecg_cluster_widget/segments", "version": 1,
                                        "columns": list(SEGMENT_COLUMNS), "segments": rows})
    raise DataError(f"cannot tell the export format from {path.name!r}: use a .csv or .json file name.")


def write_wfdb_annotations(record_name: str, folder: str | os.PathLike, expl: Any, labels: Mapping,
                           extension: str = "tlc") -> Path:
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
            str(record_name), extension, sample=np.asarray(samples, dtype=np.int64)[order],
            symbol=[symbols[i] for i in order], aux_note=[notes[i] for i in order],
            fs=float(expl.fs), write_dir=str(tmp),
        )
        os.replace(tmp / target.name, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
