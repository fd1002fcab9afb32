"""The cluster-labels file schema: its constants and the checks that canonicalise each
part of a file (labels, time stamps, fit identity, signatures, unplaced names).

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

Labels key on the *stable* cluster id (``TLCExplainer.cluster_ids_``), so they survive
changes of K. ``fit`` and ``signatures`` let a later fit refuse or re-map the labels
(:func:`~ecg_cluster_widget.labels.attach.attach_labels`); ``unplaced`` keeps the names a
fit could not place, so a save never deletes what it did not load.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..data.dataset import check_count
from ..errors import DataError

LABELS_SCHEMA = "ecg_cluster_widget/cluster-labels"
#: Newest format version: 1 = labels + meta; 2 adds the optional ``fit`` and ``signatures``;
#: 3 adds ``unplaced`` (written only when there are such names, so that older readers,
#: which would drop them on their next save, refuse the file instead).
LABELS_VERSION = 3
#: Keys of ``fit`` that identify the fit; a mismatch in the first two refuses the file.
FIT_KEYS: tuple[str, ...] = ("model_checksum", "data_fingerprint", "n_clusters", "cluster_ids")
#: Kinds of per-cluster signature. ``activations`` (the mean of the model's hooked
#: activations, ``TLCExplainer.cluster_signatures``) is what re-attachment matches;
#: centroids live in a fit's PCA space and do not compare across fits.
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
    if dt.utcoffset() is None:
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


def _cluster_id(key: Any, what: str) -> int:
    """A non-negative integer cluster id from a key (``3``, ``"3"``, ``" 03"``)."""
    if isinstance(key, bool) or not isinstance(key, (str, int, np.integer)):
        raise DataError(f"{what} key {key!r} is not an integer cluster id.")
    try:
        cid = int(str(key).strip())
    except ValueError:
        raise DataError(f"{what} key {key!r} is not an integer cluster id.") from None
    if cid < 0:
        raise DataError(f"{what} key {key!r} must be a non-negative cluster id.")
    return cid


def normalize_labels(obj: Any) -> dict[str, dict[str, str]]:
    """Check and canonicalise a labels mapping.

    Keys become ``str(int(id))``; values are mappings with optional string ``name``,
    ``notes`` and ``annotator`` and an optional ISO-8601 ``updated`` time (canonicalised
    by :func:`normalize_timestamp`); a bare string is the name. Entries with neither
    name nor notes are dropped; ``annotator`` and ``updated`` appear only when given.

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
    out: dict[int, dict[str, str]] = {}
    seen: dict[int, Any] = {}
    for key, val in obj.items():
        cid = _cluster_id(key, "cluster label")
        if cid in seen:  # keeping either spelling would silently drop the other's name
            raise DataError(
                f"cluster label keys {seen[cid]!r} and {key!r} both name cluster {cid}; "
                "keep one entry per cluster id."
            )
        seen[cid] = key
        val = {"name": val} if isinstance(val, str) else val
        if not isinstance(val, Mapping):
            raise DataError(
                f"label of cluster {cid} must be a dict with 'name' and 'notes', got {type(val).__name__}."
            )
        unknown = set(val) - set(LABEL_FIELDS)
        if unknown:
            raise DataError(
                f"label of cluster {cid} has unknown fields {sorted(map(str, unknown))}; use "
                f"{', '.join(map(repr, LABEL_FIELDS))}."
            )
        texts = {f: val.get(f) or "" for f in ("name", "notes", "annotator")}
        bad = [f for f, v in texts.items() if not isinstance(v, str)]
        if bad:
            raise DataError(f"label of cluster {cid}: {', '.join(map(repr, bad))} must be strings.")
        entry = {f: v.strip() for f, v in texts.items() if v.strip() or f != "annotator"}
        if not (entry["name"] or entry["notes"]):
            continue
        if val.get("updated") not in (None, ""):
            try:
                entry["updated"] = normalize_timestamp(val["updated"])
            except DataError as exc:
                raise DataError(f"label of cluster {cid}: {exc}") from None
        out[cid] = entry
    return {str(cid): out[cid] for cid in sorted(out)}


