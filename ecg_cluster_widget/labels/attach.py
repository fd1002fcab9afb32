"""Loading a labels file into a fit (:func:`attach_labels`, the one loader), re-mapping
cluster ids by activation signature.

Names that no cluster of the current fit matches are never dropped: they are reported as
"not placed", and the next save keeps them in the file (``unplaced``), from where a later
fit that can place them takes them back. What this process loaded or saved of each file
is remembered (:func:`remember`), so that a save can merge instead of overwrite
(:mod:`.save`).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ..errors import DataWarning
from .files import LabelsFile, LabelsReport, check_labels_meta, read_labels_file, refuse_other_fit
from .schema import normalize_labels, normalize_unplaced

#: Largest relative distance between two activation signatures that still counts as the
#: same cluster (0: identical; about 1.4: unrelated clusters).
MAX_SIGNATURE_DISTANCE = 0.5

#: Per labels file, the last states (id space, labels) this process loaded or saved, and
#: what the file held when this process last read or wrote it.
_heads: dict[str, deque] = {}
_disk: dict[str, tuple] = {}
_lock = threading.Lock()


def fit_space(fit: Mapping | None) -> tuple:
    """The id space of a fit: ids mean the same clusters only for one fit and K.

    Parameters
    ----------
    fit : mapping or None
        A fit identity.

    Returns
    -------
    tuple
        ``(fit_id, n_clusters)``, None where unknown.

    Examples
    --------
    >>> fit_space({"fit_id": "f", "n_clusters": 3, "model_checksum": "m"})
    ('f', 3)
    """
    fit = fit or {}
    return (fit.get("fit_id"), fit.get("n_clusters"))


def remember(
    path: str | os.PathLike,
    fit: Mapping | None,
    labels: Mapping,
    disk: tuple[Mapping | None, Mapping] | None = None,
) -> None:
    """Record that this process holds ``labels`` for the labels file ``path`` (loaded or saved).

    Parameters
    ----------
    path : str or os.PathLike
        The labels file.
    fit : mapping or None
        The identity of the fit the labels' ids belong to (``fit_id``, ``n_clusters``).
    labels : mapping
        The labels.
    disk : tuple, optional
        ``(fit, labels)`` of the file as it was read or written then.

    Examples
    --------
    >>> remember("/tmp/example-labels.json", {"fit_id": "f", "n_clusters": 2}, {})
    """
    key = os.path.realpath(os.fspath(path))
    with _lock:
        _heads.setdefault(key, deque(maxlen=64)).append((fit_space(fit), normalize_labels(labels)))
        if disk is not None:
            _disk[key] = (fit_space(disk[0]), normalize_labels(disk[1]))


def remembered(path: str | os.PathLike) -> tuple[tuple | None, list]:
    """What :func:`remember` holds for a labels file.

    Parameters
    ----------
    path : str or os.PathLike
        The labels file.

    Returns
    -------
    disk : tuple or None
        ``(fit space, labels)`` of the file when this process last read or wrote it.
    heads : list of tuple
        The ``(fit space, labels)`` states this process held, oldest first.

    Examples
    --------
    >>> remembered("/tmp/never-seen-labels.json")
    (None, [])
    """
    key = os.path.realpath(os.fspath(path))
    with _lock:
        return _disk.get(key), list(_heads.get(key, ()))


def match_signatures(
    file_sigs: Mapping[Any, np.ndarray],
    current_sigs: Mapping[int, np.ndarray],
    max_distance: float = MAX_SIGNATURE_DISTANCE,
) -> tuple[dict, dict]:
    """Pair clusters of two fits by their activation signatures (Hungarian, thresholded).

    The distance is ``||a - b|| / rms(||a||, ||b||)``: 0 for equal vectors, about 1.4 for
    unrelated ones.

    Parameters
    ----------
    file_sigs, current_sigs : mapping
        ``{cluster id: vector}``, vectors of one length.
    max_distance : float
        Pairs farther apart are not matched.

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
    fa, ca = list(file_sigs), list(current_sigs)
    if not fa or not ca:
        return {}, {}
    a = np.stack([np.asarray(file_sigs[i], float) for i in fa])
    b = np.stack([np.asarray(current_sigs[j], float) for j in ca])
    scale = np.sqrt((np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None, :]) / 2)
    dist = cdist(a, b) / np.maximum(scale, 1e-12)
    pairs = [(r, c) for r, c in zip(*linear_sum_assignment(dist)) if dist[r, c] <= max_distance]
    return {fa[r]: int(ca[c]) for r, c in pairs}, {fa[r]: float(dist[r, c]) for r, c in pairs}


