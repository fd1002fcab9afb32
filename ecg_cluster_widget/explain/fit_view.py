"""A read-only view of a fitted explainer at any K, with caches tied to the fit.

The widget (and anything else that browses one explainer at several K) asks for the
explanation *at* a K instead of changing the explainer's current K, so the explainer
the user holds is never mutated behind their back. Everything derived from a fit
(cluster cards, rankings, Grad-CAM curves, predictions) is cached here under the
identity of the fit it came from (``tlc.fit_id_``), so after ``tlc.fit(...)`` the next
request recomputes instead of showing the previous fit's clusters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

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
    >>> view = FitView(tlc, ds)
    >>> view.explain(0, k=8).cluster_ids  # doctest: +SKIP
    >>> tlc.n_clusters_  # unchanged  # doctest: +SKIP
    """

    def __init__(self, tlc: Any, ds: ECGDataset) -> None:
        self.tlc = tlc
        self.ds = ds
        self._lock = threading.RLock()
        self._token: str | None = None
        self._caches: dict[str, OrderedDict] = {}
        self._ids: dict[int, list[int]] = {}
        self.refresh()

    # ------------------------------------------------------------------ fit identity
    def refresh(self) -> bool:
        """Drop every cache when the explainer was refitted since; ``True`` if it was."""
        with self._lock:
            token = str(self.tlc.fit_id_)
            if token == self._token:
                return False
            self._token = token
            self._caches.clear()
            self._ids.clear()
            return True

    def token_text(self) -> str:
        """The identity of the fit the caches belong to (``tlc.fit_id_``)."""
        return str(self._token)

    def current_k(self) -> int:
        """The explainer's current K."""
        return int(self.tlc.n_clusters_)

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
    def _seen(self, k: int, ids: Any) -> None:
        with self._lock:
            self._ids[int(k)] = [int(i) for i in ids]

    def explain(self, i: int, k: int) -> ECGExplanation:
        """Explanation of record ``i`` at K = ``k``."""
        expl = self.tlc.explain(self.ds, i, n_clusters=int(k))
        self._seen(k, expl.cluster_ids)
        return expl

    def explain_all(self, k: int) -> ExplanationSet:
        """Explanations of every record at K = ``k`` (cached per fit)."""

        def compute() -> ExplanationSet:
            return self.tlc.explain_all(self.ds, n_clusters=int(k))

        es = self.cached("explain_all", int(k), compute, limit=2)
        self._seen(k, es.cluster_ids)
        return es

    def cluster_summary(self, k: int, **options: Any) -> list[ClusterInfo]:
        """``tlc.cluster_summary(ds, **options)`` at K = ``k``."""
        infos = self.tlc.cluster_summary(self.ds, **options, n_clusters=int(k))
        self._seen(k, [c.cluster_id for c in infos])
        return infos

    def known_ids(self) -> set[int]:
        """Cluster ids of every K answered so far for the current fit."""
        with self._lock:
            return {i for ids in self._ids.values() for i in ids}
