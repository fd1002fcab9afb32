"""A user's own recordings: a 360 Hz WFDB record in a 250 Hz model's widget.

With ``load_wfdb(path, fs=250)`` the record opens directly; without it the widget
resamples with a one-line note instead of ending in a traceback from inside the fit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from ecg_cluster_widget.data import from_numpy, load_wfdb, make_synthetic
from ecg_cluster_widget.errors import DataError, DataWarning
from ecg_cluster_widget.model import declare_model
from ecg_cluster_widget.views.widget import ClusterExplorer

FS_MODEL, SECONDS = 250.0, 10.0


def _model(lead: str = "II"):
    """A single-lead network at 250 Hz, 10 s: weights do not matter here."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(1, 8, 9, padding=4),
        nn.ReLU(),
        nn.Conv1d(8, 8, 9, padding=4, stride=2),
        nn.ReLU(),
        nn.Conv1d(8, 8, 9, padding=4, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(8, 2),
    )
    return declare_model(
        net, fs=FS_MODEL, lead_names=[lead], n_samples=int(FS_MODEL * SECONDS), meta={}
    )


def _windows(signal: np.ndarray, fs: float, n: int):
    """``n`` consecutive 10 s windows of one lead as a dataset."""
    w = int(fs * SECONDS)
    return from_numpy(signal[: n * w].reshape(n, 1, w), fs=fs, lead_names=["MLII"])


def _open(ds, bundle):
    return ClusterExplorer(dataset=ds, model=bundle, n_clusters=3, progress=False)


def test_record_at_another_rate_is_resampled_with_a_note():
    rec = make_synthetic(1, fs=360, duration=60, n_leads=2, seed=3)  # MIT-BIH's shape
    ds360 = _windows(np.asarray(rec.signals[0, 1]), 360, 6)
    with pytest.warns(DataWarning, match=r"resampling the records from 360 Hz to 250 Hz"):
        w = _open(ds360, _model())
    assert w.dataset.fs == FS_MODEL and w.dataset.n_samples == 2500 and w.n_records == 6


def test_mitdb_record_opens_in_the_widget(shared_data):
    stem = shared_data / "wfdb_samples" / "mitdb" / "100"
    bundle = _model()
    # Read at the model's rate: no note, no error.
    at250 = load_wfdb(stem, fs=250, leads=["MLII"], n_samples=6 * 2500, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        w = _open(_windows(np.asarray(at250.signals[0, 0]), 250, 6), bundle)
    assert w.dataset.fs == 250 and w.tlc.fs_ == 250
    # As stored (360 Hz): resampled with a note instead of a traceback.
    at360 = load_wfdb(stem, leads=["MLII"], n_samples=6 * 3600, progress=False)
    with pytest.warns(DataWarning, match="360 Hz to 250 Hz"):
        w = _open(_windows(np.asarray(at360.signals[0, 0]), 360, 6), bundle)
    assert w.dataset.n_samples == 2500
    # Other leads: an error that names the fix (select the lead, or train on the leads
    # the record has; leads are never invented).
    both = load_wfdb(stem, fs=250, n_samples=2500, progress=False)
    with pytest.raises(DataError, match=r"2 leads but the model expects 1.*select_leads"):
        _open(both, bundle)
    with pytest.raises(DataError, match=r"lacks V1.*ecg-cluster-widget train .*--leads II,V5"):
        _open(both, _model("V1"))
