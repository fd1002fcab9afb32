"""Tests of the preprocessing functions on small synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

from ecg_cluster_widget.data import (
    ECGDataset,
    bandpass,
    crop_or_pad,
    interpolate_nan,
    make_synthetic,
    remove_baseline,
    resample,
    select_leads,
)
from ecg_cluster_widget.errors import DataError


@pytest.fixture(scope="module")
def syn500():
    return make_synthetic(4, fs=500, seed=1, noise=0.0, baseline_wander=0.0)


def _sines(freqs, fs=500.0, n=5000):
    t = np.arange(n) / fs
    x = np.stack([np.sin(2 * np.pi * f * t) for f in freqs])[None]
    return ECGDataset(x, fs=fs, lead_names=[f"L{i}" for i in range(len(freqs))])


def test_resample_shapes_masks_and_content(syn500):
    lo = resample(syn500, 100)
    assert lo.signals.shape == (4, 12, 1000) and lo.fs == 100 and lo.signals.dtype == np.float32
    np.testing.assert_array_equal(lo.wave_masks, syn500.wave_masks[:, ::5])
    # A band-limited ECG survives the round trip 500 -> 250 -> 500 almost unchanged.
    back = resample(resample(syn500, 250), 500)
    err = np.abs(back.signals - syn500.signals)[..., 50:-50]
    assert err.max() < 0.05 * np.abs(syn500.signals).max()
    assert "resample" in lo.meta["preprocessing"][-1]
    assert syn500.meta.get("preprocessing") is None  # input untouched
    odd = resample(syn500, 360)
    assert odd.n_samples == 3600 and odd.wave_masks.shape == (4, 3600)
    assert resample(syn500, 500).signals is syn500.signals  # no-op keeps data


def test_resample_antialiases():
    ds = _sines([5.0, 180.0])
    lo = resample(ds, 100)
    assert np.abs(lo.signals[0, 0, 50:-50]).max() > 0.9  # 5 Hz kept
    assert np.abs(lo.signals[0, 1, 50:-50]).max() < 0.05  # 180 Hz removed, not aliased


def test_bandpass_removes_out_of_band():
    ds = _sines([0.05, 10.0, 150.0])
    y = bandpass(ds, 0.5, 40.0).signals[0, :, 500:-500]
    assert np.abs(y[0]).max() < 0.1
    assert 0.9 < np.abs(y[1]).max() < 1.1
    assert np.abs(y[2]).max() < 0.05
    # Zero phase: the 10 Hz sine is not shifted.
    np.testing.assert_allclose(y[1], ds.signals[0, 1, 500:-500], atol=0.05)
    assert np.abs(bandpass(ds, None, 40.0).signals[0, 0]).max() > 0.5  # low-pass keeps 0.05 Hz
    assert np.abs(bandpass(ds, 0.5, None).signals[0, 2, 500:-500]).max() > 0.9


def test_filter_of_a_dataset_is_the_filter_of_each_record():
    # Many records are filtered in blocks on two threads; each record as if alone.
    from ecg_cluster_widget.data.filtering import SignalFilter

    x = np.random.default_rng(0).standard_normal((150, 2, 400)).astype(np.float32)
    f = SignalFilter(bandpass=(0.5, 40.0), notch=50.0)
    whole = f.apply(x, 250.0)
    for i in (0, 63, 64, 149):
        np.testing.assert_array_equal(whole[i], f.apply(x[i], 250.0))


@pytest.mark.parametrize(
    "low, high, order, match",
    [
        (0.5, 300.0, 2, "Nyquist"),
        (50.0, 40.0, 2, "below high"),
        (-1.0, 40.0, 2, "low cut-off"),
        (None, None, 2, "at least one"),
        (0.5, 40.0, 0, "order"),
    ],
)
def test_bandpass_validates(low, high, order, match):
    with pytest.raises(DataError, match=match):
        bandpass(_sines([1.0]), low, high, order)


def test_bandpass_too_short_record():
    ds = ECGDataset(np.ones((1, 1, 5)), fs=500, lead_names=["II"])
    with pytest.raises(DataError, match="too short"):
        bandpass(ds)


def test_remove_baseline_keeps_waves_removes_wander(syn500):
    wander = 0.5 * np.sin(2 * np.pi * 0.2 * np.arange(5000) / 500)
    drifted = ECGDataset(syn500.signals + wander, fs=500, wave_masks=syn500.wave_masks)
    clean = remove_baseline(drifted)
    tp = syn500.wave_masks[0] == 0
    # Baseline (TP) samples return to ~0; the QRS peaks survive.
    assert np.abs(clean.signals[0, 1, tp]).mean() < 0.05
    qrs = syn500.wave_masks[0] == 2
    assert np.abs(clean.signals[0, 1, qrs]).max() > 0.7 * np.abs(syn500.signals[0, 1, qrs]).max()
    with pytest.raises(DataError):
        remove_baseline(drifted, windows_s=(0.0,))


def test_crop_or_pad(syn500):
    short = crop_or_pad(syn500, 1000)
    np.testing.assert_array_equal(short.signals, syn500.signals[..., :1000])
    center = crop_or_pad(syn500, 1000, align="center")
    np.testing.assert_array_equal(center.signals, syn500.signals[..., 2000:3000])
    long = crop_or_pad(syn500, 6000)
    assert long.signals.shape == (4, 12, 6000)
    assert (long.signals[..., 5000:] == 0).all() and (long.wave_masks[:, 5000:] == -1).all()
    padc = crop_or_pad(syn500, 5010, align="center")
    np.testing.assert_array_equal(padc.signals[..., 5:5005], syn500.signals)
    for bad in (0, -5, 2.5):
        with pytest.raises(DataError):
            crop_or_pad(syn500, bad)
    with pytest.raises(DataError):
        crop_or_pad(syn500, 100, align="end")


def test_select_leads(syn500):
    ds = select_leads(syn500, ["v1", "II"])
    assert ds.lead_names == ("V1", "II")
    np.testing.assert_array_equal(ds.signals[:, 0], syn500.signals[:, 6])
    assert select_leads(syn500, "aVR").n_leads == 1
    with pytest.raises(DataError, match="available leads: I, II"):
        select_leads(syn500, ["II", "X7"])
    with pytest.raises(DataError, match="repeat"):
        select_leads(syn500, ["II", "ii"])
    per_lead = ECGDataset(
        np.zeros((1, 3, 10)),
        fs=100,
        lead_names=["I", "II", "III"],
        wave_masks=np.arange(30).reshape(1, 3, 10) % 4,
    )
    np.testing.assert_array_equal(
        select_leads(per_lead, ["III"]).wave_masks, per_lead.wave_masks[:, [2]]
    )


def test_interpolate_nan_and_nan_guards():
    x = np.tile(np.arange(10, dtype=float), (2, 2, 1))
    x[0, 1, 3:5] = np.nan
    x[1, 0, 0] = np.inf
    ds = ECGDataset(x, fs=100, lead_names=["I", "II"])
    filled = interpolate_nan(ds)
    np.testing.assert_allclose(filled.signals[0, 1], np.arange(10))
    assert filled.signals[1, 0, 0] == 1.0  # edge: nearest finite value
    with pytest.raises(DataError, match="gap"):
        interpolate_nan(ds, max_gap_s=0.01)
    for fn in (lambda d: resample(d, 50), bandpass, remove_baseline):
        with pytest.raises(DataError, match="NaN"):
            fn(
                ECGDataset(
                    np.where(np.isfinite(x), x, np.nan).repeat(100, -1),
                    fs=100,
                    lead_names=["I", "II"],
                )
            )
    x[1, 1] = np.nan
    with pytest.raises(DataError, match="no finite sample"):
        interpolate_nan(ECGDataset(x, fs=100, lead_names=["I", "II"]))


def test_resample_bad_fs(syn500):
    for bad in (0, -1, "abc", float("nan")):
        with pytest.raises(DataError):
            resample(syn500, bad)
