"""Label Studio exchange: export records with their named segments as time-series tasks,
read tasks (ours or Label Studio's own export) back into segments, strictly checked.

Label Studio schema followed (``TimeSeries`` with ``valueType="json"`` and
``TimeSeriesLabels``; see :func:`label_studio_config` for the matching labeling config)::

    [{"data": {"ts": {"time": [s, ...], "II": [mV, ...]},
               "record_id": "...", "record_index": 0},
      "predictions": [{"model_version": "...",
                       "result": [{"id": "...", "from_name": "label", "to_name": "ts",
                                   "type": "timeserieslabels",
                                   "value": {"start": 0.12, "end": 0.22, "instant": false,
                                             "timeserieslabels": ["P wave"]}}]}]}]

``start`` / ``end`` are in seconds (the ``time`` column); with ``as_annotations=True``
the results go under ``"annotations"`` instead of ``"predictions"``.

Reading is strict, because a lenient reader turns mistakes into wrong labels: a string
where a list of label names belongs (``"timeserieslabels": "P wave"``) would be six
one-letter labels. Every field must have its type, times must be finite, non-negative and
ordered (``end > start``; ``end == start`` only for ``"instant": true``), and with
``known=`` every name must be one of them. Anything else raises
:class:`~ecg_cluster_widget.errors.FileFormatError` naming the task and the field.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, FileFormatError, LabelsMismatchError
from . import labels as _labels

__all__ = [
    "as_labels_file",
    "to_label_studio",
    "write_label_studio",
    "read_label_studio",
    "label_studio_config",
]


def as_labels_file(f: Any) -> _labels.LabelsFile:
    """A :class:`~.labels.LabelsFile` from a path, a ``LabelsFile`` or a labels dict.

    Parameters
    ----------
    f : path, LabelsFile or mapping

    Returns
    -------
    LabelsFile

    Raises
    ------
    DataError
        For another type.

    Examples
    --------
    >>> as_labels_file({3: "P wave"}).labels
    {'3': {'name': 'P wave', 'notes': ''}}
    """
    if isinstance(f, _labels.LabelsFile):
        return f
    if isinstance(f, (str, os.PathLike)):
        return _labels.read_labels_file(f)
    if isinstance(f, Mapping):  # a bare labels dict, e.g. explorer.cluster_labels
        return _labels.LabelsFile(labels=_labels.normalize_labels(f))
    raise DataError(
        f"expected a labels file path, a LabelsFile or a labels dict, got {type(f).__name__}."
    )


def _labels_for(tlc: Any, labels: Any, k: int) -> dict:
    """The cluster names of ``labels`` for the fit of ``tlc`` at K=``k``, refusing another fit's."""
    if labels is None:
        return {}
    if isinstance(labels, (str, os.PathLike)):
        # A file of this model and data is re-mapped to this fit's ids; one of another
        # model or dataset is refused (its names would land on unrelated clusters).
        return _labels.attach_labels(labels, tlc, n_clusters=k)[0]
    lf = as_labels_file(labels)
    if lf.fit is not None:
        meta = _labels.check_labels_meta(lf, tlc.fit_identity(k))
        if not meta.compatible:
            raise LabelsMismatchError(
                f"these labels were given on another model or dataset ({meta.summary()}) "
                "Their names are not exported onto this fit's segments: pass the labels "
                "file of this fit.",
                meta,
            )
    return lf.labels


def _segments_of(expl: Any, labels: Mapping) -> list[dict[str, Any]]:
    """Named runs of one explanation; adjacent runs with the same name are merged."""
    out: list[dict[str, Any]] = []
    for s in expl.segments:
        name = labels.get(str(int(s.cluster_id)), {}).get("name", "") or f"cluster {s.cluster_id}"
        if out and out[-1]["name"] == name and out[-1]["end"] == s.start:
            out[-1]["end"], out[-1]["end_s"] = int(s.end), float(s.end_s)
            continue
        out.append(
            {
                "start": int(s.start),
                "end": int(s.end),
                "start_s": float(s.start_s),
                "end_s": float(s.end_s),
                "name": name,
                "cluster_id": int(s.cluster_id),
            }
        )
    return out


