"""``ClusterExplorer``: the anywidget front end of a fitted :class:`TLCExplainer`.

The widget is a thin layer: traits that the browser draws, and handlers that call
the engine. Arrays travel as binary traits (float32 / int16 bytes). Recomputation
(K change, another ECG, Grad-CAM) is requested through the ``request`` trait and
runs in one worker thread, never on the comm thread; each request carries an id,
results of requests that were overtaken are dropped, and the browser ignores
responses older than its latest request.
"""

from __future__ import annotations

import base64
import html as _html
import json
import os
import pathlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from ..data.dataset import ECGDataset
from ..errors import DataError, ECGClusterError, ModelError
from . import labels as _labels

STATIC = pathlib.Path(__file__).parent / "static"
#: Ranking keys accepted by ``request["rank"]`` / :meth:`ClusterExplorer.show`.
RANKS = ("uncertain", "atypical")


def _f32(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float32).tobytes()


class ClusterExplorer(anywidget.AnyWidget):
    """Interactive time-localized-cluster explorer for one dataset.

    Parameters
    ----------
    tlc : TLCExplainer, optional
        A fitted (or unfitted: it is fitted on ``dataset``) explainer.
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
        Autosave file for expert labels (loaded now when it exists).
    n_examples : int
        Nearest real examples shown per cluster.
    progress : bool
        tqdm progress while fitting.
    static_fallback : bool
        Add a static picture of the view (``text/html`` with an inline SVG) to the
        output next to the live widget, for nbconvert, GitHub and nbviewer.

    Examples
    --------
    >>> from ecg_cluster_widget import ClusterExplorer  # doctest: +SKIP
    >>> w = ClusterExplorer(dataset=ds, model=bundle, n_clusters=6)  # doctest: +SKIP
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
    gradcam_class = t.Unicode("").tag(sync=True)
    gradcam_label = t.Unicode("").tag(sync=True)
    selection = t.Dict().tag(sync=True)
    selection_summary = t.Dict().tag(sync=False)
    view_range = t.List(t.Float()).tag(sync=True)
    highlight_cluster = t.Int(-1).tag(sync=True)
    cluster_labels = t.Dict().tag(sync=True)
    label_vocab = t.List(t.Unicode(), list(_labels.LABEL_VOCAB)).tag(sync=True)
    labels_path = t.Unicode("").tag(sync=True)
    # -- request / response protocol -------------------------------------------
    request = t.Dict().tag(sync=True)
    response_id = t.Int(0).tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    # -- data of the current response (binary) ---------------------------------
    record = t.Dict().tag(sync=True)
    signal = t.Bytes(b"").tag(sync=True)
    seg_ids = t.Bytes(b"").tag(sync=True)
    entropy = t.Bytes(b"").tag(sync=True)
    gradcam = t.Bytes(b"").tag(sync=True)
    clusters = t.List(t.Dict()).tag(sync=True)
    prototypes = t.Bytes(b"").tag(sync=True)
    proto_shape = t.List(t.Int()).tag(sync=True)
    example_snips = t.Bytes(b"").tag(sync=True)
    example_shape = t.List(t.Int()).tag(sync=True)

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
        if not tlc.is_fitted:
            tlc.fit(dataset)
        self.tlc = tlc
        self.dataset = dataset
        self.model = model if model is not None else tlc.model
        self.bundle = self.model if hasattr(self.model, "predict_proba") else None
        self.n_examples = int(n_examples)
        self.static_fallback = bool(static_fallback)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecw-worker")
        self._lock = threading.Lock()
        self._latest = 0
        self._last_future: Future | None = None
        self._publishing = False
        self._summaries: dict[int, dict] = {}
        self._rankings: dict[tuple[int, str], np.ndarray] = {}
        self._rank_pos: dict[str, int] = {}
        self._cams: dict[tuple[int, int], np.ndarray] = {}
        self._gradcam_engine = None
        self._expl = None
        self._cam_now: np.ndarray | None = None
        self._proba_all: np.ndarray | None = None
        self.dropped_requests = 0
        super().__init__(**kwargs)
        self.k_min, self.k_max = k_lo, max(k_hi, tlc.n_clusters)
        self.n_records = len(dataset)
        self.class_names = list(self._class_names())
        if labels_path:
            p = pathlib.Path(labels_path)
            if p.exists():
                self.cluster_labels = _labels.load_labels(p)
            self.labels_path = str(p)
        # The first view is computed synchronously so a displayed widget is never empty.
        req = {"id": 1, "k": int(tlc.n_clusters), "index": int(index), "gradcam_class": ""}
        self._latest = 1
        self._publish(req, self._compute(req))
        self.on_msg(self._on_custom_msg)

    # ------------------------------------------------------------------ engine access
    def _class_names(self) -> tuple[str, ...]:
        if self.bundle is not None and getattr(self.bundle, "task", "multilabel") == "multilabel":
            return tuple(self.bundle.class_names)
        return tuple(self.dataset.class_names or ())

    def _proba(self, i: int) -> np.ndarray | None:
        if self.bundle is None or getattr(self.bundle, "task", "multilabel") != "multilabel":
            return None
        if self._proba_all is not None:
            return self._proba_all[i]
        return np.asarray(self.bundle.predict_proba(self.dataset.subset([i])))[0]

    def _gradcam(self, i: int, cls: int) -> np.ndarray | None:
        if self.bundle is None or getattr(self.bundle, "task", "multilabel") != "multilabel":
            return None
        key = (i, cls)
        if key not in self._cams:
            from ..explain.gradcam import GradCAM

            if self._gradcam_engine is None:
                self._gradcam_engine = GradCAM(self.bundle)
            cam = self._gradcam_engine.attribute(self.dataset.subset([i]), target=cls)[0]
            if len(self._cams) > 64:
                self._cams.pop(next(iter(self._cams)))
            self._cams[key] = np.asarray(cam, dtype=np.float32)
        return self._cams[key]

    def _summary(self, k: int) -> dict:
        """Cluster panel data for K (cached: switching back to a K is instant)."""
        if k in self._summaries:
            return self._summaries[k]
        from ..explain.prototypes import extract_snippets

        infos = self.tlc.cluster_summary(self.dataset, n_examples=self.n_examples)
        ds = self.dataset
        fs = float(ds.fs)
        clusters, protos, snips = [], [], []
        width = infos[0].prototype_median.shape[1] if infos else 1
        for c in infos:
            ex = list(c.examples)[: self.n_examples]
            clusters.append(
                {
                    "id": int(c.cluster_id),
                    "position": int(c.position),
                    "share": float(c.share),
                    "mean_entropy": float(np.nan_to_num(c.mean_entropy)),
                    "entropy_hist": [float(v) for v in np.nan_to_num(c.entropy_hist)],
                    "class_mix": None
                    if c.class_mix is None
                    else {k2: float(v) for k2, v in c.class_mix.items()},
                    "examples": [
                        {
                            "record_index": int(r),
                            "record_id": ds.record_ids[int(r)],
                            "start": int(s),
                            "end": int(e),
                            "start_s": s / fs,
                        }
                        for r, s, e in ex
                    ],
                    "n_segments": int(c.n_segments),
                }
            )
            protos.append(np.stack([c.prototype_median, c.prototype_q25, c.prototype_q75]))
            snip = np.zeros((self.n_examples, ds.n_leads, width), dtype=np.float32)
            if ex:
                rec = np.array([r for r, _, _ in ex])
                centre = np.array([(s + e) // 2 for _, s, e in ex])
                snip[: len(ex)] = np.nan_to_num(extract_snippets(ds.signals, rec, centre, width))
            snips.append(snip)
        protos_a = np.nan_to_num(np.stack(protos)).astype(np.float32)
        snips_a = np.stack(snips)
        out = {
            "clusters": clusters,
            "prototypes": _f32(protos_a),
            "proto_shape": list(protos_a.shape),
            "example_snips": _f32(snips_a),
            "example_shape": list(snips_a.shape),
        }
        self._summaries[k] = out
        return out

    def _ranking(self, k: int, rank: str) -> np.ndarray:
        """Record order for "most uncertain" (mean entropy, descending) or "least typical"
        (L1 distance of the cluster proportions from their dataset median, descending)."""
        key = (k, rank)
        if key not in self._rankings:
            es = self.tlc.explain_all(self.dataset)
            if rank == "uncertain":
                score = np.asarray(es.mean_entropy, dtype=np.float64)
            else:
                prop = np.asarray(es.proportions, dtype=np.float64)
                score = np.abs(prop - np.median(prop, axis=0)).sum(axis=1)
            self._rankings[key] = np.argsort(-score, kind="stable")
        return self._rankings[key]

    def _record_classes(self, i: int) -> list[str] | None:
        if self.dataset.labels is None or self.dataset.class_names is None:
            return None
        return [c for c, v in zip(self.dataset.class_names, self.dataset.labels[i]) if v > 0.5]

    def _next_of_class(self, name: str, start: int) -> int:
        names = self._class_names()
        ds = self.dataset
        if ds.labels is not None and ds.class_names and name in ds.class_names:
            has = ds.labels[:, ds.class_names.index(name)] > 0.5
        elif name in names and self.bundle is not None:
            if self._proba_all is None:
                self._proba_all = np.asarray(self.bundle.predict_proba(ds))
            has = self._proba_all[:, names.index(name)] > 0.5
        else:
            raise DataError(f"unknown class {name!r}; classes: {', '.join(names) or 'none'}.")
        hits = np.flatnonzero(has)
        if not hits.size:
            raise DataError(f"no ECG of class {name!r} in this dataset.")
        after = hits[hits > start]
        return int(after[0] if after.size else hits[0])

    # ------------------------------------------------------------------ requests
    def _resolve(self, req: dict) -> tuple[int, int, str]:
        """(K, index, gradcam class) wanted by a request; raises ECGClusterError when invalid."""
        try:
            k = int(req.get("k", self.n_clusters))
        except (TypeError, ValueError):
            raise DataError(f"K must be an integer, got {req.get('k')!r}.") from None
        if not self.k_min <= k <= self.k_max:
            raise DataError(f"K={k} is outside the allowed range {self.k_min}..{self.k_max}.")
        index = req.get("index", self.index)
        if req.get("record_id") not in (None, ""):
            index = self.dataset.index_of(str(req["record_id"]))
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise DataError(f"ECG index must be an integer, got {index!r}.") from None
        if not 0 <= index < len(self.dataset):
            raise DataError(f"ECG index {index} is out of range 0..{len(self.dataset) - 1}.")
        if req.get("class"):
            index = self._next_of_class(str(req["class"]), index)
        cam_cls = str(req.get("gradcam_class") or "")
        if cam_cls and cam_cls not in self._class_names():
            raise DataError(
                f"unknown Grad-CAM class {cam_cls!r}; classes: {', '.join(self._class_names())}."
            )
        return k, index, cam_cls

    def _compute(self, req: dict) -> dict:
        k, index, cam_cls = self._resolve(req)
        if k != self.tlc.n_clusters:
            self.tlc.set_n_clusters(k)
        rank = req.get("rank")
        info = ""
        rank_rec = None
        if rank:
            if rank not in RANKS:
                raise DataError(f"rank must be one of {RANKS}, got {rank!r}.")
            order = self._ranking(k, rank)
            if req.get("rank_pos") is not None:
                # The browser keeps its own cursor (it starts at #1 for the user, whatever
                # the notebook did with show(rank=...)).
                try:
                    pos = int(req["rank_pos"]) % len(order)
                except (TypeError, ValueError):
                    raise DataError(
                        f"rank_pos must be an integer, got {req['rank_pos']!r}."
                    ) from None
            else:
                step = int(req.get("rank_step", 1))
                pos = (self._rank_pos.get(rank, -1) + step if step else 0) % len(order)
                self._rank_pos[rank] = pos
            index = int(order[pos])
            label = "most uncertain" if rank == "uncertain" else "least typical"
            info = f"{label} #{pos + 1} of {len(order)} (K={k})"
            rank_rec = {
                "key": rank,
                "pos": pos,
                "n": len(order),
                "source": "ui" if req.get("rank_source") == "ui" else "python",
            }
        expl = self.tlc.explain(self.dataset, index)
        summary = self._summary(k)
        proba = self._proba(index)
        names = self._class_names()
        cam = None
        cam_label = ""
        if proba is not None and len(names):
            cls = names.index(cam_cls) if cam_cls else int(np.argmax(proba))
            cam = self._gradcam(index, cls)
            cam_label = names[cls]
        ids = np.asarray(expl.cluster_ids)[np.asarray(expl.labels)].astype(np.int16)
        ds = self.dataset
        record = {
            "index": index,
            "record_id": ds.record_ids[index],
            "fs": float(ds.fs),
            "n_leads": ds.n_leads,
            "n_samples": ds.n_samples,
            "lead_names": list(ds.lead_names),
            "true_classes": self._record_classes(index),
            "prediction": None if proba is None else {c: float(p) for c, p in zip(names, proba)},
            "mean_entropy": float(expl.mean_entropy),
            "rank_info": info,
            "rank": rank_rec,
            "k": k,
            "cluster_ids": [int(c) for c in expl.cluster_ids],
        }
        return {
            "_expl": expl,
            "_cam": cam,
            "index": index,
            "n_clusters": k,
            "gradcam_class": cam_cls,
            "gradcam_label": cam_label,
            "record": record,
            "signal": _f32(ds.signals[index]),
            "seg_ids": ids.tobytes(),
            "entropy": _f32(expl.entropy),
            "gradcam": b"" if cam is None else _f32(cam),
            **summary,
        }

    def _publish(self, req: dict, values: dict) -> None:
        self._expl = values.pop("_expl")
        self._cam_now = values.pop("_cam")
        new_record = values["index"] != self.record.get("index", values["index"])
        self._publishing = True
        try:
            with self.hold_sync():
                if new_record:
                    # A brush made on one ECG means nothing on another: clear it.
                    self.selection = {}
                for key, val in values.items():
                    setattr(self, key, val)
                self.error = ""
                self.status = f"ECG {values['index']} · K={values['n_clusters']}"
                self.response_id = int(req["id"])
                self.busy = self._latest > int(req["id"])
        finally:
            self._publishing = False
        self._update_selection_summary()

    def _work(self, req: dict) -> None:
        rid = int(req["id"])
        if rid < self._latest:  # overtaken before it started
            self.dropped_requests += 1
            return
        try:
            values = self._compute(req)
        except ECGClusterError as exc:
            values = None
            message = str(exc)
        except Exception as exc:  # the worker must survive; the user sees the message
            values = None
            message = f"{type(exc).__name__}: {exc}"
        if rid < self._latest:  # overtaken while computing: drop, a newer answer follows
            self.dropped_requests += 1
            return
        if values is None:
            with self.hold_sync():
                self.error = message
                self.response_id = rid
                self.busy = False
            return
        self._publish(req, values)

    @t.observe("request")
    def _on_request(self, change: dict) -> None:
        req = change["new"]
        if not isinstance(req, dict) or "id" not in req:
            return
        try:
            rid = int(req["id"])
        except (TypeError, ValueError):
            self.error = f"malformed request id {req.get('id')!r}"
            return
        with self._lock:
            if rid <= self._latest and rid <= self.response_id:
                return  # a replay (e.g. state restored on re-display)
            self._latest = max(self._latest, rid)
        self.busy = True
        label = f"K={req.get('k')}" if req.get("k") != self.n_clusters else "ECG"
        self.status = f"computing {label}…"
        self._last_future = self._pool.submit(self._work, dict(req))

    def _submit(self, **fields: Any) -> None:
        with self._lock:
            rid = max(self._latest, self.response_id, int(self.request.get("id", 0) or 0)) + 1
        req = {"k": self.n_clusters, "index": self.index, "gradcam_class": self.gradcam_class}
        req.update({k: v for k, v in fields.items() if v is not None})
        req["id"] = rid
        self.request = req

    @t.observe("n_clusters", "index", "gradcam_class")
    def _on_python_change(self, change: dict) -> None:
        # Setting w.n_clusters / w.index / w.gradcam_class from Python asks for a new view.
        if self._publishing or not hasattr(self, "_pool") or self._expl is None:
            return
        key = {"n_clusters": "k", "index": "index", "gradcam_class": "gradcam_class"}[
            change["name"]
        ]
        self._submit(**{key: change["new"]})

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        # The browser pings when a request goes unanswered, to tell a slow answer from a
        # dead kernel; this runs on the kernel's main thread, not in the busy worker.
        if isinstance(content, dict) and content.get("type") == "ping":
            self.send({"type": "pong", "t": content.get("t")})

    def _repr_mimebundle_(self, **kwargs: Any):
        """The live widget plus, unless ``static_fallback=False``, a static picture of the
        current view (``text/html``) for renderers without a widget manager: nbconvert,
        GitHub, nbviewer, a notebook reopened without its kernel and widget state."""
        out = super()._repr_mimebundle_(**kwargs)
        if out is None or not self.static_fallback:
            return out
        data, meta = out if isinstance(out, tuple) else (out, {})
        try:
            from .static_view import static_html

            data = {**data, "text/html": static_html(self)}
        except Exception as exc:  # a picture must never break displaying the widget
            data = {
                **data,
                "text/html": f"<pre>ClusterExplorer (static view unavailable: {exc})</pre>",
            }
        return (data, meta) if isinstance(out, tuple) else data

    def static_svg(self) -> str:
        """SVG of the current view (leads, bands, strip, uncertainty, legend).

        Examples
        --------
        >>> pathlib.Path("view.svg").write_text(w.static_svg())  # doctest: +SKIP
        """
        from .static_view import render_svg

        return render_svg(self)

    # ------------------------------------------------------------------ public API
    def wait(self, timeout: float = 120.0) -> ClusterExplorer:
        """Block until every submitted request has been handled (for scripts and tests)."""
        fut = self._last_future
        if fut is not None:
            fut.result(timeout=timeout)
        if self.error:
            raise DataError(self.error)
        return self

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
        """Change the number of clusters (ids and colours stay stable)."""
        return self.show(k=int(k), wait=wait)

    @property
    def explanation(self):
        """The :class:`ECGExplanation` currently shown."""
        return self._expl

    # ------------------------------------------------------------------ selection
    @t.validate("selection")
    def _valid_selection(self, proposal: dict) -> dict:
        sel = dict(proposal["value"] or {})
        if not sel:
            return {}
        fs = float(self.dataset.fs)
        n = self.dataset.n_samples
        try:
            if "start" in sel and "end" in sel:
                start, end = int(sel["start"]), int(sel["end"])
            else:
                start, end = (
                    int(round(float(sel["start_s"]) * fs)),
                    int(round(float(sel["end_s"]) * fs)),
                )
        except (KeyError, TypeError, ValueError):
            raise DataError(
                "selection must be {} or hold 'start'/'end' samples or 'start_s'/'end_s' seconds; "
                f"got {sel!r}."
            ) from None
        start, end = max(0, min(start, end)), min(n, max(start, end))
        if end <= start:
            raise DataError(f"selection {sel!r} is empty after clipping to 0..{n} samples.")
        return {"start_s": start / fs, "end_s": end / fs, "start": start, "end": end}

    @t.observe("selection")
    def _on_selection(self, _change: dict) -> None:
        self._update_selection_summary()

    def _update_selection_summary(self) -> None:
        sel = self.selection
        expl = self._expl
        if not sel or expl is None:
            self.selection_summary = {}
            return
        a, b = int(sel["start"]), int(sel["end"])
        ids = np.asarray(expl.cluster_ids)[np.asarray(expl.labels)[a:b]]
        ent = np.asarray(expl.entropy)[a:b]
        clusters = []
        for cid in np.unique(ids):
            m = ids == cid
            entry = self.cluster_labels.get(str(int(cid)), {})
            clusters.append(
                {
                    "cluster_id": int(cid),
                    "name": entry.get("name", ""),
                    "share": float(m.mean()),
                    "mean_entropy": float(ent[m].mean()),
                }
            )
        clusters.sort(key=lambda c: -c["share"])
        cam = self._cam_now
        share = None
        if cam is not None and float(cam.sum()) > 0:
            share = float(cam[a:b].sum() / cam.sum())
        self.selection_summary = {
            **sel,
            "clusters": clusters,
            "mean_entropy": float(ent.mean()),
            "prediction": self.record.get("prediction"),
            "gradcam_class": self.gradcam_label,
            "gradcam_share": share,
        }

    @t.validate("font_scale")
    def _valid_font_scale(self, proposal: dict) -> float:
        return float(min(2.0, max(1.0, float(proposal["value"]))))

    # ------------------------------------------------------------------ labels
    @t.validate("cluster_labels")
    def _valid_labels(self, proposal: dict) -> dict:
        return _labels.normalize_labels(proposal["value"])

    @t.observe("cluster_labels")
    def _autosave(self, _change: dict) -> None:
        if self.labels_path:
            self.save_labels(self.labels_path)

    def _labels_meta(self) -> dict:
        return {
            "n_clusters": int(self.n_clusters),
            "cluster_ids": self.record.get("cluster_ids", []),
            "n_records": len(self.dataset),
            "source": str(self.dataset.meta.get("source", "")),
        }

    def save_labels(self, path: str | os.PathLike) -> pathlib.Path:
        """Write the expert labels atomically as versioned JSON."""
        return _labels.save_labels(path, self.cluster_labels, self._labels_meta())

    def load_labels(self, path: str | os.PathLike) -> dict:
        """Replace the labels by those in ``path``; a corrupt file raises
        :class:`FileFormatError` and leaves the current labels untouched."""
        labs = _labels.load_labels(path)
        self.cluster_labels = labs
        return labs

    # ------------------------------------------------------------------ export
    def export_segments(self, path: str | os.PathLike, indices: Any = None) -> pathlib.Path:
        """Segments with their expert labels as CSV or JSON (by suffix).

        ``indices``: ``None`` for the ECG shown, a list of record indices, or ``"all"``.
        """
        if indices is None:
            rows = _labels.segment_rows(self._expl, self.cluster_labels)
        else:
            idx = range(len(self.dataset)) if indices == "all" else [int(i) for i in indices]
            rows = []
            for i in idx:
                rows += _labels.segment_rows(self.tlc.explain(self.dataset, i), self.cluster_labels)
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
        the ECG needs the kernel.
        """
        from ..data.io_utils import atomic_write_text

        state = {}
        for name in self.keys:
            if name.startswith("_") or name in ("layout", "comm", "log"):
                continue
            val = getattr(self, name)
            if isinstance(val, bytes):
                val = {"$b64": base64.b64encode(val).decode("ascii")}
            try:
                json.dumps(val)
            except TypeError:
                continue
            state[name] = val
        js = (STATIC / "widget.js").read_text(encoding="utf-8")
        css = (STATIC / "widget.css").read_text(encoding="utf-8")
        # Placeholders in {braces}; literal braces of the page's JS/CSS are doubled.
        template = (STATIC / "standalone.html").read_text(encoding="utf-8")
        from .report import script_json  # escapes <, > and & so no label can end the script

        html = template.format(
            title=_html.escape(str(title)),
            css=css,
            state=script_json(state),
            js=script_json(js),
        )
        return atomic_write_text(path, html)

    def __repr__(self) -> str:
        return (
            f"ClusterExplorer(n_records={self.n_records}, n_clusters={self.n_clusters}, "
            f"index={self.index}, record_id={self.record.get('record_id')!r})"
        )

    def close(self) -> None:
        """Close the comm and stop the worker thread."""
        pool = getattr(self, "_pool", None)  # absent when __init__ failed before creating it
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        super().close()
