"""Expert cluster labels: validation, versioned JSON persistence and re-attachment.

Why this file is long: it is the one home of the labels-file schema (labels, fit
identity, signatures), which is validated, written, read, compared and re-attached in
one place; more than half of it is docstrings with runnable examples. Segment export
lives in :mod:`.labelled_segments`, the comparison of fit identities in
:mod:`.labels_meta`, re-attachment in :mod:`.labels_attach` and the merge of concurrent
writers in :mod:`.labels_merge`.

Labels key on the *stable* cluster id (``TLCExplainer.cluster_ids_``) as a string,
``{"3": {"name": "QRS complex", "notes": "...", "annotator": "A. B.",
"updated": "2026-12-02T01:00:00Z"}}`` (``annotator`` and ``updated``, an ISO-8601 UTC
time, are optional), so they survive changes of K.

A labels file can also carry the identity of the fit the labels were given on
(``fit``: model checksum, data fingerprint, K, cluster ids) and a signature per
cluster (``signatures``: centroid and/or prototype), so that loading it into another
fit is refused or re-mapped instead of attaching names to the wrong clusters; see
:func:`attach_labels` (re-maps by signature), :func:`check_labels_meta` and
``load_labels(path, fit=...)``. ``save_labels(path, labels, tlc=explainer)`` writes both.

File format (JSON)::

    {"schema": "ecg_cluster_widget/cluster-labels", "version": 1, 2 or 3,
     "labels": {"3": {"name": "QRS complex", "notes": "", "annotator": "...",
                      "updated": "2026-12-02T01:00:00Z"}},   # the last two optional
     "meta": {...free-form...},
     "fit": {"model_checksum": "...", "data_fingerprint": "...", "n_clusters": 6,
             "cluster_ids": [0, 1, 2, 3, 4, 5], "fit_id": "..."},  # optional, version 2
     "signatures": {"3": {"activations": [...], "centroid": [...],
                          "prototype": [[...]]}},                   # optional, version 2
     "unplaced": [{"id": 7, "label": {"name": ..., ...}, "activations": [...],
                   "fit_id": "...", "n_clusters": 8}]}                # optional, version 3

``unplaced`` keeps the names that a later fit could not place (no cluster with their
signature): a save never deletes what it did not load, and they come back when a fit can
place them (:func:`attach_labels`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io_utils import atomic_write_json, to_jsonable
from ..errors import DataError, DataWarning, FileFormatError, LabelsMismatchError

LABELS_SCHEMA = "ecg_cluster_widget/cluster-labels"
#: Newest format version: 1 = labels + meta; 2 adds the optional ``fit`` and ``signatures``;
#: 3 adds ``unplaced`` (written only when there are such names, so that older readers,
#: which would drop them on their next save, refuse the file instead).
LABELS_VERSION = 3
#: Keys of ``fit`` that identify the fit; a mismatch in the first two refuses the file.
FIT_KEYS: tuple[str, ...] = ("model_checksum", "data_fingerprint", "n_clusters", "cluster_ids")
#: Kinds of per-cluster signature a labels file may carry. ``activations`` (the mean of the
#: model's hooked activations, ``TLCExplainer.cluster_signatures``) is what
#: :func:`attach_labels` matches; centroids live in a fit's PCA space and do not compare
#: across fits.
SIGNATURE_KINDS: tuple[str, ...] = ("activations", "centroid", "prototype")
#: Fields of one label entry.
LABEL_FIELDS: tuple[str, ...] = ("name", "notes", "annotator", "updated")
#: The controlled vocabulary offered next to free text.
LABEL_VOCAB: tuple[str, ...] = (
    "P wave",
    "QRS complex",
    "T wave",
    "ST segment",
    "TP baseline",
    "PR segment",
    "artifact",
    "other",
)


def normalize_timestamp(value: Any) -> str:
    """Canonical ISO-8601 UTC form of a time stamp: ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.

    Parameters
    ----------
    value : str or datetime.datetime
        An ISO-8601 time with a time zone (``Z`` or an offset), or an aware datetime.

    Returns
    -------
    str

    Raises
    ------
    DataError
        For text that is not ISO-8601 or a time without a time zone.

    Examples
    --------
    >>> normalize_timestamp("2026-12-02T02:30:00+01:00")
    '2026-12-02T01:30:00Z'
    >>> normalize_timestamp("2026-12-02 01:30")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: time stamp '2026-12-02 01:30' has no time zone; ...
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise DataError(
                f"time stamp {value!r} is not ISO-8601; write e.g. '2026-12-02T01:30:00Z'."
            ) from None
    else:
        raise DataError(f"a time stamp must be an ISO-8601 string, got {type(value).__name__}.")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise DataError(
            f"time stamp {value!r} has no time zone; give UTC, e.g. '2026-12-02T01:30:00Z'."
        )
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def now_utc() -> str:
    """The current time as an ISO-8601 UTC time stamp (seconds).

    Returns
    -------
    str

    Examples
    --------
    >>> now_utc().endswith("Z")
    True
    """
    return normalize_timestamp(datetime.now(timezone.utc).replace(microsecond=0))


