"""Bokeh figure builders for TLC results.

Every builder takes plain arrays (or the result dataclasses' fields), so the
figures can be made without an explainer and reused by the HTML report, the
notebooks and the CLI. Cluster colours come from :mod:`.palette` and key on the
*stable* cluster id, the same as in the widget.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from bokeh.layouts import column, gridplot
from bokeh.models import ColumnDataSource, HoverTool, LinearColorMapper, Range1d
from bokeh.plotting import figure as _figure

from ..data.dataset import STANDARD_LEADS, WAVE_NAMES
from ..errors import DataError
from ..explain.segments import segment_arrays
from .palette import cluster_color, cluster_colors, display_numbers

#: Standard 3x4 printout: rows of (limb, augmented, precordial, precordial) leads.
_GRID_3X4 = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
_TOOLS = "xpan,xwheel_zoom,box_zoom,reset,save"


def figure(**kwargs):
    """A Bokeh figure without a toolbar (``tools`` default: x pan / zoom, reset, save)."""
    return _figure(**{"tools": _TOOLS, "toolbar_location": None, **kwargs})


_BAND_TIPS = [
    ("cluster", "@number"),
    ("from", "@left{0.00} s"),
    ("to", "@right{0.00} s"),
    ("mean entropy", "@mean_entropy{0.00}"),
]


def runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal values as ``(start, end, value)`` with ``end`` exclusive.

    Parameters
    ----------
    labels : array-like
        Labels over time (flattened).

    Returns
    -------
    list of tuple of int
        One ``(start, end, value)`` per run, in order; empty for empty input.

    Examples
    --------
    >>> runs(np.array([0, 0, 2, 2, 2, 1]))
    [(0, 2, 0), (2, 5, 2), (5, 6, 1)]
    """
    lab = np.asarray(labels).ravel()
    if lab.size == 0:
        return []
    _, starts, ends, values = segment_arrays(lab, drop_invalid=False)
    return [(int(s), int(e), int(v)) for s, e, v in zip(starts, ends, values)]


def _band_source(
    labels: np.ndarray, cluster_ids: Sequence[int], fs: float, entropy: np.ndarray | None
) -> ColumnDataSource:
    rows = runs(labels)
    ids = [int(cluster_ids[v]) if v >= 0 else -1 for _, _, v in rows]
    num = display_numbers(cluster_ids)
    ent = [
        float(np.mean(entropy[s:e])) if entropy is not None else float("nan") for s, e, _ in rows
    ]
    return ColumnDataSource(
        dict(
            left=[s / fs for s, _, _ in rows],
            right=[e / fs for _, e, _ in rows],
            cluster_id=ids,
            number=[num.get(c, 0) for c in ids],
            color=cluster_colors(ids),
            mean_entropy=ent,
        )
    )


def _check_signal(
    signals: np.ndarray, labels: np.ndarray | None, entropy: np.ndarray | None
) -> np.ndarray:
    sig = np.asarray(signals, dtype=float)
    if sig.ndim == 1:
        sig = sig[None]
    if sig.ndim != 2:
        raise DataError(f"signals must have shape (n_leads, n_samples); got {sig.shape}.")
    for name, arr in (("labels", labels), ("entropy", entropy)):
        if arr is not None and np.asarray(arr).shape[-1] != sig.shape[1]:
            raise DataError(
                f"{name} has {np.asarray(arr).shape[-1]} time steps but the signal has {sig.shape[1]}."
            )
    return sig


