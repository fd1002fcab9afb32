"""``DatasetView``: a brushable scatter of every record, linked to a ``ClusterExplorer``.

Each record is a point of a 2-D embedding of its cluster proportions
(:func:`~ecg_cluster_widget.explain.embedding.embed_proportions`), coloured by true
class, predicted class, mean entropy or one cluster's share. The points travel once as
binary float32 arrays and are drawn on a canvas (no element per point), so tens of
thousands of records brush and hover without lag; the browser computes the cluster and
class mix of a brushed group itself and sends only the brush rectangle, from which the
kernel derives ``selection`` (record indices) and ``selection_summary``.

Linking: clicking a point sets ``current``; with an ``explorer`` that shows the record
there (through its public ``index`` trait), and the explorer's record is highlighted
here whenever it changes, also from its own controls.
"""

from __future__ import annotations

import pathlib
import threading
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from ..data.dataset import ECGDataset
from ..errors import DataError
from ..explain.context import multilabel_bundle
from .refusal import RefusesBrowserValues, refusing
from .traits import check_fitted_explainer, f32_bytes

STATIC = pathlib.Path(__file__).parent / "static"
#: Fixed colourings; a cluster's share is ``"cluster:<stable id>"``.
COLOR_BY = ("class", "prediction", "entropy")


