"""Bring a user's recordings to a model's sampling rate with a note, not a traceback.

A 360 Hz MIT-BIH record handed to a 250 Hz model used to end in a ~20-frame traceback
from inside the widget. Resampling is lossless enough for explanation (a polyphase
filter, :func:`~ecg_cluster_widget.data.resample`), so the widget and the command line
resample and say so in one line; what cannot be fixed this way (leads the data lacks)
stays an error that names the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..errors import DataWarning
from .dataset import ECGDataset, check_dataset

__all__ = ["match_rate"]


def match_rate(
    ds: ECGDataset,
    fs: float | None,
    what: str = "the model",
    note: Callable[[str], None] | None = None,
) -> ECGDataset:
    """``ds`` resampled to ``fs`` with a one-line note; ``ds`` itself when it matches.

    Parameters
    ----------
    ds : ECGDataset
        The records.
    fs : float or None
        The rate wanted (a model's or a fitted explainer's); ``None``: no requirement.
    what : str
        Whose rate it is, for the note.
    note : callable, optional
        Receives the one-line note; default: a :class:`~ecg_cluster_widget.errors.DataWarning`.

    Returns
    -------
    ECGDataset

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((1, 1, 360)), fs=360, lead_names=["II"], amplitude_check="ignore")
    >>> match_rate(ds, 250, note=print).fs
    resampling the records from 360 Hz to 250 Hz to match the model
    250.0
    """
    check_dataset(ds)
    if fs is None or np.isclose(ds.fs, float(fs)):
        return ds
    from .preprocess import resample

    msg = f"resampling the records from {ds.fs:g} Hz to {float(fs):g} Hz to match {what}"
    if note is None:
        warnings.warn(msg, DataWarning, stacklevel=2)
    else:
        note(msg)
    return resample(ds, float(fs))
