"""Reading a cluster-labels file strictly, and comparing its fit identity with another's.

:func:`read_labels_file` is the one reader; :func:`check_labels_meta` the one comparison
of two fit identities, giving the one report type, :class:`LabelsReport`, which
:func:`~ecg_cluster_widget.labels.attach.attach_labels` completes with how the labels were
placed; :func:`refuse_other_fit` is the one refusal of another model's or dataset's labels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..data.io_utils import to_jsonable
from ..errors import DataError, FileFormatError, LabelsMismatchError
from .schema import (
    FIT_KEYS,
    LABELS_SCHEMA,
    LABELS_VERSION,
    normalize_fit,
    normalize_labels,
    normalize_signatures,
    normalize_unplaced,
)


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
        The fit identity (:func:`~.schema.normalize_fit`), ``None`` when the file has none.
    signatures : dict or None
        Per-cluster signatures (:func:`~.schema.normalize_signatures`), ``None`` when absent.
    unplaced : list of dict
        Names that the last fit could not place (:func:`~.schema.normalize_unplaced`).
    version : int
        Format version of the file.
    path : pathlib.Path or None
        Where it was read from (``None`` for labels held in memory).

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


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, val in pairs:
        if key in out:
            raise FileFormatError(
                f"repeats the key {key!r} in one object; a JSON reader would keep only the "
                "last one. Keep one entry per key."
            )
        out[key] = val
    return out


def load_json(source: Path | str, what: str, kind: str, hint: str) -> Any:
    """Parse a JSON file (or JSON text), every failure a clear :class:`FileFormatError`.

    Parameters
    ----------
    source : pathlib.Path or str
        A file, or the JSON text itself.
    what : str
        What is read, for messages (e.g. ``"labels file a.json"``).
    kind : str
        What such a document is (e.g. ``"a labels file"``), for messages.
    hint : str
        What to do about invalid JSON.

    Returns
    -------
    object
        The document; a key repeated in one object is refused.

    Examples
    --------
    >>> load_json('{"a": [1]}', "text", "a test", "")
    {'a': [1]}
    >>> load_json('{"a": 1, "a": 2}', "text", "a test", "")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.FileFormatError: text repeats the key 'a' in one object; ...
    """
    try:
        text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except FileNotFoundError:
        raise FileFormatError(f"{what} does not exist.") from None
    except FileFormatError as exc:  # a repeated key (before OSError: it is one)
        raise FileFormatError(f"{what} {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read {what}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}); {hint}."
        ) from None
    except RecursionError:
        raise FileFormatError(
            f"{what} is nested too deeply to be {kind} (one is a few levels deep); it is "
            f"corrupt or not {kind}."
        ) from None


def read_labels_file(source: Any) -> LabelsFile:
    """Read and check a whole labels file: labels, meta, fit identity, signatures, unplaced.

    Parameters
    ----------
    source : str, os.PathLike, LabelsFile or mapping
        A labels JSON file; a ``LabelsFile`` is returned as is and a labels dict (e.g.
        ``explorer.cluster_labels``) becomes a ``LabelsFile`` without fit.

    Returns
    -------
    LabelsFile

    Raises
    ------
    FileFormatError
        When the file is missing, not JSON (or nested too deeply to be a labels file),
        of another schema or a newer version, or holds malformed labels, meta, fit,
        signatures or unplaced names.
    DataError
        For a source of another type, or a malformed labels dict.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ecg_cluster_widget.labels import save_labels
    >>> p = save_labels(pathlib.Path(tempfile.mkdtemp()) / "l.json", {5: "T wave"},
    ...                 fit={"n_clusters": 6}, signatures={5: [1.0, 2.0]})
    >>> f = read_labels_file(p)
    >>> f.version, f.labels, f.fit, f.signatures
    (2, {'5': {'name': 'T wave', 'notes': ''}}, {'n_clusters': 6}, {'5': {'centroid': [1.0, 2.0]}})
    >>> read_labels_file(p.with_name("missing.json"))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.FileFormatError: labels file ...missing.json does not exist.
    """
    if isinstance(source, LabelsFile):
        return source
    if isinstance(source, Mapping):
        return LabelsFile(labels=normalize_labels(source))
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            "expected a labels file path, a LabelsFile or a labels dict, got "
            f"{type(source).__name__}."
        )
    path = Path(source)
    doc = load_json(path, f"labels file {path}", "a labels file", "it may be truncated or edited")
    if not isinstance(doc, dict) or doc.get("schema") != LABELS_SCHEMA:
        raise FileFormatError(
            f"{path} is not a cluster-labels file (expected schema {LABELS_SCHEMA!r})."
        )
    version = doc.get("version")
    if type(version) is not int or not 0 < version <= LABELS_VERSION:
        raise FileFormatError(
            f"{path} has labels format version {version!r}; this package reads versions "
            f"1..{LABELS_VERSION}."
        )
    try:
        labels = normalize_labels(doc.get("labels", {}))
    except DataError as exc:
        raise FileFormatError(f"{path} holds malformed labels: {exc}") from None
    meta = {} if doc.get("meta") is None else doc["meta"]
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path}: 'meta' must be a JSON object, got {type(meta).__name__}.")
    try:
        fit = None if doc.get("fit") is None else normalize_fit(doc["fit"])
        signatures = doc.get("signatures")
        if signatures is not None:
            signatures = normalize_signatures(signatures, (fit or {}).get("cluster_ids"))
        unplaced = normalize_unplaced([] if doc.get("unplaced") is None else doc["unplaced"])
    except DataError as exc:
        raise FileFormatError(
            f"{path} holds a malformed fit identity, signatures or unplaced names: {exc}"
        ) from None
    return LabelsFile(labels, meta, fit, signatures, unplaced, version, path)


@dataclass
class LabelsReport:
    """How a labels file's fit compares with the current fit, and how its names were placed.

    :func:`check_labels_meta` fills the comparison (``mode`` stays ``None``);
    :func:`~.attach.attach_labels` also the placement.

    Attributes
    ----------
    mode : str or None
        ``"same_fit"`` (attached as is), ``"remapped"`` (matched by cluster signature),
        ``"by_id"`` (no signatures to match: attached by id, with a warning),
        ``"unchecked"`` (the file records no fit: attached as is, with a warning), or
        ``None`` for a comparison only.
    matches : list of str
        Fit keys with the same value on both sides.
    mismatches : dict
        ``{key: (file_value, current_value)}`` for keys that differ.
    missing : list of str
        Keys of :data:`~.schema.FIT_KEYS` not known on both sides.
    ids_only_in_file, ids_only_in_fit : list of int
        Cluster ids present in one fit only.
    labelled_ids_missing : list of int
        Ids that carry a label in the file but are not clusters of the current fit.
    has_fit : bool
        Whether the file records a fit identity at all.
    mapping : dict
        ``{file cluster id: current cluster id}`` of the attached labels.
    unmatched : dict
        ``{file cluster id: name}`` of labels no cluster of this fit takes.
    distances : dict
        ``{file cluster id: relative signature distance}`` of the matched pairs.
    unplaced : list of dict
        Every name of the file no cluster of this fit takes (kept in the file).
    placed : dict
        ``{current cluster id: name}`` of names the file held as not placed that this fit
        placed again.

    Examples
    --------
    >>> r = check_labels_meta({"model_checksum": "a", "cluster_ids": [0, 1]},
    ...                       {"model_checksum": "b", "cluster_ids": [0, 1]})
    >>> r.same_model, r.compatible, r.mismatches
    (False, False, {'model_checksum': ('a', 'b')})
    >>> LabelsReport("same_fit", mapping={0: 0}).ok
    True
    """

    mode: str | None = None
    matches: list = field(default_factory=list)
    mismatches: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)
    ids_only_in_file: list = field(default_factory=list)
    ids_only_in_fit: list = field(default_factory=list)
    labelled_ids_missing: list = field(default_factory=list)
    has_fit: bool = True
    mapping: dict = field(default_factory=dict)
    unmatched: dict = field(default_factory=dict)
    distances: dict = field(default_factory=dict)
    unplaced: list = field(default_factory=list)
    placed: dict = field(default_factory=dict)

    def _same(self, key: str) -> bool | None:
        return False if key in self.mismatches else True if key in self.matches else None

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
    def same_clusters(self) -> bool:
        """No model, data or fit id differs and the cluster ids are the same: an id names
        the same cluster on both sides."""
        differ = {"model_checksum", "data_fingerprint", "fit_id"} & set(self.mismatches)
        return not (differ or self.ids_only_in_file or self.ids_only_in_fit)

    @property
    def ok(self) -> bool:
        """A comparison: every identity key known on both sides and equal. A placement:
        every label attached to the cluster it was given to (or its exact counterpart)."""
        if self.mode is not None:
            return self.mode in ("same_fit", "remapped") and not self.unmatched
        return self.has_fit and not (self.mismatches or self.missing or self.labelled_ids_missing)

    def _comparison(self) -> str:
        if not self.has_fit:
            return (
                "the labels file records no fit identity (model checksum, data fingerprint, "
                "K, cluster ids): it cannot be checked against the current fit."
            )
        parts = [
            f"{key} differs (file {a!r}, current {b!r})"
            for key, (a, b) in self.mismatches.items()
            if key != "cluster_ids"
        ]
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

    def summary(self) -> str:
        """One human-readable sentence: what matched (a comparison), or how the labels were
        attached and what was left out (a placement)."""
        if self.mode is None:
            return self._comparison()
        moved = {a: b for a, b in self.mapping.items() if a != b}
        text = {
            "same_fit": "labels belong to this fit and were attached as they are",
            "remapped": "labels were re-attached by cluster signature"
            + (f" (file id -> current id: {moved})" if moved else ""),
            "by_id": "the file has no cluster signatures: labels were attached by cluster id",
            "unchecked": "the file records no fit identity: labels were attached by id unchecked",
        }[self.mode]
        if self.mode == "by_id" and self.labelled_ids_missing:
            text += f"; labelled clusters {self.labelled_ids_missing} are not in the current fit"
        if self.placed:
            text += "; placed again: " + ", ".join(f"{n!r} -> {c}" for c, n in self.placed.items())
        if self.unplaced:
            names = ", ".join(
                repr(u["label"]["name"] or u["label"]["notes"]) for u in self.unplaced
            )
            text += f"; not placed, not attached (no matching cluster; kept in the file): {names}"
        return text + "."

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-serialisable), with the derived flags and the summary."""
        flags = ("same_model", "same_data", "compatible", "same_clusters", "ok")
        return to_jsonable(
            {**asdict(self), **{f: getattr(self, f) for f in flags}, "summary": self.summary()}
        )


