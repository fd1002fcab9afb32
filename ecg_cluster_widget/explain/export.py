"""Files of the ``explain`` command: per record a segments CSV and a JSON, plus predictions.

Every file says which samples are valid (the record's own, as opposed to padding added
to fit the model's input, see :mod:`~ecg_cluster_widget.explain.windowing`): the CSV has
a ``valid`` column (invalid spans are rows with ``cluster_id`` -1 and ``valid`` 0), the
JSON ``valid`` sample ranges and ``null`` entropy outside them, ``predictions.csv`` a
``valid`` column of ranges.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..data.io_utils import (
    NumberText,
    atomic_write_json,
    atomic_write_text,
    csv_text,
    write_error,
)
from ..errors import DataError
from .explanation import ECGExplanation
from .segments import segment_rows

__all__ = [
    "SEGMENTS_CSV_HEADER",
    "explanation_record",
    "output_stems",
    "write_explanations",
    "format_predictions",
]

#: Header of ``<record>_segments.csv``.
SEGMENTS_CSV_HEADER = "start,end,start_s,end_s,cluster_id,number,mean_entropy,valid"


def explanation_record(expl: ECGExplanation) -> dict[str, Any]:
    """JSON-friendly dict of one explanation: valid ranges, segments, per-sample entropy.

    Parameters
    ----------
    expl : ECGExplanation

    Returns
    -------
    dict
        ``record_id``, ``fs``, ``n_samples`` (explained span), ``n_valid``, ``valid``
        (``[start, end)`` ranges of the record's own samples), ``cluster_ids``,
        ``proportions`` (cluster id -> share of the valid time), ``mean_entropy``,
        ``segments`` (:func:`~ecg_cluster_widget.explain.segments.segment_rows`, valid
        samples only) and ``entropy`` per sample (``None`` where invalid); plain types.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_cluster_widget.explain.segments import segments_from_labels
    >>> lab = np.array([0, 0, -1])
    >>> ex = ECGExplanation(0, "r", 100.0, np.array([5]), lab, np.ones((3, 1), np.float32),
    ...                     np.zeros(3, np.float32), segments_from_labels(lab, 100.0, [5]),
    ...                     np.array([1.0]), 0.0, valid=lab >= 0)
    >>> rec = explanation_record(ex)
    >>> rec["valid"], rec["entropy"], rec["segments"][0]["end"]
    ([[0, 2]], [0.0, 0.0, None], 2)
    """
    valid = expl.valid
    return {
        "record_id": str(expl.record_id),
        "fs": float(expl.fs),
        "n_samples": int(len(expl.labels)),
        "n_valid": expl.n_valid,
        "valid": [[s, e] for s, e in expl.valid_spans],
        "cluster_ids": [int(c) for c in expl.cluster_ids],
        "proportions": {int(c): float(p) for c, p in zip(expl.cluster_ids, expl.proportions)},
        "mean_entropy": float(expl.mean_entropy),
        "segments": segment_rows(expl.segments, expl.entropy),
        "entropy": [round(float(e), 5) if v else None for e, v in zip(expl.entropy, valid)],
    }


def _csv_text(expl: ECGExplanation, rec: dict[str, Any]) -> str:
    """Segments (valid 1) and the invalid spans between them (cluster -1, valid 0), in order."""
    fs = float(expl.fs)
    num = NumberText
    rows: list[tuple[int, list]] = [
        (
            s["start"],
            [
                s["start"],
                s["end"],
                num(f"{s['start_s']:.4f}"),
                num(f"{s['end_s']:.4f}"),
                s["cluster_id"],
                s["number"],
                num(f"{s['mean_entropy']:.5f}"),
                1,
            ],
        )
        for s in rec["segments"]
    ]
    edges = [0] + [b for span in rec["valid"] for b in span] + [rec["n_samples"]]
    for start, end in zip(edges[::2], edges[1::2]):  # the gaps around the valid ranges
        if end > start:
            row = [start, end, num(f"{start / fs:.4f}"), num(f"{end / fs:.4f}"), -1, None, None, 0]
            rows.append((start, row))
    body = [row for _, row in sorted(rows, key=lambda r: r[0])]
    return csv_text(SEGMENTS_CSV_HEADER.split(","), body, "\n")


def _safe_name(record_id: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in record_id)
    return keep.strip(".") or "record"


def output_stems(record_ids: Sequence[str]) -> list[str]:
    """A distinct, file-system-safe file stem per record, deterministic.

    Characters other than letters, digits, ``-``, ``_`` and ``.`` become ``_``. Ids that
    end up alike (also when they differ only in case, for case-insensitive file
    systems) keep the stem in record order for the first and get ``-2``, ``-3``, ... for
    the others, so no file overwrites another.

    Parameters
    ----------
    record_ids : sequence of str

    Returns
    -------
    list of str

    Examples
    --------
    >>> output_stems(["a/b", "a_b", "A_B", "c"])
    ['a_b', 'a_b-2', 'A_B-3', 'c']
    """
    taken: set[str] = set()
    stems = []
    for rid in record_ids:
        base = _safe_name(str(rid))
        stem, k = base, 1
        while stem.lower() in taken:
            k += 1
            stem = f"{base}-{k}"
        taken.add(stem.lower())
        stems.append(stem)
    return stems


def _predictions_csv(predictions: list[dict[str, Any]], records: list[dict[str, Any]]) -> str:
    # Record ids and class names come from the user's files: the package's one CSV
    # writer escapes any that a spreadsheet would run as a formula (=HYPERLINK(...)).
    probs = list(predictions[0]["probabilities"])
    first = predictions[0]["predicted"]
    values = list(first) if isinstance(first, dict) else []
    header = (
        ["record_id", "predicted"]
        + [f"p_{c}" for c in probs]
        + [f"pred_{c}" for c in values]
        + ["valid"]
    )
    rows = []
    for p, rec in zip(predictions, records):
        pred = "" if isinstance(p["predicted"], dict) else ";".join(p["predicted"])
        rows.append(
            [str(p["record_id"]), pred]
            + [NumberText(f"{p['probabilities'][c]:.4f}") for c in probs]
            + [NumberText(f"{p['predicted'][c]:.6g}") for c in values]
            + [";".join(f"{s}:{e}" for s, e in rec["valid"])]
        )
    return csv_text(header, rows, "\n")


def write_explanations(
    explanations: Sequence[ECGExplanation],
    out_dir: str | os.PathLike,
    progress: bool = True,
    predictions: list[dict[str, Any]] | None = None,
) -> tuple[list[Path], dict[str, str]]:
    """Write ``<record>_segments.csv`` and ``<record>.json`` per record, atomically.

    Parameters
    ----------
    explanations : sequence of ECGExplanation
        One per record (``TLCExplainer.explain`` or
        :func:`~ecg_cluster_widget.explain.windowing.explain_records`).
    out_dir : str or os.PathLike
        Output folder; created if missing.
    progress : bool
        Show a progress bar.
    predictions : list of dict, optional
        ``record_predictions`` of the same records: each JSON then has a ``prediction``
        entry, and ``predictions.csv`` (record, predicted classes, one probability
        column per class, valid ranges) is written too.

    Returns
    -------
    files : list of pathlib.Path
        Two per record (CSV then JSON), then ``predictions.csv``.

    Raises
    ------
    StorageError
        When a file cannot be written (full disk, no permission); the files this call
        wrote are removed again (and ``out_dir`` if it created it).
    renamed : dict
        Record id -> file stem, for the records whose file name had to be
        disambiguated (see :func:`output_stems`).

    Examples
    --------
    >>> import tempfile
    >>> from ecg_cluster_widget.demo import demo_explainer
    >>> tlc, ds, _ = demo_explainer(n_clusters=3, n_records=40)
    >>> files, renamed = write_explanations([tlc.explain(ds, 0)], tempfile.mkdtemp(),
    ...                                     progress=False)
    >>> len(files), files[0].name, renamed
    (2, 'syn00000_segments.csv', {})
    """
    if predictions is not None and len(predictions) != len(explanations):
        raise DataError(f"got {len(predictions)} predictions for {len(explanations)} records.")
    out = Path(out_dir).expanduser()
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(out, exc, "output folder") from None
    stems = output_stems([e.record_id for e in explanations])
    renamed = {
        str(e.record_id): stem
        for e, stem in zip(explanations, stems)
        if stem != _safe_name(str(e.record_id))
    }
    written: list[Path] = []
    records = []
    try:
        for i, expl in enumerate(
            tqdm(explanations, desc="writing explanations", disable=not progress)
        ):
            rec = explanation_record(expl)
            if predictions is not None:
                rec["prediction"] = {k: v for k, v in predictions[i].items() if k != "record_id"}
            text = _csv_text(expl, rec)
            written.append(atomic_write_text(out / f"{stems[i]}_segments.csv", text))
            written.append(atomic_write_json(out / f"{stems[i]}.json", rec))
            records.append(rec)
        if predictions:
            written.append(
                atomic_write_text(out / "predictions.csv", _predictions_csv(predictions, records))
            )
    except BaseException:
        # A full disk half-way: no partial set of files that looks like a finished run.
        for f in written:
            f.unlink(missing_ok=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return written, renamed


def format_predictions(predictions: list[dict[str, Any]], limit: int = 20) -> str:
    """Plain-text table of ``record_predictions``: one line per record.

    Parameters
    ----------
    predictions : list of dict
    limit : int
        Records shown; a last line counts the rest.

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_predictions([{"record_id": "7", "predicted": ["MI"],
    ...                            "probabilities": {"NORM": 0.1, "MI": 0.9}}]))
    record              predicted             probabilities (highest first)
    7                   MI                    MI 0.90  NORM 0.10
    """
    lines = [f"{'record':<20}{'predicted':<22}probabilities (highest first)"]
    for p in predictions[:limit]:
        if isinstance(p["predicted"], dict):  # regression
            pred, probs = ", ".join(f"{k} {v:.3g}" for k, v in p["predicted"].items()), ""
        else:
            pred = ", ".join(p["predicted"]) or "(none >= 0.5)"
            ranked = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])
            probs = "  ".join(f"{k} {v:.2f}" for k, v in ranked)
        lines.append(f"{p['record_id']:<20}{pred:<22}{probs}".rstrip())
    if len(predictions) > limit:
        lines.append(f"... {len(predictions) - limit} more records in predictions.csv")
    return "\n".join(lines)