def normalize_labels(obj: Any) -> dict[str, dict[str, str]]:
    """Check and canonicalise a labels mapping.

    Keys become ``str(int(id))``; values must be mappings with optional string
    ``name``, ``notes`` and ``annotator`` and an optional ISO-8601 ``updated`` time
    (canonicalised to UTC by :func:`normalize_timestamp`); a bare string is taken as
    the name. Entries with neither name nor notes are dropped; ``annotator`` and
    ``updated`` appear only when given.

    Parameters
    ----------
    obj : mapping or None
        ``{cluster_id: {"name": ..., "notes": ...}}`` or ``{cluster_id: name}``.

    Returns
    -------
    dict
        ``{str(id): {"name": str, "notes": str[, "annotator": str, "updated": str]}}``
        sorted by id; ``{}`` for ``None``.

    Raises
    ------
    DataError
        When ids are not integers, two keys name one id (``"3"`` and ``"03"``), values
        have the wrong type or a time stamp is not ISO-8601 with a time zone.

    Examples
    --------
    >>> normalize_labels({3: "QRS complex", "4": {"name": "T wave", "notes": "late"}})
    {'3': {'name': 'QRS complex', 'notes': ''}, '4': {'name': 'T wave', 'notes': 'late'}}
    >>> normalize_labels({1: {"name": "P", "annotator": "ab", "updated": "2026-12-02T01:00:00Z"}})
    {'1': {'name': 'P', 'notes': '', 'annotator': 'ab', 'updated': '2026-12-02T01:00:00Z'}}
    """
    if obj is None:
        return {}
    if not isinstance(obj, Mapping):
        raise DataError(
            f"cluster labels must be a dict {{cluster_id: {{'name', 'notes'}}}}, got {type(obj).__name__}."
        )
    out: dict[str, dict[str, str]] = {}
    seen: dict[int, Any] = {}
    for key, val in obj.items():
        if isinstance(key, bool) or not isinstance(key, (str, int, np.integer)):
            raise DataError(f"cluster label key {key!r} is not an integer cluster id.")
        try:
            cid = int(str(key).strip())
        except ValueError:
            raise DataError(f"cluster label key {key!r} is not an integer cluster id.") from None
        if cid < 0:
            raise DataError(f"cluster label key {key!r} must be a non-negative cluster id.")
        if cid in seen:
            # Two spellings of one id: keeping either would silently drop the other's name.
            raise DataError(
                f"cluster label keys {seen[cid]!r} and {key!r} both name cluster {cid}; "
                "keep one entry per cluster id."
            )
        seen[cid] = key
        if isinstance(val, str):
            val = {"name": val}
        if not isinstance(val, Mapping):
            raise DataError(
                f"label of cluster {cid} must be a dict with 'name' and 'notes', got {type(val).__name__}."
            )
        unknown = set(val) - set(LABEL_FIELDS)
        if unknown:
            raise DataError(
                f"label of cluster {cid} has unknown fields {sorted(map(str, unknown))}; use "
                f"{', '.join(repr(f) for f in LABEL_FIELDS)}."
            )
        texts = {f: val.get(f, "") or "" for f in ("name", "notes", "annotator")}
        bad = [f for f, v in texts.items() if not isinstance(v, str)]
        if bad:
            raise DataError(f"label of cluster {cid}: {', '.join(map(repr, bad))} must be strings.")
        name, notes, annotator = (texts[f].strip() for f in ("name", "notes", "annotator"))
        if not (name or notes):
            continue
        entry = {"name": name, "notes": notes}
        if annotator:
            entry["annotator"] = annotator
        if val.get("updated") not in (None, ""):
            try:
                entry["updated"] = normalize_timestamp(val["updated"])
            except DataError as exc:
                raise DataError(f"label of cluster {cid}: {exc}") from None
        out[str(cid)] = entry
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def set_label(
    labels: Mapping | None,
    cluster_id: int,
    name: str,
    notes: str = "",
    annotator: str = "",
    updated: Any = None,
) -> dict[str, dict[str, str]]:
    """A copy of ``labels`` with cluster ``cluster_id`` named, stamped with time and annotator.

    Parameters
    ----------
    labels : mapping or None
        Current labels (see :func:`normalize_labels`).
    cluster_id : int
    name, notes : str
        An empty name and notes remove the label.
    annotator : str
        Who gave the label.
    updated : str or datetime, optional
        When; default: now (UTC).

    Returns
    -------
    dict
        Normalised labels.

    Examples
    --------
    >>> set_label({}, 3, "QRS complex", annotator="ab", updated="2026-12-02T01:00:00Z")
    {'3': {'name': 'QRS complex', 'notes': '', 'annotator': 'ab', 'updated': '2026-12-02T01:00:00Z'}}
    """
    out = dict(normalize_labels(labels))
    entry = {"name": name, "notes": notes, "annotator": annotator}
    entry["updated"] = now_utc() if updated is None else updated
    out[str(int(cluster_id))] = entry
    return normalize_labels(out)