def normalize_fit(fit: Any) -> dict[str, Any]:
    """Check and canonicalise the identity of a fit (the ``fit`` field of a labels file).

    Parameters
    ----------
    fit : mapping
        ``model_checksum`` (str), ``data_fingerprint`` (str), ``n_clusters`` (int >= 1;
        ``"K"`` is accepted as an alias) and ``cluster_ids`` (distinct non-negative
        ints, one per cluster), each optional; other keys may hold JSON numbers,
        strings, booleans or flat lists of them (e.g. ``random_state``).

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
        out["n_clusters"] = check_count(fit.pop("n_clusters"), "fit['n_clusters']")
    if "cluster_ids" in fit:
        val = fit.pop("cluster_ids")
        ids = np.asarray(val)
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu") or (ids < 0).any():
            raise DataError(
                f"fit['cluster_ids'] must be a list of non-negative integers, got {val!r}."
            )
        ids_list = ids.astype(int).tolist()
        if len(set(ids_list)) != len(ids_list):
            raise DataError(f"fit['cluster_ids'] repeat an id: {ids_list}.")
        if len(ids_list) != out.get("n_clusters", len(ids_list)):
            raise DataError(
                f"fit has n_clusters={out['n_clusters']} but {len(ids_list)} cluster_ids."
            )
        out["cluster_ids"] = ids_list
    for key, val in fit.items():
        if not isinstance(key, str):
            raise DataError(f"fit keys must be strings, got {key!r}.")
        val = val.tolist() if isinstance(val, (np.generic, np.ndarray)) else val
        flat = val if isinstance(val, (list, tuple)) else [val]
        if not all(v is None or isinstance(v, (str, bool, int, float)) for v in flat):
            raise DataError(
                f"fit[{key!r}] must be a number, string, boolean or a flat list of them, "
                f"got {val!r}."
            )
        if any(isinstance(v, float) and not np.isfinite(v) for v in flat):
            raise DataError(f"fit[{key!r}] must be finite, got {val!r}.")
        out[key] = list(val) if isinstance(val, tuple) else val
    return out


def normalize_signatures(
    signatures: Any, cluster_ids: Iterable[int] | None = None
) -> dict[str, dict[str, list]]:
    """Check and canonicalise per-cluster signatures (the ``signatures`` field).

    Parameters
    ----------
    signatures : mapping
        ``{cluster_id: vector}`` (taken as the centroid) or ``{cluster_id:
        {"activations": vector, "centroid": vector, "prototype": array}}`` (any of the
        three); finite numbers, the prototype of at most 3 dimensions.
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
    out: dict[int, dict[str, list]] = {}
    for key, val in signatures.items():
        cid = _cluster_id(key, "signature")
        if cid in out:
            raise DataError(f"two signature keys name cluster {cid}; keep one per cluster id.")
        if allowed is not None and cid not in allowed:
            raise DataError(
                f"signature of cluster {cid}, which is not among the fit's cluster_ids."
            )
        val = val if isinstance(val, Mapping) else {"centroid": val}
        if not val or set(val) - set(SIGNATURE_KINDS):
            raise DataError(
                f"signature of cluster {cid} must have some of {list(SIGNATURE_KINDS)}, "
                f"got {sorted(map(str, val))}."
            )
        entry = {}
        for kind in (k for k in SIGNATURE_KINDS if k in val):
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
            if kind != "prototype" and arr.ndim != 1:  # matching compares vectors
                raise DataError(
                    f"signature {kind} of cluster {cid} must be a vector (1-D), got shape "
                    f"{arr.shape}."
                )
            entry[kind] = arr.tolist()
        out[cid] = entry
    return {str(cid): out[cid] for cid in sorted(out)}


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
            item["n_clusters"] = check_count(
                entry["n_clusters"], f"unplaced entry {n}: 'n_clusters'"
            )
        out.append(item)
    return out
