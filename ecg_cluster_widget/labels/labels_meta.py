"""How a labels file's fit identity compares with the current fit's
(:func:`check_labels_meta`); re-exported by :mod:`.labels`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .labels import FIT_KEYS, LabelsFile, normalize_fit, normalize_labels

__all__ = ["LabelsMetaReport", "check_labels_meta"]


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
