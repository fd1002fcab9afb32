"""What is known about one record besides its clusters: labels, prediction, Grad-CAM.

One home for the per-record context that the widget's info line and the HTML report's
ECG headings show, for the whole-dataset predictions behind "next of class", and for the
summary of a brushed time range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..data.dataset import ECGDataset
from ..errors import DataError
from ..model.checkpoint import is_bundle
from .explanation import ECGExplanation


def multilabel_bundle(model: object) -> bool:
    """Whether ``model`` is a bundle whose ``predict_proba`` gives per-class probabilities.

    Parameters
    ----------
    model : object

    Returns
    -------
    bool

    Examples
    --------
    >>> multilabel_bundle(object())
    False
    """
    return is_bundle(model) and model.task == "multilabel"


def class_names(model: object, ds: ECGDataset) -> tuple[str, ...]:
    """Classes the model predicts (a multilabel bundle), else the dataset's label classes.

    Parameters
    ----------
    model : ModelBundle or None
    ds : ECGDataset

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> class_names(None, ds)  # doctest: +SKIP
    ('NORM', 'MI', 'STTC', 'CD', 'HYP')
    """
    if multilabel_bundle(model):
        return tuple(model.class_names)
    return tuple(ds.class_names or ())


def true_classes(ds: ECGDataset, i: int) -> list[str] | None:
    """Label classes of record ``i`` (``None`` when the dataset has no labels).

    Parameters
    ----------
    ds : ECGDataset
    i : int
        Record position.

    Returns
    -------
    list of str or None

    Examples
    --------
    >>> true_classes(ds, 0)
    ['NORM']
    """
    if ds.labels is None or ds.class_names is None:
        return None
    return [c for c, v in zip(ds.class_names, ds.labels[i]) if v > 0.5]


def predictions(model: object, ds: ECGDataset) -> np.ndarray | None:
    """Class probabilities of every record, (n_records, n_classes), or ``None``.

    Parameters
    ----------
    model : ModelBundle or None
    ds : ECGDataset

    Returns
    -------
    ndarray of shape (n_records, n_classes) or None

    Examples
    --------
    >>> predictions(bundle, ds).shape  # doctest: +SKIP
    (200, 5)
    """
    if not multilabel_bundle(model):
        return None
    return np.asarray(model.predict_proba(ds), dtype=np.float64)


def records_of_class(ds: ECGDataset, name: str, model: object = None, proba=None) -> np.ndarray:
    """Indices of the records labelled ``name`` (or, without labels, predicted as it).

    Parameters
    ----------
    ds : ECGDataset
    name : str
    model : ModelBundle, optional
        Used when ``name`` is not a label class of ``ds``.
    proba : ndarray, optional
        Cached :func:`predictions` (computed when needed and not given).

    Returns
    -------
    ndarray of int

    Raises
    ------
    DataError
        If ``name`` is neither a label class nor a predicted class.

    Examples
    --------
    >>> records_of_class(ds, "MI")[:3]  # doctest: +SKIP
    array([ 2,  5, 11])
    """
    if ds.labels is not None and ds.class_names and name in ds.class_names:
        return np.flatnonzero(ds.labels[:, ds.class_names.index(name)] > 0.5)
    names = class_names(model, ds)
    if name in names and multilabel_bundle(model):
        p = predictions(model, ds) if proba is None else proba
        return np.flatnonzero(p[:, names.index(name)] > 0.5)
    raise DataError(f"unknown class {name!r}; classes: {', '.join(names) or 'none'}.")


@dataclass
class RecordContext:
    """Labels, prediction and Grad-CAM of one record.

    Attributes
    ----------
    true_classes : list of str or None
    prediction : dict of str to float, or None
        Per-class probability (a multilabel bundle only).
    gradcam : ndarray of shape (n_samples,) or None
    gradcam_class : str
        The class the Grad-CAM is for ("" without one).

    Examples
    --------
    >>> RecordContext(["NORM"], None, None, "").true_classes
    ['NORM']
    """

    true_classes: list[str] | None
    prediction: dict[str, float] | None
    gradcam: np.ndarray | None
    gradcam_class: str

    def top(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` most probable classes with their probability.

        Examples
        --------
        >>> RecordContext(None, {"A": 0.2, "B": 0.9}, None, "").top(1)
        [('B', 0.9)]
        """
        if not self.prediction:
            return []
        return sorted(self.prediction.items(), key=lambda kv: -kv[1])[:n]