def unplaced_entry(lf: LabelsFile, cid: int) -> dict:
    """The ``unplaced`` form of the label of cluster ``cid`` of a labels file, for when no
    cluster of another fit takes it.

    Parameters
    ----------
    lf : LabelsFile
        The file (its label, activation signature and fit identity are kept).
    cid : int
        The cluster id the label was given to.

    Returns
    -------
    dict
        An entry of :func:`~.schema.normalize_unplaced`'s form.

    Examples
    --------
    >>> lf = LabelsFile({"7": {"name": "P", "notes": ""}}, fit={"n_clusters": 8},
    ...                 signatures={"7": {"activations": [1.0]}})
    >>> unplaced_entry(lf, 7)
    {'id': 7, 'label': {'name': 'P', 'notes': ''}, 'activations': [1.0], 'n_clusters': 8}
    """
    sig = (lf.signatures or {}).get(str(cid), {}).get("activations")
    fit = lf.fit or {}
    entry = {"id": int(cid), "label": lf.labels[str(cid)], "activations": sig}
    return normalize_unplaced(
        [{**entry, "fit_id": fit.get("fit_id"), "n_clusters": fit.get("n_clusters")}]
    )[0]


def place_labels(
    lf: LabelsFile,
    current: Mapping,
    current_sigs: Callable[[], Mapping] | None,
    max_distance: float = MAX_SIGNATURE_DISTANCE,
    place_unplaced: bool = True,
) -> tuple[dict[str, dict[str, str]], LabelsReport]:
    """Place the names of a (compatible) labels file on the clusters of the current fit.

    Parameters
    ----------
    lf : LabelsFile
        The file, already checked to belong to the same model and data.
    current : mapping
        The current fit's identity (``fit_id``, ``n_clusters``, ``cluster_ids``, ...).
    current_sigs : callable or None
        ``current_sigs() -> {cluster id: activation vector}`` (called only when needed);
        ``None`` when the current fit has no signatures (labels go by id).
    max_distance : float
        Signature distance above which two clusters are not the same.
    place_unplaced : bool
        Also try the file's ``unplaced`` names on the clusters no label holds (opening
        a file); a save leaves them as they are.

    Returns
    -------
    labels : dict
        ``{str(current id): entry}``.
    report : LabelsReport
        ``unplaced`` lists every name left without a cluster.

    Examples
    --------
    >>> lf = LabelsFile({"1": {"name": "P", "notes": ""}})
    >>> place_labels(lf, {"fit_id": "f", "n_clusters": 2}, dict)[0]
    {'1': {'name': 'P', 'notes': ''}}
    """
    report = check_labels_meta(lf, current)
    names = {int(k): v for k, v in lf.labels.items()}
    file_sigs = {
        int(k): np.asarray(v["activations"])
        for k, v in (lf.signatures or {}).items()
        if "activations" in v and int(k) in names
    }
    same_fit = (
        report.has_fit
        and fit_space(lf.fit) == fit_space(current)
        and not (report.ids_only_in_file or report.ids_only_in_fit)
    )
    out: dict[str, dict] = {}
    pool: dict[tuple, tuple] = {}  # the names that compete for this fit's clusters
    if not report.has_fit or same_fit or not file_sigs or current_sigs is None:
        report.mode = "unchecked" if not report.has_fit else "same_fit" if same_fit else "by_id"
        out = {str(i): dict(e) for i, e in names.items()}
        report.mapping = {i: i for i in names}
    else:
        report.mode = "remapped"
        pool = {("label", i): (names[i], file_sigs.get(i)) for i in names}
    for n, u in enumerate(lf.unplaced if place_unplaced else ()):
        pool[("unplaced", n)] = (u["label"], u.get("activations"))
    with_sig = {key: np.asarray(sig) for key, (_, sig) in pool.items() if sig is not None}
    mapping, distances = {}, {}
    if with_sig and current_sigs is not None:
        cur = {cid: vec for cid, vec in current_sigs().items() if str(int(cid)) not in out}
        if len({v.size for v in (*with_sig.values(), *cur.values())}) == 1:
            mapping, distances = match_signatures(with_sig, cur, max_distance)
    for key, (entry, _sig) in pool.items():
        kind, ref = key
        if key in mapping:
            out[str(mapping[key])] = dict(entry)
            if kind == "label":
                report.mapping[ref], report.distances[ref] = mapping[key], distances[key]
            else:
                report.placed[mapping[key]] = entry["name"] or entry["notes"]
        elif kind == "label":
            report.unmatched[ref] = entry["name"]
            report.unplaced.append(unplaced_entry(lf, ref))
        else:
            report.unplaced.append(dict(lf.unplaced[ref]))
    if not place_unplaced:
        report.unplaced += [dict(u) for u in lf.unplaced]
    return normalize_labels(out), report


