"""Counterfactual edits of one ECG: the same beats with one wave changed.

For teaching and for checking an explanation: any change in the clusters or the
prediction between a record and its edit is due to the edited wave alone (the
``CompareView`` shows both, the teaching notebook tells the story). The edits read the
record's wave annotations (``wave_masks``), so they need annotated records, e.g.
synthetic or LUDB ones.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import DataError
from .segments import runs

__all__ = ["invert_t_waves", "add_q_waves"]


def _single(ds, index: int):
    if ds.wave_masks is None:
        raise DataError("this edit needs wave annotations (ds.wave_masks), e.g. synthetic records.")
    if not -len(ds) <= int(index) < len(ds):
        raise DataError(f"record index {index} is out of range for {len(ds)} records.")
    rec = ds.subset([int(index)])
    return rec, rec.signals[0].copy(), rec.wave_mask_for_lead("II")[0]


def _lead_rows(rec, leads) -> list[int]:
    return list(range(rec.n_leads)) if leads is None else [rec.lead_index(n) for n in leads]


def invert_t_waves(ds, index: int, leads=("I", "II", "aVF", "V3", "V4", "V5", "V6")):
    """Copy of one record with its T waves mirrored about the local baseline.

    A counterfactual for teaching: the same beats, only the T waves inverted (as in
    ischaemia), so any change in the cluster sequence or prediction is due to the T
    wave alone. The baseline under each T wave is the straight line between the
    samples at its onset and offset (wave mask code 3, lead II annotation).

    Parameters
    ----------
    ds : ECGDataset
        Records with ``wave_masks`` (e.g. synthetic).
    index : int
        Record to edit.
    leads : sequence of str or None
        Leads to edit (``None``: all).

    Returns
    -------
    ECGDataset
        One record, id ``"<id>-Tinv"``.

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> ds = make_synthetic(2, seed=0)
    >>> inv = invert_t_waves(ds, 0)
    >>> t = ds.wave_masks[0] == 3
    >>> bool((inv.signals[0][:, ~t] == ds.signals[0][:, ~t]).all())
    True
    """
    rec, x, mask = _single(ds, index)
    rows = _lead_rows(rec, leads)
    for start, end, code in runs(mask):
        if code != 3 or end - start < 2:
            continue
        a, b = max(start - 1, 0), min(end, x.shape[1] - 1)
        frac = (np.arange(start, end) - a) / max(b - a, 1)
        base = x[rows, a][:, None] * (1 - frac) + x[rows, b][:, None] * frac
        x[rows, start:end] = 2 * base - x[rows, start:end]
    return replace(rec, signals=x[None], record_ids=(f"{rec.record_ids[0]}-Tinv",))


def add_q_waves(
    ds, index: int, leads=("II", "III", "aVF"), depth_mv: float = 0.4, width_s: float = 0.04
):
    """Copy of one record with a pathological Q wave at the onset of every QRS.

    A negative half-sine of ``depth_mv`` and ``width_s`` (>= 40 ms is the clinical
    threshold) is added at each QRS onset in ``leads`` (inferior by default), as in
    an old inferior myocardial infarction.

    Parameters
    ----------
    ds : ECGDataset
        Records with ``wave_masks`` (e.g. synthetic).
    index : int
        Record to edit.
    leads : sequence of str
        Leads to edit.
    depth_mv : float
        Depth of the Q wave in mV.
    width_s : float
        Width of the Q wave in seconds.

    Returns
    -------
    ECGDataset
        One record, id ``"<id>-Q"``.

    Raises
    ------
    DataError
        If ``depth_mv`` or ``width_s`` is not positive.

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> ds = make_synthetic(2, seed=0)
    >>> q = add_q_waves(ds, 0)
    >>> bool(q.signals[0, 1].min() < ds.signals[0, 1].min())
    True
    """
    if depth_mv <= 0 or width_s <= 0:
        raise DataError("depth_mv and width_s must be positive.")
    rec, x, mask = _single(ds, index)
    rows = _lead_rows(rec, leads)
    w = max(2, int(round(width_s * rec.fs)))
    bump = -depth_mv * np.sin(np.pi * (np.arange(w) + 0.5) / w)
    for start, _end, code in runs(mask):
        if code != 2:
            continue
        stop = min(start + w, x.shape[1])
        x[rows, start:stop] += bump[: stop - start]
    return replace(rec, signals=x[None], record_ids=(f"{rec.record_ids[0]}-Q",))
