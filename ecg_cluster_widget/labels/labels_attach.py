"""Re-attachment of a labels file to the current fit (:func:`attach_labels`), re-mapping
cluster ids by activation signature; re-exported by :mod:`.labels`.

Names that no cluster of the current fit matches are never dropped: they are reported as
"not placed", and the explorer's next save keeps them in the file (``unplaced``), from
where a later fit that can place them takes them back.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data.io_utils import to_jsonable
from ..errors import DataWarning, LabelsMismatchError
from .labels import LabelsFile, normalize_labels, read_labels_file
from .labels_meta import LabelsMetaReport, check_labels_meta

__all__ = [
    "MAX_SIGNATURE_DISTANCE",
    "LabelsAttachReport",
    "match_signatures",
    "place_labels",
    "attach_labels",
]

#: Largest relative distance between two activation signatures that still counts as the
#: same cluster in :func:`attach_labels` (0: identical; about 1.4: unrelated clusters).
MAX_SIGNATURE_DISTANCE = 0.5


@dataclass
class LabelsAttachReport:
    """How :func:`attach_labels` attached a labels file to the current fit.

    Attributes
    ----------
    mode : str
        ``"same_fit"`` (same fit and K: attached as is), ``"remapped"`` (matched by
        cluster signature), ``"by_id"`` (no signatures to match: attached by id, with a
        warning) or ``"unchecked"`` (the file records no fit: attached as is, with a
        warning).
    mapping : dict
        ``{file cluster id: current cluster id}`` of the attached labels.
    unmatched : dict
        ``{file cluster id: name}`` of labels that could not be attached (kept in the
        file as not placed by the explorer's next save).
    unplaced : list of dict
        Every name of the file no cluster of this fit takes (the file's ``unplaced``
        entries and the labels of ``unmatched``), as :func:`~.labels.normalize_unplaced`
        returns them.
    placed : dict
        ``{current cluster id: name}`` of names the file held as not placed that this fit
        placed again.
    distances : dict
        ``{file cluster id: relative signature distance}`` of the matched pairs.
    meta : LabelsMetaReport
        The comparison of the fit identities.

    Examples
    --------
    >>> LabelsAttachReport("same_fit", {0: 0}).ok
    True
    """

    mode: str
    mapping: dict = field(default_factory=dict)
    unmatched: dict = field(default_factory=dict)
    distances: dict = field(default_factory=dict)
    meta: LabelsMetaReport | None = None
    unplaced: list = field(default_factory=list)
    placed: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every label attached to the cluster it was given to (or its exact counterpart)."""
        return self.mode in ("same_fit", "remapped") and not self.unmatched

    def summary(self) -> str:
        """One human-readable sentence: how the labels were attached, what was left out."""
        moved = {a: b for a, b in self.mapping.items() if a != b}
        text = {
            "same_fit": "labels belong to this fit and were attached as they are",
            "remapped": "labels were re-attached by cluster signature"
            + (f" (file id -> current id: {moved})" if moved else ""),
            "by_id": "the file has no cluster signatures: labels were attached by cluster id",
            "unchecked": "the file records no fit identity: labels were attached by id unchecked",
        }[self.mode]
        if self.placed:
            names = ", ".join(f"{name!r} -> {cid}" for cid, name in self.placed.items())
            text += f"; placed again: {names}"
        if self.unplaced:
            names = ", ".join(
                repr(u["label"]["name"] or u["label"]["notes"]) for u in self.unplaced
            )
            text += f"; not placed, not attached (no matching cluster; kept in the file): {names}"
        return text + "."

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-serialisable)."""
        return to_jsonable(
            {
                "mode": self.mode,
                "ok": self.ok,
                "mapping": self.mapping,
                "unmatched": self.unmatched,
                "unplaced": self.unplaced,
                "placed": self.placed,
                "distances": self.distances,
                "meta": None if self.meta is None else self.meta.to_dict(),
                "summary": self.summary(),
            }
        )


def _relative_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``||a_i - b_j|| / rms(||a_i||, ||b_j||)``: 0 for equal vectors, ~1.4 for unrelated ones."""
    diff = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    scale = np.sqrt((np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :]) / 2)
    return diff / np.maximum(scale, 1e-12)


