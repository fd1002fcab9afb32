"""Saving a labels file that someone else may have changed: merge, never overwrite.

Two explorers on one labels file (two tabs of one kernel, or two annotators on a shared
folder) each hold their own copy of the labels. A save that simply replaced the file
would delete the other writer's names, and a save after re-opening the file at another
K would delete the names this fit could not place. So :func:`merge_and_write`, which
``save_labels(..., tlc=...)`` (the explorer's autosave) calls, reads the file under an
exclusive lock and merges, per cluster:

* **what this writer started from** (its *base*): the labels it last loaded or saved
  for this file, found among the states this process remembers (:func:`remember`): the
  most recent one that the labels being saved differ from in at most one cluster (an
  explorer saves after every single edit, so its own last state is that close; another
  explorer's is not);
* **its labels** and **the file's** (the file's names are first placed on this fit's
  clusters by signature, as :func:`~.labels_attach.attach_labels` does; those it cannot
  place stay in the file as ``unplaced``).

A cluster only this writer changed takes its value (a removal included); one only the file
changed keeps the file's; one both changed takes the newest edit (by its ``updated`` time;
an edit being saved is from now, a file's entry without one from the file's modification
time), except that a removal never beats another writer's edit.
Without a base (nothing loaded in this process), nothing of the file is removed. Whatever
came from another writer is said in a :class:`~ecg_cluster_widget.errors.DataWarning`.

A file that is still exactly as this process last read or wrote it, saved again at
another K (the explorer's K changed), is that writer's own continuation: its labels are
written as they are, and the file's names it never had are kept as ``unplaced``. The
``unplaced`` names are carried by every save (a save never places them; opening a file
does) until a fit holds them again or the writer that had them removes them.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io_utils import atomic_write_json
from ..errors import DataWarning, FileFormatError, LabelsMismatchError
from .labels import (
    LABELS_VERSION,
    normalize_labels,
    normalize_timestamp,
    now_utc,
    read_labels_file,
)
from .labels_attach import place_labels, unplaced_entry
from .labels_meta import check_labels_meta

__all__ = ["merge_labels", "merge_and_write", "remember"]

#: States remembered per labels file (each explorer's last few saves and loads).
_HEADS_PER_FILE = 64
_heads: dict[str, deque] = {}
#: Per labels file, what it held (its fit space and labels) when this process last read
#: or wrote it: a file still so was changed by no one else since.
_disk: dict[str, tuple] = {}
_heads_lock = threading.Lock()


def _key(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


def _space(fit: Mapping | None) -> tuple:
    """The id space of a fit: ids mean the same clusters only for one fit and K."""
    fit = fit or {}
    return (fit.get("fit_id"), fit.get("n_clusters"))


def _content(entry: Mapping | None) -> tuple | None:
    """What an edit changes (the time stamp is when, not what)."""
    if entry is None:
        return None
    return (entry.get("name", ""), entry.get("notes", ""), entry.get("annotator", ""))


def _n_diff(a: Mapping, b: Mapping) -> int:
    return sum(_content(a.get(k)) != _content(b.get(k)) for k in set(a) | set(b))


def remember(
    path: str | os.PathLike,
    fit: Mapping | None,
    labels: Mapping,
    disk: tuple[Mapping | None, Mapping] | None = None,
) -> None:
    """Record that this process holds ``labels`` for the labels file ``path`` (loaded or saved).

    Parameters
    ----------
    path : str or os.PathLike
        The labels file.
    fit : mapping or None
        The identity of the fit the labels' ids belong to (``fit_id``, ``n_clusters``).
    labels : mapping
        The labels, normalised.
    disk : tuple, optional
        ``(fit, labels)`` of the file as it was read or written then.

    Examples
    --------
    >>> remember("/tmp/example-labels.json", {"fit_id": "f", "n_clusters": 2}, {})
    """
    state = (_space(fit), normalize_labels(labels))
    with _heads_lock:
        _heads.setdefault(_key(path), deque(maxlen=_HEADS_PER_FILE)).append(state)
        if disk is not None:
            _disk[_key(path)] = (_space(disk[0]), normalize_labels(disk[1]))


def _continued(path: Path, lf: Any, ours: Mapping) -> Mapping | None:
    """The state ``ours`` continues when the file is as this process last saw it, else None.

    Then no one else wrote it since, so even in another id space (another K) there is
    nothing to merge: ``ours`` is the same writer's next state.
    """
    with _heads_lock:
        seen = _disk.get(_key(path))
        heads = list(_heads.get(_key(path), ()))
    if seen != (_space(lf.fit), lf.labels):
        return None
    for _, labels in reversed(heads):
        if _n_diff(labels, ours) <= 1:
            return labels
    return None


def _base_for(path: Path, fit: Mapping, ours: Mapping, theirs: Mapping | None) -> Mapping | None:
    with _heads_lock:
        heads = list(_heads.get(_key(path), ()))
    space = _space(fit)
    for head_space, labels in reversed(heads):
        if head_space == space and _n_diff(labels, ours) <= 1:
            return labels
    if heads and theirs is not None and _n_diff(theirs, ours) <= 1:
        # Edited here at another K or fit (another id space): the file as placed on this
        # fit is where the one edit since was made.
        return theirs
    return None


def merge_labels(
    base: Mapping | None,
    ours: Mapping,
    theirs: Mapping,
    now: str | None = None,
    theirs_time: str = "",
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Three-way merge of cluster labels, per cluster, newest edit winning.

    Parameters
    ----------
    base : mapping or None
        The labels this writer started from; ``None`` when unknown (then nothing of
        ``theirs`` is removed).
    ours : mapping
        This writer's labels (entries without ``updated`` are edits made now).
    theirs : mapping
        The labels in the file now (another writer's edits since ``base`` included).
    now : str, optional
        When this writer's edits without an ``updated`` time were made (default: now;
        an explorer saves right after each edit).
    theirs_time : str
        When the file's entries without an ``updated`` time were made at the latest
        (the file's modification time).

    Returns
    -------
    labels : dict
        The merged labels (:func:`~.labels.normalize_labels` form).
    notes : list of str
        What was taken from ``theirs`` or decided by time, one line per cluster.

    Examples
    --------
    >>> base = {"1": {"name": "P", "notes": ""}}
    >>> ours = {"1": {"name": "P", "notes": ""}, "2": {"name": "QRS", "notes": ""}}
    >>> theirs = {"1": {"name": "P", "notes": ""}, "3": {"name": "T", "notes": ""}}
    >>> sorted(merge_labels(base, ours, theirs, now="2026-12-07T00:00:00Z")[0])
    ['1', '2', '3']
    """
    now = now or now_utc()
    base_n = None if base is None else normalize_labels(base)
    ours_n, theirs_n = normalize_labels(ours), normalize_labels(theirs)
    out: dict[str, dict] = {}
    notes: list[str] = []
    ids = set(ours_n) | set(theirs_n) | set(base_n or {})
    for cid in sorted(ids, key=int):
        o, d = ours_n.get(cid), theirs_n.get(cid)
        b = None if base_n is None else base_n.get(cid)
        co, cd, cb = _content(o), _content(d), _content(b)
        if co == cd:
            pick = d if d is not None else None  # same edit: keep the file's time stamp
        elif base_n is not None and co == cb:
            pick = d  # only the file changed here
            notes.append(f"cluster {cid}: kept the file's {_show(d)} (another writer)")
        elif base_n is not None and cd == cb:
            pick = o  # only this writer changed it
        elif o is None:
            pick = d  # a removal never beats another writer's name
            notes.append(f"cluster {cid}: kept the file's {_show(d)}")
        elif d is None:
            pick = o
        else:
            newer = (o.get("updated") or now) >= (d.get("updated") or theirs_time)
            pick, lost = (o, d) if newer else (d, o)
            notes.append(f"cluster {cid}: {_show(pick)} (newest edit) replaces {_show(lost)}")
        if pick is not None:
            out[cid] = pick
    return normalize_labels(out), notes


