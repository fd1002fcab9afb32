"""Atomic file writing and the package's one JSON conversion (:func:`to_jsonable`).

A crash mid-write never leaves a truncated file behind.

Each write goes to a temp file ``.<name>.<pid>.<random>.tmp`` in the destination folder
and is moved into place with ``os.replace``. A process killed mid-write (SIGKILL, power
loss) cannot delete its temp file, so every write first removes the stale temp files of
the same destination: those whose writer process no longer exists, and any older than
:data:`STALE_TEMP_AGE_S`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: Temp files of a destination older than this (seconds) are stale whoever wrote them.
STALE_TEMP_AGE_S = 3600.0


def _pid_alive(pid: int) -> bool | None:
    """Whether process ``pid`` exists on this machine (None: cannot tell)."""
    if os.name != "posix" or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    return True


def clean_stale_temps(path: str | os.PathLike, max_age_s: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Delete temp files that an interrupted atomic write of ``path`` left behind.

    A temp file ``.<name>.<pid>.<random>.tmp`` is stale when process ``pid`` no longer
    exists, or when it is older than ``max_age_s`` (also for temp files of older
    versions, which carry no pid). Temp files of writes still in progress are kept.

    Parameters
    ----------
    path : str or os.PathLike
        The destination file whose temp files to look for.
    max_age_s : float
        Age in seconds after which a temp file is stale regardless of its writer.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".labels.json.999999999.abc123.tmp").write_bytes(b"half a file")
    >>> [p.name for p in clean_stale_temps(d / "labels.json")]
    ['.labels.json.999999999.abc123.tmp']
    """
    path = Path(path)
    prefix = f".{path.name}."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid_text = name[len(prefix) :].split(".", 1)[0]
        alive = _pid_alive(int(pid_text)) if pid_text.isdigit() else None
        if alive is False or age > max_age_s:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``.

    Readers never see a half-written file; missing parent folders are created, and temp
    files left by earlier writes that were killed are removed (:func:`clean_stale_temps`).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    data : bytes
        Content.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> _ = atomic_write_bytes(p, b"abc"); p.read_bytes()
    b'abc'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (or keep the old one).
        os.chmod(tmp, _target_mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _target_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Atomically write ``text`` to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    text : str
        Content.
    encoding : str
        Text encoding.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = atomic_write_text(pathlib.Path(tempfile.mkdtemp()) / "a.txt", "hello")
    >>> p.read_text()
    'hello'
    """
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> Path:
    """Atomically write ``obj`` as JSON, converted by :func:`to_jsonable`.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    obj : object
        JSON-serialisable data; numpy scalars and arrays may appear anywhere in it, and
        NaN/inf become ``null`` (strict JSON has no NaN).
    indent : int
        Indentation of the JSON text.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        For an object :func:`to_jsonable` cannot convert (nothing is written).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = atomic_write_json(p, {"x": np.arange(3), "y": np.float32(0.5)}, indent=None)
    >>> p.read_text().strip()
    '{"x": [0, 1, 2], "y": 0.5}'
    """
    text = json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def to_jsonable(obj: Any, default: Callable[[Any], Any] | None = None) -> Any:
    """Convert nested data to plain JSON types; the package's one JSON conversion.

    numpy arrays become (nested) lists, numpy scalars Python numbers, NaN and inf ``None``,
    tuples and sets lists, mapping keys strings, paths strings; objects with a
    ``to_dict()`` method and dataclasses are converted through their dict.

    Parameters
    ----------
    obj : object
        The data.
    default : callable, optional
        Called on any other object (e.g. ``str``); without it such objects raise.

    Returns
    -------
    object
        Built from ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``.

    Raises
    ------
    TypeError
        For an object it cannot convert and no ``default``.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"a": np.array([1.0, np.nan]), 2: (np.int64(2), np.bool_(True))})
    {'a': [1.0, None], '2': [2, True]}
    >>> to_jsonable({"x": object()}, default=lambda o: "?")
    {'x': '?'}
    """
    import numpy as np

    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc" and not np.isfinite(obj).all():
            return [to_jsonable(v, default) for v in obj.tolist()]
        if obj.dtype.kind == "O":
            return [to_jsonable(v, default) for v in obj.tolist()]
        return obj.tolist()
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item(), default)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, default) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v, default) for v in items]
    if isinstance(obj, Path):
        return str(obj)
    if callable(getattr(obj, "to_dict", None)):
        return to_jsonable(obj.to_dict(), default)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj), default)
    if default is not None:
        return default(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")
