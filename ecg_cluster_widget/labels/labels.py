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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.io_utils import atomic_write_json, to_jsonable
from ..errors import DataError, DataWarning, FileFormatError, LabelsMismatchError
from .labels_schema import (  # noqa: F401  (the schema's names are importable from here)
    FIT_KEYS,
    LABEL_FIELDS,
    LABEL_VOCAB,
    LABELS_SCHEMA,
    LABELS_VERSION,
    SIGNATURE_KINDS,
    normalize_fit,
    normalize_labels,
    normalize_signatures,
    normalize_timestamp,
    normalize_unplaced,
    now_utc,
    set_label,
)


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
