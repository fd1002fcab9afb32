"""Explain records of any length with a model of fixed input length.

A CNN takes records of exactly ``n_samples`` samples. Cropping a 30-minute Holter
record to its first 10 s, or explaining a 2.5 s strip padded with 7.5 s of zeros as if
the zeros were ECG, gives a silently wrong answer. Instead:

* **long records** are cut into windows of the model's length that overlap by
  ``overlap`` (default 50 %). Each window's soft assignments on the model's time grid
  come from the explainer's public ``transform(..., resolution="grid")``; overlapping
  windows are averaged with a Hann taper (so a window's edges, where its receptive
  field runs into padding and filter transients, count least), the stitched ``gamma``
  is renormalised, the entropy is computed from it on the grid (as the explainer does,
  so entropy does not peak at label changes by construction) and both are brought to
  the input samples by the same centre-aligned linear interpolation. Labels, segments
  and proportions follow from the stitched result: one :class:`ECGExplanation` over
  the whole record;
* **short records** (and the tail of the last window of a long one) are zero-padded,
  and the padded samples are marked invalid (``ECGExplanation.valid``): they get
  label -1 and are in no segment, no proportion and no mean entropy.

A record of exactly the model's length gives what ``TLCExplainer.explain`` gives.

Fitting: :func:`fit_windows` cuts records into windows for ``TLCExplainer.fit``,
preferring windows made only of the record's own samples (the last one flush with the
record's end), so padding enters the clustering only when a record is shorter than
the model's input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..activations import resample_time
from ..data.dataset import ECGDataset
from ..errors import DataError
from .explanation import ECGExplanation
from .segments import segments_from_labels
from .uncertainty import normalized_entropy

__all__ = [
    "Windows",
    "window_starts",
    "cut_windows",
    "fit_windows",
    "explain_records",
    "fit_and_explain",
]


@dataclass(frozen=True)
class Windows:
    """Windows of the model's length cut from the records of a dataset.

    Attributes
    ----------
    ds : ECGDataset
        One row per window (``ds.n_samples`` = the model's input length). When every
        record is exactly one window, this is the original dataset itself.
    record : ndarray of shape (n_windows,), int
        Index of the record each window comes from.
    start : ndarray of shape (n_windows,), int
        Sample of the record where each window starts.
    length : int
        Samples per source record (the valid samples).

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> w = fit_windows(make_synthetic(1, duration=25), 1000)
    >>> len(w), w.per_record(0).tolist(), w.length
    (3, [0, 1, 2], 2500)
    """

    ds: ECGDataset
    record: np.ndarray
    start: np.ndarray
    length: int

    def __len__(self) -> int:
        return int(len(self.record))

    def per_record(self, i: int) -> np.ndarray:
        """Indices of the windows of record ``i``, in time order."""
        return np.flatnonzero(self.record == i)


def window_starts(length: int, window: int, hop: int) -> np.ndarray:
    """Starts of windows every ``hop`` samples until the record is covered.

    The last window may run past the end of the record (that part is padding).

    Parameters
    ----------
    length : int
        Samples in the record (>= 1).
    window : int
        Samples per window (the model's input length).
    hop : int
        Samples between window starts, 1..window.

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> window_starts(2500, 1000, 500).tolist()
    [0, 500, 1000, 1500]
    >>> window_starts(250, 1000, 500).tolist()
    [0]
    """
    if length < 1 or window < 1 or not 1 <= hop <= window:
        raise DataError(
            f"need length >= 1, window >= 1 and 1 <= hop <= window; got {length}, {window}, {hop}."
        )
    if length <= window:
        return np.zeros(1, dtype=np.int64)
    n_more = -(-(length - window) // hop)  # ceil
    return np.arange(n_more + 1, dtype=np.int64) * hop


def cut_windows(ds: ECGDataset, window: int, starts: np.ndarray) -> Windows:
    """Cut every record of ``ds`` at the same ``starts`` into windows of ``window`` samples.

    Samples past the record's end are 0 mV (wave code -1). Window ids are
    ``"<record id>@<start>"`` when a record has several windows, else the record id.

    Parameters
    ----------
    ds : ECGDataset
    window : int
        Window length (the model's ``n_samples``).
    starts : ndarray of int
        Window starts, the same for every record (records of a dataset share a length).

    Returns
    -------
    Windows

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> w = cut_windows(make_synthetic(2, duration=2.5), 100, window_starts(250, 100, 50))
    >>> len(w), w.ds.record_ids[:2], w.ds.n_samples
    (8, ('syn00000@0', 'syn00000@50'), 100)
    """
    starts = np.asarray(starts, dtype=np.int64)
    n, t = len(ds), ds.n_samples
    if len(starts) == 1 and starts[0] == 0 and t == window:
        return Windows(ds, np.arange(n), np.zeros(n, dtype=np.int64), t)
    record = np.repeat(np.arange(n), len(starts))
    start = np.tile(starts, n)
    span = int(starts[-1]) + window
    idx = starts[:, None] + np.arange(window)[None, :]  # (n_windows_per_record, window)

    def cut(x: np.ndarray, fill) -> np.ndarray:
        pad = [(0, 0)] * (x.ndim - 1) + [(0, max(0, span - t))]
        full = np.pad(np.asarray(x)[..., :span], pad, constant_values=fill)
        out = full[..., idx]  # (n, ..., w, window)
        out = np.moveaxis(out, -2, 1)  # (n, w, ..., window)
        return out.reshape((n * len(starts),) + out.shape[2:])

    many = len(starts) > 1
    ids = [f"{r}@{s}" if many else str(r) for r in ds.record_ids for s in starts]
    sub = ds.subset(record)  # labels, folds and meta follow the record of each window
    wds = sub.copy(
        signals=cut(ds.signals, 0.0),
        wave_masks=None if ds.wave_masks is None else cut(ds.wave_masks, -1),
        record_ids=tuple(ids),
        amplitude_check="ignore",  # the records were checked; windows may be mostly padding
    )
    return Windows(wds, record, start, t)


def fit_windows(ds: ECGDataset, window: int) -> Windows:
    """Windows to fit the explainer on: the records' own samples wherever possible.

    Non-overlapping windows from the start, plus one flush with the end of the record
    when the length is not a multiple of ``window``; a record shorter than ``window`` is
    padded (the only case where padding is clustered).

    Parameters
    ----------
    ds : ECGDataset
    window : int
        The model's input length.

    Returns
    -------
    Windows

    Examples
    --------
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> fit_windows(make_synthetic(1, duration=25), 1000).start.tolist()
    [0, 1000, 1500]
    """
    t = ds.n_samples
    if t <= window:
        return cut_windows(ds, window, np.zeros(1, dtype=np.int64))
    starts = np.arange(0, t - window + 1, window, dtype=np.int64)
    if starts[-1] + window < t:
        starts = np.r_[starts, t - window]
    return cut_windows(ds, window, starts)


def _grid_hop(n_samples: int, grid: int, overlap: float) -> tuple[int, int]:
    """(hop in grid steps, hop in samples): the hop nearest ``1 - overlap`` of a window
    that is a whole number of both grid steps and samples (a whole window always is)."""
    want = max(1, int(round(grid * (1.0 - overlap))))
    for hop_g in sorted(range(1, grid + 1), key=lambda h: (abs(h - want), -h)):
        if (hop_g * n_samples) % grid == 0:
            return hop_g, hop_g * n_samples // grid
    return grid, n_samples  # unreachable: hop_g = grid always qualifies


def explain_records(tlc, ds: ECGDataset, *, overlap: float = 0.5) -> list[ECGExplanation]:
    """One explanation per record of ``ds``, whatever the records' length.

    Parameters
    ----------
    tlc : TLCExplainer
        Fitted (e.g. on :func:`fit_windows` of the same records).
    ds : ECGDataset
        Records at the model's sampling rate and leads; any number of samples.
    overlap : float
        Fraction of a window shared with the next, in [0, 1). Rounded so that the hop
        is a whole number of the model's grid steps (and of samples).

    Returns
    -------
    list of ECGExplanation
        ``labels``, ``gamma``, ``entropy`` and ``valid`` have one entry per sample of
        the windows' span: the record's samples (valid), then any padding (invalid).

    Raises
    ------
    DataError
        If ``overlap`` is outside [0, 1).

    Examples
    --------
    >>> from ecg_cluster_widget.demo import demo_explainer
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> tlc, _, _ = demo_explainer(n_clusters=3, n_records=40)
    >>> ex = explain_records(tlc, make_synthetic(1, duration=25, seed=3))[0]
    >>> len(ex.labels), ex.n_valid, ex.segments[-1].end
    (2500, 2500, 2500)
    """
    if not 0.0 <= overlap < 1.0:
        raise DataError(f"overlap must be in [0, 1), got {overlap}.")
    n, grid = int(tlc.n_samples_), int(tlc.grid_length_)
    hop_g, hop = _grid_hop(n, grid, overlap)
    windows = cut_windows(ds, n, window_starts(ds.n_samples, n, hop))
    g_win = tlc.transform(windows.ds, resolution="grid")  # (n_windows, grid, K)
    k = g_win.shape[2]
    ids = np.asarray(tlc.cluster_ids_)
    j = np.arange(grid)
    taper = (np.sin(np.pi * (j + 0.5) / grid) ** 2).astype(np.float64)  # > 0 everywhere
    out = []
    for i in range(len(ds)):
        w_idx = windows.per_record(i)
        n_w = len(w_idx)
        grid_total = (n_w - 1) * hop_g + grid
        acc = np.zeros((grid_total, k))
        wsum = np.zeros(grid_total)
        for m, w in enumerate(w_idx):
            s = m * hop_g
            acc[s : s + grid] += taper[:, None] * g_win[w]
            wsum[s : s + grid] += taper
        stitched = acc / wsum[:, None]
        stitched /= stitched.sum(axis=1, keepdims=True)
        span = (n_w - 1) * hop + n
        ent = resample_time(normalized_entropy(stitched)[None, :, None], span)[0, :, 0]
        gamma = resample_time(stitched[None].astype(np.float32), span)[0]
        gamma /= gamma.sum(axis=1, keepdims=True)
        valid = np.arange(span) < ds.n_samples
        labels = np.where(valid, gamma.argmax(axis=1), -1)
        counts = np.bincount(labels[valid], minlength=k)[:k]
        entropy = np.clip(ent, 0.0, 1.0).astype(np.float32)
        out.append(
            ECGExplanation(
                record_index=i,
                record_id=ds.record_ids[i],
                fs=float(ds.fs),
                cluster_ids=ids.copy(),
                labels=labels,
                gamma=gamma,
                entropy=entropy,
                segments=segments_from_labels(labels, ds.fs, ids),
                proportions=counts / max(1, int(valid.sum())),
                mean_entropy=float(entropy[valid].mean()),
                valid=valid,
            )
        )
    return out


def fit_and_explain(
    tlc,
    ds: ECGDataset,
    window: int,
    *,
    overlap: float = 0.5,
    log: Callable[[str], None] | None = None,
) -> tuple[Windows, list[ECGExplanation]]:
    """Fit ``tlc`` on :func:`fit_windows` of ``ds``, then explain every record whole.

    What the ``explain`` command does once the records are at the model's rate and
    leads; records of the model's length are fitted and explained as they are.

    Parameters
    ----------
    tlc : TLCExplainer
        Not yet fitted (fitting replaces any earlier fit).
    ds : ECGDataset
        Records of any length.
    window : int
        The model's input length (``bundle.n_samples``).
    overlap : float
        See :func:`explain_records`.
    log : callable, optional
        Called with one line saying how records of another length are handled.

    Returns
    -------
    windows : Windows
        What ``tlc`` was fitted on (``windows.ds is ds`` when no window was cut).
    explanations : list of ECGExplanation
        One per record of ``ds``.

    Examples
    --------
    >>> from ecg_cluster_widget import TLCExplainer
    >>> from ecg_cluster_widget.data import make_synthetic
    >>> from ecg_cluster_widget.model import load_demo_model
    >>> tlc = TLCExplainer(load_demo_model(), n_clusters=3, random_state=0, progress=False)
    >>> w, ex = fit_and_explain(tlc, make_synthetic(4, duration=15, seed=1), 1000, log=print)
    records have 1500 samples and the model takes 1000: explaining overlapping windows of 1000 samples (50 % overlap), stitched into one explanation per record
    >>> len(w), len(ex), ex[0].n_valid
    (8, 4, 1500)
    """
    n = ds.n_samples
    if log and n > window:
        log(
            f"records have {n} samples and the model takes {window}: explaining overlapping "
            f"windows of {window} samples ({overlap * 100:g} % overlap), stitched into one "
            "explanation per record"
        )
    elif log and n < window:
        log(
            f"records have {n} samples and the model takes {window}: padding them; the "
            f"{window - n} padded samples are marked invalid and never explained"
        )
    windows = fit_windows(ds, window)
    tlc.fit(windows.ds)
    return windows, explain_records(tlc, ds, overlap=overlap)
