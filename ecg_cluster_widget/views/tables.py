"""HTML tables of the report (Bokeh ``Div``): clusters, faithfulness, any metrics dict."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bokeh.models import Div

from .palette import cluster_color, display_numbers

_FAITH_ROWS = (
    ("accuracy (mean per label)", "rf_accuracy", "cnn_accuracy"),
    ("exact match", "rf_subset_accuracy", "cnn_subset_accuracy"),
    ("macro F1", "rf_f1", "cnn_f1"),
    ("macro AUROC", "rf_auroc", "cnn_auroc"),
)
_ALIGN_ROWS = ("nmi", "homogeneity", "completeness", "ari", "purity")
_BASELINES = (
    ("trained_network", "trained"),
    ("raw_window_kmeans", "raw k-means"),
    ("untrained_network", "untrained"),
)
_CELL = "style='padding:2px 12px;text-align:right;font-family:monospace'"


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return str(value if isinstance(value, (bool, np.bool_)) else int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3f}" if np.isfinite(value) else "n/a"
    return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th style='padding:2px 12px'>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr><td style='padding:2px 12px 2px 0'>{html.escape(r[0])}</td>"
        + "".join(f"<td {_CELL}>{v}</td>" for v in r[1:])
        + "</tr>"
        for r in rows
    )
    return f"<table class='ecw-metrics'><tr>{head}</tr>{body}</table>"


def flatten_metrics(metrics: Mapping, prefix: str = "") -> list[tuple[str, str]]:
    """Scalar leaves of a nested metrics dict as ``(dotted.key, formatted value)``.

    Arrays and long lists are skipped: they belong in figures, not tables.

    Parameters
    ----------
    metrics : mapping
        Possibly nested metrics.
    prefix : str
        Prepended to every key (used for the recursion).

    Returns
    -------
    list of (str, str)
        Dotted key and formatted value (``"n/a"`` for ``None``), in dict order.

    Examples
    --------
    >>> flatten_metrics({"rf": {"accuracy": 0.88, "auroc": 0.8}, "n": 10, "cm": [[1, 2]]})
    [('rf.accuracy', '0.880'), ('rf.auroc', '0.800'), ('n', '10')]
    """
    rows: list[tuple[str, str]] = []
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            rows.extend(flatten_metrics(value, prefix=f"{prefix}{key}."))
        elif isinstance(value, (str, bool, int, float, np.generic)) or value is None:
            rows.append((f"{prefix}{key}", _fmt(value)))
    return rows


def metrics_table(metrics: Mapping, title: str = "Faithfulness", width: int = 600) -> Div:
    """An HTML table (Bokeh ``Div``) of the scalar entries of a metrics dict.

    Parameters
    ----------
    metrics : mapping
        E.g. the result of ``explain.evaluate.evaluate`` or ``faithfulness``; nested
        dicts become dotted keys.
    title : str
        Heading above the table.
    width : int
        Width in pixels.

    Returns
    -------
    bokeh.models.Div

    Examples
    --------
    >>> div = metrics_table({"fidelity": 0.95})
    >>> "fidelity" in div.text
    True
    """
    text = f"<h3>{html.escape(title)}</h3>" + _table(["", "value"], flatten_metrics(metrics))
    return Div(text=text, width=width)


def faithfulness_table(evaluation: Mapping, width: int = 600) -> Div:
    """Compact tables of an evaluation: RF vs. CNN, and cluster/wave alignment vs. baselines.

    Parameters
    ----------
    evaluation : mapping
        The result of ``explain.evaluate.evaluate`` (keys ``faithfulness``, ``landmarks``,
        ``baselines``) or of ``explain.faithfulness.faithfulness`` alone. Anything else
        falls back to :func:`metrics_table`.
    width : int
        Width in pixels.

    Returns
    -------
    bokeh.models.Div

    Examples
    --------
    >>> div = faithfulness_table({"fidelity": 0.95, "rf_accuracy": 0.88, "cnn_accuracy": 0.884})
    >>> "0.950" in div.text and "RF" in div.text
    True
    """
    faith = evaluation.get("faithfulness", evaluation if "fidelity" in evaluation else None)
    if not isinstance(faith, Mapping):
        return metrics_table(evaluation, title="Evaluation", width=width)
    fid = [
        (name, _fmt(faith[key]))
        for name, key in (
            ("fidelity (agreement with the CNN)", "fidelity"),
            ("fidelity, all labels of a record", "fidelity_exact"),
        )
        if key in faith
    ]
    rows = [
        (n, _fmt(faith.get(a)), _fmt(faith.get(b)))
        for n, a, b in _FAITH_ROWS
        if a in faith or b in faith
    ]
    parts = [
        "<h3>Faithfulness: random forest on cluster proportions</h3>",
        _table(["", "value"], fid),
    ]
    if rows:
        parts.append(_table(["on the true labels", "RF", "CNN"], rows))
    if faith.get("auroc_note"):
        parts.append(f"<p><i>{html.escape(str(faith['auroc_note']))}</i></p>")
    align = evaluation.get("landmarks")
    if isinstance(align, Mapping):
        base = evaluation.get("baselines")
        base = base if isinstance(base, Mapping) else {}
        cols = [(k, lab) for k, lab in _BASELINES if isinstance(base.get(k), Mapping)]
        cols = cols if base else [("landmarks", "trained")]
        src = {"landmarks": align, **base}
        rows = [
            (m, *[_fmt(src[k].get(m)) for k, _ in cols])
            for m in _ALIGN_ROWS
            if any(m in src[k] for k, _ in cols)
        ]
        parts.append("<h3>Alignment of clusters with P / QRS / T / TP</h3>")
        if evaluation.get("landmarks_source"):
            parts.append(f"<p>wave labels: {html.escape(str(evaluation['landmarks_source']))}</p>")
        parts.append(_table(["", *[label for _, label in cols]], rows))
    return Div(text="".join(parts), width=width)


def cluster_table(infos: Sequence[Any], class_names: Sequence[str] | None = None) -> Div:
    """HTML table of clusters: colour, display number, share of time, mean entropy, class mix.

    Parameters
    ----------
    infos : sequence of ClusterInfo
        From ``tlc.cluster_summary(ds)``.
    class_names : sequence of str, optional
        Order of the class-mix columns (default: those of the first class mix).

    Returns
    -------
    bokeh.models.Div

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> div = cluster_table([NS(cluster_id=2, share=0.4, mean_entropy=0.1, class_mix=None)])
    >>> "40.0%" in div.text
    True
    """
    mixes = [getattr(info, "class_mix", None) or {} for info in infos]
    classes = list(class_names or next((list(m) for m in mixes if m), []))
    num = display_numbers(info.cluster_id for info in infos)
    swatch = "<span style='display:inline-block;width:14px;height:14px;background:{}'></span>"
    rows = [
        (
            swatch.format(cluster_color(info.cluster_id)),
            num[int(info.cluster_id)],
            f"{100 * float(info.share):.1f}%",
            f"{float(info.mean_entropy):.3f}",
            *[f"{100 * float(mix.get(c, float('nan'))):.0f}%" for c in classes],
        )
        for info, mix in zip(infos, mixes)
    ]
    head = ["", "cluster", "share of time", "mean entropy", *map(html.escape, classes)]
    text = (
        "<h3>Clusters</h3><table class='ecw-clusters' style='border-collapse:collapse'><tr>"
        + "".join(f"<th {_CELL}>{h}</th>" for h in head)
        + "</tr>"
        + "".join("<tr>" + "".join(f"<td {_CELL}>{v}</td>" for v in r) + "</tr>" for r in rows)
        + "</table>"
    )
    if classes:
        text += (
            "<p style='font-size:90%'>Class columns: share of records with that label among the "
            "records where the cluster takes up the most time (top quartile).</p>"
        )
    return Div(text=text, width=700)