def ecg_figure(
    signals: np.ndarray,
    fs: float,
    labels: np.ndarray | None = None,
    cluster_ids: Sequence[int] | None = None,
    entropy: np.ndarray | None = None,
    *,
    lead_names: Sequence[str] = STANDARD_LEADS,
    layout: str = "12x1",
    gradcam: np.ndarray | None = None,
    title: str | None = None,
    width: int = 900,
    lead_height: int = 80,
    fit_width: bool = False,
):
    """One ECG's leads with coloured cluster bands and an entropy ribbon.

    Parameters
    ----------
    signals : ndarray (n_leads, n_samples)
        The ECG in mV.
    fs : float
        Sampling rate in Hz.
    labels : ndarray (n_samples,), optional
        Hard cluster *positions* per sample (``ECGExplanation.labels``).
    cluster_ids : sequence of int, optional
        Stable id of each position (``ECGExplanation.cluster_ids``); colours key on it.
    entropy : ndarray (n_samples,), optional
        Normalised assignment entropy in [0, 1]; drawn as a ribbon under the leads.
    lead_names : sequence of str
        Names of the leads, in order.
    layout : {"12x1", "3x4"}
        One lead per row over the whole record, or the clinical 3x4 printout
        (2.5 s per column, needs the 12 standard leads).
    gradcam : ndarray (n_samples,), optional
        Grad-CAM saliency in [0, 1], drawn in the ribbon next to the entropy.
    title : str, optional
        Title above the first lead.
    width, lead_height : int
        Pixel sizes.
    fit_width : bool
        Stretch to the width of the page or notebook cell instead of ``width`` pixels
        (figures stacked in a notebook then never overflow it).

    Returns
    -------
    bokeh.models.LayoutDOM

    Examples
    --------
    >>> sig = np.sin(np.linspace(0, 20, 500))[None].repeat(2, 0)
    >>> fig = ecg_figure(sig, 100.0, np.repeat([0, 1], 250), [3, 5], lead_names=["I", "II"])
    >>> type(fig).__name__
    'Column'
    """
    sig = _check_signal(signals, labels, entropy)
    lead_names = list(lead_names)
    if len(lead_names) != sig.shape[0]:
        raise DataError(f"{len(lead_names)} lead names for {sig.shape[0]} leads.")
    if labels is not None and cluster_ids is None:
        cluster_ids = list(range(int(np.max(labels)) + 1))
    t = np.arange(sig.shape[1]) / float(fs)
    duration = sig.shape[1] / float(fs)
    bands = None if labels is None else _band_source(np.asarray(labels), cluster_ids, fs, entropy)
    lo, hi = float(np.nanmin(sig)), float(np.nanmax(sig))
    pad = 0.05 * max(hi - lo, 1e-3)
    y_range = Range1d(lo - pad, hi + pad)

    def panel(li: int, x_range, w: int, h: int, show_title: bool):
        fig = figure(width=w, height=h, x_range=x_range, y_range=y_range)
        fig.title = title if show_title else None
        if bands is not None:
            r = fig.quad("left", "right", hi + pad, lo - pad, source=bands, color="color")
            r.glyph.update(fill_alpha=0.35, line_alpha=0)
            fig.add_tools(HoverTool(renderers=[r], tooltips=_BAND_TIPS))
        fig.line(t, sig[li], color="#222222", line_width=1)
        fig.yaxis.axis_label = lead_names[li]
        fig.xaxis.visible = False
        fig.min_border_left = 50
        return fig

    if layout == "12x1":
        x_range = Range1d(0, duration, bounds=(0, duration))
        panels = [panel(i, x_range, width, lead_height, i == 0) for i in range(sig.shape[0])]
        panels[-1].xaxis.visible = True
        panels[-1].xaxis.axis_label = "time (s)"
        # The axis takes room from the plot area; grow the last panel so its trace keeps the same height.
        panels[-1].height = lead_height + 40
    elif layout == "3x4":
        missing = [n for row in _GRID_3X4 for n in row if n not in lead_names]
        if missing:
            raise DataError(f"layout '3x4' needs the 12 standard leads; missing {missing}.")
        col_w = duration / 4
        x_ranges = [Range1d(c * col_w, (c + 1) * col_w) for c in range(4)]
        h3 = int(lead_height * 1.5)
        grid = [
            [
                panel(lead_names.index(n), x_ranges[c], width // 4, h3, r + c == 0)
                for c, n in enumerate(row)
            ]
            for r, row in enumerate(_GRID_3X4)
        ]
        panels = [gridplot(grid, toolbar_location="right", merge_tools=True)]
        x_range = Range1d(0, duration, bounds=(0, duration))
    else:
        raise DataError(f"layout must be '12x1' or '3x4', got {layout!r}.")

    if entropy is not None or gradcam is not None:
        # Headroom above 1 keeps the horizontal legend off the curves.
        ribbon = figure(width=width, height=120, x_range=x_range, y_range=Range1d(0, 1.6))
        if entropy is not None:
            ent = np.clip(np.asarray(entropy, dtype=float), 0, 1)
            ribbon.varea(t, 0, ent, color="#555555", alpha=0.35, legend_label="entropy")
            ribbon.line(t, ent, color="#333333", line_width=1)
        if gradcam is not None:
            cam = np.asarray(gradcam, dtype=float)
            ribbon.line(t, cam, color="#D55E00", line_width=1.5, legend_label="Grad-CAM")
        ribbon.yaxis.update(axis_label="uncertainty", ticker=[0, 0.5, 1])
        ribbon.xaxis.axis_label = "time (s)"
        ribbon.legend.update(
            location="top_left", orientation="horizontal", padding=2, background_fill_alpha=0.6
        )
        ribbon.min_border_left = 50
        panels.append(ribbon)
    if fit_width:
        for p in panels:
            p.sizing_mode = "stretch_width"
        return column(*panels, sizing_mode="stretch_width")
    return column(*panels)


def prototypes_figure(
    median: np.ndarray,
    q25: np.ndarray,
    q75: np.ndarray,
    cluster_ids: Sequence[int],
    fs: float,
    *,
    offset_s: float | Sequence[float] = 0.0,
    lead: int = 1,
    lead_name: str | None = None,
    shares: Sequence[float] | None = None,
    mean_entropy: Sequence[float] | None = None,
    ncols: int = 4,
    size: int = 220,
):
    """Per-cluster prototype waveforms: median with an interquartile band.

    Parameters
    ----------
    median, q25, q75 : ndarray (K, n_leads, W)
        Per-cluster median and quartiles of the snippets each cluster covers
        (``ClusterInfo.prototype_median`` etc., stacked over clusters).
    cluster_ids : sequence of int
        Stable id of each of the K clusters.
    fs : float
        Sampling rate in Hz.
    offset_s : float or sequence of float
        Time of the first snippet sample relative to the segment centre (per cluster or shared).
    lead : int
        Lead to draw.
    lead_name : str, optional
        Lead label for the axis.
    shares, mean_entropy : sequence of float, optional
        Share of time steps and mean entropy per cluster, shown in the titles.
    ncols : int
        Panels per row.
    size : int
        Panel width/height in pixels.

    Returns
    -------
    bokeh.models.LayoutDOM

    Examples
    --------
    >>> m = np.zeros((2, 12, 50)); fig = prototypes_figure(m, m - 1, m + 1, [0, 1], 100.0)
    >>> type(fig).__name__
    'GridPlot'
    """
    med, a, b = (np.asarray(x, dtype=float) for x in (median, q25, q75))
    if med.ndim != 3 or med.shape != a.shape or med.shape != b.shape:
        raise DataError(
            f"prototype arrays must share shape (K, n_leads, W); got {med.shape}, {a.shape}, {b.shape}."
        )
    if len(cluster_ids) != med.shape[0]:
        raise DataError(f"{len(cluster_ids)} cluster ids for {med.shape[0]} prototypes.")
    if not 0 <= lead < med.shape[1]:
        raise DataError(f"lead index {lead} out of range for {med.shape[1]} leads.")
    offsets = np.broadcast_to(np.asarray(offset_s, dtype=float), (med.shape[0],))
    lo = float(np.nanmin(a[:, lead])) if np.isfinite(a[:, lead]).any() else -1.0
    hi = float(np.nanmax(b[:, lead])) if np.isfinite(b[:, lead]).any() else 1.0
    pad = 0.05 * max(hi - lo, 1e-3)
    y_range = Range1d(lo - pad, hi + pad)
    panels = []
    num = display_numbers(cluster_ids)
    for k, cid in enumerate(cluster_ids):
        x = offsets[k] + np.arange(med.shape[2]) / float(fs)
        bits = [f"cluster {num[int(cid)]}"]
        if shares is not None:
            bits.append(f"{100 * float(shares[k]):.0f}%")
        if mean_entropy is not None:
            bits.append(f"H {float(mean_entropy[k]):.2f}")
        fig = figure(width=size, height=size, y_range=y_range, tools="pan,wheel_zoom,reset,save")
        fig.title = ", ".join(bits)
        color = cluster_color(cid)
        fig.varea(x, a[k, lead], b[k, lead], color=color, alpha=0.35)
        fig.line(x, med[k, lead], color=color, line_width=2.5)
        fig.line(x, med[k, lead], color="#222222", line_width=0.8)
        fig.xaxis.axis_label = "s from segment centre"
        if lead_name:
            fig.yaxis.axis_label = f"{lead_name} (mV)"
        panels.append(fig)
    return gridplot(panels, ncols=ncols, toolbar_location=None)


def class_means(
    proportions: np.ndarray, labels: np.ndarray | None, class_names: Sequence[str] | None
) -> tuple[list[str], np.ndarray]:
    """Mean cluster proportions over all records and per positive class.

    Classes with no positive record are left out.

    Parameters
    ----------
    proportions : ndarray (N, K)
        Cluster proportions per record.
    labels : ndarray (N, C) or (N,), optional
        0/1 labels; without them only the ``"all"`` row is returned.
    class_names : sequence of str, optional
        Names of the label columns (default ``class_0``, ``class_1``, ...).

    Returns
    -------
    names : list of str
        Row names, ``"all"`` first.
    means : ndarray (rows, K)
        Mean proportions per row.

    Examples
    --------
    >>> names, m = class_means(np.array([[1., 0.], [0., 1.]]), np.array([[1], [0]]), ["MI"])
    >>> names, m.tolist()
    (['all', 'MI'], [[0.5, 0.5], [1.0, 0.0]])
    """
    prop = np.asarray(proportions, dtype=float)
    names, rows = ["all"], [prop.mean(axis=0)]
    if labels is not None:
        lab = np.asarray(labels)
        if lab.ndim == 1:
            lab = lab[:, None]
        cls = (
            list(class_names)
            if class_names is not None
            else [f"class_{i}" for i in range(lab.shape[1])]
        )
        for c, name in enumerate(cls):
            pos = lab[:, c] > 0.5
            if pos.any():
                names.append(str(name))
                rows.append(prop[pos].mean(axis=0))
    return names, np.vstack(rows)


def proportions_figure(
    proportions: np.ndarray,
    cluster_ids: Sequence[int],
    labels: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    *,
    width: int = 600,
    height: int = 320,
    title: str = "Cluster proportions by class",
):
    """Stacked bars of the mean share of time in each cluster, per class.

    Parameters
    ----------
    proportions : ndarray (N, K)
        Per-ECG share of time in each cluster (``ExplanationSet.proportions``).
    cluster_ids : sequence of int
        Stable id of each column.
    labels : ndarray (N, n_classes), optional
        Multi-label 0/1 targets; each class bar averages its positive records.
    class_names : sequence of str, optional
        One name per label column.

    Returns
    -------
    bokeh.plotting.figure

    Examples
    --------
    >>> fig = proportions_figure(np.array([[0.5, 0.5], [0.2, 0.8]]), [0, 1])
    >>> fig.x_range.factors
    ['all']
    """
    prop = np.asarray(proportions, dtype=float)
    if prop.ndim != 2 or prop.shape[1] != len(cluster_ids):
        raise DataError(f"proportions must have shape (N, {len(cluster_ids)}); got {prop.shape}.")
    names, means = class_means(prop, labels, class_names)
    keys = [f"c{int(c)}" for c in cluster_ids]
    data = {"group": names, **{k: means[:, j] for j, k in enumerate(keys)}}
    fig = figure(
        x_range=names,
        width=width,
        height=height,
        title=title,
        tools="hover,save",
        tooltips="$name: @$name{0.0%}",
    )
    fig.vbar_stack(
        keys,
        x="group",
        width=0.7,
        color=cluster_colors(cluster_ids),
        source=ColumnDataSource(data),
        legend_label=[f"cluster {display_numbers(cluster_ids)[int(c)]}" for c in cluster_ids],
    )
    fig.y_range.start = 0
    fig.yaxis.axis_label = "share of time"
    fig.legend.update(location="top_left", orientation="horizontal")
    fig.add_layout(fig.legend[0], "below")
    return fig


_CONTINGENCY_TIPS = [("cluster", "@y"), ("wave", "@x"), ("value", "@v{0.00}"), ("count", "@n")]
_CENTRED_TEXT = dict(text_align="center", text_baseline="middle", text_font_size="10pt")


def contingency_figure(
    contingency: np.ndarray,
    cluster_ids: Sequence[int],
    wave_names: Sequence[str] = WAVE_NAMES,
    *,
    normalize: str = "cluster",
    width: int = 420,
    height: int | None = None,
    title: str = "Clusters vs. delineated waves",
):
    """Heat map of the cluster x wave contingency table.

    Parameters
    ----------
    contingency : ndarray (K, n_waves)
        Counts of time steps per (cluster, wave) (``landmark_alignment(...)["contingency"]``).
    cluster_ids : sequence of int
        Stable id of each row.
    wave_names : sequence of str
        Name of each column (default ``WAVE_NAMES``: none/TP, P, QRS, T).
    normalize : {"cluster", "wave", "none"}
        Show each row's shares (what a cluster covers), each column's, or raw counts.

    Returns
    -------
    bokeh.plotting.figure

    Examples
    --------
    >>> fig = contingency_figure(np.array([[5, 0, 0, 1], [0, 3, 3, 0]]), [0, 1])
    >>> fig.title.text
    'Clusters vs. delineated waves'
    """
    cont = np.asarray(contingency, dtype=float)
    if cont.ndim != 2 or cont.shape[0] != len(cluster_ids) or cont.shape[1] != len(wave_names):
        raise DataError(
            f"contingency must have shape ({len(cluster_ids)}, {len(wave_names)}); got {cont.shape}."
        )
    axis = {"cluster": 1, "wave": 0, "none": None}
    if normalize not in axis:
        raise DataError(f"normalize must be 'cluster', 'wave' or 'none', got {normalize!r}.")
    ax = axis[normalize]
    val = cont if ax is None else cont / np.maximum(cont.sum(axis=ax, keepdims=True), 1)
    rows = [f"cluster {display_numbers(cluster_ids)[int(c)]}" for c in cluster_ids]
    waves = [str(w) for w in wave_names]
    v = val.ravel()
    txt = [f"{x:.2f}" for x in v] if ax is not None else [str(int(c)) for c in cont.ravel()]
    dark = v > 0.55 * max(val.max(), 1e-9)
    src = ColumnDataSource(
        dict(
            x=waves * len(rows),
            y=np.repeat(rows, len(waves)).tolist(),
            v=v.tolist(),
            n=cont.ravel().astype(int).tolist(),
            t=txt,
            tc=np.where(dark, "white", "black").tolist(),
        )
    )
    mapper = LinearColorMapper(
        palette="Greys256", low=float(val.max()) if val.size else 1.0, high=0
    )
    height = height or 60 + 34 * len(rows)
    fig = figure(
        x_range=waves,
        y_range=rows[::-1],
        width=width,
        height=height,
        title=title,
        tools="hover,save",
        tooltips=_CONTINGENCY_TIPS,
    )
    fig.rect(
        "x",
        "y",
        1,
        1,
        source=src,
        fill_color={"field": "v", "transform": mapper},
        line_color="white",
    )
    fig.text("x", "y", text="t", source=src, text_color="tc", **_CENTRED_TEXT)
    fig.xaxis.axis_label = "delineated wave"
    fig.axis.major_tick_line_color = None
    fig.grid.visible = False
    return fig


def entropy_hist_figure(
    hists: np.ndarray,
    cluster_ids: Sequence[int],
    *,
    width: int = 600,
    height: int = 260,
    title: str = "Assignment entropy per cluster",
):
    """Overlaid per-cluster histograms of the normalised entropy (bins over [0, 1]).

    Parameters
    ----------
    hists : ndarray (K, bins)
        Per-cluster histogram counts or densities (``ClusterInfo.entropy_hist``).
    cluster_ids : sequence of int
        Stable id of each row.
    width, height : int
        Size in pixels.
    title : str
        Figure title.

    Returns
    -------
    bokeh.plotting.figure
        One line per cluster, in the cluster's colour.

    Raises
    ------
    DataError
        If ``hists`` does not have one row per cluster id.

    Examples
    --------
    >>> fig = entropy_hist_figure(np.ones((2, 10)), [0, 1])
    >>> len(fig.renderers)
    2
    """
    h = np.asarray(hists, dtype=float)
    if h.ndim != 2 or h.shape[0] != len(cluster_ids):
        raise DataError(f"hists must have shape ({len(cluster_ids)}, bins); got {h.shape}.")
    h = h / np.maximum(h.sum(axis=1, keepdims=True), 1e-12)
    edges = np.linspace(0, 1, h.shape[1] + 1)
    centers = 0.5 * (edges[:-1] + edges[1:])
    fig = figure(width=width, height=height, title=title, x_range=Range1d(0, 1), tools="save")
    num = display_numbers(cluster_ids)
    for k, cid in enumerate(cluster_ids):
        label = f"cluster {num[int(cid)]}"
        fig.line(centers, h[k], color=cluster_color(cid), line_width=2, legend_label=label)
    fig.xaxis.axis_label = "normalised entropy"
    fig.yaxis.axis_label = "share of time steps"
    fig.legend.location = "top_right"
    return fig
