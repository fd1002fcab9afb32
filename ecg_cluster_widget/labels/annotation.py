"""Annotation work on cluster labels: agreement between annotators, Label Studio export.

* :func:`cluster_agreement`: do two annotators give the same name to the same cluster?
  Cohen's kappa over the clusters both named.
* :func:`timestep_agreement`: the same question weighted by time: each annotator's
  names are spread over the time steps of a set of records through the explainer's
  segmentation, and kappa is computed over those time steps (a long TP-baseline
  cluster counts more than a short P-wave cluster).
* :func:`agreement` runs both. Two files of different fits (another model, other
  fitting data, another fit, or other cluster ids) are refused with a
  :class:`~ecg_cluster_widget.errors.LabelsMismatchError`: the same id would name
  different clusters.
* :func:`to_label_studio` / :func:`write_label_studio` export records with their
  named segments as Label Studio time-series tasks, and :func:`read_label_studio`
  reads such tasks (also Label Studio's own export) back into segments; they live in
  :mod:`.label_studio` (the schema followed is described there) and are importable from
  here.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import DataError, DataWarning, LabelsMismatchError
from . import labels as _labels
from .label_studio import as_labels_file as _read
from .label_studio import (
    label_studio_config,
    read_label_studio,
    to_label_studio,
    write_label_studio,
)

__all__ = [
    "cohen_kappa",
    "cluster_agreement",
    "timestep_agreement",
    "agreement",
    "to_label_studio",
    "write_label_studio",
    "read_label_studio",
    "label_studio_config",
]

#: Keys of a fit identity that must agree for two files to name the same clusters.
SAME_FIT_KEYS = ("model_checksum", "data_fingerprint", "fit_id")


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' categories over the same items.

    ``(p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and ``p_e`` the
    agreement expected from each rater's category frequencies.

    Parameters
    ----------
    a, b : sequence of str
        The two raters' categories, item by item.

    Returns
    -------
    float or None
        Kappa in [-1, 1]; ``None`` when undefined: no item, or both raters use one and
        the same category for everything (``p_e = 1``).

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
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise DataError(f"the two raters rated {len(a)} and {len(b)} items; pass the same items.")
    if not a:
        return None
    cats = sorted(set(a) | set(b))
    pos = {c: i for i, c in enumerate(cats)}
    ia = np.array([pos[x] for x in a])
    ib = np.array([pos[x] for x in b])
    return _kappa_codes(ia, ib, len(cats))


def _kappa_codes(ia: np.ndarray, ib: np.ndarray, n_cats: int, weights: Any = None) -> float | None:
    w = np.ones(len(ia)) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if total <= 0:
        return None
    conf = np.bincount(ia * n_cats + ib, weights=w, minlength=n_cats * n_cats).reshape(
        n_cats, n_cats
    )
    conf /= total
    p_o = float(np.trace(conf))
    p_e = float(conf.sum(axis=1) @ conf.sum(axis=0))
    if p_e >= 1 - 1e-12:
        return None
    return (p_o - p_e) / (1 - p_e)


def _norm_name(name: str) -> str:
    # Annotators differ in case and spacing, not in meaning: "st segment" == "ST segment".
    return " ".join(str(name).split()).casefold()


def _where(lf: _labels.LabelsFile, default: str) -> str:
    return str(lf.path) if lf.path is not None else default


def _fit_diff(fit_a: Mapping, fit_b: Mapping) -> list[str]:
    """What makes two fit identities name different clusters (empty: the same fit)."""
    differ = [
        f"{k} ({fit_a[k]!r} vs {fit_b[k]!r})"
        for k in SAME_FIT_KEYS
        if k in fit_a and k in fit_b and fit_a[k] != fit_b[k]
    ]
    ids_a, ids_b = fit_a.get("cluster_ids"), fit_b.get("cluster_ids")
    if ids_a is not None and ids_b is not None and set(ids_a) != set(ids_b):
        differ.append(f"cluster ids ({sorted(ids_a)} vs {sorted(ids_b)})")
    return differ


def _check_same_fit(fa: _labels.LabelsFile, fb: _labels.LabelsFile) -> list[int] | None:
    """Cluster ids of the common fit (None when neither file says); raises on a mismatch."""
    wa, wb = _where(fa, "labels A"), _where(fb, "labels B")
    if fa.fit is None or fb.fit is None:
        # Only files are warned about: an in-memory labels dict is the caller's own.
        missing = " and ".join(
            w for w, lf in ((wa, fa), (wb, fb)) if lf.fit is None and lf.path is not None
        )
        if missing:
            warnings.warn(
                f"{missing}: no fit identity recorded, so it cannot be checked that both "
                "files label the same clusters; labels saved with the fit "
                "(labels.save_labels(..., fit=tlc.fit_identity())) can be checked.",
                DataWarning,
                stacklevel=3,
            )
        fit = fa.fit or fb.fit
        return None if fit is None else fit.get("cluster_ids")
    differ = _fit_diff(fa.fit, fb.fit)
    if differ:
        raise LabelsMismatchError(
            f"{wa} and {wb} belong to different fits: {'; '.join(differ)}. The same cluster "
            "id names different clusters in them, so their agreement means nothing; have "
            "both annotators label the same fit (same model, data, fit and K).",
            _labels.check_labels_meta(fa, fb.fit),
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
    fa, fb = _read(labels_a), _read(labels_b)
    _check_same_fit(fa, fb)
    ids = sorted({int(k) for k in fa.labels} | {int(k) for k in fb.labels})
    rows = []
    for cid in ids:
        na = fa.labels.get(str(cid), {}).get("name", "").strip()
        nb = fb.labels.get(str(cid), {}).get("name", "").strip()
        if not include_unnamed and (not na or not nb):
            continue
        rows.append(
            {
                "cluster_id": cid,
                "name_a": na,
                "name_b": nb,
                "agree": _norm_name(na) == _norm_name(nb),
            }
        )
    a_n = [_norm_name(r["name_a"]) for r in rows]
    b_n = [_norm_name(r["name_b"]) for r in rows]
    names = sorted(set(a_n) | set(b_n))
    conf = np.zeros((len(names), len(names)), dtype=int)
    for x, y in zip(a_n, b_n):
        conf[names.index(x), names.index(y)] += 1
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
    fa, fb = _read(labels_a), _read(labels_b)
    ids = _check_same_fit(fa, fb)
    k = len(ids) if ids else int(tlc.n_clusters_)
    current = tlc.fit_identity(k)
    for lf, who in ((fa, "labels A"), (fb, "labels B")):
        differ = [] if lf.fit is None else _fit_diff(lf.fit, current)
        if differ:
            raise LabelsMismatchError(
                f"{_where(lf, who)} was written for another fit than this explainer's: "
                f"{'; '.join(differ)}. Pass the explainer (and K) the labels were given to.",
                _labels.check_labels_meta(lf, current),
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
    # Names per cluster position, as category codes shared by both annotators.
    names_a = [_norm_name(fa.labels.get(str(c), {}).get("name", "")) for c in cluster_ids]
    names_b = [_norm_name(fb.labels.get(str(c), {}).get("name", "")) for c in cluster_ids]
    cats = sorted(set(names_a) | set(names_b))
    code_a = np.array([cats.index(x) for x in names_a])
    code_b = np.array([cats.index(x) for x in names_b])
    named = np.array([bool(x) and bool(y) for x, y in zip(names_a, names_b)])
    lab = np.asarray(es.labels, dtype=np.int64)
    # Kappa over time steps = kappa over clusters weighted by their number of steps.
    counts = np.stack([np.bincount(row, minlength=len(cluster_ids)) for row in lab])
    keep = np.flatnonzero(named)
    total = counts[:, keep].sum(axis=0)
    kappa = _kappa_codes(code_a[keep], code_b[keep], len(cats), total)
    agree = code_a[keep] == code_b[keep]
    per_record = [
        _kappa_codes(code_a[keep], code_b[keep], len(cats), counts[r, keep])
        for r in range(len(idx))
    ]
    n_steps = int(total.sum())
    return {
        "kappa": kappa,
        "observed": float((total * agree).sum() / n_steps) if n_steps else None,
        "n_steps": n_steps,
        "n_records": int(len(idx)),
        "k": int(k),
        "per_record": [None if v is None else float(v) for v in per_record],
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
    with warnings.catch_warnings():
        # One warning about missing fit identities is enough for both measures.
        out = {"clusters": cluster_agreement(labels_a, labels_b)}
        if tlc is not None and dataset is not None:
            warnings.simplefilter("ignore", DataWarning)
            out["time_steps"] = timestep_agreement(labels_a, labels_b, tlc, dataset, records)
        else:
            out["time_steps"] = None
    return out
