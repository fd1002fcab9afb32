"""Trait types of the widget: a binary n-d array trait and the error a refused value raises.

Arrays travel to the browser as ``{"shape": [...], "dtype": "float32", "buffer": <bytes>}``
(the layout lonboard and jupyter-scatter use): ipywidgets sends the ``buffer`` as a binary
frame next to the JSON, so no array is ever base64- or JSON-encoded on the comm, and the
shape travels with the bytes instead of in side traits. ``js/decode.js`` (``decodeArray``)
is the one decoder on the other side.

The checks every synced value must pass live here too; ``views/validation.py`` applies
them to the widget's traits.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import traitlets as t

from ..data.dataset import check_choice
from ..errors import ModelError, TraitValueError

#: dtypes an array trait may hold (all have a JavaScript typed-array counterpart).
ARRAY_DTYPES = ("float32", "float64", "int8", "int16", "int32", "uint8", "uint16", "uint32")


def array_to_json(value: np.ndarray | None, _widget: Any = None) -> dict | None:
    """Serialise an array as ``{"shape", "dtype", "buffer"}`` (the buffer as a memoryview).

    Parameters
    ----------
    value : ndarray or None
    _widget : Widget, optional
        Unused (the ipywidgets serializer signature).

    Returns
    -------
    dict or None

    Examples
    --------
    >>> d = array_to_json(np.arange(6, dtype=np.int16).reshape(2, 3))
    >>> d["shape"], d["dtype"], bytes(d["buffer"])[:4]
    ([2, 3], 'int16', b'\\x00\\x00\\x01\\x00')
    """
    if value is None:
        return None
    a = np.ascontiguousarray(value)
    return {
        "shape": [int(s) for s in a.shape],
        "dtype": str(a.dtype),
        "buffer": memoryview(a.reshape(-1).view(np.uint8)),
    }


def array_from_json(value: Any, _widget: Any = None) -> np.ndarray | None:
    """Inverse of :func:`array_to_json`; the buffer may also be ``{"$b64": "..."}``.

    Parameters
    ----------
    value : dict or None
        ``{"shape", "dtype", "buffer"}`` as the comm delivers it.
    _widget : Widget, optional
        Unused (the ipywidgets serializer signature).

    Returns
    -------
    ndarray or None

    Raises
    ------
    TraitValueError
        If the dict is malformed, the dtype is not in :data:`ARRAY_DTYPES` or the byte
        count does not match the shape.

    Examples
    --------
    >>> array_from_json(array_to_json(np.eye(2, dtype=np.float32))).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    if value is None:
        return None
    if not isinstance(value, dict) or not {"shape", "dtype", "buffer"} <= set(value):
        raise TraitValueError(
            f"an array must be sent as {{shape, dtype, buffer}}, got {type(value).__name__}."
        )
    dtype = check_choice(str(value["dtype"]), ARRAY_DTYPES, "array dtype", TraitValueError)
    buf = value["buffer"]
    if isinstance(buf, dict) and isinstance(buf.get("$b64"), str):
        buf = base64.b64decode(buf["$b64"])
    try:
        shape = tuple(int(s) for s in value["shape"])
        flat = np.frombuffer(bytes(buf), dtype=dtype)
        return flat.reshape(shape).copy()
    except (TypeError, ValueError) as exc:
        raise TraitValueError(f"array bytes do not match shape {value['shape']}: {exc}") from None


def f32_bytes(a: Any) -> bytes:
    """The raw float32 bytes of an array (the linked views' ``Bytes`` traits).

    Parameters
    ----------
    a : array-like
        Any shape; C order.

    Returns
    -------
    bytes

    Examples
    --------
    >>> len(f32_bytes(np.zeros((2, 3))))
    24
    """
    return np.ascontiguousarray(a, dtype=np.float32).tobytes()


def check_fitted_explainer(tlc: Any) -> None:
    """Refuse anything but a fitted :class:`~ecg_cluster_widget.explain.TLCExplainer`.

    Parameters
    ----------
    tlc : object
        What a view was given as its explainer.

    Returns
    -------
    None

    Raises
    ------
    ModelError
        Naming what was given, or that it is not fitted yet.

    Examples
    --------
    >>> check_fitted_explainer("tlc")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.ModelError: tlc must be a fitted TLCExplainer, got str.
    """
    from ..explain import TLCExplainer

    if not isinstance(tlc, TLCExplainer):
        raise ModelError(f"tlc must be a fitted TLCExplainer, got {type(tlc).__name__}.")
    if not tlc.is_fitted:
        raise ModelError("the explainer is not fitted: call tlc.fit(ds) first.")


