"""Standalone HTML reports (Bokeh, resources inlined so they open offline).

``make_report`` turns a fitted :class:`~ecg_cluster_widget.explain.TLCExplainer`
and a dataset into one self-contained HTML file: a cluster summary, prototype
waveforms, cluster proportions by class, optional faithfulness metrics, a
landmark contingency heat map when wave annotations exist, and a few ECGs with
their cluster bands, entropy ribbon and (given a model bundle) Grad-CAM.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import Div
from bokeh.resources import INLINE

from ..data.dataset import WAVE_NAMES, ECGDataset
from ..data.io_utils import atomic_write_text, to_jsonable
from ..errors import DataError, NotFittedError
from ..explain.options import describe_options
from . import dataset_figures, figures
from .tables import cluster_table, faithfulness_table


def write_html(layout, path: str | os.PathLike, title: str) -> Path:
    """Write a Bokeh layout as standalone HTML with inlined JS/CSS (no CDN), atomically.

    Parameters
    ----------
    layout : bokeh model
        A figure, ``Div`` or layout (``column`` / ``row``).
    path : str or os.PathLike
        Destination ``.html`` file.
    title : str
        Page title.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_html(Div(text="hi"), pathlib.Path(tempfile.mkdtemp()) / "r.html", "t")
    >>> "cdn.bokeh.org" in p.read_text()
    False
    """
    page = file_html(layout, INLINE, title=title)
    return atomic_write_text(path, page)


_SCRIPT_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def script_json(obj: Any, **kwargs: Any) -> str:
    """JSON text that is safe to paste inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` (and the JavaScript line separators U+2028/U+2029) become
    ``\\uXXXX`` escapes, which mean the same to JSON and JavaScript but cannot form
    ``</script>``, ``<!--`` or ``<script`` in the page. Without this, a cluster label
    such as ``<!--<script>`` switches the HTML parser into its "script data escaped"
    state, the closing ``</script>`` is swallowed and the whole page stays blank.

    Parameters
    ----------
    obj : object
        JSON-serialisable data.
    **kwargs
        Passed to :func:`json.dumps`.

    Returns
    -------
    str

    Examples
    --------
    >>> print(script_json({"name": "<!--<script>"}))
    {"name": "\\u003c!--\\u003cscript\\u003e"}
    >>> json.loads(script_json({"name": "<!--<script>"}))["name"]
    '<!--<script>'
    """
    return json.dumps(obj, **kwargs).translate(_SCRIPT_ESCAPES)


def widget_page(widget: Any, path: str | os.PathLike, title: str) -> Path:
    """Write a ``ClusterExplorer``'s current view as one offline HTML page.

    The widget's state (array traits as base64) and its JS bundle are embedded with
    :func:`script_json`, the CSS inline; the page's own tiny model replays the state.

    Parameters
    ----------
    widget : ClusterExplorer
    path : str or os.PathLike
        Destination ``.html`` file (written atomically).
    title : str
        Page title.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> widget_page(w, "view.html", "ECG cluster explorer")
    PosixPath('view.html')
    """
    from .traits import b64_buffer

    static = Path(__file__).parent / "static"
    state = {
        k: v
        for k, v in to_jsonable(widget.get_state(), default=b64_buffer).items()
        if not k.startswith("_") and k not in ("layout", "tabbable", "tooltip")
    }
    state["message"] = ""  # a note about the running kernel (a refused value) means nothing here
    js = (static / "widget.js").read_text(encoding="utf-8")
    css = (static / "widget.css").read_text(encoding="utf-8")
    # Placeholders in {braces}; literal braces of the page's JS/CSS are doubled.
    template = (static / "standalone.html").read_text(encoding="utf-8")
    page = template.format(
        title=html.escape(str(title)), css=css, state=script_json(state), js=script_json(js)
    )
    return atomic_write_text(path, page)


def _find_contingency(evaluation: Mapping | None) -> np.ndarray | None:
    """Look for a ``contingency`` table anywhere in a (nested) evaluation dict."""
    if not isinstance(evaluation, Mapping):
        return None
    for key, value in evaluation.items():
        found = np.asarray(value) if key == "contingency" else _find_contingency(value)
        if found is not None and found.ndim == 2:
            return found
    return None


def _landmark_contingency(labels: np.ndarray, ds: ECGDataset, n_clusters: int) -> np.ndarray | None:
    masks = ds.wave_mask_for_lead("II") if "II" in ds.lead_names else ds.wave_mask_for_lead(0)
    if masks is None:
        return None
    from ..explain.landmarks import landmark_alignment

    return np.asarray(landmark_alignment(labels, masks, n_clusters)["contingency"])


def make_report(
    tlc,
    dataset: ECGDataset,
    path: str | os.PathLike,
    indices: Sequence[int] | None = None,
    bundle=None,
    evaluation: Mapping | None = None,
    title: str = "Time-localized cluster report",
    *,
    layout: str = "12x1",
    prototype_lead: str = "II",
) -> Path:
    """Write a standalone HTML report of a fitted TLC explainer on a dataset.

    Parameters
    ----------
    tlc : TLCExplainer
        A fitted explainer.
    dataset : ECGDataset
        Records to summarise (compatible with the explainer's model).
    path : path-like
        Output ``.html`` file (written atomically; parent folders are created).
    indices : sequence of int, optional
        Records to draw in full; default the first three.
    bundle : ModelBundle, optional
        When given, each drawn ECG also shows the model's predicted classes and a
        Grad-CAM curve for the top class.
    evaluation : mapping, optional
        Metrics (e.g. from ``explain.evaluate.evaluate``) shown as a table; a nested
        ``contingency`` entry is drawn as the landmark heat map.
    title : str
        Page title and heading.
    layout : {"12x1", "3x4"}
        Lead arrangement of the drawn ECGs.
    prototype_lead : str
        Lead used for the prototype waveforms.

    Returns
    -------
    pathlib.Path
        The written file.

    Examples
    --------
    >>> from ecg_cluster_widget.demo import demo_explainer
    >>> tlc, ds, bundle = demo_explainer()                          # doctest: +SKIP
    >>> make_report(tlc, ds, "report.html", bundle=bundle)
    PosixPath('report.html')
    """
    if getattr(tlc, "cluster_ids_", None) is None:
        raise NotFittedError(
            "the explainer is not fitted; call tlc.fit(dataset) before make_report."
        )
    n = len(dataset)
    indices = list(range(min(3, n))) if indices is None else [int(i) for i in indices]
    bad = [i for i in indices if not -n <= i < n]
    if bad:
        raise DataError(f"record indices {bad} are out of range for a dataset of {n} records.")
    intro = (
        f"<h1>{html.escape(title)}</h1><p>{html.escape(repr(dataset))}; K = {tlc.n_clusters} "
        "clusters, numbered 1..K as in the widget (colours follow each cluster across K); the "
        "grey ribbon is the normalised assignment entropy (0 = certain, 1 = evenly split "
        "between all clusters).</p>"
    )
    if getattr(tlc, "options_", None) is not None:
        # Which configuration the clusters come from: the model's own or a fallback preset.
        intro += f"<p>Clusters from {html.escape(describe_options(tlc.options_, tlc.layers_))}.</p>"
    if hasattr(bundle, "preprocessing_description"):
        intro += (
            f"<p>Model: {html.escape(repr(bundle))}. Every record is fed to it as: "
            f"{html.escape(bundle.preprocessing_description)}.</p>"
        )
    parts: list = [Div(text=intro, width=900)]

    ids = [int(c) for c in tlc.cluster_ids_]
    infos = tlc.cluster_summary(dataset)
    parts.append(cluster_table(infos, dataset.class_names))
    lead_idx = dataset.lead_index(prototype_lead) if prototype_lead in dataset.lead_names else 0
    lead_name = dataset.lead_names[lead_idx]
    parts.append(
        Div(
            text="<h3>Prototype waveforms</h3><p>Median (line) and interquartile band "
            f"of the lead {html.escape(lead_name)} snippets each cluster covers.</p>",
            width=900,
        )
    )
    quartiles = [
        np.stack([getattr(i, f"prototype_{q}") for i in infos]) for q in ("median", "q25", "q75")
    ]
    parts.append(
        figures.prototypes_figure(
            *quartiles,
            [i.cluster_id for i in infos],
            dataset.fs,
            offset_s=[float(i.prototype_offset_s) for i in infos],
            lead=lead_idx,
            lead_name=lead_name,
            shares=[i.share for i in infos],
            mean_entropy=[i.mean_entropy for i in infos],
        )
    )
    eset = tlc.explain_all(dataset)
    parts.append(
        dataset_figures.proportions_figure(
            eset.proportions, ids, dataset.labels, dataset.class_names
        )
    )
    hists = [np.asarray(i.entropy_hist) for i in infos]
    if hists and all(h.size for h in hists):
        parts.append(
            dataset_figures.entropy_hist_figure(np.stack(hists), [i.cluster_id for i in infos])
        )
    if evaluation:
        parts.append(faithfulness_table(evaluation))
    cont = _find_contingency(evaluation)
    if cont is None:
        cont = _landmark_contingency(np.asarray(eset.labels), dataset, len(ids))
    if cont is not None and cont.shape[0] == len(ids) and cont.shape[1] == len(WAVE_NAMES):
        parts.append(dataset_figures.contingency_figure(cont, ids))

    from ..explain.context import multilabel_bundle, record_context
    from ..explain.gradcam import GradCAM

    # One Grad-CAM for every record, so the report can name the layer its maps come from.
    cam_engine = GradCAM(bundle) if multilabel_bundle(bundle) else None

    def gradcam(i: int, cls: int) -> np.ndarray:
        return cam_engine.attribute(dataset.subset([i]), target=cls)[0]

    for i in indices:
        expl = tlc.explain(dataset, i)
        heading = f"Record {html.escape(str(expl.record_id))} (index {i})"
        cam = None
        if bundle is not None:
            # The same per-record context as the widget's info line (explain/context.py).
            ctx = record_context(bundle, dataset, i % n, gradcam=gradcam if cam_engine else None)
            cam = ctx.gradcam
            if ctx.prediction is not None:
                pred = ", ".join(f"{c} {p:.2f}" for c, p in ctx.top(3))
                heading += f" - model: {html.escape(pred)}"
            if ctx.true_classes is not None:
                heading += f"; labels: {html.escape(', '.join(ctx.true_classes) or 'none')}"
        heading += f"; mean entropy {expl.mean_entropy:.3f}"
        parts.append(Div(text=f"<h3>{heading}</h3>", width=900))
        parts.append(
            figures.ecg_figure(
                dataset.signals[i],
                dataset.fs,
                expl.labels,
                expl.cluster_ids,
                expl.entropy,
                lead_names=dataset.lead_names,
                layout=layout,
                gradcam=cam,
            )
        )
    if cam_engine is not None and indices:
        # Known once the first map is drawn (a model that does not name its blocks).
        parts.insert(1, Div(text=f"<p>{html.escape(cam_engine.describe())}.</p>", width=900))
    return write_html(column(*parts), path, title)
