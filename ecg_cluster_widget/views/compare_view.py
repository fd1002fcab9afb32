"""``CompareView``: two ECGs (or an ECG and its edited copy) on one time axis.

Both records are explained by the same fitted explainer, so their stable cluster ids
are comparable sample by sample: the time steps whose cluster differs are marked on
both traces and in a track of their own, and both predictions are shown. With
:meth:`CompareView.from_edit` the second ECG is a counterfactual edit of the first
(T-wave inversion, pathological Q waves; see :func:`ecg_cluster_widget.explain.counterfactual.invert_t_waves`
and :func:`~ecg_cluster_widget.explain.counterfactual.add_q_waves`): any change is due to the edit alone.
"""

from __future__ import annotations

import pathlib
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from ..data.dataset import ECGDataset, check_choice
from ..errors import DataError
from ..explain.context import multilabel_bundle
from ..explain.segments import runs
from ..labels import normalize_labels
from .refusal import refusing
from .traits import check_fitted_explainer, f32_bytes

STATIC = pathlib.Path(__file__).parent / "static"
#: Names accepted by :meth:`CompareView.from_edit`.
EDITS = ("invert_t", "add_q")


def changed_runs(ids_a: np.ndarray, ids_b: np.ndarray) -> list[list[int]]:
    """``[start, end)`` runs of the time steps where two cluster-id sequences differ.

    Parameters
    ----------
    ids_a, ids_b : array (T,)
        Stable cluster id per time step of the two ECGs.

    Returns
    -------
    list of [int, int]
        Sample bounds, end exclusive, in time order.

    Examples
    --------
    >>> changed_runs(np.array([1, 1, 2, 2, 3]), np.array([1, 4, 4, 2, 5]))
    [[1, 3], [4, 5]]
    """
    differs = np.asarray(ids_a) != np.asarray(ids_b)
    return [[a, b] for a, b, changed in runs(differs) if changed]


def _edit(ds: ECGDataset, index: int, edit: str, **kwargs: Any) -> ECGDataset:
    from ..explain import counterfactual as cf

    funcs = {"invert_t": cf.invert_t_waves, "add_q": cf.add_q_waves}
    return funcs[check_choice(edit, EDITS, "edit")](ds, index, **kwargs)


