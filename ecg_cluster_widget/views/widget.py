"""``ClusterExplorer``: the anywidget front end of a fitted :class:`TLCExplainer`.

The widget holds traits and their handlers; what it shows is computed by ``explain``
(cluster cards, rankings, per-record context, selection summary). Arrays travel as
binary array traits (``views/traits.py``). Recomputation (another ECG, Grad-CAM, K set
from Python) is requested through the ``request`` trait and runs in one worker thread,
never on the comm thread; each request carries an id, results of requests that were
overtaken are dropped, and the browser ignores responses older than its latest request.
The browser's K changes run in a thread of their own with progress and cancel
(``views/k_jobs.py``), so the ECG shown stays usable meanwhile.

Every synced trait is validated, for values set in Python and values sent by the
browser: a refused value raises :class:`~ecg_cluster_widget.errors.TraitValueError`
(a ``TraitError``, so traitlets rolls a held change back), the previous value stays, the
browser is sent the kernel's value again, and ``message`` tells the user why.
"""

from __future__ import annotations

import html as _html
import os
import pathlib
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anywidget
import traitlets as t

from .. import labels as _labels
from ..data.conform import match_rate
from ..data.dataset import ECGDataset
from ..errors import DataError, ECGClusterError, ModelError
from ..explain import context as _ctx
from ..explain.browse import Browser, RecordView
from ..explain.options import describe_options
from ..explain.ranking import RANKS
from . import traits as _tr
from .k_jobs import KJobs
from .protocol import RequestProtocol
from .static_view import render_svg, static_html
from .validation import ValidatedState

STATIC = pathlib.Path(__file__).parent / "static"
__all__ = ["ClusterExplorer", "RANKS"]


