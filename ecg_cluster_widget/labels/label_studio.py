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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from ..data.io_utils import atomic_write_json
from ..errors import DataError, FileFormatError
from .attach import attach_labels
from .files import load_json


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
        (:func:`~.attach.attach_labels`).
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
    # Labels of this model and data are re-mapped to this fit's ids; another model's or
    # dataset's are refused (their names would land on unrelated clusters).
    lab = {} if labels is None else attach_labels(labels, tlc, n_clusters=k)[0]
    n = len(dataset)
    idx = range(n) if records is None else [int(i) for i in records]
    rows = [dataset.lead_index(ld) for ld in leads]
    t = np.round(np.arange(dataset.n_samples) / float(dataset.fs), decimals).tolist()
    tasks = []
    for i in idx:
        if not 0 <= i < n:
            raise DataError(f"record {i} is out of range 0..{n - 1}.")
        spans: list[list] = []  # [start_s, end_s, name, cluster_id]; equal names merged
        for s in tlc.explain(dataset, i, n_clusters=k).segments:
            cid = int(s.cluster_id)
            name = lab.get(str(cid), {}).get("name", "") or f"cluster {cid}"
            if spans and spans[-1][2] == name and spans[-1][1] == float(s.start_s):
                spans[-1][1] = float(s.end_s)
            else:
                spans.append([float(s.start_s), float(s.end_s), name, cid])
        result = []
        for j, (start, end, name, cid) in enumerate(spans):
            ids = dict(id=f"r{i}-s{j}", from_name="label", to_name="ts", type="timeserieslabels")
            value = dict(start=round(start, decimals), end=round(end, decimals), instant=False)
            value["timeserieslabels"] = [name]
            result.append({**ids, "value": value, "meta": {"cluster_id": cid}})
        ts = {"time": t}
        for ld, r in zip(leads, rows):
            ts[str(ld)] = np.round(dataset.signals[i, r].astype(np.float64), decimals).tolist()
        data = {"ts": ts, "record_id": str(dataset.record_ids[i]), "record_index": i}
        block = {"model_version": f"tlc-k{k}", "result": result}
        tasks.append({"data": data, ("annotations" if as_annotations else "predictions"): [block]})
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
    return atomic_write_json(path, tasks, what="Label Studio tasks")


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
    allowed = None if known is None else {str(n) for n in known}
    out = []
    for ti, task in enumerate(_load_tasks(source)):
        data = _field(_obj(task, f"task {ti}"), "data", dict, f"task {ti}")
        index, rid = data.get("record_index"), data.get("record_id")
        if index is not None and (type(index) is not int or index < 0):
            raise FileFormatError(
                f"task {ti}: 'record_index' must be a non-negative integer, got a {_kind(index)}."
            )
        if rid is not None and type(rid) not in (str, int):
            raise FileFormatError(f"task {ti}: 'record_id' must be text, got a {_kind(rid)}.")
        rec = {"task": ti, "record_index": index, "record_id": None if rid is None else str(rid)}
        for where in ("annotations", "predictions"):
            for bi, block in enumerate(_field(task, where, list, f"task {ti}")):
                at = f"task {ti}, {where} {bi}"
                for ri, r in enumerate(_field(_obj(block, at), "result", list, at)):
                    for seg in _read_result(r, f"{at}, result {ri}", allowed):
                        out.append({**rec, "source": where, **seg})
    return out


def _kind(value: Any) -> str:
    """The JSON kind of a value, for messages (never its repr: it may be nested 100k deep)."""
    names = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, (int, float)) else "value")


def _obj(val: Any, at: str) -> dict:
    if not isinstance(val, dict):
        raise FileFormatError(f"{at} is a {_kind(val)}, not a JSON object.")
    return val


def _field(obj: dict, key: str, kind: type, at: str) -> Any:
    """``obj[key]`` checked to be a JSON object (``kind=dict``) or list; empty when absent."""
    val = obj.get(key)
    if val is not None and not isinstance(val, kind):
        what = "an object" if kind is dict else "a list"
        raise FileFormatError(f"{at}: {key!r} must be {what}, got a {_kind(val)}.")
    return kind() if val is None else val


def _load_tasks(source: Any) -> list:
    doc = source
    if isinstance(source, (str, os.PathLike)):
        is_text = isinstance(source, str) and source.lstrip().startswith(("[", "{"))
        what = "the Label Studio tasks" if is_text else f"Label Studio tasks file {source}"
        hint = "export them again from Label Studio (Export > JSON)"
        doc = load_json(source if is_text else Path(source), what, "Label Studio tasks", hint)
    doc = [doc] if isinstance(doc, dict) else doc
    if not isinstance(doc, list):
        raise FileFormatError(f"Label Studio tasks must be a JSON list, got a {_kind(doc)}.")
    return doc


def _read_result(r: Any, at: str, allowed: set | None) -> list[dict[str, Any]]:
    if _obj(r, at).get("type") != "timeserieslabels":
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
    for key in ("start", "end"):
        t = v.get(key)
        if type(t) not in (int, float) or not math.isfinite(t):
            shown = f" ({t})" if isinstance(t, float) else ""
            raise FileFormatError(
                f"{at}: {key!r} must be a finite number of seconds, got a {_kind(t)}{shown}."
            )
    start, end = float(v["start"]), float(v["end"])
    if start < 0 or end < start or (end == start and v.get("instant") is not True):
        raise FileFormatError(
            f"{at}: the span {start} .. {end} s is "
            + ("negative" if start < 0 else "reversed or empty")
            + '; a span needs 0 <= start < end (end == start only with "instant": true).'
        )
    unknown = sorted(set(names) - allowed) if allowed is not None else []
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
    lines = ["<View>", '  <TimeSeriesLabels name="label" toName="ts">']
    lines += [f"    <Label value={quoteattr(str(n))}/>" for n in dict.fromkeys(names)]
    lines += [
        "  </TimeSeriesLabels>",
        '  <TimeSeries name="ts" value="$ts" valueType="json" timeColumn="time">',
    ]
    lines += [f"    <Channel column={quoteattr(str(ld))}/>" for ld in leads]
    lines += ["  </TimeSeries>", "</View>"]
    return "\n".join(lines)
