"""Bokeh figures of a whole dataset's clusters: proportions by class, the cluster x wave
contingency heat map and the per-cluster entropy histograms.

Like :mod:`.figures`, every builder takes plain arrays; colours and numbers follow the
stable cluster ids (:mod:`.palette`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d

from ..data.dataset import WAVE_NAMES, check_choice
from ..errors import DataError
from .figures import figure
from .palette import cluster_color, cluster_colors, display_numbers


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
    ax = axis[check_choice(normalize, tuple(axis), "normalize")]
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
