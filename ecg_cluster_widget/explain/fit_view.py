"""A read-only view of a fitted explainer at any K, with caches tied to the fit.

The widget (and anything else that browses one explainer at several K) asks for the
explanation *at* a K instead of changing the explainer's current K, so the explainer
the user holds is never mutated behind their back. Everything derived from a fit
(cluster cards, rankings, Grad-CAM curves, predictions) is cached here under the
identity of the fit it came from (``tlc.fit_id_``), so after ``tlc.fit(...)`` the next
request recomputes instead of showing the previous fit's clusters.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np

from ..data.dataset import ECGDataset
from .explanation import ClusterInfo, ECGExplanation, ExplanationSet


class FitView:
    """The explainer ``tlc`` on dataset ``ds``, at any K, with per-fit caches.

    Parameters
    ----------
    tlc : TLCExplainer
        A fitted explainer (its current K is never changed).
    ds : ECGDataset
        The records browsed.

    Examples
    --------
    >>> view = FitView(tlc, ds)  # doctest: +SKIP
    >>> view.explain(0, k=8).cluster_ids  # doctest: +SKIP
    >>> tlc.n_clusters_  # unchanged  # doctest: +SKIP
    """

    def __init__(self, tlc: Any, ds: ECGDataset) -> None:
        self.tlc = tlc
        self.ds = ds
        # Explainers with ``explain(..., n_clusters=k)`` answer at any K directly; older
        # ones are switched to K and back under their own lock.
        self.native = "n_clusters" in inspect.signature(tlc.explain).parameters
        self._lock = threading.RLock()
        self._token: Any = None
        self._ref: Any = None
        self._caches: dict[str, OrderedDict] = {}
        self._ids: dict[int, list[int]] = {}
        self.refresh()

    # ------------------------------------------------------------------ fit identity
    def _token_now(self) -> tuple[Any, Any]:
        fid = getattr(self.tlc, "fit_id_", None)
        if fid is not None:
            return ("fit_id", str(fid)), None
        # Without fit_id_: every fit builds a new aligner; holding it keeps its id unique.
        ref = self.tlc.aligner_
        return ("aligner", id(ref)), ref

    def refresh(self) -> bool:
        """Drop every cache when the explainer was refitted since; ``True`` if it was."""
        with self._lock:
            token, ref = self._token_now()
            if token == self._token:
                return False
            self._token, self._ref = token, ref
            self._caches.clear()
            self._ids.clear()
            return True

    def token_text(self) -> str:
        """The fit identity as text (``fit_id_`` when the explainer has one)."""
        return str(self._token[1])

    def current_k(self) -> int:
        """The explainer's current K."""
        k = getattr(self.tlc, "n_clusters_", None)
        return int(self.tlc.n_clusters if k is None else k)

    def cached(self, kind: str, key: Any, compute: Callable[[], Any], limit: int | None = None):
        """``compute()`` once per (fit, kind, key); the oldest entries go beyond ``limit``."""
        with self._lock:
            cache = self._caches.setdefault(kind, OrderedDict())
            if key in cache:
                return cache[key]
        value = compute()
        with self._lock:
            cache = self._caches.setdefault(kind, OrderedDict())
            cache[key] = value
            while limit is not None and len(cache) > limit:
                cache.popitem(last=False)
        return value

    # ------------------------------------------------------------------ answers at K
    @contextmanager
    def _at(self, k: int) -> Iterator[dict]:
        if self.native:
            yield {"n_clusters": int(k)}
            return
        tlc = self.tlc
        with getattr(tlc, "_lock", None) or nullcontext():
            before = int(tlc.n_clusters)
            if int(k) != before:
                tlc.set_n_clusters(int(k))
            try:
                yield {}
            finally:
                if int(tlc.n_clusters) != before:
                    tlc.set_n_clusters(before)

    def _seen(self, k: int, ids: Any) -> None:
        with self._lock:
            self._ids[int(k)] = [int(i) for i in ids]

    def explain(self, i: int, k: int) -> ECGExplanation:
        """Explanation of record ``i`` at K = ``k``."""
        with self._at(k) as kw:
            expl = self.tlc.explain(self.ds, i, **kw)
        self._seen(k, expl.cluster_ids)
        return expl

    def explain_all(self, k: int) -> ExplanationSet:
        """Explanations of every record at K = ``k`` (cached per fit)."""

        def compute() -> ExplanationSet:
            with self._at(k) as kw:
                return self.tlc.explain_all(self.ds, **kw)

        es = self.cached("explain_all", int(k), compute, limit=2)
        self._seen(k, es.cluster_ids)
        return es

    def cluster_summary(self, k: int, **options: Any) -> list[ClusterInfo]:
        """``tlc.cluster_summary(ds, **options)`` at K = ``k``."""
        with self._at(k) as kw:
            infos = self.tlc.cluster_summary(self.ds, **options, **kw)
        self._seen(k, [c.cluster_id for c in infos])
        return infos

    def known_ids(self) -> set[int]:
        """Cluster ids of every K answered so far for the current fit."""
        with self._lock:
            return {i for ids in self._ids.values() for i in ids}

    def fit_identity(self, k: int) -> dict | None:
        """The fit's identity at K for a labels file (``None`` for explainers without one)."""
        if not hasattr(self.tlc, "fit_identity"):
            return None
        return self.tlc.fit_identity(int(k))

    def cluster_signatures(self, k: int) -> dict[int, np.ndarray] | None:
        """Per-cluster signatures at K (``None`` for explainers without them)."""
        if not hasattr(self.tlc, "cluster_signatures"):
            return None
        return self.tlc.cluster_signatures(int(k))