def record_context(
    model: object,
    ds: ECGDataset,
    i: int,
    gradcam_class: str = "",
    *,
    proba: np.ndarray | None = None,
    gradcam: Callable[[int, int], np.ndarray] | None = None,
) -> RecordContext:
    """Context of record ``i``: its labels and, given a multilabel bundle, the model's
    prediction and a Grad-CAM curve (for ``gradcam_class``, default the top class).

    Parameters
    ----------
    model : ModelBundle or None
    ds : ECGDataset
    i : int
    gradcam_class : str
        "" for the predicted (top) class.
    proba : ndarray of shape (n_classes,), optional
        The record's probabilities when already known (e.g. from :func:`predictions`).
    gradcam : callable (record, class index) -> ndarray, optional
        A (cached) Grad-CAM; default a fresh :class:`~ecg_cluster_widget.explain.GradCAM`.

    Returns
    -------
    RecordContext

    Raises
    ------
    DataError
        If ``gradcam_class`` is not a class of the model.

    Examples
    --------
    >>> ctx = record_context(bundle, ds, 0)
    >>> ctx.top(2)  # doctest: +SKIP
    [('NORM', 0.91), ('MI', 0.04)]
    """
    truth = true_classes(ds, i)
    if not multilabel_bundle(model):
        return RecordContext(truth, None, None, "")
    names = list(model.class_names)
    if gradcam_class and gradcam_class not in names:
        raise DataError(f"unknown Grad-CAM class {gradcam_class!r}; classes: {', '.join(names)}.")
    if proba is None:
        proba = np.asarray(model.predict_proba(ds.subset([i])))[0]
    cls = names.index(gradcam_class) if gradcam_class else int(np.argmax(proba))
    if gradcam is None:
        from .gradcam import GradCAM

        cam = GradCAM(model).attribute(ds.subset([i]), target=cls)[0]
    else:
        cam = gradcam(i, cls)
    return RecordContext(
        truth,
        {c: float(p) for c, p in zip(names, proba)},
        np.asarray(cam, dtype=np.float32),
        names[cls],
    )


def selection_summary(
    expl: ECGExplanation,
    start: int,
    end: int,
    gradcam: np.ndarray | None = None,
    labels: Mapping | None = None,
) -> dict:
    """Clusters, uncertainty and Grad-CAM share of samples ``start:end`` of a record.

    Parameters
    ----------
    expl : ECGExplanation
    start, end : int
        Sample range (``0 <= start < end <= n_samples``).
    gradcam : ndarray of shape (n_samples,), optional
    labels : mapping, optional
        Expert labels (``{str(id): {"name", ...}}``) to name the clusters.

    Returns
    -------
    dict
        ``clusters`` (``cluster_id``, ``name``, ``share``, ``mean_entropy``, by share
        descending), ``mean_entropy`` and ``gradcam_share`` (the CAM mass inside the
        range over the whole record's, ``None`` without a CAM).

    Examples
    --------
    >>> selection_summary(tlc.explain(ds, 0), 100, 250)["mean_entropy"]  # doctest: +SKIP
    0.12
    """
    a, b = int(start), int(end)
    n = len(expl.labels)
    if not 0 <= a < b <= n:
        raise DataError(f"selection {a}:{b} is not a non-empty range inside 0..{n} samples.")
    ids = np.asarray(expl.cluster_ids)[np.asarray(expl.labels)[a:b]]
    ent = np.asarray(expl.entropy)[a:b]
    labels = labels or {}
    clusters = []
    for cid in np.unique(ids):
        m = ids == cid
        clusters.append(
            {
                "cluster_id": int(cid),
                "name": (labels.get(str(int(cid))) or {}).get("name", ""),
                "share": float(m.mean()),
                "mean_entropy": float(ent[m].mean()),
            }
        )
    clusters.sort(key=lambda c: (-c["share"], c["cluster_id"]))
    share = None
    if gradcam is not None and float(np.sum(gradcam)) > 0:
        share = float(np.sum(gradcam[a:b]) / np.sum(gradcam))
    return {"clusters": clusters, "mean_entropy": float(ent.mean()), "gradcam_share": share}