def attach_labels(
    source: Any,
    fit: Any,
    n_clusters: int | None = None,
    max_distance: float = MAX_SIGNATURE_DISTANCE,
) -> tuple[dict[str, dict[str, str]], LabelsReport]:
    """Load labels into a fit, re-mapping cluster ids where needed: the one loader.

    * Same fit and K (``fit_id``, ``n_clusters`` and cluster ids equal): as they are.
    * Same model and data, other ids (another reference K, seed or options): labels move
      to the cluster whose activation signature matches (:func:`match_signatures`);
      names without a match are listed in the report as not placed, and the next save
      keeps them in the file (``unplaced``).
    * Names the file keeps as not placed go to the clusters they match that hold no
      other label.
    * Another model or dataset: refused (:class:`~ecg_cluster_widget.errors.LabelsMismatchError`).
    * A file without signatures (or without any fit identity, as written by older
      versions) is attached by cluster id, with a
      :class:`~ecg_cluster_widget.errors.DataWarning` for a file.

    Parameters
    ----------
    source : path, LabelsFile or mapping
        A labels file (:func:`~.save.save_labels`), as :func:`~.files.read_labels_file` reads it.
    fit : TLCExplainer or mapping
        A fitted explainer, or just a fit identity (then ids cannot be re-mapped).
    n_clusters : int, optional
        With an explainer: the K to attach to (default: its current K); the explainer's
        K is not changed.
    max_distance : float
        Signature distance above which two clusters are not the same.

    Returns
    -------
    labels : dict
        ``{str(current id): entry}``, as :func:`~.schema.normalize_labels` returns.
    report : LabelsReport

    Raises
    ------
    FileFormatError
        For a missing or malformed file.
    LabelsMismatchError
        When the labels belong to another model or dataset.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ecg_cluster_widget.labels import save_labels
    >>> fit = {"model_checksum": "m1", "n_clusters": 2, "cluster_ids": [0, 3]}
    >>> p = save_labels(pathlib.Path(tempfile.mkdtemp()) / "l.json", {3: "T wave"}, fit=fit)
    >>> labels, report = attach_labels(p, fit)
    >>> labels, report.mode
    ({'3': {'name': 'T wave', 'notes': ''}}, 'same_fit')
    >>> attach_labels(p, {**fit, "model_checksum": "m2"})
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.LabelsMismatchError: labels file ... belongs to another model ...
    """
    lf = read_labels_file(source)
    if isinstance(fit, Mapping):
        current, sigs = dict(fit), None
    else:
        current = fit.fit_identity(n_clusters)
        sigs = lambda: fit.cluster_signatures(current["n_clusters"])  # noqa: E731
    refuse_other_fit(
        check_labels_meta(lf, current),
        f"labels file {lf.path}",
        "Its labels are not attached: fit the explainer on the model and data the labels "
        "were given on, or label this fit afresh.",
    )
    labels, report = place_labels(lf, current, sigs, max_distance)
    if lf.path is not None:  # an in-memory labels dict is the caller's own: no warning
        if report.mode in ("unchecked", "by_id") or report.unmatched:
            warnings.warn(f"labels file {lf.path}: {report.summary()}", DataWarning, stacklevel=2)
        remember(lf.path, current, labels, disk=(lf.fit, lf.labels))
    return labels, report