def match_signatures(
    file_sigs: Mapping[int, np.ndarray],
    current_sigs: Mapping[int, np.ndarray],
    max_distance: float = MAX_SIGNATURE_DISTANCE,
) -> tuple[dict[int, int], dict[int, float]]:
    """Pair clusters of two fits by their activation signatures (Hungarian, thresholded).

    Parameters
    ----------
    file_sigs, current_sigs : mapping
        ``{cluster id: vector}``, vectors of one length.
    max_distance : float
        Pairs farther apart (relative distance, see :data:`MAX_SIGNATURE_DISTANCE`)
        are not matched.

    Returns
    -------
    mapping : dict
        ``{file id: current id}``.
    distances : dict
        ``{file id: distance}`` of the matched pairs.

    Examples
    --------
    >>> match_signatures({4: np.array([1.0, 0]), 7: np.array([0, 1.0])},
    ...                  {0: np.array([0, 0.9]), 1: np.array([1.0, 0.1])})[0]
    {4: 1, 7: 0}
    """
    from scipy.optimize import linear_sum_assignment

    fa, ca = list(file_sigs), list(current_sigs)
    if not fa or not ca:
        return {}, {}
    dist = _relative_distances(
        np.stack([np.asarray(file_sigs[i], float) for i in fa]),
        np.stack([np.asarray(current_sigs[j], float) for j in ca]),
    )
    mapping, distances = {}, {}
    for r, c in zip(*linear_sum_assignment(dist)):
        if dist[r, c] <= max_distance:
            mapping[int(fa[r])], distances[int(fa[r])] = int(ca[c]), float(dist[r, c])
    return mapping, distances


def unplaced_entry(cid: int, entry: dict, sig: Any, fit: dict | None) -> dict:
    """The ``unplaced`` form of the label ``entry`` of cluster ``cid`` of the fit ``fit``.

    Parameters
    ----------
    cid : int
        Its cluster id in ``fit``.
    entry : dict
        The label.
    sig : array-like or None
        The cluster's activation signature (lets a later fit place the name).
    fit : dict or None
        That fit's identity (``fit_id``, ``n_clusters``).

    Returns
    -------
    dict

    Examples
    --------
    >>> unplaced_entry(7, {"name": "P", "notes": ""}, [1.0], {"n_clusters": 8})
    {'id': 7, 'label': {'name': 'P', 'notes': ''}, 'activations': [1.0], 'n_clusters': 8}
    """
    item: dict[str, Any] = {"id": int(cid), "label": dict(entry)}
    if sig is not None:
        item["activations"] = np.asarray(sig, dtype=float).tolist()
    if fit is not None and fit.get("fit_id") is not None:
        item["fit_id"] = fit["fit_id"]
    if fit is not None and fit.get("n_clusters") is not None:
        item["n_clusters"] = int(fit["n_clusters"])
    return item


def place_labels(
    lf: LabelsFile,
    current: dict,
    current_sigs: Any,
    max_distance: float = MAX_SIGNATURE_DISTANCE,
    place_unplaced: bool = True,
) -> tuple[dict[str, dict[str, str]], LabelsAttachReport]:
    """Place the names of a (compatible) labels file on the clusters of the current fit.

    Parameters
    ----------
    lf : LabelsFile
        The file, already checked to belong to the same model and data.
    current : dict
        The current fit's identity (``fit_id``, ``n_clusters``, ...).
    current_sigs : callable
        ``current_sigs() -> {cluster id: activation vector}`` (called only when needed).
    max_distance : float
        Signature distance above which two clusters are not the same.
    place_unplaced : bool
        Also try the file's ``unplaced`` names on the clusters no label holds (opening
        a file); a save leaves them as they are (only an open places a name again).

    Returns
    -------
    labels : dict
        ``{str(current id): entry}``.
    report : LabelsAttachReport
        ``unplaced`` lists every name left without a cluster.

    Examples
    --------
    >>> lf = LabelsFile({"1": {"name": "P", "notes": ""}})
    >>> place_labels(lf, {"fit_id": "f", "n_clusters": 2}, dict)[0]
    {'1': {'name': 'P', 'notes': ''}}
    """
    meta = check_labels_meta(lf, current)
    names = {int(k): v for k, v in lf.labels.items()}
    file_sigs = {
        int(k): np.asarray(v["activations"])
        for k, v in (lf.signatures or {}).items()
        if "activations" in v and int(k) in names
    }
    same_fit = (
        meta.has_fit
        and lf.fit.get("fit_id") == current.get("fit_id")
        and lf.fit.get("n_clusters") == current.get("n_clusters")
    )
    if not meta.has_fit or same_fit or not file_sigs:
        mode = "unchecked" if not meta.has_fit else "same_fit" if same_fit else "by_id"
        placed_by_id = {str(i): dict(e) for i, e in names.items()}
        report = LabelsAttachReport(mode, {i: i for i in names}, meta=meta)
        out, unmatched = placed_by_id, {}
        pool = {}
    else:
        report = LabelsAttachReport("remapped", meta=meta)
        out, unmatched = {}, {}
        # A file without a matching signature is not lost: it becomes unplaced below.
        pool = {("label", i): (names[i], file_sigs.get(i)) for i in names}
    # The file's unplaced names compete for the clusters no placed label holds.
    for n, u in enumerate(lf.unplaced if place_unplaced else ()):
        pool[("unplaced", n)] = (u["label"], u.get("activations"))
    with_sig = {key: np.asarray(sig) for key, (_, sig) in pool.items() if sig is not None}
    mapping: dict = {}
    distances: dict = {}
    if with_sig:
        cur = {cid: vec for cid, vec in current_sigs().items() if str(int(cid)) not in out}
        if len({v.size for v in (*with_sig.values(), *cur.values())}) == 1:
            keys = list(with_sig)
            idx_map, idx_dist = match_signatures(
                {j: with_sig[key] for j, key in enumerate(keys)}, cur, max_distance
            )
            mapping = {keys[j]: c for j, c in idx_map.items()}
            distances = {keys[j]: d for j, d in idx_dist.items()}
    unplaced = []
    for key, (entry, sig) in pool.items():
        kind, ref = key
        if key in mapping:
            out[str(mapping[key])] = dict(entry)
            if kind == "label":
                report.mapping[ref] = mapping[key]
                report.distances[ref] = distances[key]
            else:
                report.placed[int(mapping[key])] = entry["name"] or entry["notes"]
        elif kind == "label":
            unmatched[ref] = entry["name"]
            unplaced.append(unplaced_entry(ref, entry, sig, lf.fit))
        else:
            unplaced.append(dict(lf.unplaced[ref]))
    if not place_unplaced:
        unplaced += [dict(u) for u in lf.unplaced]
    report.unmatched = unmatched
    report.unplaced = unplaced
    return normalize_labels(out), report