def b64_buffer(buf: Any) -> dict:
    """A binary buffer as ``{"$b64": "..."}``, the form :func:`array_from_json` also reads:
    the ``default`` of :func:`~ecg_cluster_widget.data.io_utils.to_jsonable` for a widget's
    state written into a page.

    Parameters
    ----------
    buf : bytes, bytearray or memoryview

    Returns
    -------
    dict

    Examples
    --------
    >>> from ecg_cluster_widget.data.io_utils import to_jsonable
    >>> to_jsonable({"a": [b"\\x00\\x01"]}, default=b64_buffer)
    {'a': [{'$b64': 'AAE='}]}
    """
    return {"$b64": base64.b64encode(bytes(buf)).decode("ascii")}


class Array(t.TraitType):
    """An n-d numpy array of one dtype, synced as binary (see :func:`array_to_json`).

    Parameters
    ----------
    dtype : str
        The dtype values are cast to (one of :data:`ARRAY_DTYPES`).
    ndim : int, optional
        Required number of dimensions (an empty array is always allowed: "no data").

    Examples
    --------
    >>> class W(t.HasTraits):
    ...     x = Array("int16", ndim=1)
    >>> W(x=[1, 2]).x.dtype
    dtype('int16')
    """

    info_text = "a numpy array"

    def __init__(self, dtype: str = "float32", ndim: int | None = None, **kwargs: Any) -> None:
        self.dtype = np.dtype(check_choice(dtype, ARRAY_DTYPES, "dtype", ValueError))
        self.ndim = ndim
        super().__init__(np.zeros(0, dtype=self.dtype), **kwargs)
        self.metadata.setdefault("to_json", array_to_json)
        self.metadata.setdefault("from_json", array_from_json)

    def validate(self, obj: Any, value: Any) -> np.ndarray:
        """``value`` as a contiguous array of the trait's dtype (and ndim)."""
        try:
            a = np.ascontiguousarray(value, dtype=self.dtype)
        except (TypeError, ValueError) as exc:
            raise TraitValueError(
                f"{self.name} must be an array of {self.dtype}, got {type(value).__name__}: {exc}"
            ) from None
        if self.ndim is not None and a.size and a.ndim != self.ndim:
            raise TraitValueError(
                f"{self.name} must have {self.ndim} dimension(s), got shape {a.shape}."
            )
        return a

    def set(self, obj: t.HasTraits, value: Any) -> None:
        """Store ``value``; observers are told only when the array really changed."""
        # traitlets compares old and new with ``==``, which is elementwise (and ambiguous)
        # for arrays: compare them as arrays instead.
        new = self._validate(obj, value)
        old = obj._trait_values.get(self.name, self.default_value)
        obj._trait_values[self.name] = new
        same = (
            isinstance(old, np.ndarray)
            and old.shape == new.shape
            and old.dtype == new.dtype
            and np.array_equal(old, new)
        )
        if not same:
            obj._notify_trait(self.name, old, new)


# ---------------------------------------------------------------------------- checks
# Each returns the value to store or raises TraitValueError naming the problem and what
# is allowed; ValidatedState calls them for values from Python and from the browser.


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_int(value: Any, what: str, lo: int, hi: int) -> int:
    """An integer in ``lo..hi`` (an integral float such as ``3.0`` is accepted).

    Examples
    --------
    >>> _check_int(3.0, "K", 2, 8)
    3
    >>> _check_int(float("nan"), "K", 2, 8)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.TraitValueError: K must be an integer in 2..8, got nan.
    """
    integral = _is_number(value) and np.isfinite(value) and float(value) == int(value)
    if not (integral and lo <= int(value) <= hi):
        raise TraitValueError(f"{what} must be an integer in {lo}..{hi}, got {value!r}.")
    return int(value)


def _check_finite(value: Any, what: str) -> float:
    """A finite real number.

    Examples
    --------
    >>> _check_finite("1.5", "x")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.TraitValueError: x must be a finite number, got '1.5'.
    """
    if not (_is_number(value) and np.isfinite(value)):
        raise TraitValueError(f"{what} must be a finite number, got {value!r}.")
    return float(value)