def check_labels_meta(labels_meta: Any, current_fit_meta: Mapping) -> LabelsReport:
    """Compare a labels file's fit identity with the current fit's.

    Parameters
    ----------
    labels_meta : LabelsFile, mapping or None
        What :func:`read_labels_file` returned, a whole labels document (with a
        ``"fit"`` entry and optionally ``"labels"``), or just its ``fit`` dict. ``None``
        or a document without ``fit``: nothing to compare (``has_fit`` is False).
    current_fit_meta : mapping
        The current fit's identity, with the keys of :func:`~.schema.normalize_fit`.

    Returns
    -------
    LabelsReport
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
    file_fit = labels_meta
    if isinstance(labels_meta, LabelsFile):
        labels, file_fit = labels_meta.labels, labels_meta.fit
    elif isinstance(labels_meta, Mapping) and {"fit", "labels", "schema"} & set(labels_meta):
        labels, file_fit = labels_meta.get("labels"), labels_meta.get("fit")
    current = normalize_fit(current_fit_meta)
    if file_fit is None:
        return LabelsReport(missing=list(FIT_KEYS), has_fit=False)
    file_fit = normalize_fit(file_fit)
    report = LabelsReport()
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
        report.ids_only_in_file, report.ids_only_in_fit = sorted(a - b), sorted(b - a)
        if a == b and report.mismatches.pop("cluster_ids", None):  # same ids, another order
            report.matches.append("cluster_ids")
    if labels and "cluster_ids" in current:
        labelled = {int(k) for k in normalize_labels(labels)}
        report.labelled_ids_missing = sorted(labelled - set(current["cluster_ids"]))
    return report


def refuse_other_fit(report: LabelsReport, what: str, fix: str) -> None:
    """Raise :class:`~ecg_cluster_widget.errors.LabelsMismatchError` when ``report`` says
    the labels belong to another model or dataset (their names would land on unrelated
    clusters).

    Parameters
    ----------
    report : LabelsReport
    what : str
        The labels, for the message (e.g. ``"labels file a.json"``).
    fix : str
        What to do instead, appended to the message.

    Examples
    --------
    >>> refuse_other_fit(check_labels_meta({"model_checksum": "a"}, {}), "a.json", "")
    >>> refuse_other_fit(check_labels_meta({"model_checksum": "a"}, {"model_checksum": "b"}),
    ...                  "labels file a.json", "Label this fit afresh.")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.LabelsMismatchError: labels file a.json belongs to another model (...) Label this fit afresh.
    """
    if report.compatible:
        return
    whose = " and ".join(
        w
        for w, same in (("model", report.same_model), ("dataset", report.same_data))
        if same is False
    )
    raise LabelsMismatchError(
        f"{what} belongs to another {whose} ({report.summary()}) {fix}",
        report,
    )
