"""Trait types of the widget: a binary n-d array trait and the error a refused value raises.

Arrays travel to the browser as ``{"shape": [...], "dtype": "float32", "buffer": <bytes>}``
(the layout lonboard and jupyter-scatter use): ipywidgets sends the ``buffer`` as a binary
frame next to the JSON, so no array is ever base64- or JSON-encoded on the comm, and the
shape travels with the bytes instead of in side traits. ``js/decode.js`` (``decodeArray``)
is the one decoder on the other side.

The checks every synced value must pass, and the validators that apply them to the
widget's traits (:class:`ValidatedState`), live here too: the whole contract of what a
trait may hold in one file, which is why it runs a little over the usual length.
"""

from __future__ import annotations

import base64
import pathlib
import warnings
from typing import Any

import numpy as np
import traitlets as t

from ..errors import DataError
from ..explain.browse import check_k
from ..explain.context import class_names
from .labels import normalize_labels

#: dtypes an array trait may hold (all have a JavaScript typed-array counterpart).
ARRAY_DTYPES = ("float32", "float64", "int8", "int16", "int32", "uint8", "uint16", "uint32")


class TraitValueError(DataError, t.TraitError):
    """A widget trait refused a value (from Python or from the browser).

    Both a :class:`~ecg_cluster_widget.errors.DataError` (the project's bad-input error)
    and a :class:`traitlets.TraitError`: traitlets and ipywidgets roll a held change back
    only for a ``TraitError``, so a refused value never stays in the trait.

    Examples
    --------
    >>> issubclass(TraitValueError, t.TraitError) and issubclass(TraitValueError, ValueError)
    True
    """


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
    dtype = str(value["dtype"])
    if dtype not in ARRAY_DTYPES:
        raise TraitValueError(f"array dtype {dtype!r} is not one of {', '.join(ARRAY_DTYPES)}.")
    buf = value["buffer"]
    if isinstance(buf, dict) and isinstance(buf.get("$b64"), str):
        buf = base64.b64decode(buf["$b64"])
    try:
        shape = tuple(int(s) for s in value["shape"])
        flat = np.frombuffer(bytes(buf), dtype=dtype)
        return flat.reshape(shape).copy()
    except (TypeError, ValueError) as exc:
        raise TraitValueError(f"array bytes do not match shape {value['shape']}: {exc}") from None


def json_safe(value: Any) -> Any:
    """``value`` with every binary buffer replaced by ``{"$b64": "..."}`` (for a page).

    Parameters
    ----------
    value : object
        Widget state (dicts, lists, scalars and buffers).

    Returns
    -------
    object
        The same structure, JSON-serialisable.

    Examples
    --------
    >>> json_safe({"a": [b"\\x00\\x01"]})
    {'a': [{'$b64': 'AAE='}]}
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


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
        if dtype not in ARRAY_DTYPES:
            raise ValueError(f"dtype must be one of {ARRAY_DTYPES}, got {dtype!r}.")
        self.dtype = np.dtype(dtype)
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


def _check_int(value: Any, what: str, lo: int, hi: int) -> int:
    """An integer in ``lo..hi`` (an integral float such as ``3.0`` is accepted).

    Examples
    --------
    >>> _check_int(3.0, "K", 2, 8)
    3
    >>> _check_int(float("nan"), "K", 2, 8)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.views.traits.TraitValueError: K must be an integer in 2..8, got nan.
    """
    bad = TraitValueError(f"{what} must be an integer in {lo}..{hi}, got {value!r}.")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise bad
    if not np.isfinite(value) or float(value) != int(value):
        raise bad
    if not lo <= int(value) <= hi:
        raise bad
    return int(value)


def _check_finite(value: Any, what: str) -> float:
    """A finite real number.

    Examples
    --------
    >>> _check_finite("1.5", "x")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.views.traits.TraitValueError: x must be a finite number, got '1.5'.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TraitValueError(f"{what} must be a finite number, got {value!r}.")
    if not np.isfinite(value):
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
    ecg_cluster_widget.views.traits.TraitValueError: cluster_labels: 7 is not a cluster id of this fit (ids: 0, 1).
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


#: Traits only the kernel writes: a change to one of them from the browser is refused.
KERNEL_OWNED = frozenset(
    "n_records k_min k_max class_names gradcam_label response_id busy status error record "
    "signal seg_ids entropy gradcam clusters prototypes example_snips labels_report".split()
)
#: Fields a request may carry.
REQUEST_KEYS = frozenset(
    "id k index gradcam_class record_id class rank rank_step rank_pos rank_source".split()
)