def to_label_studio(
    tlc: Any,
    dataset: Any,
    labels: Any = None,
    records: Any = None,
    leads: Sequence[str] = ("II",),
    *,
    as_annotations: bool = False,
    decimals: int = 4,
) -> list[dict[str, Any]]:
    """Label Studio time-series tasks of records with their named segments.

    Parameters
    ----------
    tlc : TLCExplainer
        The fitted explainer (its current K).
    dataset : ECGDataset
    labels : path, LabelsFile or dict, optional
        Cluster names; unnamed clusters are exported as ``"cluster <id>"``. A file of
        this model and data is re-mapped to the current fit's ids
        (:func:`~.labels_attach.attach_labels`).
    records : sequence of int, optional
        Record indices (default all).
    leads : sequence of str
        Channels put in each task (lead names of ``dataset``).
    as_annotations : bool
        Put the segments under ``annotations`` (finished labels) instead of
        ``predictions`` (pre-labels an annotator corrects).
    decimals : int
        Rounding of times (s) and amplitudes (mV).

    Returns
    -------
    list of dict
        One task per record, in the schema of the module docstring.

    Raises
    ------
    LabelsMismatchError
        When ``labels`` were given on another model or dataset.

    Examples
    --------
    >>> tasks = to_label_studio(tlc, ds, "labels.json", records=[0, 1])  # doctest: +SKIP
    >>> write_label_studio("tasks.json", tasks)  # import this file in Label Studio  # doctest: +SKIP
    """
    k = int(tlc.n_clusters_)
    lab = _labels_for(tlc, labels, k)
    n = len(dataset)
    idx = range(n) if records is None else [int(i) for i in records]
    rows = [dataset.lead_index(ld) for ld in leads]
    t = np.round(np.arange(dataset.n_samples) / float(dataset.fs), decimals).tolist()
    tasks = []
    for i in idx:
        if not 0 <= i < n:
            raise DataError(f"record {i} is out of range 0..{n - 1}.")
        expl = tlc.explain(dataset, i, n_clusters=k)
        result = [
            {
                "id": f"r{i}-s{j}",
                "from_name": "label",
                "to_name": "ts",
                "type": "timeserieslabels",
                "value": {
                    "start": round(seg["start_s"], decimals),
                    "end": round(seg["end_s"], decimals),
                    "instant": False,
                    "timeserieslabels": [seg["name"]],
                },
                "meta": {"cluster_id": seg["cluster_id"]},
            }
            for j, seg in enumerate(_segments_of(expl, lab))
        ]
        ts = {"time": t}
        for ld, r in zip(leads, rows):
            ts[str(ld)] = np.round(dataset.signals[i, r].astype(np.float64), decimals).tolist()
        block = {"model_version": f"tlc-k{k}", "result": result}
        tasks.append(
            {
                "data": {"ts": ts, "record_id": str(dataset.record_ids[i]), "record_index": i},
                ("annotations" if as_annotations else "predictions"): [block],
            }
        )
    return tasks


def write_label_studio(path: str | os.PathLike, tasks: list[dict[str, Any]]) -> Path:
    """Write tasks from :func:`to_label_studio` as one JSON file (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.json`` file (Label Studio imports a list of tasks).
    tasks : list of dict
        What :func:`to_label_studio` returned.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_label_studio(pathlib.Path(tempfile.mkdtemp()) / "t.json", [{"data": {}}])
    >>> p.read_text().startswith("[")
    True
    """
    from ..data.io_utils import atomic_write_json

    return atomic_write_json(path, tasks)


