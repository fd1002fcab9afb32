"""Atomic file writing, the package's one JSON conversion (:func:`to_jsonable`) and its
one CSV writer (:func:`csv_text`, formula-escaping every text cell).

A crash mid-write never leaves a truncated file behind.

Each write goes to a temp file ``.<name>.<pid>.<random>.tmp`` in the destination folder
and is moved into place with ``os.replace``. A process killed mid-write (SIGKILL, power
loss) cannot delete its temp file, so every write first removes the stale temp files of
the same destination: those whose writer process no longer exists, and any older than
:data:`STALE_TEMP_AGE_S`.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import io
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import StorageError

#: Temp files of a destination older than this (seconds) are stale whoever wrote them.
STALE_TEMP_AGE_S = 3600.0

_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


def write_error(path: str | os.PathLike, exc: OSError, what: str = "file") -> StorageError:
    """A clear :class:`~ecg_cluster_widget.errors.StorageError` for a failed write of ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file (or folder) that could not be written.
    exc : OSError
        What the operating system said.
    what : str
        What the file is, for the message (``"labels file"``, ``"store"``, ...).

    Returns
    -------
    StorageError
        Raise it ``from None``: the message says all there is.

    Examples
    --------
    >>> print(write_error("/data/l.json", OSError(errno.ENOSPC, "No space left"), "labels file"))
    cannot write labels file /data/l.json: the disk is full (no space left on device); free some space or write to another disk. Nothing was written.
    """
    code = exc.errno
    if code in _NO_SPACE:
        why = "the disk is full (no space left on device); free some space or write to another disk"
    elif code in _NO_PERMISSION:
        why = (
            f"no permission to write in {Path(path).parent} ({exc.strerror}); pick a folder "
            "you can write to, or change its permissions"
        )
    else:
        why = f"{exc.strerror or exc}; check the path and the disk"
    return StorageError(code, f"cannot write {what} {path}: {why}. Nothing was written.")


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


def atomic_write_bytes(path: str | os.PathLike, data: bytes, what: str = "file") -> Path:
    """Atomically write ``data`` to ``path`` (see the module docstring); the package's one
    atomic write, behind :func:`atomic_write_text`, :func:`atomic_write_json` and
    :func:`atomic_write_csv`. Missing parent folders are created.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    data : bytes
        Content.
    what : str
        What the file is, for the error message.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    StorageError
        When the file cannot be written (full disk, no permission); no temp file and no
        partial file is left, and an existing ``path`` is unchanged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> _ = atomic_write_bytes(p, b"abc"); p.read_bytes()
    b'abc'
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise write_error(path, exc, what) from None
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (or keep the old one).
        os.chmod(tmp, _target_mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, StorageError):
            raise write_error(path, exc, what) from None
        raise
    return path


def _target_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(
    path: str | os.PathLike, text: str, encoding: str = "utf-8", what: str = "file"
) -> Path:
    """Atomically write ``text`` to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    text : str
        Content.
    encoding : str
        Text encoding.
    what : str
        What the file is, for the error message.

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
    return atomic_write_bytes(path, text.encode(encoding), what)


def atomic_write_json(
    path: str | os.PathLike, obj: Any, indent: int = 2, what: str = "file"
) -> Path:
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
    what : str
        What the file is, for the error message.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        For an object :func:`to_jsonable` cannot convert (nothing is written).
    StorageError
        When the file cannot be written (nothing is written).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = atomic_write_json(p, {"x": np.arange(3), "y": np.float32(0.5)}, indent=None)
    >>> p.read_text().strip()
    '{"x": [0, 1, 2], "y": 0.5}'
    """
    text = json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
    return atomic_write_text(path, text + "\n", what=what)


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
        if obj.dtype.kind == "O" or (obj.dtype.kind in "fc" and not np.isfinite(obj).all()):
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


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Neutralise a text cell that a spreadsheet would run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading apostrophe (the usual CSV-injection defence), so Excel, LibreOffice and
    Google Sheets show it as text. Numbers, :class:`NumberText` and other text are
    returned unchanged.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object
        ``"'" + value`` for such text, else ``value``.

    Examples
    --------
    >>> csv_safe("=1+2"), csv_safe("-late T"), csv_safe("T wave"), csv_safe(-1.5)
    ("'=1+2", "'-late T", 'T wave', -1.5)
    """
    if (
        isinstance(value, str)
        and not isinstance(value, NumberText)
        and value.startswith(FORMULA_PREFIXES)
    ):
        return "'" + value
    return value


class NumberText(str):
    """A number the caller formatted itself (``f"{x:.4f}"``): :func:`csv_text` writes it
    as is, so ``-0.5`` stays a number instead of being escaped as text.

    Examples
    --------
    >>> csv_safe(NumberText(f"{-0.5:.2f}"))
    '-0.50'
    """


def csv_text(
    header: Sequence[str], rows: Iterable[Sequence[Any]], lineterminator: str = "\r\n"
) -> str:
    """The package's one CSV writer: every text cell formula-escaped (:func:`csv_safe`).

    Parameters
    ----------
    header : sequence of str
        Column names.
    rows : iterable of sequence
        Cells: text (escaped), numbers, :class:`NumberText` (written as given), ``None``
        or NaN (empty).
    lineterminator : str
        ``"\\r\\n"`` (RFC 4180; cells holding a line break are quoted) or ``"\\n"``.

    Returns
    -------
    str

    Examples
    --------
    >>> print(csv_text(["id", "p"], [["=HYPERLINK(1)", NumberText("-0.50")]], "\\n"), end="")
    id,p
    '=HYPERLINK(1),-0.50
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=lineterminator)
    writer.writerow([csv_safe(str(h)) for h in header])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    return csv_safe(value)


def atomic_write_csv(
    path: str | os.PathLike,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    lineterminator: str = "\r\n",
    what: str = "CSV file",
) -> Path:
    """Atomically write a CSV with :func:`csv_text` (formula-escaped text cells).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file.
    header, rows, lineterminator
        As for :func:`csv_text`.
    what : str
        What the file is, for the error message.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    StorageError
        When the file cannot be written (nothing is written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = atomic_write_csv(pathlib.Path(tempfile.mkdtemp()) / "a.csv", ["x"], [["@x"]])
    >>> p.read_text().splitlines()
    ['x', "'@x"]
    """
    return atomic_write_text(path, csv_text(header, rows, lineterminator), what=what)