def attach_labels(
    path: str | os.PathLike,
    tlc: Any,
    n_clusters: int | None = None,
    max_distance: float = MAX_SIGNATURE_DISTANCE,
) -> tuple[dict[str, dict[str, str]], LabelsAttachReport]:
    """Load a labels file into the current fit of ``tlc``, re-mapping ids where needed.

    * Same fit and K (``fit_id`` and ``n_clusters`` equal): the labels as they are.
    * Same model and data, other ids (another reference K, seed or options): labels move
      to the cluster whose activation signature matches (:func:`match_signatures`);
      names without a match are listed in the report as not placed, and the explorer's
      next save keeps them in the file (``unplaced``).
    * Names the file keeps as not placed go to the clusters of this fit they match and
      that hold no other label.
    * Another model or dataset: refused (:class:`LabelsMismatchError`).
    * A file without signatures (or without any fit identity, as written by older
      versions) is attached by cluster id with a :class:`DataWarning`.

    Parameters
    ----------
    path : str or os.PathLike
        A labels file (:func:`~.labels.save_labels`).
    tlc : TLCExplainer
        A fitted explainer.
    n_clusters : int, optional
        The K to attach to (default: the current K); the explainer's K is not changed.
    max_distance : float
        Signature distance above which two clusters are not the same.

    Returns
    -------
    labels : dict
        ``{str(current id): entry}``, as :func:`~.labels.normalize_labels` returns.
    report : LabelsAttachReport

    Raises
    ------
    FileFormatError
        For a missing or malformed file.
    LabelsMismatchError
        When the file belongs to another model or dataset.

    Examples
    --------
    >>> labels, report = attach_labels("labels.json", tlc, n_clusters=8)  # doctest: +SKIP
    >>> report.summary()  # doctest: +SKIP
    'labels belong to this fit and were attached as they are.'
    """
    from .labels_merge import remember

    lf = read_labels_file(path)
    current = tlc.fit_identity(n_clusters)
    meta = check_labels_meta(lf, current)
    if not meta.compatible:
        whose = " and ".join(
            w for w, same in (("model", meta.same_model), ("dataset", meta.same_data)) if not same
        )
        raise LabelsMismatchError(
            f"labels file {lf.path} was written for another {whose} ({meta.summary()}) Its "
            "labels are not attached: fit the explainer on the model and data the labels were "
            "given on, or label this fit afresh.",
            meta,
        )
    labels, report = place_labels(
        lf, current, lambda: tlc.cluster_signatures(current["n_clusters"]), max_distance
    )
    if report.mode in ("unchecked", "by_id") or report.unmatched:
        warnings.warn(f"labels file {lf.path}: {report.summary()}", DataWarning, stacklevel=2)
    remember(lf.path, current, labels, disk=(lf.fit, lf.labels))
    return labels, report
