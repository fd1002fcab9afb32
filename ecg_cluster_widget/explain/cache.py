"""Content identities and the feature cache of the explainer.

* :func:`fingerprint` / :func:`data_fingerprint`: cheap identity of a dataset's contents,
  memoised per array object (process-global: the arrays of an ``ECGDataset`` are
  read-only, so an array's contents cannot change behind the memo).
* :func:`model_checksum`: identity of a model's weights and input preparation.
* :func:`fit_id`: identity of a whole fit (model, data, options, seed), the same in any
  process for the same inputs, so caches and labels files can be tied to a fit.
* :class:`FeatureCache`: a small LRU of aligned features keyed by content fingerprint.

Not locked: the explainer calls the cache under its own lock.
"""

from __future__ import annotations

import functools
import hashlib
import json
import types
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..data.dataset import ECGDataset
from ..model.checkpoint import is_bundle

__all__ = ["FeatureCache", "data_fingerprint", "fingerprint", "fit_id", "model_checksum"]

_FP_MEMO: dict[int, tuple] = {}
_FP_MEMO_SIZE = 64


def fingerprint(ds: ECGDataset) -> tuple:
    """Cheap identity of a dataset's contents (shape, fs, leads, hashes of samples).

    Reads every record once (per-record sums) plus a strided sample, so it notices
    edits of whole records as well as scattered changes. The full read is memoised
    per array object (re-validated by the strided sample), so repeated calls on
    the same large dataset - one per widget click - cost ~0.1 ms.

    Parameters
    ----------
    ds : ECGDataset

    Returns
    -------
    tuple
        ``(shape, fs, lead_names, strided_hash, per_record_hash)``; equal tuples mean
        (with overwhelming probability) equal contents.

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((2, 12, 100), dtype=np.float32), fs=100, amplitude_check="ignore")
    >>> fingerprint(ds) == fingerprint(ds.subset([0, 1]))
    True
    >>> x = ds.signals.copy(); x[1, 3, 50] = 1.0   # datasets are read-only: edit a copy
    >>> fingerprint(ds.with_signals(x, amplitude_check="ignore")) == fingerprint(ds)
    False
    """
    a = ds.signals
    flat = a.reshape(-1)
    step = max(1, flat.size // 65_536)
    quick = hashlib.blake2b(flat[::step].tobytes(), digest_size=16).hexdigest()
    memo = _FP_MEMO.get(id(a))
    if memo is not None and memo[0]() is a and memo[1] == quick:
        full = memo[2]
    else:
        full = hashlib.blake2b(
            a.sum(axis=(1, 2), dtype=np.float64).tobytes(), digest_size=16
        ).hexdigest()
        if len(_FP_MEMO) > _FP_MEMO_SIZE:
            _FP_MEMO.clear()
        _FP_MEMO[id(a)] = (weakref.ref(a), quick, full)
    return (tuple(a.shape), float(ds.fs), tuple(ds.lead_names), quick, full)


def data_fingerprint(ds: ECGDataset) -> str:
    """:func:`fingerprint` as a hex string (the ``data_fingerprint`` of a labels file).

    Parameters
    ----------
    ds : ECGDataset

    Returns
    -------
    str
        32 hex digits, the same in any process for the same contents.

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((2, 12, 100), dtype=np.float32), fs=100, amplitude_check="ignore")
    >>> len(data_fingerprint(ds))
    32
    """
    return hashlib.blake2b(repr(fingerprint(ds)).encode(), digest_size=16).hexdigest()


def chunks_fingerprint(
    sizes: Sequence[int], layout: tuple | None, chunk_fingerprints: Sequence[str]
) -> str:
    """Content fingerprint of a chunk source: its records' count, layout and contents.

    Built from what the chunks returned (each chunk's :func:`data_fingerprint`), never
    from the source object's ``repr``: two sources that print alike but hold other
    records get other fingerprints, and so other ``fit_id`` s.

    Parameters
    ----------
    sizes : sequence of int
        Records per chunk.
    layout : tuple or None
        ``(fs, n_samples, lead_names)`` shared by the chunks.
    chunk_fingerprints : sequence of str
        :func:`data_fingerprint` of every chunk, in order.

    Returns
    -------
    str
        32 hex digits.

    Examples
    --------
    >>> a = chunks_fingerprint([2, 2], (100.0, 200, ("II",)), ["aa", "bb"])
    >>> a == chunks_fingerprint([2, 2], (100.0, 200, ("II",)), ["aa", "bc"])
    False
    """
    text = repr((tuple(int(s) for s in sizes), layout, tuple(chunk_fingerprints)))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _callable_identity(fn: Any) -> str | None:
    """Qualified name plus a hash of the bytecode of a callable (``None`` for none).

    Bytecode, constants and names are hashed (nested functions included), so editing a
    ``forward`` or ``preprocess`` changes the identity while the same code gives the
    same identity in any process. Callables without bytecode (builtins, numpy ufuncs)
    are identified by name; callable objects by their class's ``__call__``.
    """
    if fn is None:
        return None
    target = fn.func if isinstance(fn, functools.partial) else fn
    call = vars(type(target)).get("__call__")  # a callable object: its class's method
    code = getattr(target, "__code__", None) or getattr(call, "__code__", None)
    name = getattr(target, "__qualname__", type(target).__qualname__)
    h = hashlib.blake2b(digest_size=16)

    def add(c: types.CodeType) -> None:
        h.update(c.co_code + repr((c.co_names, c.co_varnames)).encode())
        for const in c.co_consts:
            add(const) if isinstance(const, types.CodeType) else h.update(repr(const).encode())

    if code is not None:
        add(code)
    if isinstance(fn, functools.partial):
        h.update(repr((fn.args, sorted(fn.keywords.items()))).encode())
    return f"{getattr(target, '__module__', '')}.{name}:{h.hexdigest()}"


def model_checksum(model: object) -> str:
    """Checksum of a model's weights (and, for a bundle, of its input preparation).

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
        For a bundle, fs, length, leads, standardizer, filter and the input contract
        (``input_layout``, ``forward``, ``preprocess``: see :func:`_callable_identity`)
        count too: the same weights fed differently prepared input are another model
        for the explainer.

    Returns
    -------
    str
        32 hex digits.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> a, b = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    >>> model_checksum(a) == model_checksum(a), model_checksum(a) == model_checksum(b)
    (True, False)
    """
    h = hashlib.blake2b(digest_size=16)
    module = model.model if is_bundle(model) else model
    for name, tensor in sorted(module.state_dict().items()):
        arr = tensor.detach().cpu().contiguous().numpy()
        h.update(f"{name}:{arr.dtype}:{arr.shape};".encode())
        h.update(arr.tobytes())
    if is_bundle(model):
        std = getattr(model, "standardizer", None)
        prep = {
            "fs": getattr(model, "fs", None),
            "n_samples": getattr(model, "n_samples", None),
            "lead_names": list(getattr(model, "lead_names", ()) or ()),
            "standardizer": std.to_dict() if std is not None else None,
            "signal_filter": repr(getattr(model, "signal_filter", None)),
        }
        # The input contract counts only where it is not the default, so a bundle that
        # uses none keeps the checksum (and the labels files) it had before it counted.
        contract = {
            "input_layout": getattr(model, "input_layout", "leads"),
            "forward": _callable_identity(getattr(model, "forward_fn", None)),
            "preprocess": _callable_identity(getattr(model, "preprocess", None)),
        }
        defaults = {"input_layout": "leads", "forward": None, "preprocess": None}
        prep.update({k: v for k, v in contract.items() if v != defaults[k]})
        h.update(json.dumps(prep, sort_keys=True, default=str).encode())
    return h.hexdigest()


def fit_id(model_sum: str, data_sum: str, params: Mapping[str, Any]) -> str:
    """Deterministic identity of a fit: model checksum, data fingerprint and options.

    Parameters
    ----------
    model_sum, data_sum : str
        :func:`model_checksum` and :func:`data_fingerprint`.
    params : mapping
        The explainer's options (``get_params()`` without the model), seed included.

    Returns
    -------
    str
        32 hex digits.

    Examples
    --------
    >>> fit_id("m", "d", {"n_clusters": 6}) == fit_id("m", "d", {"n_clusters": 6})
    True
    >>> fit_id("m", "d", {"n_clusters": 6}) == fit_id("m", "d", {"n_clusters": 7})
    False
    """
    text = json.dumps(
        {"model": model_sum, "data": data_sum, "params": dict(params)}, sort_keys=True, default=str
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class FeatureCache:
    """Least-recently-used cache of aligned features, keyed by dataset content.

    Parameters
    ----------
    size : int
        Datasets kept; the least recently used is dropped first.

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((2, 12, 100), dtype=np.float32), fs=100, amplitude_check="ignore")
    >>> cache = FeatureCache(size=1)
    >>> cache.put(ds, np.ones((2, 5, 3)))
    >>> cache.get(ds.subset([0, 1])).shape
    (2, 5, 3)
    """

    def __init__(self, size: int = 3) -> None:
        self.size = int(size)
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def get(self, ds: ECGDataset) -> np.ndarray | None:
        """Cached features of a dataset with the same contents as ``ds``, or None.

        Parameters
        ----------
        ds : ECGDataset

        Returns
        -------
        ndarray or None
        """
        key = fingerprint(ds)
        feats = self._items.get(key)
        if feats is not None:
            self._items.move_to_end(key)
        return feats

    def put(self, ds: ECGDataset, feats: np.ndarray) -> None:
        """Store the features of ``ds``, dropping the least recently used beyond ``size``.

        Parameters
        ----------
        ds : ECGDataset
        feats : ndarray
        """
        key = fingerprint(ds)
        self._items[key] = feats
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        self._items.clear()