def normalize_fit(fit: Any) -> dict[str, Any]:
    """Check and canonicalise the identity of a fit (the ``fit`` field of a labels file).

    Parameters
    ----------
    fit : mapping
        ``model_checksum`` (str), ``data_fingerprint`` (str), ``n_clusters`` (int >= 1;
        ``"K"`` is accepted as an alias) and ``cluster_ids`` (distinct non-negative
        ints, one per cluster), each optional; other keys may hold JSON numbers,
        strings, booleans or lists of them (e.g. ``random_state``).

    Returns
    -------
    dict
        The same information with plain Python types, known keys first.

    Raises
    ------
    DataError
        If a field has the wrong type, ``cluster_ids`` repeat or their number is not
        ``n_clusters``.

    Examples
    --------
    >>> normalize_fit({"K": np.int64(2), "cluster_ids": np.array([4, 0]), "model_checksum": "ab"})
    {'model_checksum': 'ab', 'n_clusters': 2, 'cluster_ids': [4, 0]}
    """
    if not isinstance(fit, Mapping):
        raise DataError(
            f"fit must be a dict (model_checksum, data_fingerprint, n_clusters, "
            f"cluster_ids), got {type(fit).__name__}."
        )
    fit = dict(fit)
    if "K" in fit:
        if "n_clusters" in fit and fit["n_clusters"] != fit["K"]:
            raise DataError(f"fit gives K={fit['K']!r} and n_clusters={fit['n_clusters']!r}.")
        fit["n_clusters"] = fit.pop("K")
    out: dict[str, Any] = {}
    for key in ("model_checksum", "data_fingerprint"):
        if key in fit:
            val = fit.pop(key)
            if not isinstance(val, str) or not val:
                raise DataError(f"fit[{key!r}] must be a non-empty string, got {val!r}.")
            out[key] = val
    if "n_clusters" in fit:
        val = fit.pop("n_clusters")
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise DataError(f"fit['n_clusters'] must be a positive integer, got {val!r}.")
        out["n_clusters"] = int(val)
    if "cluster_ids" in fit:
        val = fit.pop("cluster_ids")
        ids = np.asarray(val)
        if (
            ids.ndim != 1
            or not (ids.size == 0 or np.issubdtype(ids.dtype, np.integer))
            or (ids < 0).any()
        ):
            raise DataError(
                f"fit['cluster_ids'] must be a list of non-negative integers, got {val!r}."
            )
        ids_list = [int(i) for i in ids]
        if len(set(ids_list)) != len(ids_list):
            raise DataError(f"fit['cluster_ids'] repeat an id: {ids_list}.")
        if "n_clusters" in out and len(ids_list) != out["n_clusters"]:
            raise DataError(
                f"fit has n_clusters={out['n_clusters']} but {len(ids_list)} cluster_ids."
            )
        out["cluster_ids"] = ids_list
    for key, val in fit.items():
        if not isinstance(key, str):
            raise DataError(f"fit keys must be strings, got {key!r}.")
        out[key] = _json_scalar_or_list(val, f"fit[{key!r}]")
    return out