def _check_selection(sel: Any, fs: float, n_samples: int) -> dict:
    """A brushed range as ``{start_s, end_s, start, end}``, or ``{}`` for none.

    Given ``start``/``end`` samples or ``start_s``/``end_s`` seconds; a range reaching
    past either end of the record is clipped to it, one entirely outside it is refused.

    Examples
    --------
    >>> _check_selection({"start_s": 1, "end_s": 2}, 100.0, 1000)
    {'start_s': 1.0, 'end_s': 2.0, 'start': 100, 'end': 200}
    """
    if sel is None or sel == {}:
        return {}
    if not isinstance(sel, dict):
        raise TraitValueError(f"selection must be a dict, got {type(sel).__name__}.")
    hint = (
        "selection must be {} or hold 'start'/'end' samples or 'start_s'/'end_s' seconds; "
        f"got {sel!r}."
    )
    if "start" in sel and "end" in sel:
        a, b = (_check_finite(sel[k], f"selection {k}") for k in ("start", "end"))
    elif "start_s" in sel and "end_s" in sel:
        a, b = (_check_finite(sel[k], f"selection {k}") * fs for k in ("start_s", "end_s"))
    else:
        raise TraitValueError(hint)
    start, end = int(round(min(a, b))), int(round(max(a, b)))
    start, end = max(0, start), min(int(n_samples), end)
    if end <= start:
        raise TraitValueError(
            f"selection {sel!r} lies outside the record (0..{n_samples} samples, "
            f"0..{n_samples / fs:g} s) or is empty."
        )
    return {"start_s": start / fs, "end_s": end / fs, "start": start, "end": end}


def _check_view_range(value: Any, duration: float) -> list[float]:
    """``[]`` or ``[t0, t1]`` seconds with ``t0 < t1`` overlapping ``0..duration``.

    Examples
    --------
    >>> _check_view_range([2, 4], 10.0)
    [2.0, 4.0]
    """
    if value is None or len(value) == 0:
        return []
    if len(value) != 2:
        raise TraitValueError(f"view_range must be [] or [start_s, end_s], got {value!r}.")
    a, b = (_check_finite(v, "view_range") for v in value)
    if not (a < b and b > 0 and a < duration):
        raise TraitValueError(
            f"view_range {value!r} must be [start_s, end_s] with start < end, inside "
            f"0..{duration:g} s."
        )
    return [a, b]


def _check_leads(value: Any, n_leads: int) -> list[int]:
    """Sorted distinct lead positions in ``0..n_leads-1`` (``[]``: all leads).

    Examples
    --------
    >>> _check_leads([6, 0, 6], 12)
    [0, 6]
    """
    return sorted({_check_int(v, "a lead position", 0, n_leads - 1) for v in value or []})


def _check_choice(value: Any, choices: Any, what: str) -> str:
    """``""`` or one of ``choices``.

    Examples
    --------
    >>> _check_choice("MI", ("NORM", "MI"), "Grad-CAM class")
    'MI'
    """
    if value == "" or value in tuple(choices):
        return str(value)
    raise TraitValueError(
        f"{what} must be '' or one of {', '.join(map(str, choices)) or '(none)'}, got {value!r}."
    )


def _check_vocab(value: Any) -> list[str]:
    """The label vocabulary: up to 200 distinct non-empty names of at most 80 characters.

    Examples
    --------
    >>> _check_vocab(["P wave", " T wave "])
    ['P wave', 'T wave']
    """
    out: list[str] = []
    for v in value or []:
        name = str(v).strip()
        if not name or len(name) > 80:
            raise TraitValueError(f"label_vocab entries must be 1-80 characters, got {v!r}.")
        if name not in out:
            out.append(name)
    if len(out) > 200:
        raise TraitValueError(f"label_vocab holds at most 200 names, got {len(out)}.")
    return out


def _check_label_ids(labels: dict, known: set[int]) -> dict:
    """``labels`` when every key is a known cluster id.

    Examples
    --------
    >>> _check_label_ids({"7": {}}, {0, 1})
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.TraitValueError: cluster_labels: 7 is not a cluster id of this fit (ids: 0, 1).
    """
    unknown = sorted(int(k) for k in labels if int(k) not in known)
    if unknown:
        ids = ", ".join(map(str, sorted(known)))
        what = ", ".join(map(str, unknown))
        verb = "is" if len(unknown) == 1 else "are"
        raise TraitValueError(
            f"cluster_labels: {what} {verb} not a cluster id of this fit (ids: {ids})."
        )
    return labels