def read_label_studio(source: Any, known: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Segments of Label Studio time-series tasks (ours, or Label Studio's JSON export).

    Parameters
    ----------
    source : path, str of JSON, or list of task dicts
    known : iterable of str, optional
        The label names allowed (e.g. the labeling config's); others are refused.

    Returns
    -------
    list of dict
        One per labelled span: ``record_index`` and ``record_id`` (from the task data,
        None when absent), ``task`` (position in the list), ``source`` ("annotations" or
        "predictions"), ``start_s``, ``end_s`` and ``name``.

    Raises
    ------
    FileFormatError
        When the source is not JSON, not a list of tasks, or a field has the wrong type,
        a time is not finite, negative or reversed, or a name is not among ``known``.

    Examples
    --------
    >>> task = {"data": {"record_index": 3}, "annotations": [{"result": [
    ...     {"type": "timeserieslabels", "value": {"start": 0.1, "end": 0.2,
    ...      "timeserieslabels": ["P wave"]}}]}]}
    >>> s = read_label_studio([task])[0]
    >>> s["record_index"], s["start_s"], s["name"]
    (3, 0.1, 'P wave')
    >>> task["annotations"][0]["result"][0]["value"]["timeserieslabels"] = "P wave"
    >>> read_label_studio([task])
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.FileFormatError: task 0, annotations 0, result 0: 'timeserieslabels' must be a list of label names ...
    """
    doc = _load_tasks(source)
    allowed = None if known is None else {str(n) for n in known}
    out = []
    for ti, task in enumerate(doc):
        if not isinstance(task, dict):
            raise FileFormatError(f"task {ti} is a {_kind(task)}, not a JSON object.")
        data = task.get("data")
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise FileFormatError(f"task {ti}: 'data' must be an object, got a {_kind(data)}.")
        index, rid = data.get("record_index"), data.get("record_id")
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or index < 0
        ):
            raise FileFormatError(
                f"task {ti}: 'record_index' must be a non-negative integer, got a {_kind(index)}."
            )
        if rid is not None and (isinstance(rid, bool) or not isinstance(rid, (str, int))):
            raise FileFormatError(f"task {ti}: 'record_id' must be text, got a {_kind(rid)}.")
        for where in ("annotations", "predictions"):
            blocks = task.get(where)
            blocks = [] if blocks is None else blocks
            if not isinstance(blocks, list):
                raise FileFormatError(
                    f"task {ti}: {where!r} must be a list, got a {_kind(blocks)}."
                )
            for bi, block in enumerate(blocks):
                at = f"task {ti}, {where} {bi}"
                if not isinstance(block, dict):
                    raise FileFormatError(f"{at} is a {_kind(block)}, not a JSON object.")
                results = block.get("result")
                results = [] if results is None else results
                if not isinstance(results, list):
                    raise FileFormatError(f"{at}: 'result' must be a list, got a {_kind(results)}.")
                for ri, r in enumerate(results):
                    for seg in _read_result(r, f"{at}, result {ri}", allowed):
                        out.append(
                            {
                                "task": ti,
                                "record_index": index,
                                "record_id": None if rid is None else str(rid),
                                "source": where,
                                **seg,
                            }
                        )
    return out


def _kind(value: Any) -> str:
    """The JSON kind of a value, for messages (never its repr: it may be nested 100k deep)."""
    names = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, (int, float)) else "value")


def _load_tasks(source: Any) -> list:
    import json

    doc = source
    try:
        if isinstance(source, (str, os.PathLike)) and not str(source).lstrip().startswith(
            ("[", "{")
        ):
            try:
                text = Path(source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise FileFormatError(
                    f"cannot read Label Studio tasks from {source}: {exc}"
                ) from None
            doc = json.loads(text)
        elif isinstance(source, str):
            doc = json.loads(source)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"the Label Studio tasks are not valid JSON ({exc.msg} at line {exc.lineno}); "
            "export them again from Label Studio (Export > JSON)."
        ) from None
    except RecursionError:
        raise FileFormatError(
            "the Label Studio tasks are nested too deeply to be tasks (a task is a few "
            "levels deep); the file is corrupt or not a Label Studio export."
        ) from None
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise FileFormatError(f"Label Studio tasks must be a JSON list, got a {_kind(doc)}.")
    return doc


def _read_result(r: Any, at: str, allowed: set | None) -> list[dict[str, Any]]:
    if not isinstance(r, dict):
        raise FileFormatError(f"{at} is a {_kind(r)}, not a JSON object.")
    if r.get("type") != "timeserieslabels":
        return []  # other control tags (choices, text areas) carry no spans
    v = r.get("value")
    if not isinstance(v, dict):
        raise FileFormatError(f"{at}: 'value' must be an object, got a {_kind(v)}.")
    names = v.get("timeserieslabels")
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise FileFormatError(
            f"{at}: 'timeserieslabels' must be a list of label names (e.g. [\"P wave\"]), "
            f"got a {_kind(names)}."
        )
    times = []
    for key in ("start", "end"):
        t = v.get(key)
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise FileFormatError(
                f"{at}: {key!r} must be a finite number of seconds, got a {_kind(t)}"
                + (f" ({t})" if isinstance(t, float) else "")
                + "."
            )
        times.append(float(t))
    start, end = times
    instant = v.get("instant") is True
    if start < 0 or end < start or (end == start and not instant):
        raise FileFormatError(
            f"{at}: the span {start} .. {end} s is "
            + ("negative" if start < 0 else "reversed or empty")
            + '; a span needs 0 <= start < end (end == start only with "instant": true).'
        )
    if allowed is not None:
        unknown = sorted({n for n in names if n not in allowed})
        if unknown:
            raise FileFormatError(
                f"{at}: unknown label(s) {unknown}; the labeling config offers {sorted(allowed)}."
            )
    return [{"start_s": start, "end_s": end, "name": n} for n in names]


def label_studio_config(names: Sequence[str], leads: Sequence[str] = ("II",)) -> str:
    """Labeling config (XML) matching :func:`to_label_studio`'s tasks.

    Parameters
    ----------
    names : sequence of str
        The labels offered (duplicates dropped, order kept).
    leads : sequence of str
        The channels (lead names) of the tasks.

    Returns
    -------
    str
        ``<View>`` with ``TimeSeriesLabels`` and a ``TimeSeries`` of ``valueType="json"``.

    Examples
    --------
    >>> print(label_studio_config(["P wave"], ["II"]))
    <View>
      <TimeSeriesLabels name="label" toName="ts">
        <Label value="P wave"/>
      </TimeSeriesLabels>
      <TimeSeries name="ts" value="$ts" valueType="json" timeColumn="time">
        <Channel column="II"/>
      </TimeSeries>
    </View>
    """
    from xml.sax.saxutils import quoteattr

    lines = ["<View>", '  <TimeSeriesLabels name="label" toName="ts">']
    lines += [f"    <Label value={quoteattr(str(n))}/>" for n in dict.fromkeys(names)]
    lines += [
        "  </TimeSeriesLabels>",
        '  <TimeSeries name="ts" value="$ts" valueType="json" timeColumn="time">',
    ]
    lines += [f"    <Channel column={quoteattr(str(ld))}/>" for ld in leads]
    lines += ["  </TimeSeries>", "</View>"]
    return "\n".join(lines)
