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

Layout: ``<folder>/<name>.npy`` per array plus ``<folder>/store.json`` listing the arrays
(shape, dtype) and which are complete. An array is marked complete only after its last
chunk is written, so a fit interrupted half-way is visible as such on reopening.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

from ..errors import DataError, FileFormatError

__all__ = ["FeatureStore"]

_INDEX = "store.json"


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
        self.path.mkdir(parents=True, exist_ok=True)
        self._index = self._load_index()

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
        from ..data.io_utils import atomic_write_json

        atomic_write_json(self.path / _INDEX, self._index)

    @property
    def names(self) -> list[str]:
        """Arrays in the store."""
        return sorted(self._index)

    def is_complete(self, name: str) -> bool:
        """Whether every chunk of ``name`` was written (:meth:`finish` was called)."""
        return bool(self._index.get(name, {}).get("complete", False))

    def nbytes(self) -> int:
        """Bytes of all arrays on disk."""
        return sum((self.path / f"{n}.npy").stat().st_size for n in self._index)

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
        f = self.path / f"{name}.npy"
        # open_memmap writes the .npy header and sizes the (sparse) file; the mapping is
        # dropped at once, the data is written with pwrite.
        mm = npformat.open_memmap(f, mode="w+", dtype=dtype, shape=shape)
        offset = int(mm.offset)
        del mm
        self._index[name] = {
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
        return self._index[name]

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
        fd = os.open(self.path / f"{name}.npy", os.O_WRONLY)
        try:
            os.pwrite(fd, memoryview(rows).cast("B"), e["offset"] + start * row_bytes)
        finally:
            os.close(fd)

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
        fd = os.open(self.path / f"{name}.npy", os.O_RDONLY)
        try:
            view = memoryview(out).cast("B")
            done = 0
            while done < view.nbytes:
                got = os.preadv(fd, [view[done:]], e["offset"] + start * row_bytes + done)
                if got <= 0:
                    raise FileFormatError(f"{name}.npy in {self.path} is truncated.")
                done += got
        finally:
            os.close(fd)
        return out

    def open(self, name: str) -> np.memmap:
        """The whole array ``name`` as a read-only memory map (pages load on access).

        Raises
        ------
        FileFormatError
            If the array was never completed (an interrupted fit).
        """
        self._entry(name)
        if not self.is_complete(name):
            raise FileFormatError(
                f"array {name!r} in {self.path} is incomplete (the fit writing it was "
                "interrupted); fit again."
            )
        return np.load(self.path / f"{name}.npy", mmap_mode="r")

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.path)!r}, arrays={self.names})"
