"""Validation of every synced trait of ``ClusterExplorer`` (mixed into the widget).

For values set in Python and values sent by the browser alike: a refused value raises
:class:`~ecg_cluster_widget.errors.TraitValueError`, a ``TraitError``, so traitlets
rolls a held change back and the previous value stays; the widget's ``message`` says
why; a refused change from the browser is also warned about in the kernel and the
browser is sent the kernel's values again.
"""

from __future__ import annotations

import pathlib
from typing import Any

import traitlets as t

from ..clustering.identity import check_n_clusters
from ..data.dataset import ECGDataset
from ..errors import DataError
from ..explain.context import class_names
from ..explain.fit_view import FitView
from ..labels import normalize_labels
from .refusal import RefusesBrowserValues
from .traits import (
    TraitValueError,
    _check_choice,
    _check_finite,
    _check_int,
    _check_label_ids,
    _check_leads,
    _check_selection,
    _check_view_range,
    _check_vocab,
)

#: Traits only the kernel writes: a change to one of them from the browser is refused.
KERNEL_OWNED = frozenset(
    "n_records k_min k_max class_names gradcam_label response_id busy status error record "
    "signal seg_ids entropy gradcam clusters prototypes example_snips labels_report "
    "gradcam_unavailable k_job fit_options".split()
)
#: Fields a request may carry.
REQUEST_KEYS = frozenset(
    "id k index gradcam_class record_id class rank rank_step rank_pos rank_source".split()
)


class ValidatedState(RefusesBrowserValues):
    """Validators of every synced trait of ``ClusterExplorer`` (mixed into the widget).

    A refused value raises :class:`TraitValueError` (so traitlets rolls a held change
    back and the previous value stays) and is shown in the widget's ``message``; a value
    sent by the browser is refused the same way, warned about, and the browser is sent
    the kernel's values again. The widget supplies what is declared below without a
    value.

    Examples
    --------
    >>> w.n_clusters = 50
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.TraitValueError: K must be an integer from 2 to 12, got 50.
    >>> w.message
    '⚠ K must be an integer from 2 to 12, got 50.'
    """

    dataset: ECGDataset
    model: Any
    fit: FitView
    record: dict
    k_min: int
    k_max: int
    message: str
    gradcam_unavailable: str
    #: The last accepted labels: during a held change a validator sees the proposal in
    #: the ``cluster_labels`` trait already.
    _labels_ok: dict
    _message_kind: str = ""

    _kernel_owned = KERNEL_OWNED

    def _refuse(self, exc: Exception) -> None:
        self.message = f"⚠ {exc}"
        self._message_kind = "refused"

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
        return self._check(check_n_clusters, p["value"], None, (self.k_min, self.k_max), "K")

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

    @t.validate("show_gradcam")
    def _v_show_gradcam(self, p: dict) -> bool:
        why = self.gradcam_unavailable
        if p["value"] and why:
            # Ticking the box would draw nothing: say why instead of a silent no-op.
            self._fail(why)
        return p["value"]

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
