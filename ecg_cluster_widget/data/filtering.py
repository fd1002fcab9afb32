"""ECG filtering that belongs to a model: band-pass and optional mains notch.

A network trained on band-passed ECGs must see band-passed ECGs when it is explained,
evaluated or shown, or its activations (and so its clusters) describe filter mismatch
rather than the heart. So the filter is a property of the checkpoint
(:class:`~ecg_cluster_widget.model.ModelBundle.signal_filter`): ``train_model`` applies it
to the training data, ``ModelBundle.prepare`` applies it to every input (explainer,
CLI, widget, reports), and ``save_checkpoint`` records it. Checkpoints written before
it existed load with ``signal_filter=None`` (signals fed as given), as they were trained.

Why these defaults: 0.5-40 Hz zero-phase Butterworth (order 2 per pass, run forward and
backward) removes baseline wander, whose slow drift otherwise dominates the
within-record variance of the hooked features, and high-frequency noise, while keeping
P, QRS and T (measured on LUDB: issue 8 and ``docs/results.md``). Zero-phase matters:
a causal filter would shift the waves against the cardiologists' boundaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal

from ..errors import DataError
from .dataset import check_count

__all__ = ["SignalFilter"]
#: Records per block when a dataset is filtered on two threads.
_FILTER_BLOCK = 64


def _butter_sos(low: float | None, high: float | None, order: int, fs: float) -> np.ndarray:
    """Butterworth band-, high- or low-pass in second-order sections (one side may be None)."""
    if low is not None and high is not None:
        return signal.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
    if low is not None:
        return signal.butter(order, low, btype="highpass", fs=fs, output="sos")
    return signal.butter(order, high, btype="lowpass", fs=fs, output="sos")


def _sos_min_samples(sos: np.ndarray) -> int:
    """scipy's own ``sosfiltfilt`` pad length: records must be longer than this."""
    return 3 * (2 * len(sos) + 1)


def _filtfilt_even(x: np.ndarray, sos: np.ndarray, fs: float) -> np.ndarray:
    """Zero-phase ``sosfiltfilt`` along the last axis, float64 in and out.

    Even (mirror) padding of up to 1 s: odd padding makes an edge transient whenever a
    record ends away from zero, which ECGs usually do. Callers check the length first
    (:func:`_sos_min_samples`) so they can word the error for their context.
    """
    n = x.shape[-1]
    padlen = min(n - 1, max(_sos_min_samples(sos), int(round(fs))))
    x = np.asarray(x, dtype=np.float64)

    def run(block: np.ndarray) -> np.ndarray:
        return signal.sosfiltfilt(sos, block, axis=-1, padtype="even", padlen=padlen)

    if x.ndim < 2 or x.shape[0] <= _FILTER_BLOCK:
        return run(x)
    # A dataset in blocks of records on two threads (scipy's filter releases the GIL):
    # preparing 1,000 ECGs took 2.4 s in one call, as long as half the model's forward
    # pass. Each record is filtered alone either way, so the result is the same.
    out = np.empty_like(x)
    starts = range(0, x.shape[0], _FILTER_BLOCK)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for s, y in zip(starts, pool.map(lambda s: run(x[s : s + _FILTER_BLOCK]), starts)):
            out[s : s + _FILTER_BLOCK] = y
    return out


