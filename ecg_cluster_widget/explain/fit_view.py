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
    >>> view = FitView(tlc, ds)
    >>> view.explain(0, k=8).cluster_ids  # doctest: +SKIP
    >>> tlc.n_clusters_  # unchanged  # doctest: +SKIP
    """

    #: Records the per-K summaries (cards, names, uncertainty scale) are computed on at
    #: most: an evenly spaced sample of a larger dataset gives the same picture, and a
    #: K change then costs the same at 1,000 and at 20,000 records.
    MAX_SUMMARY_RECORDS = 1000

    def __init__(self, tlc: Any, ds: ECGDataset) -> None:
        self.tlc = tlc
        self.ds = ds
        self._summary: ECGDataset | None = None
        self.summary_rows: np.ndarray = np.arange(0)
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
            self._summary = None
            return True

    @property
    def summary_ds(self) -> ECGDataset:
        """The records per-K summaries are computed on: ``ds``, or an evenly spaced sample
        of ``MAX_SUMMARY_RECORDS`` of them (features sliced, no forward pass); their
        positions in ``ds`` are ``summary_rows``."""
        with self._lock:
            if self._summary is None:
                n = len(self.ds)
                if n <= self.MAX_SUMMARY_RECORDS:
                    self.summary_rows = np.arange(n)
                    self._summary = self.ds
                else:
                    rows = np.linspace(0, n - 1, self.MAX_SUMMARY_RECORDS).round().astype(int)
                    self.summary_rows = np.unique(rows)
                    self._summary = self.tlc.subset(self.ds, self.summary_rows)
            return self._summary

    def token_text(self) -> str:
        """The identity of the fit the caches belong to (``tlc.fit_id_``)."""
        return str(self._token)

    def current_k(self) -> int:
        """The explainer's current K."""
        return int(self.tlc.n_clusters_)

    def computed(self, kind: str, key: Any) -> bool:
        """Whether ``cached(kind, key, ...)`` holds an answer for the current fit."""
        self.refresh()
        with self._lock:
            return key in self._caches.get(kind, {})

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

    def explain_all(self, k: int, every: bool = False) -> ExplanationSet:
        """Explanations at K = ``k`` of :attr:`summary_ds` (of every record with
        ``every=True``)."""
        ds = self.ds if every else self.summary_ds
        es = self.tlc.explain_all(ds, n_clusters=int(k))  # the explainer keeps the last few
        self._seen(k, es.cluster_ids)
        return es

    def cluster_summary(self, k: int, **options: Any) -> list[ClusterInfo]:
        """``tlc.cluster_summary(summary_ds, **options)`` at K = ``k``."""
        infos = self.tlc.cluster_summary(self.summary_ds, **options, n_clusters=int(k))
        self._seen(k, [c.cluster_id for c in infos])
        return infos

    def known_ids(self) -> set[int]:
        """Cluster ids of every K answered so far for the current fit."""
        with self._lock:
            return {i for ids in self._ids.values() for i in ids}