def _show(entry: Mapping | None) -> str:
    if entry is None:
        return "removal"
    return repr(entry.get("name") or entry.get("notes"))


def _unplaced_of(lf: Any, fid: int) -> dict:
    sig = (lf.signatures or {}).get(str(fid), {}).get("activations")
    return unplaced_entry(fid, lf.labels[str(fid)], sig, lf.fit)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (no file is left behind) for read-merge-write."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform: merge without one
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def merge_and_write(path: Path, doc: dict) -> Path:
    """Write the labels document ``doc`` to ``path``, merged with the labels already there.

    Parameters
    ----------
    path : pathlib.Path
        The labels file.
    doc : dict
        A complete labels document as :func:`~.labels.save_labels` builds it (``fit``
        with ``fit_id`` and ``signatures`` with ``activations`` make the merge exact).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileFormatError
        When ``path`` exists but is not a readable labels file (it is left untouched).
    LabelsMismatchError
        When ``path`` holds the labels of another model or dataset.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "l.json"
    >>> doc = {"schema": "ecg_cluster_widget/cluster-labels", "version": 1,
    ...        "labels": {"1": {"name": "P", "notes": ""}}, "meta": {}}
    >>> merge_and_write(p, doc).name
    'l.json'
    """
    fit = doc.get("fit") or {}
    ours = doc["labels"]
    sigs = {
        int(k): np.asarray(v["activations"])
        for k, v in (doc.get("signatures") or {}).items()
        if "activations" in v
    }
    continued = None
    with _locked(path.parent):
        theirs: dict | None = None
        unplaced: list = []
        if path.exists():
            try:
                lf = read_labels_file(path)
            except FileFormatError as exc:
                raise FileFormatError(
                    f"labels NOT saved: {path} exists and is not a readable labels file "
                    f"({exc}); it was left as is. Move it away, or save to another path."
                ) from None
            meta = check_labels_meta(lf, fit) if fit else None
            if meta is not None and not meta.compatible:
                raise LabelsMismatchError(
                    f"labels NOT saved: {path} holds the labels of another model or dataset "
                    f"({meta.summary()}) Save to another path, or pass merge=False to "
                    "replace that file.",
                    meta,
                )
            same_space = _space(lf.fit) == _space(fit)
            theirs, report = place_labels(lf, fit, lambda: sigs, place_unplaced=False)
            unplaced = report.unplaced
            continued = None if same_space else _continued(path, lf, ours)
            if continued is not None:
                # Written last by this same writer, at another K: no one else's edits to
                # merge; the file's names this writer never had become unplaced below.
                unplaced += [
                    _unplaced_of(lf, fid) for fid in report.mapping if str(fid) in lf.labels
                ]
                theirs = None
            elif not same_space:
                # A name the file has on another id of this fit is this writer's already.
                have = {_content(e) for e in ours.values()}
                theirs = {k: e for k, e in theirs.items() if _content(e) not in have}
        if continued is not None:
            base, merged, notes = continued, normalize_labels(ours), []
        else:
            base = None if theirs is None else _base_for(path, fit, ours, theirs)
            when = ""
            if theirs is not None:
                mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                when = normalize_timestamp(mtime)
            merged, notes = merge_labels(base, ours, theirs or {}, theirs_time=when)
        # Unplaced names stay unless this fit now holds them, or this writer removed them
        # (they were in what it started from, and are not in what it saves).
        gone = {_content(e) for e in (*merged.values(), *(base or {}).values())}
        unplaced = [u for u in unplaced if _content(u["label"]) not in gone]
        out = {**doc, "labels": merged}
        if unplaced:
            out["unplaced"] = unplaced
            out["version"] = LABELS_VERSION
        atomic_write_json(path, out, what="labels file")
    remember(path, fit, ours, disk=(fit, merged))
    if notes:
        warnings.warn(
            f"labels file {path} held edits this session had not loaded (another writer "
            "changed it, or it was not opened here); merged per cluster, newest edit winning: "
            + "; ".join(notes)
            + ".",
            DataWarning,
            stacklevel=3,
        )
    return path
