"""Writing a labels file atomically, merged with what someone else may have written.

Two explorers on one labels file (two tabs of one kernel, or two annotators on a shared
folder) each hold their own copy of the labels; a save that replaced the file would
delete the other writer's names, and a save after re-opening the file at another K the
names this fit could not place. So a merging save (:func:`save_labels` with ``tlc=``, the
explorer's autosave) reads the file under an exclusive lock and merges, per cluster:

* **what this writer started from** (its *base*): the most recent state this process
  loaded or saved for the file (:func:`~.attach.remember`) that the labels being saved
  differ from in at most one cluster (an explorer saves after every single edit);
* **its labels** and **the file's** (placed on this fit's clusters by signature, as
  :func:`~.attach.attach_labels` does; those it cannot place stay as ``unplaced``).

A cluster only this writer changed takes its value (a removal included); one only the
file changed keeps the file's; one both changed takes the newest edit (by ``updated``; an
edit being saved is from now, a file's entry without a time from the file's modification
time), except that a removal never beats another writer's edit. Without a base nothing of
the file is removed. Whatever came from another writer is said in a
:class:`~ecg_cluster_widget.errors.DataWarning`. A file still exactly as this process last
saw it, saved again at another K, is that writer's own continuation: its labels are
written as they are, and the file's names it never had are kept as ``unplaced``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..data.io_utils import atomic_write_json, to_jsonable
from ..errors import DataError, DataWarning, FileFormatError
from .attach import fit_space, place_labels, remember, remembered, unplaced_entry
from .files import check_labels_meta, read_labels_file, refuse_other_fit
from .schema import (
    LABELS_SCHEMA,
    LABELS_VERSION,
    normalize_fit,
    normalize_labels,
    normalize_signatures,
    normalize_timestamp,
    now_utc,
)


def save_labels(
    path: str | os.PathLike,
    labels: Mapping,
    meta: Mapping | None = None,
    *,
    fit: Mapping | None = None,
    signatures: Mapping | None = None,
    tlc: Any = None,
    n_clusters: int | None = None,
    merge: bool | None = None,
) -> Path:
    """Write labels atomically as versioned JSON (merged with the file's, see ``merge``).

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.json`` file.
    labels : mapping
        Cluster labels, checked by :func:`~.schema.normalize_labels`.
    meta : mapping, optional
        Extra information stored next to the labels (e.g. the dataset and K).
    fit : mapping, optional
        The identity of the fit the labels belong to (:func:`~.schema.normalize_fit`).
    signatures : mapping, optional
        Per cluster id a signature (:func:`~.schema.normalize_signatures`), so the labels
        can be re-attached to a different fit by matching.
    tlc : TLCExplainer, optional
        A fitted explainer: writes its ``fit_identity`` and ``cluster_signatures`` (for
        K = ``n_clusters``, default the current K) instead of ``fit``/``signatures``.
    n_clusters : int, optional
        With ``tlc``: the K the labels were given on.
    merge : bool, optional
        Merge with the labels already in ``path`` instead of replacing them (default:
        when ``tlc`` is given, as the explorer's autosave does); see the module docstring.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataError
        If the labels, meta, fit or signatures are malformed.
    FileFormatError
        When merging into a file that is not a readable labels file (it is left as is).
    StorageError
        When the file cannot be written (full disk, no permission); the old file stays.
    LabelsMismatchError
        When merging into a labels file of another model or dataset.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ecg_cluster_widget.labels import read_labels_file
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.json"
    >>> read_labels_file(save_labels(p, {"2": {"name": "P wave", "notes": ""}})).labels
    {'2': {'name': 'P wave', 'notes': ''}}
    """
    if meta is not None and not isinstance(meta, Mapping):
        raise DataError(f"meta must be a dict, got {type(meta).__name__}.")
    if tlc is not None:
        if fit is not None or signatures is not None:
            raise DataError("give either tlc= or fit=/signatures=, not both.")
        fit = tlc.fit_identity(n_clusters)
        sigs = tlc.cluster_signatures(fit["n_clusters"])
        signatures = {cid: {"activations": vec} for cid, vec in sigs.items()}
    elif n_clusters is not None:
        raise DataError("n_clusters= needs tlc= (the explainer whose K it is).")
    try:
        meta = to_jsonable(dict(meta or {}))
    except TypeError as exc:
        raise DataError(f"meta is not JSON-serialisable: {exc}") from None
    # Version 1 readers cannot honour a fit: version 2 makes them refuse the file.
    version = 1 if fit is None and signatures is None else 2
    doc = dict(schema=LABELS_SCHEMA, version=version, labels=normalize_labels(labels), meta=meta)
    if fit is not None:
        doc["fit"] = fit = normalize_fit(fit)
    if signatures is not None:
        doc["signatures"] = normalize_signatures(signatures, (fit or {}).get("cluster_ids"))
    if merge if merge is not None else tlc is not None:
        return merge_and_write(Path(path), doc)
    return atomic_write_json(path, doc, what="labels file")


def _content(entry: Mapping | None) -> tuple | None:
    """What an edit changes (the time stamp is when, not what)."""
    if entry is None:
        return None
    return (entry.get("name", ""), entry.get("notes", ""), entry.get("annotator", ""))


def _n_diff(a: Mapping, b: Mapping) -> int:
    return sum(_content(a.get(k)) != _content(b.get(k)) for k in set(a) | set(b))


def _show(entry: Mapping | None) -> str:
    return "removal" if entry is None else repr(entry.get("name") or entry.get("notes"))


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
        This writer's labels (entries without ``updated`` are edits made ``now``).
    theirs : mapping
        The labels in the file now.
    now : str, optional
        When this writer's edits without an ``updated`` time were made (default: now).
    theirs_time : str
        When the file's entries without an ``updated`` time were made at the latest.

    Returns
    -------
    labels : dict
        The merged labels.
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
    for cid in sorted(set(ours_n) | set(theirs_n) | set(base_n or {}), key=int):
        o, d = ours_n.get(cid), theirs_n.get(cid)
        co, cd = _content(o), _content(d)
        cb = None if base_n is None else _content(base_n.get(cid))
        if co == cd:
            pick = d  # the same edit: keep the file's time stamp
        elif base_n is not None and co == cb:
            pick = d  # only the file changed here
            notes.append(f"cluster {cid}: kept the file's {_show(d)} (another writer)")
        elif base_n is not None and cd == cb or d is None:
            pick = o  # only this writer changed it
        elif o is None:
            pick = d  # a removal never beats another writer's name
            notes.append(f"cluster {cid}: kept the file's {_show(d)}")
        else:
            newer = (o.get("updated") or now) >= (d.get("updated") or theirs_time)
            pick, lost = (o, d) if newer else (d, o)
            notes.append(f"cluster {cid}: {_show(pick)} (newest edit) replaces {_show(lost)}")
        if pick is not None:
            out[cid] = pick
    return normalize_labels(out), notes


def _base_for(path: Path, fit: Mapping, ours: Mapping, theirs: Mapping | None) -> Mapping | None:
    """The state this writer started from (see the module docstring), or None."""
    heads = remembered(path)[1]
    for space, labels in reversed(heads):
        if space == fit_space(fit) and _n_diff(labels, ours) <= 1:
            return labels
    if heads and theirs is not None and _n_diff(theirs, ours) <= 1:
        # Edited here in another id space: the file as placed on this fit is where the
        # one edit since was made.
        return theirs
    return None


def _continued(path: Path, lf: Any, ours: Mapping) -> Mapping | None:
    """The state ``ours`` continues when the file is as this process last saw it (no one
    else wrote it since, so even at another K there is nothing to merge), else None."""
    seen, heads = remembered(path)
    if seen != (fit_space(lf.fit), lf.labels):
        return None
    return next((labels for _, labels in reversed(heads) if _n_diff(labels, ours) <= 1), None)


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
        A complete labels document as :func:`save_labels` builds it (``fit`` with
        ``fit_id`` and ``signatures`` with ``activations`` make the merge exact).

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
    continued = theirs = None
    unplaced: list = []
    with _locked(path.parent):
        if path.exists():
            try:
                lf = read_labels_file(path)
            except FileFormatError as exc:
                raise FileFormatError(
                    f"labels NOT saved: {path} exists and is not a readable labels file "
                    f"({exc}); it was left as is. Move it away, or save to another path."
                ) from None
            if fit:
                refuse_other_fit(
                    check_labels_meta(lf, fit),
                    f"labels NOT saved: {path}",
                    "Save to another path, or pass merge=False to replace that file.",
                )
            theirs, report = place_labels(lf, fit, lambda: sigs, place_unplaced=False)
            unplaced = report.unplaced
            if fit_space(lf.fit) != fit_space(fit):
                continued = _continued(path, lf, ours)
                if continued is not None:
                    # This writer's own file at another K: nothing to merge; the file's
                    # names this writer never had become unplaced.
                    unplaced += [
                        unplaced_entry(lf, i) for i in report.mapping if str(i) in lf.labels
                    ]
                    theirs = None
                else:  # a name the file has on another id of this fit is this writer's
                    have = {_content(e) for e in ours.values()}
                    theirs = {k: e for k, e in theirs.items() if _content(e) not in have}
        if continued is not None:
            base, merged, notes = continued, normalize_labels(ours), []
        else:
            base = None if theirs is None else _base_for(path, fit, ours, theirs)
            mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc) if theirs else None
            when = "" if mtime is None else normalize_timestamp(mtime)
            merged, notes = merge_labels(base, ours, theirs or {}, theirs_time=when)
        # Unplaced names stay unless this fit now holds them, or this writer removed them
        # (they were in what it started from, and are not in what it saves).
        gone = {_content(e) for e in (*merged.values(), *(base or {}).values())}
        unplaced = [u for u in unplaced if _content(u["label"]) not in gone]
        out = {**doc, "labels": merged}
        if unplaced:
            out.update(unplaced=unplaced, version=LABELS_VERSION)
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