def _json_scalar_or_list(val: Any, what: str) -> Any:
    if isinstance(val, (np.generic, np.ndarray)):
        arr = np.asarray(val)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise DataError(f"{what} must be finite, got {val!r}.")
        val = to_jsonable(val)
    if val is None or isinstance(val, (str, bool, int)):
        return val
    if isinstance(val, float):
        if not np.isfinite(val):
            raise DataError(f"{what} must be finite, got {val!r}.")
        return val
    if isinstance(val, (list, tuple)) and all(
        v is None or isinstance(v, (str, bool, int, float)) for v in val
    ):
        return list(val)
    raise DataError(
        f"{what} must be a number, string, boolean or a flat list of them, got {val!r}."
    )


def normalize_signatures(
    signatures: Any, cluster_ids: Iterable[int] | None = None
) -> dict[str, dict[str, list]]:
    """Check and canonicalise per-cluster signatures (the ``signatures`` field).

    Parameters
    ----------
    signatures : mapping
        ``{cluster_id: vector}`` (taken as the centroid) or
        ``{cluster_id: {"activations": vector, "centroid": vector, "prototype": array}}``
        (any of the three); values are finite
        numbers, vectors or nested lists (e.g. a prototype of shape (leads, width)).
    cluster_ids : iterable of int, optional
        When given, every signature's id must be one of them.

    Returns
    -------
    dict
        ``{str(id): {kind: nested list of float}}`` sorted by id.

    Raises
    ------
    DataError
        For a non-integer id, an unknown kind, or non-finite or non-numeric values.

    Examples
    --------
    >>> normalize_signatures({3: [0.5, 1], "1": {"prototype": [[0, 1], [2, 3]]}})
    {'1': {'prototype': [[0.0, 1.0], [2.0, 3.0]]}, '3': {'centroid': [0.5, 1.0]}}
    """
    if not isinstance(signatures, Mapping):
        raise DataError(
            f"signatures must be a dict {{cluster_id: centroid}}, got {type(signatures).__name__}."
        )
    allowed = None if cluster_ids is None else {int(i) for i in cluster_ids}
    out: dict[str, dict[str, list]] = {}
    for key, val in signatures.items():
        try:
            cid = int(str(key).strip())
        except ValueError:
            raise DataError(f"signature key {key!r} is not an integer cluster id.") from None
        if cid < 0:
            raise DataError(f"signature key {key!r} must be a non-negative cluster id.")
        if str(cid) in out:
            raise DataError(f"two signature keys name cluster {cid}; keep one per cluster id.")
        if allowed is not None and cid not in allowed:
            raise DataError(
                f"signature of cluster {cid}, which is not among the fit's cluster_ids."
            )
        if not isinstance(val, Mapping):
            val = {"centroid": val}
        unknown = set(val) - set(SIGNATURE_KINDS)
        if unknown or not val:
            raise DataError(
                f"signature of cluster {cid} must have some of {list(SIGNATURE_KINDS)}, "
                f"got {sorted(map(str, val))}."
            )
        entry = {}
        for kind in SIGNATURE_KINDS:
            if kind not in val:
                continue
            try:
                arr = np.asarray(val[kind], dtype=np.float64)
            except (TypeError, ValueError):
                raise DataError(
                    f"signature {kind} of cluster {cid} is not a numeric array."
                ) from None
            if arr.ndim > 3 or arr.size == 0 or not np.isfinite(arr).all():
                raise DataError(
                    f"signature {kind} of cluster {cid} must be a non-empty, finite "
                    "array of at most 3 dimensions."
                )
            if kind != "prototype" and arr.ndim != 1:
                # Matching compares vectors: a 2-D one would fail deep inside numpy.
                raise DataError(
                    f"signature {kind} of cluster {cid} must be a vector (1-D), got shape "
                    f"{arr.shape}."
                )
            entry[kind] = arr.tolist()
        out[str(cid)] = entry
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def normalize_unplaced(entries: Any) -> list[dict[str, Any]]:
    """Check and canonicalise the names no cluster of the last fit could take (``unplaced``).

    Parameters
    ----------
    entries : list of mapping
        Each ``{"id": int, "label": {...}}`` with optional ``activations`` (a finite
        vector: the cluster's signature), ``fit_id`` (str) and ``n_clusters`` (int): the
        cluster the name was given to and the fit it belonged to.

    Returns
    -------
    list of dict
        In the given order; entries without a name or notes are dropped.

    Raises
    ------
    DataError
        For a wrong type or an unknown field.

    Examples
    --------
    >>> normalize_unplaced([{"id": 7, "label": "P wave", "activations": [1, 0]}])
    [{'id': 7, 'label': {'name': 'P wave', 'notes': ''}, 'activations': [1.0, 0.0]}]
    """
    if not isinstance(entries, (list, tuple)):
        raise DataError(f"'unplaced' must be a list, got {type(entries).__name__}.")
    out = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "id" not in entry or "label" not in entry:
            raise DataError(f"unplaced entry {n} must be a dict with 'id' and 'label'.")
        unknown = set(entry) - {"id", "label", "activations", "fit_id", "n_clusters"}
        if unknown:
            raise DataError(f"unplaced entry {n} has unknown fields {sorted(map(str, unknown))}.")
        cid = entry["id"]
        if isinstance(cid, bool) or not isinstance(cid, (int, np.integer)) or cid < 0:
            raise DataError(f"unplaced entry {n}: 'id' must be a non-negative integer.")
        label = normalize_labels({int(cid): entry["label"]})
        if not label:
            continue
        item: dict[str, Any] = {"id": int(cid), "label": label[str(int(cid))]}
        if entry.get("activations") is not None:
            sig = normalize_signatures({int(cid): {"activations": entry["activations"]}})
            item["activations"] = sig[str(int(cid))]["activations"]
        if entry.get("fit_id") is not None:
            if not isinstance(entry["fit_id"], str):
                raise DataError(f"unplaced entry {n}: 'fit_id' must be a string.")
            item["fit_id"] = entry["fit_id"]
        if entry.get("n_clusters") is not None:
            k = entry["n_clusters"]
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                raise DataError(f"unplaced entry {n}: 'n_clusters' must be a positive integer.")
            item["n_clusters"] = int(k)
        out.append(item)
    return out