class CompareView(anywidget.AnyWidget):
    """Two ECGs stacked on one time axis with their clusters, the changes and predictions.

    Parameters
    ----------
    tlc : TLCExplainer
        A fitted explainer (its current K is used).
    ds_or_pair : ECGDataset or (ECGDataset, ECGDataset)
        One dataset (``a`` and ``b`` index it) or a pair (``a`` indexes the first,
        ``b`` the second).
    a, b : int
        Record indices; ``b`` defaults to 1 for one dataset and 0 for a pair.
    titles : (str, str), optional
        Captions of the two ECGs (default their record ids).
    leads : sequence of str, optional
        Leads drawn (default lead II, or the first lead).
    labels : dict, optional
        Expert cluster names ``{id: {"name": ...}}`` (e.g. ``explorer.cluster_labels``).
    k : int, optional
        Number of clusters to explain at (default the explainer's current K).

    Examples
    --------
    >>> from ecg_cluster_widget.views.compare_view import CompareView
    >>> v = CompareView(tlc, ds, a=0, b=5)
    >>> v = CompareView.from_edit(tlc, ds, 3, edit="invert_t")
    >>> v.changed_share, v.pred_a, v.pred_b  # doctest: +SKIP
    """

    _esm = STATIC / "compare_view.js"

    fs = t.Float(100.0).tag(sync=True)
    n_samples = t.Int(0).tag(sync=True)
    n_leads = t.Int(0).tag(sync=True)
    lead_names = t.List(t.Unicode()).tag(sync=True)
    leads = t.List(t.Int()).tag(sync=True)
    #: (n_leads, n_samples) float32 each.
    signal_a = t.Bytes(b"").tag(sync=True)
    signal_b = t.Bytes(b"").tag(sync=True)
    #: (n_samples,) int16 stable cluster id per time step.
    ids_a = t.Bytes(b"").tag(sync=True)
    ids_b = t.Bytes(b"").tag(sync=True)
    cluster_ids = t.List(t.Int()).tag(sync=True)
    cluster_labels = t.Dict().tag(sync=True)
    changed = t.List(t.List(t.Int())).tag(sync=True)
    changed_share = t.Float(0.0).tag(sync=True)
    title_a = t.Unicode("").tag(sync=True)
    title_b = t.Unicode("").tag(sync=True)
    pred_a = t.Dict().tag(sync=True)
    pred_b = t.Dict().tag(sync=True)
    class_names = t.List(t.Unicode()).tag(sync=True)
    view_range = t.List(t.Float()).tag(sync=True)

    # Validators raise TraitValueError (refusal.refusing), so a bad value from the browser
    # is rolled back as in the explorer instead of staying in the trait.
    @t.validate("view_range")
    @refusing
    def _valid_view_range(self, proposal: dict) -> list:
        r = [float(v) for v in proposal["value"] or []]
        if not r:
            return []
        duration = self.n_samples / self.fs if self.fs > 0 else float("inf")
        if len(r) != 2 or not all(np.isfinite(r)) or not 0 <= r[0] < r[1] <= duration + 1e-9:
            raise DataError(
                f"view_range must be [] or [start_s, end_s] with 0 <= start < end <= "
                f"{duration:g} s, got {r!r}."
            )
        return r

    @t.validate("cluster_labels")
    @refusing
    def _valid_labels(self, proposal: dict) -> dict:
        return normalize_labels(proposal["value"])

    def __init__(
        self,
        tlc: Any,
        ds_or_pair: Any,
        a: int = 0,
        b: int | None = None,
        *,
        titles: tuple[str, str] | None = None,
        leads: Any = None,
        labels: dict | None = None,
        k: int | None = None,
        **kwargs: Any,
    ) -> None:
        check_fitted_explainer(tlc)
        if isinstance(ds_or_pair, ECGDataset):
            ds_a = ds_b = ds_or_pair
            b = 1 if b is None else b
        elif (
            isinstance(ds_or_pair, (tuple, list))
            and len(ds_or_pair) == 2
            and all(isinstance(d, ECGDataset) for d in ds_or_pair)
        ):
            ds_a, ds_b = ds_or_pair
            b = 0 if b is None else b
        else:
            raise DataError(
                "CompareView needs an ECGDataset or a pair (ds_a, ds_b) of ECGDatasets, got "
                f"{type(ds_or_pair).__name__}. Example: CompareView(tlc, ds, a=0, b=1)."
            )
        for name, ds, i in (("a", ds_a, a), ("b", ds_b, b)):
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                raise DataError(f"{name} must be an integer record index, got {i!r}.")
            if not 0 <= int(i) < len(ds):
                raise DataError(f"{name}={i} is out of range 0..{len(ds) - 1}.")
        if ds_a.fs != ds_b.fs or ds_a.n_samples != ds_b.n_samples:
            raise DataError(
                f"the two ECGs must share a time axis: got {ds_a.fs:g} Hz x {ds_a.n_samples} "
                f"and {ds_b.fs:g} Hz x {ds_b.n_samples} samples; resample one first."
            )
        if tuple(ds_a.lead_names) != tuple(ds_b.lead_names):
            raise DataError(
                f"the two ECGs have different leads ({ds_a.lead_names} vs {ds_b.lead_names})."
            )
        self.tlc = tlc
        self.k = int(tlc.n_clusters_ if k is None else k)
        self.datasets = (ds_a, ds_b)
        self.indices = (int(a), int(b))
        super().__init__(**kwargs)
        self.fs = float(ds_a.fs)
        self.n_samples = int(ds_a.n_samples)
        self.n_leads = int(ds_a.n_leads)
        self.lead_names = [str(n) for n in ds_a.lead_names]
        self.leads = self._lead_rows(ds_a, leads)
        if labels:
            self.cluster_labels = {str(k): dict(v) for k, v in labels.items()}
        ta = titles[0] if titles else ds_a.record_ids[self.indices[0]]
        tb = titles[1] if titles else ds_b.record_ids[self.indices[1]]
        self.title_a, self.title_b = str(ta), str(tb)
        self.refresh()

    @staticmethod
    def _lead_rows(ds: ECGDataset, leads: Any) -> list[int]:
        if leads is None:
            return [ds.lead_index("II") if "II" in ds.lead_names else 0]
        if isinstance(leads, (str, int)):
            leads = [leads]
        rows = []
        for ld in leads:
            if isinstance(ld, str):
                rows.append(ds.lead_index(ld))
            elif 0 <= int(ld) < ds.n_leads:
                rows.append(int(ld))
            else:
                raise DataError(f"lead index {ld} is out of range 0..{ds.n_leads - 1}.")
        if not rows:
            raise DataError("leads is empty; name at least one lead, e.g. leads=['II'].")
        return rows

    @classmethod
    def from_edit(
        cls, tlc: Any, ds: ECGDataset, index: int, edit: str = "invert_t", **kwargs: Any
    ) -> CompareView:
        """Compare record ``index`` with its counterfactual edit.

        Parameters
        ----------
        tlc : TLCExplainer
        ds : ECGDataset
            Records with wave annotations (the edits need them), e.g. synthetic.
        index : int
            Record to edit.
        edit : {"invert_t", "add_q"}
            T-wave inversion or pathological Q waves at every QRS onset.
        **kwargs
            Options of the edit (``leads``, ``depth_mv``, ``width_s``) and of the view
            (``titles``, ``labels``, ``k``; ``view_leads`` for the leads drawn).

        Examples
        --------
        >>> v = CompareView.from_edit(tlc, ds, 0, edit="add_q")
        """
        view_kw = {n: kwargs.pop(n) for n in ("titles", "labels", "k") if n in kwargs}
        if "view_leads" in kwargs:
            view_kw["leads"] = kwargs.pop("view_leads")
        if not isinstance(ds, ECGDataset):
            raise DataError(f"from_edit needs an ECGDataset, got {type(ds).__name__}.")
        edited = _edit(ds, index, edit, **kwargs)
        original = ds.subset([int(index)])
        view_kw.setdefault("titles", (original.record_ids[0], f"{edited.record_ids[0]} ({edit})"))
        return cls(tlc, (original, edited), a=0, b=0, **view_kw)

    def refresh(self, k: int | None = None) -> CompareView:
        """Explain both ECGs again, at K = ``k`` when given."""
        if k is not None:
            self.k = int(k)
        (ds_a, ds_b), (ia, ib) = self.datasets, self.indices
        ex_a = self.tlc.explain(ds_a, ia, n_clusters=self.k)
        ex_b = self.tlc.explain(ds_b, ib, n_clusters=self.k)
        self.explanations = (ex_a, ex_b)
        la = np.asarray(ex_a.label_ids, dtype=np.int16)
        lb = np.asarray(ex_b.label_ids, dtype=np.int16)
        names, pa, pb = self._predictions()
        with self.hold_sync():
            self.signal_a = f32_bytes(ds_a.signals[ia])
            self.signal_b = f32_bytes(ds_b.signals[ib])
            self.ids_a = la.tobytes()
            self.ids_b = lb.tobytes()
            self.cluster_ids = [int(c) for c in ex_a.cluster_ids]
            self.changed = changed_runs(la, lb)
            self.changed_share = float((la != lb).mean())
            self.class_names = names
            self.pred_a, self.pred_b = pa, pb
        return self

    def _predictions(self) -> tuple[list[str], dict, dict]:
        m = self.tlc.model
        if not multilabel_bundle(m):
            return [], {}, {}
        names = [str(c) for c in m.class_names]
        pa, pb = (
            dict(zip(names, np.asarray(m.predict_proba(ds.subset([i])), dtype=float)[0].tolist()))
            for ds, i in zip(self.datasets, self.indices)
        )
        return names, pa, pb

    @property
    def changed_mask(self) -> np.ndarray:
        """Boolean (n_samples,): True where the two ECGs' clusters differ."""
        ex_a, ex_b = self.explanations
        return np.asarray(ex_a.label_ids) != np.asarray(ex_b.label_ids)

    def __repr__(self) -> str:
        return (
            f"CompareView({self.title_a!r} vs {self.title_b!r}, "
            f"changed={100 * self.changed_share:.1f}% of time steps)"
        )
