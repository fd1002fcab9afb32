"""K changes in the background: progress, cancel, and the current K stays usable.

A change of K can take seconds on a large dataset (clustering at the new K, then
explaining every ECG and building the cluster cards). The browser asks for it through
the ``k_request`` trait instead of an ordinary request, so the worker that answers
"another ECG" and the label edits are not queued behind it: the ECG shown keeps its K
until the new one is ready. The job runs in its own thread, reports each step in the
``k_job`` trait (drawn as a progress bar with a cancel button by ``js/toolbar.js``),
stops at the next step when cancelled, and when done asks for the ECG then shown at the
new K, an ordinary request answered from the caches the job filled.

A K whose cluster cards this widget has already computed (for the current fit) needs no
job: its request goes to the worker at once, without the thread hop and the step reports,
so going back to a computed K costs one view (milliseconds in the kernel). The messages of a job's end (the
request, its busy / status and the "done" report) leave as one comm message.

Steps are reported only once a job has run for :data:`PROGRESS_AFTER_S`: progress is for
what takes longer than a second, and the browser shows "computing K=..." from the moment
it asks. A job under that sends nothing until its answer, so the comm and the browser
are not busy with reports that are replaced within milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import traitlets as t

from ..clustering.identity import check_n_clusters
from ..errors import ECGClusterError
from ..explain.browse import Browser

#: Fields a ``k_request`` may carry: its id, the K wanted, or ``cancel: True``.
K_REQUEST_KEYS = frozenset({"id", "k", "cancel"})

#: Seconds a K job runs before its steps are reported (then each step as it starts).
PROGRESS_AFTER_S = 1.0


class KJobs(t.HasTraits):
    """Background K changes mixed into the widget, which supplies what is declared below
    without a value (``_submit`` and ``_check`` come from the other mixins).

    Examples
    --------
    >>> w.k_request = {"id": 1, "k": 8}   # what the K slider sends  # doctest: +SKIP
    >>> w.k_job["state"]  # "running" once it took a second, then "done"  # doctest: +SKIP
    'running'
    >>> w.k_request = {"id": 2, "cancel": True}  # doctest: +SKIP
    """

    #: Browser -> kernel: ``{"id", "k"}`` starts a K change, ``{"id", "cancel": True}``
    #: cancels the running one.
    k_request = t.Dict().tag(sync=True)
    #: Kernel -> browser: ``{"id", "k", "state", "step", "done", "total", "elapsed_s",
    #: "error"}``; ``state`` is "running", "done", "cancelled" or "error".
    k_job = t.Dict().tag(sync=True)

    # Supplied by the widget.
    browser: Browser
    index: int
    k_min: int
    k_max: int
    _submit: Callable[..., None]
    _check: Callable[..., Any]
    _fail: Callable[[str], None]
    _batch: Callable[[], AbstractContextManager[None]]
    # Made with the first K change.
    _k_executor: ThreadPoolExecutor | None = None
    _k_lock: threading.Lock
    #: Id of the newest K job; an older one stops at its next step.
    _k_latest: int = 0
    #: The step of the newest job: ``{"id", "t0", "k", "step", "done", "shown"}``
    #: (``shown``: reported already; None once the job is over).
    _k_step: dict = {}

    def _k_pool(self) -> ThreadPoolExecutor:
        if self._k_executor is None:
            self._k_lock = threading.Lock()
            self._k_executor = ThreadPoolExecutor(1, thread_name_prefix="ecw-k")
        return self._k_executor

    @t.validate("k_request")
    def _v_k_request(self, p: dict) -> dict:
        req = p["value"]
        extra = sorted(set(req) - K_REQUEST_KEYS)
        if extra:
            self._fail(f"unknown k_request field(s) {extra}; allowed: id, k, cancel.")
        if not req.get("cancel") and "k" in req:
            self._check(check_n_clusters, req["k"], None, (self.k_min, self.k_max), "K")
        return req

    @t.observe("k_request")
    def _on_k_request(self, change: dict) -> None:
        req = change["new"]
        try:
            jid = int(req.get("id", 0))
        except (TypeError, ValueError):
            return
        pool = self._k_pool()
        with self._k_lock:
            if jid <= self._k_latest:
                return  # a replay (state restored on re-display)
            self._k_latest = jid
        if req.get("cancel"):
            with self._k_lock:
                now = dict(self._k_step)
                if now.get("shown") is not None:  # a job under way, reported or not yet
                    self._k_step["shown"] = None
            if now.get("shown") is not None:
                with self._batch():
                    self.k_job = {
                        "id": now["id"],
                        "k": now["k"],
                        "state": "cancelled",
                        "step": now["step"],
                        "done": now["done"],
                        "total": 3,
                        "error": "",
                        "elapsed_s": round(time.perf_counter() - now["t0"], 2),
                    }
            return
        k = int(req["k"])
        t0 = time.perf_counter()
        if self._k_ready(k):
            self._k_finish(jid, t0, k)
            return
        # The step the job is at, reported by a timer once the job has run for
        # PROGRESS_AFTER_S (and from then on by the job at each step).
        self._k_step = {"id": jid, "t0": t0, "k": k, "step": "starting", "done": 0, "shown": False}
        timer = threading.Timer(PROGRESS_AFTER_S, self._k_show_progress, args=(jid,))
        timer.daemon = True
        timer.start()
        pool.submit(self._k_run, jid, k, t0)

    def _k_show_progress(self, jid: int) -> None:
        """Report the step job ``jid`` is at, once it has run for PROGRESS_AFTER_S."""
        # Under the lock the job takes to end (_k_over): never a "running" after its end.
        with self._k_lock:
            now = self._k_step
            if now.get("id") != jid or now.get("shown") is None:
                return  # another job, or this one is over
            now["shown"] = True
            self._k_report(
                jid, now["t0"], k=now["k"], state="running", step=now["step"], done=now["done"]
            )

    def _k_at(self, jid: int, t0: float, k: int, step: str, done: int) -> None:
        """Job ``jid`` starts ``step``: reported at once when progress is shown already."""
        with self._k_lock:
            now = self._k_step
            if now.get("id") != jid:
                return
            now.update(step=step, done=done)
            shown = now.get("shown")
        if shown:
            self._k_report(jid, t0, k=k, state="running", step=step, done=done)

    def _k_over(self, jid: int) -> None:
        """Job ``jid`` ended: no progress report may follow its last message."""
        with self._k_lock:
            if self._k_step.get("id") == jid:
                self._k_step["shown"] = None

    def _k_ready(self, k: int) -> bool:
        """Whether K = ``k``'s cards are computed for the current fit (a refit drops them)."""
        return self.browser.fit.computed("cards", int(k))

    def _k_finish(self, jid: int, t0: float, k: int) -> None:
        """Ask for the ECG shown now (the user may have moved on meanwhile) at K = ``k``
        and report the job done, in one comm message."""
        with self._batch():
            self._submit(k=k, index=int(self.index))
            self._k_report(jid, t0, k=k, state="done", step="drawing", done=3)

    def _k_steps(self, k: int) -> list[tuple[str, Callable[[], Any]]]:
        b = self.browser
        return [
            (f"clustering {len(b.fit.summary_ds):,} ECGs at K={k}", lambda: b.fit.explain_all(k)),
            ("cluster cards", lambda: b.cards(k)),
            ("drawing", lambda: None),
        ]

    def _k_current(self, jid: int) -> bool:
        return jid == self._k_latest

    def _k_run(self, jid: int, k: int, t0: float) -> None:
        try:
            steps = self._k_steps(k)
            for i, (name, fn) in enumerate(steps[:-1]):  # the last, "drawing", is the answer
                if not self._k_current(jid):  # cancelled, or overtaken by another K
                    return
                self._k_at(jid, t0, k, name, i)
                try:
                    fn()
                except Exception as exc:  # the thread must survive; the user sees why
                    why = (
                        str(exc)
                        if isinstance(exc, ECGClusterError)
                        else f"{type(exc).__name__}: {exc}"
                    )
                    self._k_over(jid)
                    self._k_report(jid, t0, k=k, state="error", step=name, done=i, error=why)
                    return
            if not self._k_current(jid):
                return
            self._k_over(jid)
            self._k_finish(jid, t0, k)
        finally:
            self._k_over(jid)

    def _k_report(self, jid: int, t0: float, **job: Any) -> None:
        """Publish ``k_job`` for job ``jid``: ``k``, ``state``, ``step``, ``done`` (of the
        ``total`` steps of :meth:`_k_steps`), ``error``."""
        if not self._k_current(jid):  # a cancelled or replaced job reports nothing more
            return
        elapsed = round(time.perf_counter() - t0, 2)
        with self._batch():  # never in the middle of the worker's answer
            self.k_job = {
                "id": jid,
                "step": "",
                "total": 3,
                "error": "",
                **job,
                "elapsed_s": elapsed,
            }

    def _k_close(self) -> None:
        if self._k_executor is not None:
            self._k_executor.shutdown(wait=False, cancel_futures=True)
