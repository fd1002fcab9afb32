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
from bokeh.models import ColumnDataSource, HoverTool, Range1d
from bokeh.plotting import figure as _figure

from ..data.dataset import STANDARD_LEADS, check_choice
from ..errors import DataError
from ..explain.segments import runs
from .palette import cluster_color, cluster_colors, display_numbers

#: Standard 3x4 printout: rows of (limb, augmented, precordial, precordial) leads.
_GRID_3X4 = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
_TOOLS = "xpan,xwheel_zoom,box_zoom,reset,save"


def figure(**kwargs):
    """A Bokeh figure without a toolbar, the base of every figure here.

    Parameters
    ----------
    **kwargs
        Passed to :func:`bokeh.plotting.figure`; ``tools`` defaults to x pan / zoom,
        box zoom, reset and save.

    Returns
    -------
    bokeh.plotting.figure

    Examples
    --------
    >>> figure(width=300, height=200).toolbar_location is None
    True
    """
    return _figure(**{"tools": _TOOLS, "toolbar_location": None, **kwargs})


_BAND_TIPS = [
    ("cluster", "@number"),
    ("from", "@left{0.00} s"),
    ("to", "@right{0.00} s"),
    ("mean entropy", "@mean_entropy{0.00}"),
]


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
    check_choice(layout, ("12x1", "3x4"), "layout")
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

    x_range = Range1d(0, duration, bounds=(0, duration))  # the rows' and the ribbon's
    if layout == "12x1":
        panels = [panel(i, x_range, width, lead_height, i == 0) for i in range(sig.shape[0])]
        panels[-1].xaxis.visible = True
        panels[-1].xaxis.axis_label = "time (s)"
        # The axis takes room from the plot area; grow the last panel so its trace keeps the same height.
        panels[-1].height = lead_height + 40
    else:
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
