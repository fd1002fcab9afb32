"""Runners of a fit's chunk tasks: :class:`LocalRunner` (this process) and :class:`DaskRunner`.

:class:`DaskRunner` sends the chunk source and the pipeline (model and fitted aligner) to
every worker once (``client.scatter(..., broadcast=True)``) and maps the chunk tasks over
the workers, at most ``window`` in flight, so neither the workers nor the client hold the
whole fitting set; results come back in chunk order, which keeps the fit identical to the
single-process one for the same seed::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")        # workers need this package and torch
    tlc = TLCExplainer(bundle, n_clusters=8).fit(chunks, client=client, store="/scratch/tlc")

The chunk source is pickled to the workers, so it should read records from storage every
worker can reach (e.g. a shared WFDB folder) rather than hold them in memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import DataError

__all__ = ["DaskRunner", "LocalRunner"]


class LocalRunner:
    """Runs the chunk tasks in this process, in order.

    Examples
    --------
    >>> list(LocalRunner().map(pow, [1, 2, 3], 2))
    [2, 4, 8]
    """

    def map(
        self, fn: Callable, items: Iterable[int], *args: Any, extra: Callable | None = None
    ) -> Iterator[Any]:
        """``fn(*args, i, *extra(i))`` for each ``i``, in order."""
        for i in items:
            yield fn(*args, i, *(extra(i) if extra is not None else ()))


class DaskRunner:
    """Run chunk tasks on a ``dask.distributed`` cluster, in order, ``window`` at a time.

    Parameters
    ----------
    client : dask.distributed.Client
    window : int, optional
        Chunks in flight at once (default: twice the number of worker threads).

    Examples
    --------
    >>> from dask.distributed import Client, LocalCluster  # doctest: +SKIP
    >>> with LocalCluster(n_workers=2, processes=True) as lc, Client(lc) as c:  # doctest: +SKIP
    ...     list(DaskRunner(c).map(pow, [1, 2, 3], 2))
    [2, 4, 8]
    """

    def __init__(self, client: Any, window: int | None = None) -> None:
        if not (hasattr(client, "submit") and hasattr(client, "scatter")):
            raise DataError(
                f"client must be a dask.distributed.Client, got {type(client).__name__}; create "
                "one with Client(LocalCluster()) or Client('tcp://scheduler:8786')."
            )
        self.client = client
        _check_open(client)
        if window is None:
            try:
                info = client.scheduler_info()
            except (RuntimeError, OSError) as exc:  # e.g. "IOLoop is closed"
                raise _closed(client, exc) from None
            threads = sum(w.get("nthreads", 1) for w in info["workers"].values())
            window = 2 * max(1, threads)
        self.window = max(1, int(window))
        self._broadcast: dict[int, Any] = {}

    def broadcast(self, obj: Any) -> Any:
        """Send ``obj`` to every worker once; returns the future that tasks take instead.

        The same object is sent only once per runner.
        """
        key = id(obj)
        if key not in self._broadcast:
            self._broadcast[key] = (obj, self.client.scatter(obj, broadcast=True, hash=False))
        return self._broadcast[key][1]

    def map(
        self,
        fn: Callable,
        items: Iterable[int],
        *args: Any,
        extra: Callable[[int], tuple] | None = None,
    ) -> Iterator[Any]:
        """``fn(*args, i, *extra(i))`` for each ``i`` on the workers, yielded in order."""
        # Chunk sources and pipelines are sent once per worker, not once per task.
        args = tuple(a if isinstance(a, (int, float, str)) else self.broadcast(a) for a in args)
        pending: deque = deque()
        it = iter(items)
        done = False
        while True:
            while not done and len(pending) < self.window:
                try:
                    i = next(it)
                except StopIteration:
                    done = True
                    break
                more = extra(i) if extra is not None else ()
                try:
                    pending.append(self.client.submit(fn, *args, i, *more, pure=False))
                except RuntimeError as exc:  # the client was closed during the fit
                    raise _closed(self.client, exc) from None
            if not pending:
                return
            fut = pending.popleft()
            try:
                result = fut.result()
            except RuntimeError as exc:
                if "closed" not in str(exc).lower():
                    raise  # a task's own error: the chunk source's or the model's
                raise _closed(self.client, exc) from None
            fut.release()
            yield result


def _check_open(client: Any) -> None:
    """Refuse a closed client up front (dask's own error is "IOLoop is closed")."""
    status = str(getattr(client, "status", "running"))
    if status in ("closed", "closing", "failed"):
        raise _closed(client, None)


def _closed(client: Any, exc: Exception | None) -> DataError:
    why = f" ({exc})" if exc is not None else ""
    return DataError(
        f"the Dask client is {getattr(client, 'status', 'closed')}{why}: it cannot run the "
        "fit. Create a new one (Client(LocalCluster()) or Client('tcp://scheduler:8786')) "
        "and pass it as client=."
    )
