"""Whole-dataset evaluation: the figure set behind ``ecg-cluster-widget evaluate --json``.

One call fits TLC on the training set and reports, on the test set:

1. the CNN's own metrics (``model.train.evaluate_model``);
2. faithfulness: a random forest on train cluster proportions predicts the CNN's
   thresholded predictions; fidelity and accuracy/AUROC/F1 on test next to the CNN's;
3. landmark alignment of the test clusters with wave annotations (``test_ds.wave_masks``,
   or the rule-based :func:`delineate` when there are none: ``landmarks_source`` says which);
4. with ``baselines=True``, the same alignment scores for k-means on raw signal windows and
   for TLC on an untrained copy of the network;
5. ``time_s``: seconds per step.

The result holds only plain floats / ints / strings / lists / dicts (NaN -> ``None``),
so ``json.dumps`` works on it directly.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..data.dataset import ECGDataset
from ..data.io_utils import to_jsonable
from ..errors import DataError
from ..model.checkpoint import DEFAULT_TASK, is_bundle
from .delineation import delineate
from .faithfulness import faithfulness_from_explainer
from .landmarks import (
    landmark_alignment,
    raw_window_kmeans_labels,
    untrained_model_labels,
)

__all__ = ["evaluate", "format_evaluation"]

_ALIGN_KEYS = ("nmi", "homogeneity", "completeness", "v_measure", "ari", "purity")


def evaluate(
    bundle: Any,
    train_ds: Any,
    test_ds: Any,
    n_clusters: Any = 6,
    layers: list[str] | None = None,
    random_state: int = 0,
    baselines: bool = True,
    progress: bool = True,
    *,
    tlc: Any = None,
    n_components: int | None = 32,
    method: str | None = None,
    max_fit_points: int = 200_000,
    n_estimators: int = 200,
    lead: str | int = "II",
    threshold: float = 0.5,
) -> dict:
    """Fit TLC on ``train_ds`` and compute the evaluation figures on ``test_ds``.

    Parameters
    ----------
    bundle : ModelBundle
        The trained model (with ``prepare``, ``predict_proba``, ``class_names``, ``task``).
    train_ds, test_ds : ECGDataset
        Fitting set (clusters and random forest) and evaluation set (labels needed for
        the accuracy/AUROC figures; wave masks optional).
    n_clusters : int
        K of the explainer.
    layers : list of str, optional
        Layers to hook; default the last three residual blocks.
    random_state : int
        Seed of the explainer, the forest and the baselines.
    baselines : bool
        Also score raw-window k-means and an untrained network (adds two fits).
    progress : bool
        tqdm bars inside the explainer.
    tlc : TLCExplainer, optional
        Use this explainer (fitted on ``train_ds`` if not fitted yet) instead of a new one.
    n_components, method, max_fit_points : see :class:`TLCExplainer`.
    n_estimators : int
        Trees of the surrogate forest.
    lead : str or int
        Lead whose wave masks (or delineation) are used for the landmark scores.
    threshold : float
        Cut-off turning CNN probabilities into labels.

    Returns
    -------
    dict
        ``config``, ``cnn``, ``faithfulness``, ``landmarks`` (+ ``landmarks_source``),
        ``baselines`` (when requested), ``time_s``.

    Notes
    -----
    The contract form ``evaluate(tlc, bundle, train_ds, test_ds, ...)`` is accepted too:
    when the first argument is an explainer the others shift by one.

    Examples
    --------
    >>> from ecg_cluster_widget.data.synthetic import make_synthetic
    >>> from ecg_cluster_widget.model import load_demo_model
    >>> ds = make_synthetic(300, seed=1)  # doctest: +SKIP
    >>> d = evaluate(load_demo_model(), ds.subset(slice(0, 200)), ds.subset(slice(200, 300)))  # doctest: +SKIP
    >>> print(format_evaluation(d))  # doctest: +SKIP
    """
    from ..model.train import evaluate_model
    from .explainer import TLCExplainer

    if hasattr(bundle, "explain_all"):  # contract form evaluate(tlc, bundle, train_ds, test_ds)
        tlc, bundle, train_ds, test_ds = bundle, train_ds, test_ds, n_clusters
        n_clusters = tlc.n_clusters_
    for name, ds in (("train_ds", train_ds), ("test_ds", test_ds)):
        if not isinstance(ds, ECGDataset):
            raise DataError(f"{name} must be an ECGDataset, got {type(ds).__name__}.")
    if not is_bundle(bundle):
        raise DataError(
            "evaluate needs a ModelBundle (with prepare / predict_proba), e.g. from "
            "load_checkpoint() or train_model(); wrap a bare network with ModelBundle(...)."
        )
    times: dict[str, float] = {}
    out: dict[str, Any] = {}

    t = time.perf_counter()
    cnn = (
        evaluate_model(bundle, test_ds, threshold=threshold) if test_ds.labels is not None else None
    )
    times["cnn_metrics"] = time.perf_counter() - t
    out["cnn"] = cnn

    t = time.perf_counter()
    if tlc is None:
        # The model's recommended options (TLCExplainer.for_model), then what was asked for.
        explicit = {k: v for k, v in (("layers", layers), ("method", method)) if v is not None}
        tlc = TLCExplainer.for_model(
            bundle,
            n_clusters=int(n_clusters),
            n_components=n_components,
            max_fit_points=max_fit_points,
            random_state=random_state,
            progress=progress,
            **explicit,
        )
    if not tlc.is_fitted:
        tlc.fit(train_ds)
    times["tlc_fit"] = time.perf_counter() - t
    k = int(tlc.n_clusters_)

    t = time.perf_counter()
    ex_te = tlc.explain_all(test_ds)
    times["explain"] = time.perf_counter() - t

    t = time.perf_counter()
    out["faithfulness"] = faithfulness_from_explainer(
        tlc, bundle, train_ds, test_ds, n_estimators, random_state, threshold
    )
    times["faithfulness"] = time.perf_counter() - t

    t = time.perf_counter()
    masks = test_ds.wave_mask_for_lead(lead)
    if masks is not None:
        source = "annotations (test_ds.wave_masks)"
    else:
        masks = delineate(test_ds, lead=lead)
        source = f"rule-based delineate(test_ds, lead={lead!r}); no wave masks in test_ds"
    labels = np.asarray(ex_te.labels)
    out["landmarks"] = landmark_alignment(labels, masks, n_clusters=k)
    out["landmarks_source"] = source
    times["landmarks"] = time.perf_counter() - t

    if baselines:
        base: dict[str, Any] = {}
        t = time.perf_counter()
        raw = raw_window_kmeans_labels(
            test_ds, k, fit_ds=train_ds, random_state=random_state, progress=progress
        )
        al = landmark_alignment(raw, masks, n_clusters=k)
        base["raw_window_kmeans"] = {key: al[key] for key in _ALIGN_KEYS}
        times["baseline_raw_kmeans"] = time.perf_counter() - t
        t = time.perf_counter()
        unt = untrained_model_labels(
            bundle,
            train_ds,
            test_ds,
            n_clusters=k,
            random_state=random_state,
            layers=getattr(tlc, "layers", layers),
            n_components=getattr(tlc, "n_components", n_components),
            method=getattr(tlc, "method", method),
            max_fit_points=getattr(tlc, "max_fit_points", max_fit_points),
            progress=progress,
        )
        al = landmark_alignment(unt, masks, n_clusters=k)
        base["untrained_network"] = {key: al[key] for key in _ALIGN_KEYS}
        times["baseline_untrained"] = time.perf_counter() - t
        base["trained_network"] = {key: out["landmarks"][key] for key in _ALIGN_KEYS}
        out["baselines"] = base

    out["config"] = {
        "n_clusters": k,
        "layers": list(getattr(tlc, "layers_", layers or [])),
        "method": getattr(tlc, "method", method),
        "n_components": getattr(tlc, "n_components", n_components),
        "random_state": random_state,
        "n_train": len(train_ds),
        "n_test": len(test_ds),
        "fs": float(test_ds.fs),
        "lead": lead,
        "class_names": list(bundle.class_names),
        "task": getattr(bundle, "task", DEFAULT_TASK),
    }
    out["mean_entropy_test"] = float(np.mean(ex_te.mean_entropy))
    out["cluster_share_test"] = np.asarray(ex_te.proportions).mean(axis=0).tolist()
    times["total"] = float(sum(times.values()))
    out["time_s"] = times
    return to_jsonable(out, default=str)


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{100 * v:6.1f} %" if pct else f"{v:.3f}"
    return str(v)


def format_evaluation(d: dict) -> str:
    """Plain-text tables of an :func:`evaluate` result.

    Parameters
    ----------
    d : dict
        Output of :func:`evaluate` (missing sections are left out).

    Returns
    -------
    str
        One titled table per section, separated by blank lines.

    Examples
    --------
    >>> print(format_evaluation({"faithfulness": {"fidelity": 0.95}, "time_s": {"total": 1.0}}))
    ... # doctest: +NORMALIZE_WHITESPACE
    Faithfulness (random forest on cluster proportions)
      fidelity (agreement with CNN)        95.0 %
    <BLANKLINE>
    Time (s)
      total                                 1.00
    """
    lines: list[str] = []

    def row(name: str, *vals: str) -> None:
        lines.append(f"  {name:<34}" + "".join(f"{v:>12}" for v in vals))

    cfg = d.get("config")
    if cfg:
        lines.append(
            f"TLC evaluation: K={cfg.get('n_clusters')}, {cfg.get('n_train')} train / "
            f"{cfg.get('n_test')} test records, layers {', '.join(cfg.get('layers') or [])}"
        )
        lines.append("")
    f = d.get("faithfulness")
    if f:
        lines.append("Faithfulness (random forest on cluster proportions)")
        row("fidelity (agreement with CNN)", _fmt(f.get("fidelity"), "fidelity_mae" not in f))
        if "fidelity_exact" in f:
            row("fidelity, all labels of a record", _fmt(f.get("fidelity_exact"), True))
        if "rf_accuracy" in f:
            row("", "RF", "CNN")
            for key, name in (
                ("accuracy", "accuracy (mean per label)"),
                ("auroc", "macro AUROC"),
                ("f1", "macro F1"),
                ("subset_accuracy", "exact match"),
            ):
                row(name, _fmt(f.get(f"rf_{key}"), True), _fmt(f.get(f"cnn_{key}"), True))
            if f.get("auroc_note"):
                lines.append(f"  note: {f['auroc_note']}")
        if "rf_r2" in f:
            row("", "RF", "CNN")
            row("R^2 vs truth", _fmt(f.get("rf_r2")), _fmt(f.get("cnn_r2")))
            row("MAE vs truth", _fmt(f.get("rf_mae")), _fmt(f.get("cnn_mae")))
        lines.append("")
    lm = d.get("landmarks")
    if lm:
        lines.append(f"Landmark alignment ({d.get('landmarks_source', 'wave masks')})")
        base = d.get("baselines")
        if base:
            row("", "trained", "raw k-means", "untrained")
            for key in _ALIGN_KEYS:
                row(
                    key,
                    _fmt(lm.get(key)),
                    _fmt(base["raw_window_kmeans"].get(key)),
                    _fmt(base["untrained_network"].get(key)),
                )
        else:
            for key in _ALIGN_KEYS:
                row(key, _fmt(lm.get(key)))
        lines.append("  best cluster per wave:")
        for wave, info in lm.get("per_wave", {}).items():
            if info:
                lines.append(
                    f"    {wave:<5} cluster {info['cluster']:>2}  precision {info['precision']:.2f}  "
                    f"recall {info['recall']:.2f}  F1 {info['f1']:.2f}"
                )
        lines.append("")
    times = d.get("time_s")
    if times:
        lines.append("Time (s)")
        for name, v in times.items():
            row(name, f"{v:.2f}")
    return "\n".join(lines).rstrip()