def class_codes(multi_hot: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """One category per record from multi-hot labels: the class, "none" or "multiple".

    Parameters
    ----------
    multi_hot : array (N, C)
        0/1 labels (or probabilities, thresholded at 0.5).
    names : list of str
        The C class names.

    Returns
    -------
    codes : ndarray (N,) float32
        Index into the returned category names.
    categories : list of str
        ``names`` followed by ``"multiple"`` and ``"none"``.

    Examples
    --------
    >>> codes, cats = class_codes(np.array([[1, 0], [0, 0], [1, 1]]), ["NORM", "MI"])
    >>> [cats[int(c)] for c in codes]
    ['NORM', 'none', 'multiple']
    """
    pos = np.asarray(multi_hot, dtype=np.float64) > 0.5
    count = pos.sum(axis=1)
    codes = np.select([count == 1, count == 0], [pos.argmax(axis=1), len(names) + 1], len(names))
    return codes.astype(np.float32), [*names, "multiple", "none"]


def select_in_rect(xy: np.ndarray, rect: list[float]) -> np.ndarray:
    """Indices of the points inside a rectangle, edges included.

    The same test as the browser's brush (js/scatter.js ``brushMask``).

    Parameters
    ----------
    xy : array (N, 2)
        Point coordinates.
    rect : [x0, y0, x1, y1]
        With x0 <= x1 and y0 <= y1; empty: no rectangle.

    Returns
    -------
    ndarray of int
        Indices in increasing order.

    Examples
    --------
    >>> select_in_rect(np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.2]]), [0.0, 0.0, 0.5, 0.5])
    array([0, 1])
    """
    if not rect:
        return np.zeros(0, dtype=np.int64)
    x0, y0, x1, y1 = rect
    x, y = xy[:, 0], xy[:, 1]
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


class DatasetView(RefusesBrowserValues, anywidget.AnyWidget):
    """Scatter of all records by cluster proportions, linked to a ``ClusterExplorer``.

    Parameters
    ----------
    tlc : TLCExplainer
        A fitted explainer.
    dataset : ECGDataset
        The records to show (the explorer's dataset when ``explorer`` is given).
    explorer : ClusterExplorer, optional
        Clicking a point shows that record there; its current record is highlighted.
    color_by : str, optional
        Default ``"class"`` when the dataset has labels, else ``"entropy"``. ``"class"`` (true labels), ``"prediction"`` (the model's), ``"entropy"`` (mean
        uncertainty) or ``"cluster:<id>"`` (share of time in the cluster with stable id).
    method : {"pca", "tsne"}
        Embedding (see :mod:`ecg_cluster_widget.explain.embedding`).
    random_state : int
        Seed of the embedding.
    height : int
        Height of the scatter in CSS pixels.

    Examples
    --------
    >>> from ecg_cluster_widget.views.dataset_view import DatasetView
    >>> w = ClusterExplorer(tlc, ds); v = DatasetView(tlc, ds, explorer=w)  # doctest: +SKIP
    >>> ipywidgets.VBox([v, w])  # doctest: +SKIP
    >>> v.color_by = "cluster:3"; v.select_rect(-0.1, -0.1, 0.2, 0.1)  # doctest: +SKIP
    >>> v.selection[:5], v.selection_summary["class_mix"]  # doctest: +SKIP
    """

    _esm = STATIC / "dataset_view.js"

    n_points = t.Int(0).tag(sync=True)
    n_clusters = t.Int(0).tag(sync=True)
    #: (N, 2) float32 coordinates scaled to [0, 1] on the longer axis (aspect kept, the
    #: shorter axis centred).
    xy = t.Bytes(b"").tag(sync=True)
    #: (N, K) float32 cluster proportions, for the brushed group's cluster mix.
    proportions = t.Bytes(b"").tag(sync=True)
    cluster_ids = t.List(t.Int()).tag(sync=True)
    cluster_names = t.Dict().tag(sync=True)
    #: (N,) float32 true-class category per record (see class_codes), empty without labels.
    class_values = t.Bytes(b"").tag(sync=True)
    class_categories = t.List(t.Unicode()).tag(sync=True)
    record_ids = t.List(t.Unicode()).tag(sync=True)
    color_by = t.Unicode("class").tag(sync=True)
    color_options = t.List(t.Unicode()).tag(sync=True)
    #: (N,) float32 value that colours each point, and whether it is a category index.
    color_values = t.Bytes(b"").tag(sync=True)
    color_kind = t.Enum(["categorical", "continuous"], "categorical").tag(sync=True)
    color_categories = t.List(t.Unicode()).tag(sync=True)
    color_range = t.List(t.Float()).tag(sync=True)
    #: Record shown in the linked explorer (-1: none); a click sets it.
    current = t.Int(-1).tag(sync=True)
    #: Brush rectangle in embedding units [x0, y0, x1, y1] (empty: no brush).
    brush = t.List(t.Float()).tag(sync=True)
    selection = t.List(t.Int()).tag(sync=False)
    selection_summary = t.Dict().tag(sync=False)
    height = t.Int(420).tag(sync=True)
    error = t.Unicode("").tag(sync=True)

    def __init__(
        self,
        tlc: Any,
        dataset: ECGDataset | None = None,
        explorer: Any = None,
        color_by: str | None = None,
        method: str = "pca",
        random_state: int = 0,
        height: int = 420,
        **kwargs: Any,
    ) -> None:
        check_fitted_explainer(tlc)
        if dataset is None and explorer is not None:
            dataset = explorer.dataset
        if not isinstance(dataset, ECGDataset):
            raise DataError(
                f"DatasetView needs dataset=ECGDataset(...), got {type(dataset).__name__}. "
                "Example: DatasetView(tlc, ds, explorer=w)."
            )
        if explorer is not None:
            if not hasattr(explorer, "index") or not hasattr(explorer, "dataset"):
                raise DataError(
                    f"explorer must be a ClusterExplorer, got {type(explorer).__name__}."
                )
            if explorer.dataset is not dataset and (
                len(explorer.dataset) != len(dataset)
                or tuple(explorer.dataset.record_ids) != tuple(dataset.record_ids)
            ):
                raise DataError(
                    "the explorer shows another dataset than this view (different records); "
                    "pass the explorer's dataset: DatasetView(tlc, w.dataset, explorer=w)."
                )
        self.tlc = tlc
        self.dataset = dataset
        self.explorer = explorer
        self.method = method
        self.random_state = int(random_state)
        self._lock = threading.Lock()
        self._proba: np.ndarray | None = None
        super().__init__(**kwargs)
        self.height = int(height)
        self.n_points = len(dataset)
        self.record_ids = [str(r) for r in dataset.record_ids]
        if dataset.labels is not None and dataset.class_names:
            codes, cats = class_codes(dataset.labels, list(dataset.class_names))
            self.class_values, self.class_categories = f32_bytes(codes), cats
        if color_by is None:
            color_by = "class" if "class" in self._fixed_options() else "entropy"
        self.set_trait("color_by", "entropy")  # always valid: refresh() needs one
        self.refresh()
        self.color_by = color_by
        if explorer is not None:
            self.current = int(explorer.index)
            explorer.observe(self._on_explorer_index, names=["index"])
            explorer.observe(self._on_explorer_k, names=["n_clusters"])
            explorer.observe(self._on_explorer_labels, names=["cluster_labels"])
            self._on_explorer_labels({"new": explorer.cluster_labels})

    # ------------------------------------------------------------------ data
    def refresh(self, k: int | None = None) -> DatasetView:
        """Recompute proportions and the embedding at K = ``k`` (default: the linked
        explorer's K, else the explainer's current K)."""
        from ..explain.embedding import embed_proportions

        if k is None:
            k = int(self.explorer.n_clusters) if self.explorer is not None else self.tlc.n_clusters_
        # At K = k, leaving the explainer's own K alone (the explorer may show another).
        es = self.tlc.explain_all(self.dataset, n_clusters=int(k))
        prop = np.asarray(es.proportions, dtype=np.float64)
        xy = embed_proportions(prop, method=self.method, random_state=self.random_state)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        span = float(max((hi - lo).max(), 1e-12))
        # One scale for both axes (distances keep their meaning on screen), the shorter
        # axis centred in [0, 1].
        xy01 = (xy - lo) / span + (1 - (hi - lo) / span) / 2
        self._xy = xy01.astype(np.float32)
        self._prop = prop
        self._entropy = np.asarray(es.mean_entropy, dtype=np.float64)
        ids = [int(c) for c in es.cluster_ids]
        with self.hold_sync():
            self.n_clusters = len(ids)
            self.cluster_ids = ids
            self.color_options = [*self._fixed_options(), *(f"cluster:{c}" for c in ids)]
            self.xy = f32_bytes(self._xy)
            self.proportions = f32_bytes(prop)
            if self._color_ok(self.color_by):
                self._apply_color(self.color_by)
            else:  # e.g. that cluster does not exist at the new K
                self.color_by = "entropy"
            self._update_summary()
        return self

    def _color_ok(self, key: str) -> bool:
        try:
            self._color_for(key)
        except DataError:
            return False
        return True

    def _fixed_options(self) -> list[str]:
        opts = []
        if self.dataset.labels is not None and self.dataset.class_names:
            opts.append("class")
        if self._bundle() is not None:
            opts.append("prediction")
        return [*opts, "entropy"]

    def _bundle(self) -> Any:
        return self.tlc.model if multilabel_bundle(self.tlc.model) else None

    def _predicted(self) -> tuple[np.ndarray, list[str]]:
        bundle = self._bundle()
        if self._proba is None:
            self._proba = np.asarray(bundle.predict_proba(self.dataset))
        return class_codes(self._proba, list(bundle.class_names))

    def _color_for(self, key: str) -> tuple[np.ndarray, str, list[str], list[float]]:
        if key == "class":
            if "class" not in self._fixed_options():
                raise DataError("color_by='class' needs a dataset with labels and class_names.")
            codes = np.frombuffer(self.class_values, dtype=np.float32)
            return codes, "categorical", list(self.class_categories), []
        if key == "prediction":
            if self._bundle() is None:
                raise DataError(
                    "color_by='prediction' needs a model bundle with predict_proba "
                    "(TLCExplainer(bundle, ...)), not a bare network."
                )
            codes, cats = self._predicted()
            return codes, "categorical", cats, []
        if key == "entropy":
            return self._entropy, "continuous", [], [0.0, 1.0]
        if key.startswith("cluster:"):
            try:
                cid = int(key.split(":", 1)[1])
                pos = list(self.cluster_ids).index(cid)
            except ValueError:
                raise DataError(
                    f"color_by={key!r}: no cluster with that stable id; clusters: "
                    f"{list(self.cluster_ids)} (use 'cluster:<id>')."
                ) from None
            share = self._prop[:, pos]
            return share, "continuous", [], [0.0, float(max(share.max(), 1e-6))]
        raise DataError(f"color_by must be one of {', '.join(self.color_options)}; got {key!r}.")

    def _apply_color(self, key: str) -> None:
        values, kind, cats, rng = self._color_for(key)
        with self.hold_sync():
            self.color_values, self.color_kind = f32_bytes(values), kind
            self.color_categories, self.color_range = cats, rng

    @t.validate("color_by")
    @refusing
    def _valid_color_by(self, proposal: dict) -> str:
        key = str(proposal["value"])
        if hasattr(self, "_prop"):
            self._color_for(key)  # raises a DataError naming the valid choices
        return key

    @t.observe("color_by")
    def _on_color_by(self, change: dict) -> None:
        if hasattr(self, "_prop"):
            self._apply_color(change["new"])

    # ------------------------------------------------------------------ linking
    def _on_explorer_index(self, change: dict) -> None:
        if int(change["new"]) != self.current:
            self.current = int(change["new"])

    def _on_explorer_k(self, change: dict) -> None:
        # The explorer shows another K: proportions and clusters change too. Not in the
        # explorer's worker thread, whose answer must not wait for this one.
        threading.Thread(target=self._safe_refresh, args=(int(change["new"]),), daemon=True).start()

    def _safe_refresh(self, k: int) -> None:
        with self._lock:
            try:
                self.refresh(k)
            except Exception as exc:  # a failed refresh must not kill the explorer's thread
                self.error = f"{type(exc).__name__}: {exc}"

    def _on_explorer_labels(self, change: dict) -> None:
        labels = change["new"] or {}
        self.cluster_names = {
            str(k): str(v.get("name", "")) for k, v in labels.items() if isinstance(v, dict)
        }

    @t.validate("current")
    @refusing
    def _valid_current(self, proposal: dict) -> int:
        i = int(proposal["value"])
        if not -1 <= i < max(self.n_points, 1):
            raise DataError(
                f"current={i} is out of range: a record index 0..{self.n_points - 1}, or -1."
            )
        return i

    @t.observe("current")
    def _on_current(self, change: dict) -> None:
        i = int(change["new"])
        if i < 0 or self.explorer is None:
            return
        if int(self.explorer.index) != i:
            # The public trait: the explorer computes the new view in its worker thread.
            self.explorer.index = i

    def show(self, index: int) -> DatasetView:
        """Highlight record ``index`` (and show it in the linked explorer)."""
        i = int(index)
        if not 0 <= i < self.n_points:
            raise DataError(f"record index {i} is out of range 0..{self.n_points - 1}.")
        self.current = i
        return self

    # ------------------------------------------------------------------ brushing
    @t.validate("brush")
    @refusing
    def _valid_brush(self, proposal: dict) -> list:
        b = list(proposal["value"] or [])
        if not b:
            return []
        if len(b) != 4 or not all(np.isfinite(v) for v in b):
            raise DataError(f"brush must be [] or [x0, y0, x1, y1] (finite numbers), got {b!r}.")
        x0, y0, x1, y1 = (float(v) for v in b)
        return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]

    @t.observe("brush")
    def _on_brush(self, _change: dict) -> None:
        self._update_summary()

    def select_rect(self, x0: float, y0: float, x1: float, y1: float) -> list[int]:
        """Brush the rectangle (embedding units, as ``xy``) and return the record indices."""
        self.brush = [x0, y0, x1, y1]
        return self.selection

    def clear_selection(self) -> None:
        """Remove the brush."""
        self.brush = []

    def brushed(self) -> np.ndarray:
        """Indices of the records inside the brush rectangle (empty without a brush)."""
        return select_in_rect(self._xy, list(self.brush))

    def _update_summary(self) -> None:
        idx = self.brushed()
        self.selection = [int(i) for i in idx]
        if not self.brush:
            self.selection_summary = {}
            return
        summary: dict[str, Any] = {"n": int(idx.size), "brush": list(self.brush)}
        if idx.size:
            mix = self._prop[idx].mean(axis=0)
            summary["cluster_mix"] = {str(c): float(m) for c, m in zip(self.cluster_ids, mix)}
            summary["mean_entropy"] = float(self._entropy[idx].mean())
            if self.class_categories:
                codes = np.frombuffer(self.class_values, dtype=np.float32)[idx].astype(int)
                counts = np.bincount(codes, minlength=len(self.class_categories))
                summary["class_mix"] = {
                    c: float(n / idx.size) for c, n in zip(self.class_categories, counts) if n
                }
        self.selection_summary = summary

    def close(self) -> None:
        """Stop following the explorer and close the comm."""
        ex = getattr(self, "explorer", None)  # absent when __init__ failed early
        names = ("index", "n_clusters", "cluster_labels")
        fns = (self._on_explorer_index, self._on_explorer_k, self._on_explorer_labels)
        for fn, name in zip(fns, names) if ex is not None else ():
            try:
                ex.unobserve(fn, names=[name])
            except ValueError:  # never observed (construction failed half-way)
                pass
        super().close()

    def __repr__(self) -> str:
        return (
            f"DatasetView(n_points={self.n_points}, n_clusters={self.n_clusters}, "
            f"color_by={self.color_by!r}, current={self.current}, "
            f"selected={len(self.selection)})"
        )
