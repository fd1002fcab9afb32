"""Expert cluster labels: validation, versioned JSON persistence and segment export.

Labels key on the *stable* cluster id (``TLCExplainer.cluster_ids_``) as a string,
``{"3": {"name": "QRS complex", "notes": "..."}}``, so they survive changes of K.

A labels file can also carry the identity of the fit the labels were given on
(``fit``: model checksum, data fingerprint, K, cluster ids) and a signature per
cluster (``signatures``: centroid and/or prototype), so that loading it into another
fit is refused or re-mapped instead of attaching names to the wrong clusters; see
:func:`check_labels_meta` and ``load_labels(path, fit=...)``.

File format (JSON)::

    {"schema": "ecg_cluster_widget/cluster-labels", "version": 1 or 2,
     "labels": {"3": {"name": "QRS complex", "notes": ""}},
     "meta": {...free-form...},
     "fit": {"model_checksum": "...", "data_fingerprint": "...", "n_clusters": 6,
             "cluster_ids": [0, 1, 2, 3, 4, 5]},          # optional, version 2
     "signatures": {"3": {"centroid": [...], "prototype": [[...]]}}}   # optional, version 2
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io_utils import _json_default, atomic_write_json, atomic_write_text
from ..errors import DataError, DataWarning, FileFormatError, LabelsMismatchError

LABELS_SCHEMA = "ecg_cluster_widget/cluster-labels"
#: Newest format version: 1 = labels + meta; 2 adds the optional ``fit`` and ``signatures``.
LABELS_VERSION = 2
#: Keys of ``fit`` that identify the fit; a mismatch in the first two refuses the file.
FIT_KEYS: tuple[str, ...] = ("model_checksum", "data_fingerprint", "n_clusters", "cluster_ids")
#: Kinds of per-cluster signature a labels file may carry.
SIGNATURE_KINDS: tuple[str, ...] = ("centroid", "prototype")
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
SEGMENT_COLUMNS = (
    "record_index",
    "record_id",
    "start",
    "end",
    "start_s",
    "end_s",
    "cluster_id",
    "name",
    "notes",
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
            raise DataError(
                f"label of cluster {cid} has unknown fields {sorted(unknown)}; use 'name' and 'notes'."
            )
        name = val.get("name", "") or ""
        notes = val.get("notes", "") or ""
        if not isinstance(name, str) or not isinstance(notes, str):
            raise DataError(f"label of cluster {cid}: 'name' and 'notes' must be strings.")
        if name.strip() or notes.strip():
            out[str(cid)] = {"name": name.strip(), "notes": notes.strip()}
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


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
    if isinstance(val, np.generic):
        val = val.item()
    if isinstance(val, np.ndarray):
        val = val.tolist()
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
        ``{cluster_id: {"centroid": vector, "prototype": array}}``; values are finite
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
        if allowed is not None and cid not in allowed:
            raise DataError(
                f"signature of cluster {cid}, which is not among the fit's cluster_ids."
            )
        if not isinstance(val, Mapping):
            val = {"centroid": val}
        unknown = set(val) - set(SIGNATURE_KINDS)
        if unknown or not val:
            raise DataError(
                f"signature of cluster {cid} must have 'centroid' and/or 'prototype', "
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
            entry[kind] = arr.tolist()
        out[str(cid)] = entry
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def save_labels(
    path: str | os.PathLike,
    labels: Mapping,
    meta: Mapping | None = None,
    *,
    fit: Mapping | None = None,
    signatures: Mapping | None = None,
) -> Path:
    """Write labels atomically as versioned JSON.

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
        Per cluster id a centroid and/or prototype (see :func:`normalize_signatures`),
        so the labels can be re-attached to a different fit by matching.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataError
        If the labels, fit or signatures are malformed.

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
        json.dumps(doc["meta"], default=_json_default)
    except (TypeError, ValueError) as exc:
        raise DataError(f"meta is not JSON-serialisable: {exc}") from None
    return atomic_write_json(path, doc)


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
    version: int = LABELS_VERSION
    path: Path | None = None


