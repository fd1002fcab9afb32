"""The request / response protocol of ``ClusterExplorer`` (mirrors ``js/protocol.js``).

The browser (or :meth:`ClusterExplorer.show`) sets the ``request`` trait; the request is
answered in one worker thread, never on the comm thread. Each request carries an id:
results of requests that were overtaken are dropped, a replayed (old) request is
ignored, and ``response_id`` tells the browser which request the data traits answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import traitlets as t

from ..errors import DataError, ECGClusterError
from ..explain.browse import RecordView


class RequestProtocol(t.HasTraits):
    """Request handling mixed into the widget, which supplies what is declared below
    without a value: ``_compute(req)`` (a :class:`~ecg_cluster_widget.explain.browse.RecordView`),
    the worker ``_pool`` with its ``_lock``, and the traits of the view.

    Examples
    --------
    >>> w.request = {"id": 7, "k": 4, "index": 2, "gradcam_class": ""}
    >>> w.wait().response_id
    7
    """

    request = t.Dict().tag(sync=True)
    response_id = t.Int(0).tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    error = t.Unicode("").tag(sync=True)

    # Supplied by the widget.
    index: int
    n_clusters: int
    gradcam_class: str
    record: dict
    selection: dict
    highlight_cluster: int
    message: str
    _pool: ThreadPoolExecutor | None = None
    _lock: threading.Lock
    #: Held around every batch of trait changes (see :meth:`_batch`).
    _sync_lock: threading.RLock
    #: Id of the newest request seen; answers to older ones are dropped.
    _latest: int = 0
    _last_future: Future | None = None
    _publishing: bool = False
    _expl: Any = None
    _cam_now: np.ndarray | None = None
    #: What ``message`` shows: "" , "refused", "unsaved" or "saved".
    _message_kind: str = ""
    dropped_requests: int = 0

    def _compute(self, req: dict) -> RecordView:
        raise NotImplementedError

    def _update_selection_summary(self) -> None:
        raise NotImplementedError

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """Trait changes sent as one comm message (``hold_sync``), one thread at a time.

        ``hold_sync`` keeps one flag and one set of pending names per widget: a second
        thread batching at the same time would have its changes sent half by the other
        thread's flush and half one by one, while that flush iterates the set it adds to.
        The worker's answer, the K job's end and the request handler therefore take turns.
        """
        with self._sync_lock, self.hold_sync():
            yield

    def _publish(self, req: dict, view: RecordView) -> None:
        self._expl, self._cam_now = view.expl, view.cam
        values = dict(view.traits)
        new_record = values["index"] != self.record.get("index", values["index"])
        self._publishing = True
        try:
            with self._batch():
                if new_record:
                    # A brush made on one ECG means nothing on another: clear it.
                    self.selection = {}
                if self.highlight_cluster not in values["record"]["cluster_ids"]:
                    self.highlight_cluster = -1
                self.record = values.pop("record")
                for key, val in values.items():
                    setattr(self, key, val)
                self.error = ""
                if self._message_kind == "refused":
                    self.message = ""
                k = values["n_clusters"]
                k_eff = self.record.get("effective_k", k)
                present = f" ({k_eff} present in these ECGs)" if k_eff < k else ""
                self.status = f"ECG {values['index']} · K={k}{present}"
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
        except Exception as exc:  # the worker must survive; the user sees the message
            known = isinstance(exc, ECGClusterError)
            values, message = None, str(exc) if known else f"{type(exc).__name__}: {exc}"
        if rid < self._latest:  # overtaken while computing: drop, a newer answer follows
            self.dropped_requests += 1
            return
        if values is None:
            with self._batch():
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
        label = f"K={req.get('k')}" if req.get("k") != self.n_clusters else "ECG"
        with self._batch():  # one comm message, not one per trait
            self.busy = True
            self.status = f"computing {label}…"
        self._last_future = self._pool.submit(self._work, dict(req))

    def _submit(self, **fields: Any) -> None:
        with self._lock:
            rid = max(self._latest, self.response_id, int(self.request.get("id", 0) or 0)) + 1
        req = {"k": self.n_clusters, "index": self.index, "gradcam_class": self.gradcam_class}
        req.update({k: v for k, v in fields.items() if v is not None})
        req["id"] = rid
        with self._batch():  # the request with the busy / status it sets: one message
            self.request = req

    @t.observe("n_clusters", "index", "gradcam_class")
    def _on_python_change(self, change: dict) -> None:
        # Setting w.n_clusters / w.index / w.gradcam_class asks for a new view.
        if self._publishing or self._pool is None or self._expl is None:
            return
        key = {"n_clusters": "k", "index": "index", "gradcam_class": "gradcam_class"}
        self._submit(**{key[change["name"]]: change["new"]})

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        # The browser pings when a request goes unanswered, to tell a slow answer from a
        # dead kernel; this runs on the kernel's main thread, not in the busy worker.
        if isinstance(content, dict) and content.get("type") == "ping":
            self.send({"type": "pong", "t": content.get("t")})

    def wait(self, timeout: float = 120.0) -> Any:
        """Block until every submitted request has been handled (for scripts and tests)."""
        fut = self._last_future
        if fut is not None:
            fut.result(timeout=timeout)
        if self.error:
            raise DataError(self.error)
        return self
