"""The one dataset type used throughout the package."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import DataError

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)
#: Integer codes of ``ECGDataset.wave_masks``.
WAVE_NAMES: tuple[str, ...] = ("none", "P", "QRS", "T")


def canonical_lead_name(name: str) -> str:
    """Map spellings such as ``'avr'``, ``'AVR'`` or ``'v1'`` to ``'aVR'`` / ``'V1'``.

    Parameters
    ----------
    name : str
        A lead name in any case, possibly with surrounding spaces.

    Returns
    -------
    str
        The standard spelling, or ``name`` stripped when it is not a standard lead.

    Examples
    --------
    >>> canonical_lead_name(" avr"), canonical_lead_name("v1"), canonical_lead_name("MLII")
    ('aVR', 'V1', 'MLII')
    """
    key = name.strip().upper()
    for lead in STANDARD_LEADS:
        if lead.upper() == key:
            return lead
    return name.strip()


@dataclass
class ECGDataset:
    """A set of equally long multi-lead ECGs.

    Parameters
    ----------
    signals : ndarray of shape (n_records, n_leads, n_samples)
        Signals in mV, converted to float32.
    fs : float
        Sampling rate in Hz.
    lead_names : sequence of str
        One name per lead; spellings are canonicalised (``'avr'`` -> ``'aVR'``).
    labels : ndarray of shape (n_records, n_classes), optional
        Multi-label 0/1 targets (float32). For regression, shape (n_records, 1).
    class_names : sequence of str, optional
        One name per column of ``labels``.
    wave_masks : ndarray of shape (n_records, n_samples) or (n_records, n_leads, n_samples), optional
        Integer wave codes per sample, see ``WAVE_NAMES`` (0 none, 1 P, 2 QRS, 3 T).
        ``-1`` marks samples that are not annotated.
    record_ids : sequence of str, optional
        Identifiers; defaults to ``"0"``, ``"1"``, ...
    folds : ndarray of shape (n_records,), optional
        Integer fold per record (PTB-XL ``strat_fold``).
    meta : dict
        Free-form metadata (source, units, preprocessing applied, ...). Keys listed in
        ``meta["per_record"]`` hold one entry per record (array, list or DataFrame)
        and are subset along with the records by :meth:`subset`.

    Examples
    --------
    >>> import numpy as np
    >>> ds = ECGDataset(np.zeros((2, 12, 1000)), fs=100, lead_names=STANDARD_LEADS)
    >>> len(ds), ds.n_leads, ds.duration
    (2, 12, 10.0)
    """

    signals: np.ndarray
    fs: float
    lead_names: tuple[str, ...] = STANDARD_LEADS
    labels: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None
    wave_masks: np.ndarray | None = None
    record_ids: tuple[str, ...] | None = None
    folds: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        sig = np.asarray(self.signals)
        if sig.ndim == 2:
            sig = sig[None]
        if sig.ndim != 3:
            raise DataError(
                f"signals must have shape (n_records, n_leads, n_samples); got {sig.ndim} "
                f"dimensions {tuple(sig.shape)}."
            )
        if sig.shape[0] == 0:
            raise DataError("the dataset is empty: signals has 0 records.")
        if sig.shape[2] == 0:
            raise DataError("signals have 0 samples per lead.")
        if not np.issubdtype(sig.dtype, np.number):
            raise DataError(f"signals must be numeric, got dtype {sig.dtype}.")
        self.signals = np.ascontiguousarray(sig, dtype=np.float32)
        try:
            self.fs = float(self.fs)
        except (TypeError, ValueError) as exc:
            raise DataError(f"fs must be a number in Hz, got {self.fs!r}.") from exc
        if not np.isfinite(self.fs) or self.fs <= 0:
            raise DataError(f"fs must be a positive sampling rate in Hz, got {self.fs}.")
        leads = tuple(canonical_lead_name(str(x)) for x in self.lead_names)
        if len(leads) != self.signals.shape[1]:
            raise DataError(
                f"{len(leads)} lead names given for signals with {self.signals.shape[1]} leads "
                "(signals must be shaped (n_records, n_leads, n_samples))."
            )
        self.lead_names = leads
        n = self.signals.shape[0]
        if self.labels is not None:
            lab = np.asarray(self.labels, dtype=np.float32)
            if lab.ndim == 1:
                lab = lab[:, None]
            if lab.shape[0] != n:
                raise DataError(f"labels has {lab.shape[0]} rows but there are {n} records.")
            self.labels = lab
            if self.class_names is None:
                self.class_names = tuple(f"class_{i}" for i in range(lab.shape[1]))
            self.class_names = tuple(self.class_names)
            if len(self.class_names) != lab.shape[1]:
                raise DataError(
                    f"{len(self.class_names)} class names for {lab.shape[1]} label columns."
                )
        if self.wave_masks is not None:
            wm = np.asarray(self.wave_masks)
            if wm.shape[0] != n or wm.shape[-1] != self.signals.shape[2] or wm.ndim not in (2, 3):
                raise DataError(
                    f"wave_masks has shape {wm.shape}; expected ({n}, {self.signals.shape[2]}) "
                    f"or ({n}, {self.signals.shape[1]}, {self.signals.shape[2]})."
                )
            self.wave_masks = wm.astype(np.int8)
        if self.record_ids is None:
            self.record_ids = tuple(str(i) for i in range(n))
        self.record_ids = tuple(str(r) for r in self.record_ids)
        if len(self.record_ids) != n:
            raise DataError(f"{len(self.record_ids)} record ids for {n} records.")
        if self.folds is not None:
            folds = np.asarray(self.folds)
            if folds.shape != (n,):
                raise DataError(f"folds has shape {folds.shape}; expected ({n},).")
            self.folds = folds.astype(np.int64)

    # -- shape helpers -------------------------------------------------
    def __len__(self) -> int:
        return int(self.signals.shape[0])

    @property
    def n_leads(self) -> int:
        """Number of leads (``signals.shape[1]``)."""
        return int(self.signals.shape[1])

    @property
    def n_samples(self) -> int:
        """Samples per record (``signals.shape[2]``)."""
        return int(self.signals.shape[2])

    @property
    def duration(self) -> float:
        """Length of each record in seconds."""
        return self.n_samples / self.fs

    def subset(self, index) -> ECGDataset:
        """Return the records selected by ``index`` (slice, int array or boolean mask)."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        if idx.size == 0:
            raise DataError("the selection is empty: no record matches.")
        return replace(
            self,
            signals=self.signals[idx],
            labels=None if self.labels is None else self.labels[idx],
            wave_masks=None if self.wave_masks is None else self.wave_masks[idx],
            record_ids=tuple(self.record_ids[i] for i in idx),
            folds=None if self.folds is None else self.folds[idx],
            meta=_subset_meta(self.meta, idx),
        )

    def index_of(self, record_id: str) -> int:
        """Position of the record whose id is ``record_id``."""
        try:
            return self.record_ids.index(str(record_id))
        except ValueError:
            raise DataError(f"no record with id {record_id!r} in this dataset.") from None

    def wave_mask_for_lead(self, lead: int | str = "II") -> np.ndarray | None:
        """Per-sample wave codes (n_records, n_samples) for one lead, or ``None``."""
        if self.wave_masks is None:
            return None
        if self.wave_masks.ndim == 2:
            return self.wave_masks
        li = self.lead_index(lead) if isinstance(lead, str) else int(lead)
        return self.wave_masks[:, li]

    def lead_index(self, lead: str) -> int:
        """Position of ``lead`` (any spelling, e.g. ``'avr'``) in ``lead_names``.

        Raises
        ------
        DataError
            If the dataset has no such lead.

        Examples
        --------
        >>> ECGDataset(np.zeros((1, 12, 10)), fs=100).lead_index("avr")
        3
        """
        name = canonical_lead_name(lead)
        if name not in self.lead_names:
            raise DataError(f"lead {lead!r} is not in this dataset (leads: {', '.join(self.lead_names)}).")
        return self.lead_names.index(name)

    def check_finite(self) -> None:
        """Raise :class:`DataError` naming the records that contain NaN or inf."""
        bad = ~np.isfinite(self.signals).all(axis=(1, 2))
        if bad.any():
            ids = [self.record_ids[i] for i in np.flatnonzero(bad)[:5]]
            more = "" if bad.sum() <= 5 else f" and {int(bad.sum()) - 5} more"
            raise DataError(
                f"{int(bad.sum())} record(s) contain NaN or inf values: {', '.join(ids)}{more}. "
                "Interpolate or drop them first (e.g. ds.subset(np.isfinite(ds.signals).all(axis=(1, 2))))."
            )

    def __repr__(self) -> str:
        lab = "" if self.class_names is None else f", classes={list(self.class_names)}"
        return (
            f"ECGDataset(n={len(self)}, leads={self.n_leads}, samples={self.n_samples}, "
            f"fs={self.fs:g} Hz{lab})"
        )


def _subset_meta(meta: dict, idx: np.ndarray) -> dict:
    """Copy ``meta``, selecting ``idx`` from the per-record entries it names."""
    out = dict(meta)
    for key in meta.get("per_record", ()):
        val = meta.get(key)
        if val is None:
            continue
        if hasattr(val, "iloc"):  # pandas DataFrame / Series
            out[key] = val.iloc[idx].reset_index(drop=True)
        elif isinstance(val, np.ndarray):
            out[key] = val[idx]
        else:
            out[key] = [val[i] for i in idx]
    return out
