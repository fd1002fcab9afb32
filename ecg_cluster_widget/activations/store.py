"""On-disk store for per-record arrays of a fit too large for memory (features, labels).

Design choice: a folder of raw little-endian ``.npy``-headed files read back as
``numpy.memmap`` (``numpy.lib.format.open_memmap``), not zarr. Reasons:

* no extra dependency, and any numpy (or a user with ``np.load(path, mmap_mode="r")``)
  reads the arrays;
* rows are contiguous per record, so the chunk-wise writes of a streaming fit and the
  per-record reads of the widget are single ``pwrite`` / ``pread`` calls;
* the writes go through ``os.pwrite`` on the file, never through a writable mapping: the
  kernel's page cache holds written pages, but they are not mapped into the process and so
  do not count towards its resident set (a 7 GB store written through ``np.memmap`` shows
  up as 7 GB of RSS until the pages are evicted).

Compression (zarr's strength) buys little here: float32 PCA features do not compress well.

Layout: one ``.npy`` file per array plus ``<folder>/store.json`` listing the arrays
(file, shape, dtype) and which are complete. An array is marked complete only after its
last chunk is written, so a fit interrupted half-way is visible as such on reopening.

Generations: a fit writes its arrays into a new sub-folder ``g-<token>/`` (inside
:meth:`FeatureStore.generation`) and, only after its last array is complete, swaps the
index to them in one atomic write. So a refit that fails half-way leaves the previous
fit's arrays and index bit-for-bit as they were (its staging folder is removed), and a
file is never truncated or rewritten in place: a live fit of the same store (another
explainer's memory maps of it) keeps reading its own files, which are unlinked, not
truncated, when replaced (a memory-mapped file that shrinks under its map kills the process
with SIGBUS; an unlinked one stays readable until unmapped).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

from ..data.io_utils import write_error
from ..errors import DataError, FileFormatError

__all__ = ["FeatureStore"]

_INDEX = "store.json"
_IDENTITY = "fit.json"


class FeatureStore:
    """A folder of per-record arrays written chunk by chunk and read as memory maps.

    Parameters
    ----------
    path : str or os.PathLike
        The folder (created if missing).

    Examples
    --------
    >>> import tempfile
    >>> st = FeatureStore(tempfile.mkdtemp())
    >>> st.create("features", (4, 3, 2), np.float32)
    >>> st.write("features", 0, np.ones((2, 3, 2), np.float32))
    >>> st.write("features", 2, np.zeros((2, 3, 2), np.float32))
    >>> st.finish("features")
    >>> st.read("features", 1, 3)[:, 0, 0].tolist(), st.open("features").shape
    ([1.0, 0.0], (4, 3, 2))
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise DataError(f"store path {self.path} exists and is not a folder; pick a folder.")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(self.path, exc, "store folder") from None
        self._index = self._load_index()
        self._stage: Path | None = None  # the generation being written, if any
        self._committed: dict | None = None  # the index to restore when it fails

    # -- generations ---------------------------------------------------------
    @contextlib.contextmanager
    def generation(self) -> Iterator[FeatureStore]:
        """Write a new generation of arrays, swapped in only if the block succeeds.

        Inside the block, :meth:`create` puts arrays into a fresh sub-folder and reads see
        them; the index on disk still lists the previous arrays. On success the index is
        replaced by the new generation's arrays in one atomic write and the files of the
        previous one are unlinked (memory maps of them stay valid). On any exception the
        new sub-folder is removed and the store is exactly as before.

        Yields
        ------
        FeatureStore
            This store.

        Examples
        --------
        >>> import tempfile
        >>> st = FeatureStore(tempfile.mkdtemp())
        >>> with st.generation():
        ...     st.create("a", (2,), np.float32); st.write("a", 0, np.ones(2)); st.finish("a")
        >>> try:
        ...     with st.generation():
        ...         st.create("a", (2,), np.float32)
        ...         raise RuntimeError("the chunk source failed")
        ... except RuntimeError:
        ...     pass
        >>> st.open("a").tolist()
        [1.0, 1.0]
        """
        if self._stage is not None:
            raise DataError("a generation of this store is already being written.")
        stage = self.path / f"g-{secrets.token_hex(6)}"
        try:
            stage.mkdir()
        except OSError as exc:
            raise write_error(stage, exc, "store generation") from None
        old = self._index
        self._committed, self._stage, self._index = old, stage, {}
        try:
            yield self
            self._stage = None
            self._save_index()  # the swap: from here on the index names the new files
        except BaseException:
            self._index, self._stage = old, None
            shutil.rmtree(stage, ignore_errors=True)
            raise
        finally:
            self._committed = None
        current = {e.get("file") for e in self._index.values()}
        for entry in old.values():
            if entry.get("file", "") not in current:
                self._unlink(self.path / self._file_of(entry))

    def set_identity(self, identity: dict) -> None:
        """Record what the generation being written was fitted on (model, data, K).

        Written into the generation's folder, so it is swapped in with its arrays.

        Parameters
        ----------
        identity : dict
            JSON-serialisable, e.g. ``model_checksum`` and ``data_fingerprint``.
        """
        from ..data.io_utils import atomic_write_json

        if self._stage is None:
            raise DataError("set_identity is for a generation being written (inside generation()).")
        atomic_write_json(self._stage / _IDENTITY, identity, what="store identity")

    @property
    def identity(self) -> dict | None:
        """What the current arrays were fitted on (:meth:`set_identity`), None if unknown.

        The content identity of the data (its fingerprint, not a name or path), so reusing
        a store for another dataset or model is seen from what the store holds.
        """
        folders = {(self.path / self._file_of(e)).parent for e in self._index.values()}
        if len(folders) != 1:
            return None
        f = folders.pop() / _IDENTITY
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError):
            return None

    def _unlink(self, f: Path) -> None:
        try:
            f.unlink()
            if f.parent != self.path and not any(
                p for p in f.parent.iterdir() if p.name != _IDENTITY
            ):
                (f.parent / _IDENTITY).unlink(missing_ok=True)
                f.parent.rmdir()
        except OSError:
            pass  # e.g. still mapped on Windows: the next generation's swap retries

    @staticmethod
    def _file_of(entry: dict) -> str:
        return entry.get("file") or ""

    # -- index -------------------------------------------------------------
    def _load_index(self) -> dict:
        f = self.path / _INDEX
        if not f.exists():
            return {}
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError) as exc:
            raise FileFormatError(
                f"the store index {f} is unreadable ({exc}); delete the folder and fit again."
            ) from None

    def _save_index(self) -> None:
        if self._stage is not None:
            return  # a generation in progress: the index is swapped when it completes
        from ..data.io_utils import atomic_write_json

        atomic_write_json(self.path / _INDEX, self._index, what="store index")

    @property
    def names(self) -> list[str]:
        """Arrays in the store."""
        return sorted(self._index)

    def is_complete(self, name: str) -> bool:
        """Whether every chunk of ``name`` was written (:meth:`finish` was called)."""
        return bool(self._index.get(name, {}).get("complete", False))

    def nbytes(self) -> int:
        """Bytes of all arrays on disk."""
        return sum(self._path(n).stat().st_size for n in self._index)

    def _path(self, name: str) -> Path:
        return self.path / self._entry(name)["file"]

    # -- writing -----------------------------------------------------------
    def create(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> None:
        """Create (or overwrite) array ``name`` of ``shape`` on disk, unwritten.

        Parameters
        ----------
        name : str
            A plain file name (letters, digits, ``_``).
        shape : tuple of int
            Full shape; axis 0 is the record.
        dtype : numpy dtype
        """
        if not name.replace("_", "").isalnum():
            raise DataError(f"store array names are letters, digits and '_', got {name!r}.")
        dtype = np.dtype(dtype)
        shape = tuple(int(s) for s in shape)
        folder = self._stage or self.path
        rel = f"{name}.npy" if folder == self.path else f"{folder.name}/{name}.npy"
        f = self.path / rel
        tmp = f.with_name(f".{f.name}.{secrets.token_hex(4)}.tmp")
        try:
            # open_memmap writes the .npy header and sizes the (sparse) file; the mapping
            # is dropped at once, the data is written with pwrite. Into a new file moved
            # into place: an existing one may be memory-mapped by a live fit, and
            # truncating it would kill that process (SIGBUS).
            mm = npformat.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
            offset = int(mm.offset)
            del mm
            os.replace(tmp, f)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise write_error(f, exc, "store array") from None
        self._index[name] = {
            "file": rel,
            "shape": list(shape),
            "dtype": dtype.str,
            "offset": offset,
            "complete": False,
        }
        self._save_index()

    def _entry(self, name: str) -> dict:
        if name not in self._index:
            raise DataError(
                f"the store at {self.path} has no array {name!r} (it has: "
                f"{', '.join(self.names) or 'none'})."
            )
        entry = self._index[name]
        entry.setdefault("file", f"{name}.npy")  # stores written before generations
        return entry

    def write(self, name: str, start: int, rows: np.ndarray) -> None:
        """Write ``rows`` at record ``start`` of array ``name`` (a contiguous block).

        Parameters
        ----------
        name : str
        start : int
            First record (row of axis 0).
        rows : ndarray
            Shape ``(m,) + shape[1:]``; converted to the array's dtype.
        """
        e = self._entry(name)
        shape, dtype = tuple(e["shape"]), np.dtype(e["dtype"])
        rows = np.ascontiguousarray(rows, dtype=dtype)
        if rows.shape[1:] != shape[1:] or not 0 <= start <= shape[0] - rows.shape[0]:
            raise DataError(
                f"cannot write rows of shape {rows.shape} at record {start} into {name!r} of "
                f"shape {shape}."
            )
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        f = self._path(name)
        try:
            fd = os.open(f, os.O_WRONLY)
            try:
                data = memoryview(rows).cast("B")
                done = 0
                while done < data.nbytes:  # pwrite may write less than asked
                    done += os.pwrite(fd, data[done:], e["offset"] + start * row_bytes + done)
            finally:
                os.close(fd)
        except OSError as exc:
            raise write_error(f, exc, "store array") from None

    def finish(self, name: str) -> None:
        """Mark ``name`` complete (after its last chunk)."""
        self._entry(name)["complete"] = True
        self._save_index()

    # -- reading -----------------------------------------------------------
    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Records ``start:stop`` of ``name`` as an in-memory array (one ``pread``)."""
        e = self._entry(name)
        shape, dtype = tuple(e["shape"]), np.dtype(e["dtype"])
        start, stop = max(0, int(start)), min(shape[0], int(stop))
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        out = np.empty((max(0, stop - start),) + shape[1:], dtype=dtype)
        f = self._path(name)
        try:
            fd = os.open(f, os.O_RDONLY)
        except OSError as exc:
            raise FileFormatError(
                f"cannot read array {name!r} of the store {self.path} ({exc.strerror}); fit again."
            ) from None
        try:
            view = memoryview(out).cast("B")
            done = 0
            while done < view.nbytes:
                got = os.preadv(fd, [view[done:]], e["offset"] + start * row_bytes + done)
                if got <= 0:
                    raise FileFormatError(
                        f"{f.name} in {self.path} is truncated (shorter than its "
                        f"{shape} {dtype} array); fit again."
                    )
                done += got
        finally:
            os.close(fd)
        return out

    def open(self, name: str) -> np.memmap:
        """The whole array ``name`` as a read-only memory map (pages load on access).

        Raises
        ------
        FileFormatError
            If the array was never completed (an interrupted fit), or its file is
            missing, truncated or not the array the index lists.
        """
        e = self._entry(name)
        if not self.is_complete(name):
            raise FileFormatError(
                f"array {name!r} in {self.path} is incomplete (the fit writing it was "
                "interrupted); fit again."
            )
        f = self._path(name)
        shape, dtype = tuple(e["shape"]), np.dtype(e["dtype"])
        need = e["offset"] + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        try:
            size = f.stat().st_size
        except OSError as exc:
            raise FileFormatError(
                f"array {name!r} of the store {self.path} cannot be read ({exc.strerror}); "
                "fit again."
            ) from None
        if size < need:
            # np.load would say "mmap length is greater than file size".
            raise FileFormatError(
                f"{f.name} in {self.path} is truncated ({size} bytes, its {shape} {dtype} "
                f"array needs {need}); the store was damaged: fit again."
            )
        try:
            arr = np.load(f, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise FileFormatError(
                f"{f.name} in {self.path} is not a .npy array ({exc}); fit again."
            ) from None
        if arr.shape != shape or arr.dtype != dtype:
            raise FileFormatError(
                f"{f.name} in {self.path} holds a {arr.shape} {arr.dtype} array, the index "
                f"says {shape} {dtype}; the store was changed by hand: fit again."
            )
        return arr

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.path)!r}, arrays={self.names})"