@dataclass(frozen=True)
class SignalFilter:
    """A zero-phase band-pass (and optional notch) filter applied to every lead.

    Parameters
    ----------
    bandpass : (float or None, float or None) or None
        Low and high cut-off in Hz. ``None`` on one side drops it (high-pass or
        low-pass); ``None`` for the pair disables the band-pass.
    notch : float or None
        Mains frequency to remove (50 or 60 Hz), or ``None``.
    order : int
        Butterworth order per pass (the effective order is doubled by filtering twice).
    notch_q : float
        Quality factor of the notch (bandwidth = notch / notch_q).

    Examples
    --------
    >>> import numpy as np
    >>> f = SignalFilter(bandpass=(0.5, 40.0))
    >>> t = np.arange(1000) / 100.0
    >>> x = (np.sin(2 * np.pi * 5 * t) + 2.0 + 0.5 * t)[None, None, :].astype(np.float32)
    >>> y = f.apply(x, fs=100.0)
    >>> bool(abs(y[..., 200:800].mean()) < 0.1)  # offset and drift removed
    True
    >>> f.describe()
    'band-pass 0.5-40 Hz (Butterworth order 2, zero-phase)'
    >>> SignalFilter.from_dict(f.to_dict()) == f
    True
    """

    bandpass: tuple[float | None, float | None] | None = (0.5, 40.0)
    notch: float | None = None
    order: int = 2
    notch_q: float = 30.0

    def __post_init__(self) -> None:
        bp = self.bandpass
        if bp is not None:
            if not isinstance(bp, (tuple, list)) or len(bp) != 2:
                raise DataError(f"bandpass must be a (low, high) pair in Hz or None, got {bp!r}.")
            low, high = (None if v in (None, 0) else float(v) for v in bp)
            for name, v in (("low", low), ("high", high)):
                if v is not None and not (np.isfinite(v) and v > 0):
                    raise DataError(
                        f"bandpass {name} cut-off must be a positive number of Hz, got {v!r}."
                    )
            if low is not None and high is not None and low >= high:
                raise DataError(
                    f"bandpass low cut-off ({low:g} Hz) must be below high cut-off ({high:g} Hz)."
                )
            object.__setattr__(
                self, "bandpass", None if low is None and high is None else (low, high)
            )
        if self.notch is not None:
            n = float(self.notch)
            if not (np.isfinite(n) and n > 0):
                raise DataError(
                    f"notch must be a positive frequency in Hz (50 or 60) or None, got {self.notch!r}."
                )
            object.__setattr__(self, "notch", n)
        check_count(self.order, "order")
        if not (np.isfinite(self.notch_q) and self.notch_q > 0):
            raise DataError(f"notch_q must be positive, got {self.notch_q!r}.")

    # -- identity ------------------------------------------------------------
    @property
    def is_identity(self) -> bool:
        """True when the filter changes nothing (no band-pass and no notch)."""
        return self.bandpass is None and self.notch is None

    def describe(self) -> str:
        """One-line human description, used in reports and model cards."""
        parts = []
        if self.bandpass is not None:
            low, high = self.bandpass
            if low is not None and high is not None:
                parts.append(f"band-pass {low:g}-{high:g} Hz")
            elif low is not None:
                parts.append(f"high-pass {low:g} Hz")
            else:
                parts.append(f"low-pass {high:g} Hz")
        if self.notch is not None:
            parts.append(f"notch {self.notch:g} Hz")
        if not parts:
            return "no filter"
        return ", ".join(parts) + f" (Butterworth order {self.order}, zero-phase)"

    def to_dict(self) -> dict[str, Any]:
        """Plain-type representation stored in checkpoints."""
        return {
            "bandpass": None if self.bandpass is None else list(self.bandpass),
            "notch": self.notch,
            "order": int(self.order),
            "notch_q": float(self.notch_q),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> SignalFilter | None:
        """Inverse of :meth:`to_dict`; ``None`` stays ``None`` (old checkpoints)."""
        if d is None:
            return None
        if not isinstance(d, Mapping):
            raise DataError(f"a signal filter must be stored as a dict, got {type(d).__name__}.")
        bp = d.get("bandpass")
        return cls(
            bandpass=None if bp is None else tuple(bp),
            notch=d.get("notch"),
            order=int(d.get("order", 2)),
            notch_q=float(d.get("notch_q", 30.0)),
        )

    # -- application -----------------------------------------------------------
    def _check_fs(self, fs: float) -> None:
        nyq = float(fs) / 2
        if self.bandpass is not None:
            low, high = self.bandpass
            if high is not None and high >= nyq:
                raise DataError(
                    f"the filter's high cut-off {high:g} Hz is not below the Nyquist frequency "
                    f"{nyq:g} Hz of data sampled at {fs:g} Hz; resample to a higher rate first."
                )
            if low is not None and low >= nyq:
                raise DataError(
                    f"the filter's low cut-off {low:g} Hz is above Nyquist ({nyq:g} Hz)."
                )
        if self.notch is not None and self.notch >= nyq:
            raise DataError(
                f"the notch at {self.notch:g} Hz is above Nyquist ({nyq:g} Hz) at fs={fs:g} Hz."
            )

    def apply(self, x: np.ndarray, fs: float) -> np.ndarray:
        """Filter ``x`` (..., n_samples) along the last axis; returns a new float32 array.

        Raises
        ------
        DataError
            Cut-offs not below Nyquist at ``fs``, records too short for the filter, or
            NaN/inf in ``x``.
        """
        x = np.asarray(x)
        if self.is_identity:
            return np.array(x, dtype=np.float32, copy=True)
        self._check_fs(fs)
        if not np.isfinite(x).all():
            raise DataError(
                "cannot filter signals that contain NaN or inf; fill gaps first with "
                "ecg_cluster_widget.data.interpolate_nan(ds)."
            )
        n = x.shape[-1]
        y = x.astype(np.float64)
        stages = []
        if self.bandpass is not None:
            stages.append(_butter_sos(*self.bandpass, self.order, fs))
        if self.notch is not None:
            b, a = signal.iirnotch(self.notch, self.notch_q, fs=fs)
            stages.append(signal.tf2sos(b, a))
        for sos in stages:
            if n <= _sos_min_samples(sos):
                raise DataError(
                    f"records of {n} samples are too short for the filter ({self.describe()}); "
                    f"they need more than {_sos_min_samples(sos)} samples."
                )
            y = _filtfilt_even(y, sos, fs)
        return y.astype(np.float32)