def save_labels(
    path: str | os.PathLike,
    labels: Mapping,
    meta: Mapping | None = None,
    *,
    fit: Mapping | None = None,
    signatures: Mapping | None = None,
    tlc: Any = None,
    n_clusters: int | None = None,
    merge: bool | None = None,
) -> Path:
    """Write labels atomically as versioned JSON (merged with the file's, see ``merge``).

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.json`` file.
    labels : mapping
        Cluster labels, checked by :func:`normalize_labels`.
    meta : mapping, optional
        Extra information stored next to the labels (e.g. the dataset and K).
    fit : mapping, optional
        The identity of the fit the labels belong to (see :func:`normalize_fit`):
        ``model_checksum``, ``data_fingerprint``, ``n_clusters``, ``cluster_ids``.
    signatures : mapping, optional
        Per cluster id a signature (see :func:`normalize_signatures`), so the labels
        can be re-attached to a different fit by matching.
    tlc : TLCExplainer, optional
        A fitted explainer: writes its ``fit_identity`` and ``cluster_signatures`` (for
        K = ``n_clusters``, default the current K) instead of ``fit``/``signatures``,
        so :func:`attach_labels` can re-attach the labels to any later fit.
    n_clusters : int, optional
        With ``tlc``: the K the labels were given on.
    merge : bool, optional
        Merge with the labels already in ``path`` instead of replacing them (default:
        when ``tlc`` is given, as the explorer's autosave does). A merge never deletes
        what this process did not load: names of clusters this fit cannot place are
        kept as ``unplaced``; the edits of another writer since this process last read
        or wrote the file are kept, per cluster, newest edit winning, with a
        :class:`~ecg_cluster_widget.errors.DataWarning` saying what was merged (see
        :func:`~ecg_cluster_widget.views.labels_merge.merge_labels`).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataError
        If the labels, fit or signatures are malformed.
    FileFormatError
        When merging into a file that is not a readable labels file (it is left as is),
        or when the file cannot be written (full disk, no permission).
    LabelsMismatchError
        When merging into a labels file of another model or dataset.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.json"
    >>> _ = save_labels(p, {"2": {"name": "P wave", "notes": ""}})
    >>> load_labels(p)
    {'2': {'name': 'P wave', 'notes': ''}}
    >>> fit = {"model_checksum": "m1", "data_fingerprint": "d1", "n_clusters": 3,
    ...        "cluster_ids": [0, 2, 5]}
    >>> _ = save_labels(p, {2: "P wave"}, fit=fit, signatures={2: [0.1, -0.3]})
    >>> load_labels(p, fit=fit)
    {'2': {'name': 'P wave', 'notes': ''}}
    """
    if meta is not None and not isinstance(meta, Mapping):
        raise DataError(f"meta must be a dict, got {type(meta).__name__}.")
    if tlc is not None:
        if fit is not None or signatures is not None:
            raise DataError("give either tlc= or fit=/signatures=, not both.")
        fit = tlc.fit_identity(n_clusters)
        sigs = tlc.cluster_signatures(fit["n_clusters"])
        signatures = {cid: {"activations": vec} for cid, vec in sigs.items()}
    elif n_clusters is not None:
        raise DataError("n_clusters= needs tlc= (the explainer whose K it is).")
    doc: dict[str, Any] = {
        "schema": LABELS_SCHEMA,
        "version": 1,
        "labels": normalize_labels(labels),
        "meta": dict(meta or {}),
    }
    fit_doc = None if fit is None else normalize_fit(fit)
    if fit_doc is not None:
        doc["fit"] = fit_doc
    if signatures is not None:
        doc["signatures"] = normalize_signatures(
            signatures, None if fit_doc is None else fit_doc.get("cluster_ids")
        )
    if fit is not None or signatures is not None:
        doc["version"] = 2  # version-1 readers cannot honour the fit: let them refuse
    try:
        doc["meta"] = to_jsonable(doc["meta"])
    except TypeError as exc:
        raise DataError(f"meta is not JSON-serialisable: {exc}") from None
    if merge is None:
        merge = tlc is not None
    if not merge:
        return atomic_write_json(path, doc, what="labels file")
    from .labels_merge import merge_and_write

    return merge_and_write(Path(path), doc)