class ValidatedState(t.HasTraits):
    """Validators of every synced trait of ``ClusterExplorer`` (mixed into the widget).

    A refused value raises :class:`TraitValueError` (so traitlets rolls a held change
    back and the previous value stays) and is shown in the widget's ``message``; a value
    sent by the browser is refused the same way, warned about, and the browser is sent
    the kernel's values again. Expects the widget's ``dataset``, ``model``, ``fit``
    (:class:`~ecg_cluster_widget.explain.fit_view.FitView`), ``record`` and
    ``_labels_ok`` (the last accepted labels: during a held change a validator sees the
    proposal in the trait already).

    Examples
    --------
    >>> w.n_clusters = 50  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    TraitValueError: K=50 is outside the allowed range 2..12.
    >>> w.message  # doctest: +SKIP
    '⚠ K=50 is outside the allowed range 2..12.'
    """

    def _refuse(self, exc: Exception) -> None:
        self.message = f"⚠ {exc}"
        self._message_kind = "refused"

    def set_state(self, sync_data: dict) -> None:
        """Apply a change sent by the browser; a refused one is rolled back and re-synced."""
        try:
            owned = sorted(k for k in sync_data if k in KERNEL_OWNED)
            if owned:
                raise TraitValueError(
                    f"{', '.join(owned)} can only be changed by the kernel, not by the browser."
                )
            super().set_state(sync_data)
        except t.TraitError as exc:
            names = [n for n in sync_data if n in self.keys]
            self._refuse(exc)
            warnings.warn(f"ClusterExplorer refused a value from the browser: {exc}", stacklevel=2)
            self.send_state(names)  # the browser goes back to the kernel's values

    def _fail(self, why: str) -> None:
        err = TraitValueError(why)
        self._refuse(err)
        raise err

    def _check(self, fn, *args):
        try:
            return fn(*args)
        except (DataError, t.TraitError) as exc:
            err = exc if isinstance(exc, TraitValueError) else TraitValueError(str(exc))
            self._refuse(err)
            raise err from None

    @t.validate("index")
    def _v_index(self, p: dict) -> int:
        n = len(self.dataset) if hasattr(self, "dataset") else 1
        return self._check(_check_int, p["value"], "ECG index", 0, n - 1)

    @t.validate("n_clusters")
    def _v_k(self, p: dict) -> int:
        return self._check(check_k, p["value"], (self.k_min, self.k_max))

    @t.validate("k_min", "k_max")
    def _v_k_range(self, p: dict) -> int:
        k = self._check(_check_int, p["value"], p["trait"].name, 2, 10_000)
        lo, hi = (k, self.k_max) if p["trait"].name == "k_min" else (self.k_min, k)
        if lo > hi:
            self._fail(f"k_min must not exceed k_max, got k_min={lo}, k_max={hi}.")
        return k

    @t.validate("n_records")
    def _v_n_records(self, p: dict) -> int:
        n = len(self.dataset) if hasattr(self, "dataset") else 0
        return self._check(_check_int, p["value"], "n_records (the dataset's size)", n, n)

    @t.validate("class_names", "gradcam_class", "gradcam_label")
    def _v_classes(self, p: dict) -> Any:
        names = class_names(self.model, self.dataset) if hasattr(self, "dataset") else ()
        if p["trait"].name == "class_names":
            if list(p["value"]) != list(names):
                self._fail(f"class_names are the model's ({', '.join(names)}), got {p['value']!r}.")
            return list(p["value"])
        return self._check(_check_choice, p["value"], names, p["trait"].name)

    @t.validate("leads")
    def _v_leads(self, p: dict) -> list[int]:
        return self._check(_check_leads, p["value"], self.dataset.n_leads)

    @t.validate("font_scale")
    def _v_font_scale(self, p: dict) -> float:
        return float(min(2.0, max(1.0, self._check(_check_finite, p["value"], "font_scale"))))

    @t.validate("selection")
    def _v_selection(self, p: dict) -> dict:
        ds = self.dataset
        return self._check(_check_selection, p["value"], float(ds.fs), ds.n_samples)

    @t.validate("view_range")
    def _v_view(self, p: dict) -> list[float]:
        return self._check(_check_view_range, p["value"], self.dataset.duration)

    @t.validate("highlight_cluster")
    def _v_highlight(self, p: dict) -> int:
        ids = [-1, *self.record.get("cluster_ids", [])]
        if p["value"] not in ids:
            self._check(_check_choice, p["value"], ids, "highlight_cluster")
        return int(p["value"])

    @t.validate("cluster_labels")
    def _v_labels(self, p: dict) -> dict:
        labs = self._check(normalize_labels, p["value"])
        known = self.fit.known_ids() | {int(k) for k in self._labels_ok}
        return self._check(_check_label_ids, labs, known)

    @t.validate("label_vocab")
    def _v_vocab(self, p: dict) -> list[str]:
        return self._check(_check_vocab, p["value"])

    @t.validate("labels_path")
    def _v_labels_path(self, p: dict) -> str:
        if p["value"] and pathlib.Path(p["value"]).is_dir():
            self._fail(f"labels_path must name a file, {p['value']!r} is a folder.")
        return p["value"]

    @t.validate("request")
    def _v_request(self, p: dict) -> dict:
        extra = sorted(set(p["value"]) - REQUEST_KEYS)
        if extra:
            self._fail(
                f"unknown request field(s) {extra}; allowed: {', '.join(sorted(REQUEST_KEYS))}."
            )
        return p["value"]