@dataclass
class LabelsMetaReport:
    """How a labels file's fit identity compares with the current fit.

    Attributes
    ----------
    matches : list of str
        Keys with the same value in the file and the current fit.
    mismatches : dict
        ``{key: (file_value, current_value)}`` for keys that differ.
    missing : list of str
        Keys of :data:`FIT_KEYS` present on only one side (or neither).
    ids_only_in_file, ids_only_in_fit : list of int
        Cluster ids present in one fit only.
    labelled_ids_missing : list of int
        Ids that carry a label in the file but are not clusters of the current fit
        (their labels would not show).
    has_fit : bool
        Whether the file records a fit identity at all.

    Examples
    --------
    >>> r = check_labels_meta({"model_checksum": "a", "cluster_ids": [0, 1]},
    ...                       {"model_checksum": "b", "cluster_ids": [0, 1]})
    >>> r.same_model, r.compatible, r.mismatches
    (False, False, {'model_checksum': ('a', 'b')})
    """

    matches: list = field(default_factory=list)
    mismatches: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)
    ids_only_in_file: list = field(default_factory=list)
    ids_only_in_fit: list = field(default_factory=list)
    labelled_ids_missing: list = field(default_factory=list)
    has_fit: bool = True

    def _same(self, key: str) -> bool | None:
        if key in self.mismatches:
            return False
        return True if key in self.matches else None

    @property
    def same_model(self) -> bool | None:
        """True/False when both sides name a model checksum, else None (unknown)."""
        return self._same("model_checksum")

    @property
    def same_data(self) -> bool | None:
        """True/False when both sides name a data fingerprint, else None (unknown)."""
        return self._same("data_fingerprint")

    @property
    def compatible(self) -> bool:
        """False when the file belongs to another model or another fitting dataset."""
        return self.same_model is not False and self.same_data is not False

    @property
    def ok(self) -> bool:
        """True when every identity key is known on both sides and equal."""
        return (
            self.has_fit
            and not self.mismatches
            and not self.missing
            and not self.labelled_ids_missing
        )

    def summary(self) -> str:
        """One human-readable paragraph: what matched, what did not."""
        if not self.has_fit:
            return (
                "the labels file records no fit identity (model checksum, data fingerprint, "
                "K, cluster ids): it cannot be checked against the current fit."
            )
        parts = []
        for key, (a, b) in self.mismatches.items():
            if key == "cluster_ids":
                continue
            parts.append(f"{key} differs (file {a!r}, current {b!r})")
        if self.ids_only_in_file or self.ids_only_in_fit:
            parts.append(
                f"cluster ids only in the file: {self.ids_only_in_file}, only in the "
                f"current fit: {self.ids_only_in_fit}"
            )
        if self.labelled_ids_missing:
            parts.append(
                f"labelled clusters {self.labelled_ids_missing} are not in the current fit"
            )
        if self.missing:
            parts.append(f"not known on both sides: {', '.join(self.missing)}")
        if self.matches:
            parts.append(f"matching: {', '.join(self.matches)}")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-serialisable)."""
        return {
            "matches": list(self.matches),
            "mismatches": {k: list(v) for k, v in self.mismatches.items()},
            "missing": list(self.missing),
            "ids_only_in_file": list(self.ids_only_in_file),
            "ids_only_in_fit": list(self.ids_only_in_fit),
            "labelled_ids_missing": list(self.labelled_ids_missing),
            "has_fit": self.has_fit,
            "same_model": self.same_model,
            "same_data": self.same_data,
            "compatible": self.compatible,
            "ok": self.ok,
        }


def check_labels_meta(labels_meta: Any, current_fit_meta: Mapping) -> LabelsMetaReport:
    """Compare a labels file's fit identity with the current fit's.

    Parameters
    ----------
    labels_meta : LabelsFile, mapping or None
        What :func:`read_labels_file` returned, a whole labels document (with a
        ``"fit"`` entry and optionally ``"labels"``), or just its ``fit`` dict. ``None``
        or a document without ``fit``: nothing to compare (``has_fit`` is False).
    current_fit_meta : mapping
        The current fit's identity, with the keys of :func:`normalize_fit`.

    Returns
    -------
    LabelsMetaReport
        ``compatible`` is False when the model checksum or the data fingerprint differ
        (the file belongs to another model or dataset); ``ok`` when everything matches.

    Raises
    ------
    DataError
        If either fit identity is malformed.

    Examples
    --------
    >>> cur = {"model_checksum": "m", "data_fingerprint": "d", "n_clusters": 3, "cluster_ids": [0, 1, 4]}
    >>> check_labels_meta(dict(cur), cur).ok
    True
    >>> r = check_labels_meta({"fit": {**cur, "cluster_ids": [0, 1, 2]}, "labels": {"2": "T"}}, cur)
    >>> r.compatible, r.ids_only_in_file, r.ids_only_in_fit, r.labelled_ids_missing
    (True, [2], [4], [2])
    """
    labels: Mapping | None = None
    if isinstance(labels_meta, LabelsFile):
        labels, file_fit = labels_meta.labels, labels_meta.fit
    elif isinstance(labels_meta, Mapping) and (
        "fit" in labels_meta or "labels" in labels_meta or "schema" in labels_meta
    ):
        labels, file_fit = labels_meta.get("labels"), labels_meta.get("fit")
    else:
        file_fit = labels_meta
    current = normalize_fit(current_fit_meta)
    if file_fit is None:
        return LabelsMetaReport(missing=list(FIT_KEYS), has_fit=False)
    file_fit = normalize_fit(file_fit)
    report = LabelsMetaReport()
    for key in dict.fromkeys([*FIT_KEYS, *file_fit, *current]):
        if key in file_fit and key in current:
            if file_fit[key] == current[key]:
                report.matches.append(key)
            else:
                report.mismatches[key] = (file_fit[key], current[key])
        elif key in FIT_KEYS:
            report.missing.append(key)
    if "cluster_ids" in file_fit and "cluster_ids" in current:
        a, b = set(file_fit["cluster_ids"]), set(current["cluster_ids"])
        report.ids_only_in_file = sorted(a - b)
        report.ids_only_in_fit = sorted(b - a)
        if "cluster_ids" in report.mismatches and a == b:  # same ids, another order
            del report.mismatches["cluster_ids"]
            report.matches.append("cluster_ids")
    if labels and "cluster_ids" in current:
        labelled = {int(k) for k in normalize_labels(labels)}
        report.labelled_ids_missing = sorted(labelled - set(current["cluster_ids"]))
    return report


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
        doc = json.loads(text)
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
    try:
        if doc.get("fit") is not None:
            fit = normalize_fit(doc["fit"])
        if doc.get("signatures") is not None:
            signatures = normalize_signatures(
                doc["signatures"], None if fit is None else fit.get("cluster_ids")
            )
    except DataError as exc:
        raise FileFormatError(
            f"{path} holds a malformed fit identity or signatures: {exc}"
        ) from None
    return LabelsFile(
        labels=labels, meta=meta, fit=fit, signatures=signatures, version=version, path=path
    )


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
    ent = np.asarray(expl.entropy, dtype=np.float64)
    rows = []
    for s in expl.segments:
        entry = labs.get(str(int(s.cluster_id)), {})
        rows.append(
            {
                "record_index": int(expl.record_index if record_index is None else record_index),
                "record_id": str(expl.record_id if record_id is None else record_id),
                "start": int(s.start),
                "end": int(s.end),
                "start_s": round(float(s.start_s), 6),
                "end_s": round(float(s.end_s), 6),
                "cluster_id": int(s.cluster_id),
                "name": entry.get("name", ""),
                "notes": entry.get("notes", ""),
                "mean_entropy": round(float(ent[s.start : s.end].mean()), 6)
                if s.end > s.start
                else float("nan"),
            }
        )
    return rows


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Neutralise a text cell that a spreadsheet would run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading apostrophe (the usual CSV-injection defence), so Excel, LibreOffice and
    Google Sheets show it as text. Numbers and other text are returned unchanged.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object
        ``"'" + value`` for such text, else ``value``.

    Examples
    --------
    >>> csv_safe("=1+2"), csv_safe("-late T"), csv_safe("T wave"), csv_safe(-1.5)
    ("'=1+2", "'-late T", 'T wave', -1.5)
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_segments(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write segment rows as CSV (``.csv``) or JSON (``.json``), atomically.

    Text cells of the CSV that a spreadsheet would read as formulas (starting with
    ``=``, ``+``, ``-``, ``@``) are escaped by :func:`csv_safe`; the JSON keeps them
    verbatim.

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
        frame = pd.DataFrame(
            [{k: csv_safe(v) for k, v in r.items()} for r in rows], columns=list(SEGMENT_COLUMNS)
        )
        return atomic_write_text(path, frame.to_csv(index=False))
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