class ClusterExplorer(ValidatedState, RequestProtocol, KJobs, anywidget.AnyWidget):
    """Interactive time-localized-cluster explorer for one dataset.

    Parameters
    ----------
    tlc : TLCExplainer, optional
        A fitted (or unfitted: it is fitted on ``dataset``) explainer. The widget never
        changes its K: it asks for the explanation at the K shown.
    dataset : ECGDataset
        The ECGs to browse.
    model : ModelBundle or torch.nn.Module, optional
        Needed when ``tlc`` is not given (an explainer is then fitted with progress);
        a bundle also enables predictions, Grad-CAM and picking by predicted class.
        Defaults to ``tlc.model``.
    n_clusters : int
        K when the explainer is created here.
    index : int
        ECG shown first.
    k_range : (int, int)
        Range of the K slider.
    labels_path : str, optional
        Autosave file for expert labels (loaded now when it exists). A failed save is
        shown in the widget and warned about; the labels stay in memory and the save is
        retried on the next change.
    n_examples : int
        Nearest real examples shown per cluster.
    progress : bool
        tqdm progress while fitting.
    static_fallback : bool
        Add a static picture of the view (``text/html`` with an inline SVG) to the
        output next to the live widget, for nbconvert, GitHub and nbviewer.

    Examples
    --------
    >>> from ecg_cluster_widget import ClusterExplorer
    >>> w = ClusterExplorer(dataset=ds, model=bundle, n_clusters=6)
    >>> w                      # displays the widget in Jupyter  # doctest: +SKIP
    >>> w.show(rank="uncertain"); w.set_k(8)  # doctest: +SKIP
    >>> w.selection, w.selection_summary  # doctest: +SKIP
    >>> w.save_labels("labels.json"); w.export_segments("segments.csv")  # doctest: +SKIP
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    # -- view state (browser <-> Python) ---------------------------------------
    index = t.Int(0).tag(sync=True)
    n_clusters = t.Int(6).tag(sync=True)
    k_min = t.Int(2).tag(sync=True)
    k_max = t.Int(12).tag(sync=True)
    n_records = t.Int(0).tag(sync=True)
    class_names = t.List(t.Unicode()).tag(sync=True)
    # Not "layout": that name is the ipywidgets Layout trait of every DOMWidget.
    ecg_layout = t.Enum(["12x1", "6x2", "3x4"], "12x1").tag(sync=True)
    leads = t.List(t.Int()).tag(sync=True)
    show_gradcam = t.Bool(False).tag(sync=True)
    #: How clusters are drawn on the leads: tints behind every lead ("light" / "strong"),
    #: behind the prototype lead only ("lead"), or only in the strip ("strip").
    band_style = t.Enum(["light", "strong", "lead", "strip"], "light").tag(sync=True)
    #: Amplitude scale in mm/mV (5, 10, 20) and paper speed in mm/s (25, 50).
    gain = t.Enum([5, 10, 20], 10).tag(sync=True)
    paper_speed = t.Enum([25, 50], 25).tag(sync=True)
    #: Text size factor and presentation mode (side panel hidden, text at least x1.5).
    font_scale = t.Float(1.0).tag(sync=True)
    presentation = t.Bool(False).tag(sync=True)
    #: 12x1: shrink the rows so the whole ECG (strip, ribbon, axis) fits the window.
    fit_height = t.Bool(True).tag(sync=True)
    #: Why Grad-CAM cannot be drawn ("" when it can): the widget disables its controls
    #: and shows this instead of drawing nothing.
    gradcam_unavailable = t.Unicode("").tag(sync=True)
    gradcam_class = t.Unicode("").tag(sync=True)
    gradcam_label = t.Unicode("").tag(sync=True)
    #: Where the clusters' configuration came from (the model's recommendation, or the
    #: preset it fell back to) and what it is, in words: shown in the header.
    fit_options = t.Unicode("").tag(sync=True)
    selection = t.Dict().tag(sync=True)
    selection_summary = t.Dict().tag(sync=False)
    view_range = t.List(t.Float()).tag(sync=True)
    highlight_cluster = t.Int(-1).tag(sync=True)
    cluster_labels = t.Dict().tag(sync=True)
    label_vocab = t.List(t.Unicode(), list(_labels.LABEL_VOCAB)).tag(sync=True)
    labels_path = t.Unicode("").tag(sync=True)
    #: What happened to the last labels file read (re-map report), shown in the widget.
    labels_report = t.Unicode("").tag(sync=True)
    #: A refused value or a failed autosave, shown in the widget's message area.
    message = t.Unicode("").tag(sync=True)
    # -- data of the current response (binary arrays with their shape) --------
    record = t.Dict().tag(sync=True)
    signal = _tr.Array("float32", ndim=2).tag(sync=True)
    seg_ids = _tr.Array("int16", ndim=1).tag(sync=True)
    entropy = _tr.Array("float32", ndim=1).tag(sync=True)
    gradcam = _tr.Array("float32", ndim=1).tag(sync=True)
    clusters = t.List(t.Dict()).tag(sync=True)
    prototypes = _tr.Array("float32", ndim=4).tag(sync=True)  # (K, 3, n_leads, width)
    example_snips = _tr.Array("float32", ndim=4).tag(sync=True)  # (K, n_examples, ...)

    def __init__(
        self,
        tlc: Any = None,
        dataset: ECGDataset | None = None,
        *,
        model: Any = None,
        n_clusters: int = 6,
        index: int = 0,
        k_range: tuple[int, int] = (2, 12),
        labels_path: str | os.PathLike | None = None,
        n_examples: int = 3,
        progress: bool = True,
        static_fallback: bool = True,
        **kwargs: Any,
    ) -> None:
        from ..explain import TLCExplainer

        if not isinstance(dataset, ECGDataset):
            raise DataError(
                "ClusterExplorer needs dataset=ECGDataset(...); got "
                f"{type(dataset).__name__}. Example: ClusterExplorer(tlc, ds)."
            )
        k_lo, k_hi = (int(k) for k in k_range)
        if not 2 <= k_lo <= k_hi:
            raise DataError(f"k_range must be (low, high) with 2 <= low <= high, got {k_range}.")
        if tlc is None:
            if model is None:
                raise ModelError(
                    "give a fitted TLCExplainer or model=<ModelBundle or torch module>."
                )
            tlc = TLCExplainer(model, n_clusters=n_clusters, progress=progress)
        if not isinstance(tlc, TLCExplainer):
            raise ModelError(f"tlc must be a TLCExplainer, got {type(tlc).__name__}.")
        # A recording at another rate is resampled with a one-line note, not refused.
        dataset = match_rate(dataset, tlc.fs_ if tlc.is_fitted else getattr(tlc.model, "fs", None))
        if not tlc.is_fitted:
            tlc.fit(dataset)
        self.tlc = tlc
        self.dataset = dataset
        self.model = model if model is not None else tlc.model
        self.bundle = self.model if _ctx.multilabel_bundle(self.model) else None
        self.n_examples = int(n_examples)
        self.static_fallback = bool(static_fallback)
        self.browser = Browser(tlc, dataset, self.model, self.n_examples)
        self.fit = self.browser.fit
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecw-worker")
        self._lock = threading.Lock()
        self._sync_lock = threading.RLock()
        self._labels_ok: dict = {}  # the last accepted labels (validators see the proposal)
        self._unsaved = False
        super().__init__(**kwargs)
        k0 = self.fit.current_k()
        # Never offer a K the fit cannot give without near-empty clusters (max_clusters_).
        k_top = int(getattr(tlc, "max_clusters_", k_hi))
        with self.hold_trait_notifications():
            self.k_min, self.k_max = min(k_lo, k0), max(min(k_hi, k_top), k0)
        self.n_records = len(dataset)
        self.fit_options = describe_options(tlc.options_, tlc.layers_)
        if self.bundle is None:
            self.gradcam_unavailable = (
                "Grad-CAM needs a model bundle (a ModelBundle with class names and "
                f"prepare); this widget has a bare {type(self.model).__name__}. Pass "
                "model=<ModelBundle> to ClusterExplorer to enable it."
            )
        self.class_names = list(_ctx.class_names(self.model, dataset))
        if labels_path:
            p = pathlib.Path(labels_path)
            if p.exists():
                self.load_labels(p)
            self.labels_path = str(p)
        # The first view is computed synchronously so a displayed widget is never empty.
        req = {"id": 1, "k": k0, "index": int(index), "gradcam_class": ""}
        self._latest = 1
        self._publish(req, self._compute(req))
        self.on_msg(self._on_custom_msg)
        # While the first view is looked at, the finer cluster tree's posteriors are
        # computed (about 3 s at 1,000 ECGs): the first K above the fitted K is then
        # as quick as any other. No lock is held meanwhile; see TLCExplainer.prefetch.
        threading.Thread(target=self._prefetch, name="ecw-prefetch", daemon=True).start()

    def _prefetch(self) -> None:
        try:
            self.tlc.prefetch(self.fit.summary_ds)
        except Exception:  # noqa: BLE001 - a head start only: the request that needs
            pass  # these posteriors computes them itself and reports any error

    # ------------------------------------------------------------------ requests
    def _compute(self, req: dict) -> RecordView:
        return self.browser.view(req, self.n_clusters, self.index, (self.k_min, self.k_max))

    def _repr_mimebundle_(self, **kwargs: Any):
        """The live widget plus, unless ``static_fallback=False``, a static picture of the
        current view (``text/html``) for renderers without a widget manager: nbconvert,
        GitHub, nbviewer, a notebook reopened without its kernel and widget state."""
        out = super()._repr_mimebundle_(**kwargs)
        if out is None or not self.static_fallback:
            return out
        data, meta = out if isinstance(out, tuple) else (out, {})
        data = {**data, "text/html": self._static_page()}
        return (data, meta) if isinstance(out, tuple) else data

    def _static_page(self) -> str:
        try:
            return static_html(self)
        except Exception as exc:  # a picture must never break displaying the widget
            return f"<pre>ClusterExplorer (static view unavailable: {_html.escape(str(exc))})</pre>"

    def _ipython_display_(self, **kwargs: Any) -> None:
        """In a Jupyter kernel: the live widget, then (unless ``static_fallback=False``) the
        static picture as an output of its own.

        In one mime bundle the picture is lost whenever widget state is stored with the
        notebook (``nbconvert --execute``, *Save Widget State Automatically*): renderers
        then prefer the widget view, which needs a widget manager from a CDN and stays
        empty offline. As its own output it is always drawn; where the live view renders,
        the widget's CSS hides the picture next to it, so the view is not shown twice.
        """
        from IPython.display import display

        out = super()._repr_mimebundle_(**kwargs)
        if out is None:
            return
        data, meta = out if isinstance(out, tuple) else (out, {})
        display(data, metadata=meta, raw=True)
        if self.static_fallback:
            display({"text/html": self._static_page(), "text/plain": repr(self)}, raw=True)

    def static_svg(self) -> str:
        """SVG of the current view (leads, bands, strip, uncertainty, legend).

        Examples
        --------
        >>> pathlib.Path("view.svg").write_text(w.static_svg())  # doctest: +SKIP
        """
        return render_svg(self)

    # ------------------------------------------------------------------ public API
    def show(
        self,
        index: int | None = None,
        *,
        record_id: str | None = None,
        class_name: str | None = None,
        rank: str | None = None,
        k: int | None = None,
        gradcam_class: str | None = None,
        wait: bool = True,
    ) -> ClusterExplorer:
        """Show another ECG (by index, record id, next of a class, or ranking) and/or K.

        Examples
        --------
        >>> w.show(rank="uncertain")  # doctest: +SKIP
        >>> w.show(record_id="00017", k=8)  # doctest: +SKIP
        """
        self._submit(
            index=index,
            record_id=record_id,
            k=k,
            gradcam_class=gradcam_class,
            **({"class": class_name} if class_name else {}),
            **({"rank": rank, "rank_step": 1} if rank else {}),
        )
        return self.wait() if wait else self

    def set_k(self, k: int, wait: bool = True) -> ClusterExplorer:
        """Change the number of clusters (ids and colours stay stable); the same route as
        the browser's slider (a request, validated once in the worker)."""
        return self.show(k=k, wait=wait)

    @property
    def explanation(self):
        """The :class:`ECGExplanation` currently shown."""
        return self._expl

    # ------------------------------------------------------------------ selection
    @t.observe("selection")
    def _on_selection(self, _change: dict) -> None:
        self._update_selection_summary()

    def _update_selection_summary(self) -> None:
        sel, expl = self.selection, self._expl
        if not sel or expl is None:
            self.selection_summary = {}
            return
        s = _ctx.selection_summary(expl, sel["start"], sel["end"], self._cam_now, self._labels_ok)
        pred = self.record.get("prediction")
        self.selection_summary = {
            **sel,
            **s,
            "prediction": pred,
            "gradcam_class": self.gradcam_label,
        }

    # ------------------------------------------------------------------ labels
    @t.observe("cluster_labels")
    def _autosave(self, change: dict) -> None:
        self._labels_ok = dict(change["new"])
        if self.labels_path:
            self._try_save()

    def _try_save(self) -> None:
        try:
            self.save_labels(self.labels_path)
        except (OSError, ECGClusterError) as exc:
            self._unsaved = True
            self._message_kind = "unsaved"
            self.message = (
                f"⚠ labels NOT saved to {self.labels_path}: {exc}. They are kept in memory and "
                "saved on the next change; or call w.save_labels(<another path>)."
            )
            warnings.warn(self.message, RuntimeWarning, stacklevel=2)
            return
        if self._unsaved and self._message_kind == "unsaved":
            self.message = f"labels saved to {self.labels_path}"
            self._message_kind = "saved"
        self._unsaved = False

    def _k_now(self) -> int:
        return int(self.n_clusters) if self._expl is not None else self.fit.current_k()

    def save_labels(self, path: str | os.PathLike) -> pathlib.Path:
        """Write the expert labels atomically as versioned JSON, with the identity and the
        cluster signatures of the fit at the K shown (so a later load can re-map them).

        ``labels`` holds only what the expert accepted or typed; the names the view
        proposed are kept apart, in ``meta["proposed_names"]``."""
        k = self._k_now()
        meta = {
            "n_clusters": k,
            "cluster_ids": self.record.get("cluster_ids", []),
            "n_records": len(self.dataset),
            "source": str(self.dataset.meta.get("source", "")),
            # What the view proposed, apart from the labels: a name is the expert's only
            # once it is accepted or typed (then it is in ``labels``).
            "proposed_names": {
                str(c["id"]): c["proposed_name"] for c in self.clusters if c.get("proposed_name")
            },
        }
        return _labels.save_labels(path, self.cluster_labels, meta, tlc=self.tlc, n_clusters=k)

    def load_labels(self, path: str | os.PathLike) -> dict:
        """Replace the labels by those in ``path``, checked against the fit at the K shown
        and re-mapped to its cluster ids by signature when they came from another fit of
        the same model and data; the report is in ``w.labels_report`` (shown in the
        widget). A corrupt file raises :class:`FileFormatError`, one of another model or
        dataset :class:`~ecg_cluster_widget.errors.LabelsMismatchError`; both leave the
        current labels untouched."""
        labs, report = _labels.attach_labels(path, self.tlc, n_clusters=self._k_now())
        self._labels_ok = {**self._labels_ok, **labs}  # ids a checked file names are known
        self.cluster_labels = labs
        self.labels_report = f"labels from {pathlib.Path(path).name}: {report.summary()}"
        return labs

    # ------------------------------------------------------------------ export
    def export_segments(self, path: str | os.PathLike, indices: Any = None) -> pathlib.Path:
        """Segments with their expert labels as CSV (formula-escaped) or JSON (by suffix).

        ``indices``: ``None`` for the ECG shown, a list of record indices, or ``"all"``.
        """
        if indices is None:
            rows = _labels.labelled_rows(self._expl, self.cluster_labels)
        else:
            idx = range(len(self.dataset)) if indices == "all" else [int(i) for i in indices]
            rows = []
            for i in idx:
                expl = self.fit.explain(i, self.n_clusters)
                rows += _labels.labelled_rows(expl, self.cluster_labels)
        return _labels.write_segments(path, rows)

    def export_wfdb_annotations(
        self, record_name: str, folder: str | os.PathLike, extension: str = "tlc"
    ) -> pathlib.Path:
        """Segments of the ECG shown as WFDB annotations ``<folder>/<record_name>.<extension>``."""
        return _labels.write_wfdb_annotations(
            record_name, folder, self._expl, self.cluster_labels, extension
        )

    def to_html(self, path: str | os.PathLike, title: str = "ECG cluster explorer") -> pathlib.Path:
        """Standalone, offline HTML of the current view (JS and CSS inlined, no CDN).

        Brushing, zoom, highlighting and the help overlay work in the file; changing K or
        the ECG needs the kernel. No label can break the page (see ``report.script_json``).
        """
        from .report import widget_page

        return widget_page(self, path, title)

    def __repr__(self) -> str:
        return (
            f"ClusterExplorer(n_records={self.n_records}, n_clusters={self.n_clusters}, "
            f"index={self.index}, record_id={self.record.get('record_id')!r})"
        )

    def close(self) -> None:
        """Close the comm and stop the worker thread."""
        if self._pool is not None:  # None when __init__ failed before creating it
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._k_close()
        super().close()
