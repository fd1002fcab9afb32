"""A static picture of a :class:`ClusterExplorer` view: SVG built in Python.

Notebook renderers without a widget manager (``jupyter nbconvert --to html`` offline,
GitHub, nbviewer, a notebook reopened without its kernel and saved widget state) show
the ``text/html`` entry of the widget's output instead of the live view. This module
draws that entry from the widget's traits: the visible leads on ECG paper over the
current time window, the cluster bands in the widget's band style, the cluster strip
with display numbers 1..K, the uncertainty ribbon, a time axis and a legend. No
JavaScript, no external files: the SVG is inline and self-contained.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from ..explain.browse import percentile_ranks
from ..explain.segments import runs
from .palette import assign_colors, display_numbers

PAPER = "#fff8f8"
GRID_MINOR = "rgba(230,120,130,0.25)"
GRID_MAJOR = "rgba(215,80,95,0.55)"
TRACE = "#111111"
MUTED = "#606060"
INK = "#202020"
ROW_MV = {"12x1": 2.2, "6x2": 3.0, "3x4": 3.0}
TINT = {"light": 0.2, "strong": 0.42, "lead": 0.42, "strip": 0.0}


def _esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _path(xs: np.ndarray, ys: np.ndarray) -> str:
    """Compact SVG path through the points (absolute start, then relative steps)."""
    if not len(xs):
        return ""
    xr = np.round(xs, 1)
    yr = np.round(ys, 1)
    dx = np.diff(xr)
    dy = np.diff(yr)
    steps = " ".join(f"{a:g} {b:g}" for a, b in zip(np.round(dx, 1), np.round(dy, 1)))
    return f"M{xr[0]:g} {yr[0]:g}l{steps}"


def _decimate(x_px: np.ndarray, v: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Min/max per pixel column when several samples share one (QRS peaks stay)."""
    if len(v) <= 2 * width:
        return x_px, v
    col = np.floor(x_px - x_px[0]).astype(int)
    bounds = np.r_[0, np.flatnonzero(np.diff(col)) + 1, len(v)]
    xs, ys = [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        seg = v[a:b]
        lo, hi = int(np.argmin(seg)), int(np.argmax(seg))
        for k in sorted({lo, hi}):
            xs.append(x_px[a] + 0.0)
            ys.append(seg[k])
    return np.asarray(xs), np.asarray(ys)


def _text(x: float, y: float, text: Any, size: int = 10, fill: str = MUTED, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra} fill="{fill}">{text}</text>'


def render_svg(w: Any, width: int = 1000) -> str:
    """SVG of the widget's current view (light theme), as a string.

    Parameters
    ----------
    w : ClusterExplorer
        The widget; only its traits are read.
    width : int
        Width in CSS pixels (the SVG scales with ``viewBox``).

    Returns
    -------
    str
        ``<svg ...>...</svg>``.

    Examples
    --------
    >>> svg = render_svg(w)
    >>> pathlib.Path("view.svg").write_text(svg)  # doctest: +SKIP
    """
    rec = dict(w.record or {})
    n_leads, n = int(rec.get("n_leads", 0)), int(rec.get("n_samples", 0))
    sig = np.asarray(w.signal, dtype=np.float32)
    sig = sig.reshape(n_leads, n) if sig.size == n_leads * n else np.zeros((n_leads, n))
    ids = np.asarray(w.seg_ids).astype(int)
    ent = np.asarray(w.entropy, dtype=np.float32)
    fs = float(rec.get("fs", 1.0))
    duration = max(n / fs, 1e-9)
    names = list(rec.get("lead_names") or range(n_leads))
    leads = [i for i in (w.leads or range(n_leads)) if i < n_leads] or list(range(n_leads))
    v0, v1 = list(w.view_range) if len(w.view_range) == 2 else [0.0, duration]
    v0, v1 = max(0.0, float(v0)), min(duration, float(v1))
    if v1 <= v0:
        v0, v1 = 0.0, duration
    cluster_ids = [int(c) for c in rec.get("cluster_ids", sorted(set(ids.tolist())))]
    colors = assign_colors(cluster_ids)
    order = sorted(colors)
    num = display_numbers(cluster_ids)
    labels = dict(w.cluster_labels or {})
    hl = int(w.highlight_cluster) if int(w.highlight_cluster) >= 0 else None
    style, gain = str(w.band_style), float(w.gain)
    chosen = leads[min(1, len(leads) - 1)] if leads else 0

    def name(cid: int) -> str:
        nm = str((labels.get(str(cid)) or {}).get("name", "")).strip()
        return f"{num.get(cid, cid)} · {nm}" if nm else f"cluster {num.get(cid, cid)}"

    margin, right = 56, 10
    plot_w = width - margin - right
    px_mm = plot_w / (duration * 25.0)
    px_mv = px_mm * gain
    px_s = plot_w / (v1 - v0)
    row_h = max(36.0, ROW_MV["12x1"] * px_mv)
    top = 4.0
    x_of = lambda t: margin + (np.asarray(t, dtype=float) - v0) * px_s  # noqa: E731
    y_end = top + row_h * len(leads)
    strip_y, strip_h = y_end + 6, 18.0
    rib_y, rib_h = strip_y + strip_h + 2, 34.0
    axis_y = rib_y + rib_h + 2
    legend_y = axis_y + 26
    segs = [r for r in runs(ids) if r[1] / fs > v0 and r[0] / fs < v1]
    height = legend_y + 18 * ((len(order) + 3) // 4) + 6
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ecw-static-svg" viewBox="0 0 {width} {height:.0f}" '
        f'width="100%" style="max-width:{width}px;height:auto;background:#ffffff" '
        f'font-family="sans-serif" role="img" aria-label="ECG {_esc(rec.get("record_id", ""))} with cluster bands">',
        "<defs>",
    ]
    # ECG paper: 1 mm / 5 mm grid as one pattern per row (rows centre on the baseline).
    mm_t, mm_v = px_s / 25.0, px_mm
    minor = ""
    if min(mm_t, mm_v) >= 2.5:
        lines = [f"M{k * mm_t:.2f} 0V{5 * mm_v:.2f}" for k in range(1, 5)]
        lines += [f"M0 {k * mm_v:.2f}H{5 * mm_t:.2f}" for k in range(1, 5)]
        minor = f'<path d="{"".join(lines)}" stroke="{GRID_MINOR}" stroke-width="0.6" fill="none"/>'
    for r in range(len(leads)):
        out.append(
            f'<pattern id="g{r}" patternUnits="userSpaceOnUse" width="{5 * mm_t:.3f}" height="{5 * mm_v:.3f}" '
            f'patternTransform="translate({margin - (v0 % 0.2) * px_s:.2f} {top + (r + 0.5) * row_h:.2f})">{minor}'
            f'<path d="M0 0V{5 * mm_v:.2f}M0 0H{5 * mm_t:.2f}" stroke="{GRID_MAJOR}" stroke-width="0.8" fill="none"/>'
            "</pattern>"
        )
    out.append(
        f'<clipPath id="plot"><rect x="{margin}" y="{top}" width="{plot_w}" height="{y_end - top + 80}"/></clipPath>'
        f'</defs><rect x="{margin}" y="{top}" width="{plot_w}" height="{y_end - top:.1f}" fill="{PAPER}"/>'
        '<g clip-path="url(#plot)">'
    )
    # Bands behind the leads (one tall rect per run: rows share the time axis).
    for a, b, cid in segs:
        alpha = TINT.get(style, 0.2)
        if hl is not None:
            alpha = max(0.42, alpha) if cid == hl else alpha * 0.3
        if alpha <= 0:
            continue
        x0, x1 = float(x_of(a / fs)), float(x_of(b / fs))
        y0, hgt = top, y_end - top
        if style == "lead" and (hl is None or cid != hl):
            y0, hgt = top + leads.index(chosen) * row_h, row_h
        out.append(
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{hgt:.1f}" '
            f'fill="{colors.get(cid, "#999999")}" fill-opacity="{alpha:.2f}"/>'
        )
    for r in range(len(leads)):
        out.append(
            f'<rect x="{margin}" y="{top + r * row_h:.1f}" width="{plot_w}" height="{row_h:.1f}" fill="url(#g{r})"/>'
        )
    # Traces, centred on each lead's median like the widget.
    i0, i1 = max(0, int(np.floor(v0 * fs))), min(n, int(np.ceil(v1 * fs)) + 1)
    t = np.arange(i0, i1) / fs
    for r, lead in enumerate(leads):
        v = sig[lead, i0:i1].astype(float)
        if len(v):
            y = top + (r + 0.5) * row_h - (v - float(np.median(sig[lead]))) * px_mv
            y = np.clip(y, top + r * row_h, top + (r + 1) * row_h)
            d = _path(*_decimate(x_of(t), y, plot_w))
            out.append(
                f'<path d="{d}" stroke="{TRACE}" stroke-width="1.1" fill="none" stroke-linejoin="round"/>'
            )
    out.append("</g>")
    cw = 5 * px_mm  # 1 mV calibration pulse in the margin
    cx = margin - cw - 10
    for r, lead in enumerate(leads):
        y = top + r * row_h
        label = _esc(names[lead] if lead < len(names) else lead)
        out.append(_text(margin + 4, y + 14, label, 12, INK, ' font-weight="bold"'))
        base = y + row_h / 2 + 0.5 * px_mv
        out.append(
            f'<path d="M{cx - 4:.1f} {base:.1f}H{cx:.1f}V{base - px_mv:.1f}H{cx + cw:.1f}V{base:.1f}H{cx + cw + 4:.1f}" '
            'stroke="#202020" stroke-width="1.2" fill="none"/>'
        )
    # Cluster strip with display numbers.
    for a, b, cid in segs:
        x0, x1 = max(margin, float(x_of(a / fs))), min(margin + plot_w, float(x_of(b / fs)))
        if x1 <= x0:
            continue
        op = 0.3 if hl is not None and cid != hl else 1.0
        out.append(
            f'<rect x="{x0:.1f}" y="{strip_y:.1f}" width="{x1 - x0:.1f}" height="{strip_h}" '
            f'fill="{colors.get(cid, "#999999")}" opacity="{op}"/>'
        )
        if x1 - x0 > 12:
            out.append(
                _text(x0 + 3, strip_y + 13, num.get(cid, cid), 10, "#ffffff", ' font-weight="bold"')
            )
    # Uncertainty ribbon: as in the widget, the percentile among the dataset's entropies
    # when it is known.
    out.append(
        f'<rect x="{margin}" y="{rib_y:.1f}" width="{plot_w}" height="{rib_h}" fill="#f2f2f2"/>'
    )
    quant = np.asarray(rec.get("entropy_quantiles") or [], dtype=float)
    if len(ent) == n and i1 > i0:
        e = ent[i0:i1].astype(float)
        e = percentile_ranks(e, quant) if quant.size > 1 else np.clip(e, 0, 1)
        xs, ys = _decimate(x_of(t), rib_y + rib_h - e * (rib_h - 2), plot_w)
        d = _path(np.r_[xs[0], xs, xs[-1]], np.r_[rib_y + rib_h, ys, rib_y + rib_h])
        out.append(f'<path d="{d}Z" fill="rgba(179,89,0,0.25)" stroke="#b35900" stroke-width="1"/>')
    out.append(_text(2, rib_y + 12, "uncertainty"))
    if quant.size > 1:
        out.append(_text(2, rib_y + 24, "percentile"))
    out.append(_text(2, strip_y + 13, "clusters"))
    # Time axis.
    span = v1 - v0
    unit = 10 ** np.floor(np.log10(span / 10))
    step = next(m * unit for m in (1, 2, 5, 10) if m * unit >= span / 10)
    out.append(f'<path d="M{margin} {axis_y:.1f}H{margin + plot_w}" stroke="{MUTED}"/>')
    for k in range(int(np.ceil(v0 / step - 1e-9)), int(np.floor(v1 / step + 1e-9)) + 1):
        x = float(x_of(k * step))
        out.append(f'<path d="M{x:.1f} {axis_y:.1f}v4" stroke="{MUTED}"/>')
        out.append(_text(min(x + 2, width - 30), axis_y + 14, f"{float(k * step):g} s", 10, INK))
    out.append(_text(2, axis_y + 10, "25 mm/s", 9) + _text(2, axis_y + 20, f"{gain:g} mm/mV", 9))
    # Legend: display number, name and share of this ECG.
    col_w = (width - margin) / 4
    for j, cid in enumerate(order):
        x, y = margin + (j % 4) * col_w, legend_y + 18 * (j // 4)
        share = float(np.mean(ids == cid)) if len(ids) else 0.0
        weight = f' font-weight="{"bold" if cid == hl else "normal"}"'
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{colors[cid]}"/>')
        out.append(
            _text(x + 16, y + 10, f"{_esc(name(cid))} ({100 * share:.0f}%)", 11, INK, weight)
        )
    out.append("</svg>")
    return "".join(out)


def static_html(w: Any) -> str:
    """Self-contained HTML (inline SVG + caption) of the widget's current view.

    This is the ``text/html`` entry of the widget's output (see
    ``ClusterExplorer._repr_mimebundle_``): no script, no external file.

    Parameters
    ----------
    w : ClusterExplorer
        The widget; only its traits are read.

    Returns
    -------
    str
        A ``<div class="ecw-static">`` holding the SVG and a caption.

    Examples
    --------
    >>> from IPython.display import HTML  # doctest: +SKIP
    >>> HTML(static_html(w))  # doctest: +SKIP
    """
    rec = dict(w.record or {})
    bits = [
        f"ECG {rec.get('index', '')}",
        f"record {_esc(rec.get('record_id', ''))}",
        f"K={int(w.n_clusters)}",
    ]
    pred = rec.get("prediction") or {}
    if pred:
        top = sorted(pred.items(), key=lambda kv: -kv[1])[:3]
        bits.append("model: " + ", ".join(f"{_esc(k)} {100 * v:.0f}%" for k, v in top))
    if rec.get("mean_entropy") is not None:
        bits.append(f"mean uncertainty {float(rec['mean_entropy']):.3f}")
    caption = " · ".join(bits)
    return (
        '<div class="ecw-static" style="max-width:1000px;font-family:sans-serif;color:#202020">'
        f"{render_svg(w)}"
        f'<div style="font-size:12px;margin-top:2px">{caption}</div>'
        '<div style="font-size:11px;color:#606060">ClusterExplorer: static picture of the view when '
        "the cell ran. Run the notebook for the interactive widget.</div></div>"
    )
