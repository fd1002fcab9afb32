"""Agreement between two annotators' cluster labels (Cohen's kappa).

* :func:`cluster_agreement`: do two annotators give the same name to the same cluster?
  Kappa over the clusters both named.
* :func:`timestep_agreement`: the same question weighted by time: each annotator's names
  are spread over the time steps of a set of records through the explainer's
  segmentation (a long TP-baseline cluster counts more than a short P-wave cluster).
* :func:`agreement` runs both.

Two files of different fits (another model, other fitting data, another fit, or other
cluster ids) are refused with a :class:`~ecg_cluster_widget.errors.LabelsMismatchError`:
the same id would name different clusters.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from ..errors import DataError, DataWarning, LabelsMismatchError
from .files import LabelsFile, check_labels_meta, read_labels_file


def cohen_kappa(a: Sequence[str], b: Sequence[str], weights: Any = None) -> float | None:
    """Cohen's kappa of two raters' categories over the same items
    (:func:`sklearn.metrics.cohen_kappa_score`, with ``sample_weight``).

    Parameters
    ----------
    a, b : sequence of str
        The two raters' categories, item by item.
    weights : array-like, optional
        A weight per item (e.g. its number of time steps).

    Returns
    -------
    float or None
        Kappa in [-1, 1]; ``None`` when undefined: no item (or no weight), or both raters
        use one and the same category for everything.

    Raises
    ------
    DataError
        When the two sequences differ in length.

    Examples
    --------
    >>> cohen_kappa(["P", "T", "T", "QRS"], ["P", "T", "T", "QRS"])
    1.0
    >>> round(cohen_kappa(["P", "P", "T", "T"], ["P", "T", "P", "T"]), 6)
    0.0
    >>> cohen_kappa(["P", "P"], ["P", "P"]) is None
    True
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise DataError(f"the two raters rated {len(a)} and {len(b)} items; pass the same items.")
    w = np.ones(len(a)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.sum() <= 0 or len(set(a) | set(b)) < 2:
        return None  # no item, or one category only: chance agreement is 1
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = float(cohen_kappa_score(a, b, sample_weight=w))
    return kappa if np.isfinite(kappa) else None


def _norm_name(name: str) -> str:
    # Annotators differ in case and spacing, not in meaning: "st segment" == "ST segment".
    return " ".join(str(name).split()).casefold()


def _names(lf: LabelsFile, ids: Sequence[int]) -> list[str]:
    return [_norm_name(lf.labels.get(str(int(c)), {}).get("name", "")) for c in ids]


def _check_same_fit(fa: LabelsFile, fb: LabelsFile) -> list[int] | None:
    """Cluster ids of the common fit (None when neither file says); raises on a mismatch."""
    wa, wb = (str(lf.path or who) for lf, who in ((fa, "labels A"), (fb, "labels B")))
    if fa.fit is None or fb.fit is None:
        # Only files are warned about: an in-memory labels dict is the caller's own.
        missing = " and ".join(
            w for w, lf in ((wa, fa), (wb, fb)) if lf.fit is None and lf.path is not None
        )
        if missing:
            warnings.warn(
                f"{missing}: no fit identity recorded, so it cannot be checked that both "
                "files label the same clusters; labels saved with the fit "
                "(labels.save_labels(..., tlc=explainer)) can be checked.",
                DataWarning,
                stacklevel=3,
            )
        return (fa.fit or fb.fit or {}).get("cluster_ids")
    report = check_labels_meta(fa, fb.fit)
    if not report.same_clusters:
        raise LabelsMismatchError(
            f"{wa} and {wb} belong to different fits ({report.summary()}) The same cluster "
            "id names different clusters in them, so their agreement means nothing; have "
            "both annotators label the same fit (same model, data, fit and K).",
            report,
        )
    return fa.fit.get("cluster_ids", fb.fit.get("cluster_ids"))


def cluster_agreement(
    labels_a: Any, labels_b: Any, *, include_unnamed: bool = False
) -> dict[str, Any]:
    """Cohen's kappa of two annotators' names over clusters.

    Parameters
    ----------
    labels_a, labels_b : path, LabelsFile or dict
        The two annotators' cluster-labels files (``save_labels`` / the explorer's
        autosave), or their labels dicts.
    include_unnamed : bool
        Count a cluster one annotator left unnamed as the category ``""`` (default: only
        clusters named by both are compared).

    Returns
    -------
    dict (JSON-safe)
        ``kappa`` (None when undefined), ``observed`` (share of compared clusters with
        the same name), ``n_compared``, ``per_cluster`` [{cluster_id, name_a, name_b,
        agree}], ``names`` (categories) and ``confusion`` (names_a x names_b counts).
        Names are compared ignoring case and repeated spaces.

    Raises
    ------
    LabelsMismatchError
        When the files belong to different fits.

    Examples
    --------
    >>> a = {0: "P wave", 1: "QRS complex", 2: "T wave", 3: "TP baseline"}
    >>> b = {0: "P wave", 1: "QRS complex", 2: "ST segment", 3: "TP baseline"}
    >>> r = cluster_agreement(a, b)
    >>> r["n_compared"], r["observed"], round(r["kappa"], 3)
    (4, 0.75, 0.692)
    """
    fa, fb = read_labels_file(labels_a), read_labels_file(labels_b)
    _check_same_fit(fa, fb)
    rows = []
    for cid in sorted({int(k) for k in fa.labels} | {int(k) for k in fb.labels}):
        na = fa.labels.get(str(cid), {}).get("name", "")
        nb = fb.labels.get(str(cid), {}).get("name", "")
        if include_unnamed or (na and nb):
            agree = _norm_name(na) == _norm_name(nb)
            rows.append({"cluster_id": cid, "name_a": na, "name_b": nb, "agree": agree})
    a_n = [_norm_name(r["name_a"]) for r in rows]
    b_n = [_norm_name(r["name_b"]) for r in rows]
    names = sorted(set(a_n) | set(b_n))
    conf = confusion_matrix(a_n, b_n, labels=names) if rows else np.zeros((0, 0), dtype=int)
    return {
        "kappa": cohen_kappa(a_n, b_n),
        "observed": float(np.mean([r["agree"] for r in rows])) if rows else None,
        "n_compared": len(rows),
        "per_cluster": rows,
        "names": names,
        "confusion": conf.tolist(),
    }


def timestep_agreement(
    labels_a: Any,
    labels_b: Any,
    tlc: Any,
    dataset: Any,
    records: Any = None,
) -> dict[str, Any]:
    """Cohen's kappa of two annotators' names over the time steps of records.

    Each time step gets the name its cluster has in each file (the explainer's hard
    segmentation at the files' K); steps whose cluster is unnamed in either file are
    left out.

    Parameters
    ----------
    labels_a, labels_b : path, LabelsFile or dict
        The two annotators' labels.
    tlc : TLCExplainer
        The fitted explainer the labels were given to.
    dataset : ECGDataset
        The records.
    records : sequence of int, optional
        Record indices (default all).

    Returns
    -------
    dict (JSON-safe)
        ``kappa`` (None when undefined), ``observed`` (share of compared steps with the
        same name), ``n_steps`` compared, ``n_records``, ``k`` and ``per_record`` kappa.

    Raises
    ------
    LabelsMismatchError
        When the files belong to different fits, or to another fit than ``tlc``'s.
    DataError
        For bad record indices.

    Examples
    --------
    >>> ids = [int(c) for c in tlc.cluster_ids_]
    >>> a = {ids[0]: "P wave", ids[1]: "T wave"}
    >>> b = {ids[0]: "P wave", ids[1]: "QRS complex"}
    >>> timestep_agreement(a, b, tlc, ds, records=range(20))["kappa"]  # doctest: +SKIP
    """
    fa, fb = read_labels_file(labels_a), read_labels_file(labels_b)
    ids = _check_same_fit(fa, fb)
    k = len(ids) if ids else int(tlc.n_clusters_)
    current = tlc.fit_identity(k)
    for lf, who in ((fa, "labels A"), (fb, "labels B")):
        report = None if lf.fit is None else check_labels_meta(lf, current)
        if report is not None and not report.same_clusters:
            raise LabelsMismatchError(
                f"{lf.path or who} was written for another fit than this explainer's "
                f"({report.summary()}) Pass the explainer (and K) the labels were given to.",
                report,
            )
    n = len(dataset)
    idx = np.arange(n) if records is None else np.asarray(list(records), dtype=np.int64)
    if idx.size == 0 or idx.min() < -n or idx.max() >= n:
        raise DataError(f"records must be indices in 0..{n - 1}, got {records!r}.")
    idx = idx % n
    es = tlc.explain_all(dataset.subset(idx), n_clusters=k)
    cluster_ids = [int(c) for c in es.cluster_ids]
    if ids is not None and set(cluster_ids) != set(ids):
        raise LabelsMismatchError(
            f"the labels name clusters {sorted(ids)} but the explainer at K={k} has "
            f"{sorted(cluster_ids)}: they were given to another fit."
        )
    # Kappa over time steps = kappa over clusters weighted by their number of steps.
    names_a, names_b = _names(fa, cluster_ids), _names(fb, cluster_ids)
    keep = [i for i, (x, y) in enumerate(zip(names_a, names_b)) if x and y]
    a_k, b_k = [names_a[i] for i in keep], [names_b[i] for i in keep]
    lab = np.asarray(es.labels, dtype=np.int64)
    counts = np.stack([np.bincount(row, minlength=len(cluster_ids)) for row in lab])[:, keep]
    total = counts.sum(axis=0)
    n_steps = int(total.sum())
    agree = np.array([x == y for x, y in zip(a_k, b_k)], dtype=bool)
    return {
        "kappa": cohen_kappa(a_k, b_k, total),
        "observed": float(total[agree].sum() / n_steps) if n_steps else None,
        "n_steps": n_steps,
        "n_records": int(len(idx)),
        "k": int(k),
        "per_record": [cohen_kappa(a_k, b_k, row) for row in counts],
    }


def agreement(
    labels_a: Any,
    labels_b: Any,
    tlc: Any = None,
    dataset: Any = None,
    records: Any = None,
) -> dict[str, Any]:
    """Both agreements of two annotators: over clusters and over time steps.

    Parameters
    ----------
    labels_a, labels_b : path, LabelsFile or dict
        The two annotators' labels.
    tlc : TLCExplainer, optional
        The explainer the labels were given to (for the time steps).
    dataset : ECGDataset, optional
        The records whose time steps are compared.
    records : sequence of int, optional
        Record indices (default all).

    Returns
    -------
    dict
        ``{"clusters": cluster_agreement(...), "time_steps": timestep_agreement(...)}``;
        ``time_steps`` is None without ``tlc`` and ``dataset``.

    Examples
    --------
    >>> r = agreement({0: "P wave", 1: "T wave"}, {0: "P wave", 1: "T wave"})
    >>> r["clusters"]["kappa"], r["time_steps"]
    (1.0, None)
    """
    out = {"clusters": cluster_agreement(labels_a, labels_b), "time_steps": None}
    if tlc is not None and dataset is not None:
        with warnings.catch_warnings():  # one warning about missing fit identities is enough
            warnings.simplefilter("ignore", DataWarning)
            out["time_steps"] = timestep_agreement(labels_a, labels_b, tlc, dataset, records)
    return out