@dataclass
class LabelsFile:
    """Everything in a cluster-labels file (see :func:`read_labels_file`).

    Attributes
    ----------
    labels : dict
        ``{str(id): {"name", "notes"}}``.
    meta : dict
        Free-form metadata.
    fit : dict or None
        The fit identity (:func:`normalize_fit`), ``None`` when the file has none.
    signatures : dict or None
        Per-cluster signatures (:func:`normalize_signatures`), ``None`` when absent.
    unplaced : list of dict
        Names that the last fit could not place (:func:`normalize_unplaced`).
    version : int
        Format version of the file.
    path : pathlib.Path or None
        Where it was read from.

    Examples
    --------
    >>> LabelsFile({"1": {"name": "P wave", "notes": ""}}).fit is None
    True
    """

    labels: dict
    meta: dict = field(default_factory=dict)
    fit: dict | None = None
    signatures: dict | None = None
    unplaced: list = field(default_factory=list)
    version: int = LABELS_VERSION
    path: Path | None = None


def read_labels_file(path: str | os.PathLike) -> LabelsFile:
    """Read and check a whole labels file: labels, meta, fit identity and signatures.

    Parameters
    ----------
    path : str or os.PathLike
        A labels JSON file.

    Returns
    -------
    LabelsFile

    Raises
    ------
    FileFormatError
        When the file is missing, not JSON (or nested too deeply to be a labels file),
        of another schema or a newer version, or holds malformed labels, meta, fit or
        signatures.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = save_labels(pathlib.Path(tempfile.mkdtemp()) / "l.json", {5: "T wave"},
    ...                 fit={"n_clusters": 6}, signatures={5: [1.0, 2.0]})
    >>> f = read_labels_file(p)
    >>> f.version, f.fit, f.signatures
    (2, {'n_clusters': 6}, {'5': {'centroid': [1.0, 2.0]}})
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileFormatError(f"labels file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read labels file {path}: {exc}") from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKeyError as exc:
        raise FileFormatError(
            f"labels file {path} repeats the key {exc.args[0]!r} in one object; a JSON "
            "reader would keep only the last one. Keep one entry per key."
        ) from None
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"labels file {path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
            "it may be truncated or edited by hand."
        ) from None
    except RecursionError:
        raise FileFormatError(
            f"labels file {path} is nested too deeply to be a cluster-labels file "
            "(a labels file is at most a few levels deep); it is corrupt or not a labels file."
        ) from None
    if not isinstance(doc, dict) or doc.get("schema") != LABELS_SCHEMA:
        raise FileFormatError(
            f"{path} is not a cluster-labels file (expected schema {LABELS_SCHEMA!r})."
        )
    version = doc.get("version")
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or version > LABELS_VERSION
        or version < 1
    ):
        raise FileFormatError(
            f"{path} has labels format version {version!r}; this package reads versions 1..{LABELS_VERSION}."
        )
    try:
        labels = normalize_labels(doc.get("labels", {}))
    except DataError as exc:
        raise FileFormatError(f"{path} holds malformed labels: {exc}") from None
    meta = doc.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path}: 'meta' must be a JSON object, got {type(meta).__name__}.")
    fit = signatures = None
    unplaced: list = []
    try:
        if doc.get("fit") is not None:
            fit = normalize_fit(doc["fit"])
        if doc.get("signatures") is not None:
            signatures = normalize_signatures(
                doc["signatures"], None if fit is None else fit.get("cluster_ids")
            )
        if doc.get("unplaced") is not None:
            unplaced = normalize_unplaced(doc["unplaced"])
    except DataError as exc:
        raise FileFormatError(
            f"{path} holds a malformed fit identity, signatures or unplaced names: {exc}"
        ) from None
    return LabelsFile(
        labels=labels,
        meta=meta,
        fit=fit,
        signatures=signatures,
        unplaced=unplaced,
        version=version,
        path=path,
    )


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, val in pairs:
        if key in out:
            raise _DuplicateKeyError(key)
        out[key] = val
    return out


def load_labels(path: str | os.PathLike, fit: Mapping | None = None) -> dict[str, dict[str, str]]:
    """Read labels written by :func:`save_labels`, checking the file's format and meta.

    Parameters
    ----------
    path : str or os.PathLike
        A labels JSON file.
    fit : mapping, optional
        The current fit's identity (see :func:`normalize_fit`). When given, the file is
        refused if it belongs to another model or dataset (different model checksum or
        data fingerprint); a file without fit identity, or with cluster ids that differ
        from the current fit's, loads with a :class:`~ecg_cluster_widget.errors.DataWarning`
        saying so. Use :func:`read_labels_file` and :func:`check_labels_meta` to re-map.

    Returns
    -------
    dict
        ``{str(id): {"name": str, "notes": str}}``, as :func:`normalize_labels` returns.

    Raises
    ------
    FileFormatError
        When the file is missing, not JSON, of another schema or a newer version,
        or holds malformed labels, meta, fit identity or signatures.
    LabelsMismatchError
        When ``fit`` is given and the file was written for another model or dataset.

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
    >>> p = save_labels(p, {5: "T wave"}, fit={"model_checksum": "old-model"})
    >>> load_labels(p, fit={"model_checksum": "new-model"})
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.LabelsMismatchError: labels file ... belongs to another model ...
    """
    from .labels_meta import check_labels_meta

    lf = read_labels_file(path)
    if fit is None:
        return lf.labels
    try:
        report = check_labels_meta(lf, fit)
    except DataError as exc:
        raise DataError(f"the current fit identity is malformed: {exc}") from None
    if not report.compatible:
        whose = " and ".join(
            w
            for w, same in (("model", report.same_model), ("dataset", report.same_data))
            if same is False
        )
        raise LabelsMismatchError(
            f"labels file {lf.path} belongs to another {whose} than the current fit "
            f"({report.summary()}) Its labels are not attached; re-map them by cluster "
            "signature, or label this fit afresh.",
            report,
        )
    if not report.has_fit:
        warnings.warn(
            f"labels file {lf.path}: {report.summary()} Check the names before relying on them.",
            DataWarning,
            stacklevel=2,
        )
    elif report.ids_only_in_file or report.ids_only_in_fit or report.labelled_ids_missing:
        warnings.warn(f"labels file {lf.path}: {report.summary()}", DataWarning, stacklevel=2)
    return lf.labels


#: Names defined in the sibling modules, importable from here (lazily: they import this
#: module). Segment export lives in :mod:`.labelled_segments`, the fit-identity comparison
#: in :mod:`.labels_meta`, re-attachment in :mod:`.labels_attach` and the merge of
#: concurrent writers in :mod:`.labels_merge`.
_LAZY_EXPORTS = {
    **dict.fromkeys(
        (
            "SEGMENT_COLUMNS",
            "FORMULA_PREFIXES",
            "segment_rows",
            "csv_safe",
            "write_segments",
            "write_wfdb_annotations",
        ),
        "labelled_segments",
    ),
    **dict.fromkeys(("LabelsMetaReport", "check_labels_meta"), "labels_meta"),
    **dict.fromkeys(
        ("MAX_SIGNATURE_DISTANCE", "LabelsAttachReport", "match_signatures", "attach_labels"),
        "labels_attach",
    ),
    **dict.fromkeys(("merge_labels",), "labels_merge"),
}


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): the sibling modules import this one, so no import at the top.
    if name in _LAZY_EXPORTS:
        import importlib

        module = importlib.import_module(f"{__package__}.{_LAZY_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
