"""Tests of the ECGDataset container."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecg_cluster_widget.data import STANDARD_LEADS, WAVE_NAMES, ECGDataset, canonical_lead_name
from ecg_cluster_widget.errors import DataError


def _ds(n=4, leads=12, t=50, **kw):
    x = np.arange(n * leads * t, dtype=np.float64).reshape(n, leads, t)
    return ECGDataset(x, fs=100, lead_names=STANDARD_LEADS[:leads], **kw)


def test_basic_properties_and_dtypes():
    ds = _ds(labels=np.eye(4)[:, :2], class_names=["A", "B"], folds=[1, 2, 3, 4])
    assert len(ds) == 4 and ds.n_leads == 12 and ds.n_samples == 50 and ds.duration == 0.5
    assert ds.signals.dtype == np.float32 and ds.labels.dtype == np.float32
    assert ds.folds.dtype == np.int64 and ds.record_ids == ("0", "1", "2", "3")
    assert WAVE_NAMES == ("none", "P", "QRS", "T")
    assert "n=4" in repr(ds) and "classes=['A', 'B']" in repr(ds)
    single = ECGDataset(np.zeros((12, 10)), fs=100)  # one record without batch axis
    assert single.signals.shape == (1, 12, 10)
    auto = _ds(labels=np.ones(4))
    assert auto.labels.shape == (4, 1) and auto.class_names == ("class_0",)


def test_lead_names_are_canonicalised():
    assert canonical_lead_name(" avr ") == "aVR" and canonical_lead_name("v1") == "V1"
    assert canonical_lead_name("MLII") == "II"  # modified lead II of Holter/MIT-BIH records
    ds = ECGDataset(np.zeros((1, 2, 5)), fs=10, lead_names=["avf", "V6"])
    assert ds.lead_names == ("aVF", "V6")
    assert ds.lead_index("AVF") == 0
    with pytest.raises(DataError, match="leads: aVF, V6"):
        ds.lead_index("V1")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(signals=np.zeros((0, 12, 10))), "empty"),
        (dict(signals=np.zeros((2, 12, 0))), "0 samples"),
        (dict(signals=np.zeros((2, 3, 4, 5))), "dimensions"),
        (dict(signals=np.array([[["a"]]])), "numeric"),
        (dict(fs=0), "positive"),
        (dict(fs="fast"), "number"),
        (dict(fs=np.nan), "positive"),
        (dict(lead_names=("I", "II")), "lead names"),
        (dict(labels=np.zeros((3, 2))), "rows"),
        (dict(labels=np.zeros((2, 2)), class_names=["a"]), "class names"),
        (dict(wave_masks=np.zeros((2, 11))), "wave_masks"),
        (dict(record_ids=["a"]), "record ids"),
        (dict(folds=[1, 2, 3]), "folds"),
    ],
)
def test_bad_input_raises_data_error(kwargs, match):
    args = dict(signals=np.zeros((2, 12, 10)), fs=100.0, lead_names=STANDARD_LEADS)
    args.update(kwargs)
    with pytest.raises(DataError, match=match):
        ECGDataset(**args)


def test_subset_selects_everything_per_record():
    info = pd.DataFrame({"age": [10, 20, 30, 40]})
    ds = _ds(
        labels=np.arange(4)[:, None],
        wave_masks=np.arange(200).reshape(4, 50) % 4,
        record_ids=["a", "b", "c", "d"],
        folds=[1, 2, 3, 4],
        meta={
            "info": info,
            "hr": np.array([60, 70, 80, 90]),
            "beats": [[1], [2], [3], [4]],
            "source": "test",
            "per_record": ("info", "hr", "beats"),
        },
    )
    sub = ds.subset([3, 1])
    assert sub.record_ids == ("d", "b") and sub.folds.tolist() == [4, 2]
    np.testing.assert_array_equal(sub.signals, ds.signals[[3, 1]])
    np.testing.assert_array_equal(sub.wave_masks, ds.wave_masks[[3, 1]])
    assert sub.labels[:, 0].tolist() == [3, 1]
    assert sub.meta["info"].age.tolist() == [40, 20] and sub.meta["hr"].tolist() == [90, 70]
    assert sub.meta["beats"] == [[4], [2]] and sub.meta["source"] == "test"
    assert len(ds.meta["info"]) == 4  # original untouched
    assert len(ds.subset(slice(0, 2))) == 2
    assert ds.subset(np.array([True, False, True, False])).record_ids == ("a", "c")
    assert ds.subset(2).record_ids == ("c",)
    with pytest.raises(DataError, match="empty"):
        ds.subset(np.zeros(4, dtype=bool))
    assert ds.index_of("c") == 2
    with pytest.raises(DataError, match="no record"):
        ds.index_of("zz")


def test_wave_mask_for_lead_and_check_finite():
    masks = np.zeros((2, 12, 10), dtype=int)
    masks[:, 1] = 2
    ds = ECGDataset(np.zeros((2, 12, 10)), fs=100, wave_masks=masks)
    assert ds.wave_masks.dtype == np.int8
    assert (ds.wave_mask_for_lead("II") == 2).all() and (ds.wave_mask_for_lead(0) == 0).all()
    flat = ECGDataset(np.zeros((2, 12, 10)), fs=100, wave_masks=np.ones((2, 10)))
    assert flat.wave_mask_for_lead("V3").shape == (2, 10)
    assert ECGDataset(np.zeros((1, 12, 5)), fs=1).wave_mask_for_lead() is None
    ds.check_finite()
    x = np.zeros((7, 12, 10))
    x[1:7, 0, 0] = np.nan
    with pytest.raises(DataError, match="6 record.*1, 2, 3, 4, 5 and 1 more"):
        ECGDataset(x, fs=100).check_finite()


# --- immutability (issue 9 §2) -----------------------------------------------------
import copy as _copy  # noqa: E402
import pickle  # noqa: E402
import warnings  # noqa: E402

from ecg_cluster_widget.data import from_numpy, make_synthetic, to_millivolts  # noqa: E402
from ecg_cluster_widget.errors import DataWarning, ReadOnlyDataError  # noqa: E402


def _ecg(n=3, leads=12, t=200, seed=0, scale=0.4):
    """Plausible mV signals (peak-to-peak of a few tenths of a mV to a few mV)."""
    return np.random.default_rng(seed).normal(0, scale, (n, leads, t))


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.signals.__setitem__((0, 0, 0), 1.0),
        lambda d: d.signals[1].__imul__(-1),  # ds.signals[1] *= -1
        lambda d: np.add(d.signals, 1, out=d.signals),
        lambda d: d.signals.fill(0),
        lambda d: d.signals[0, 0].sort(),
        lambda d: d.labels.__setitem__((0, 0), 1.0),
        lambda d: d.wave_masks.__setitem__(0, 3),
        lambda d: d.folds.__setitem__(0, 9),
        lambda d: d.signals.view(np.ndarray).__setitem__((0, 0, 0), 1.0),
    ],
    ids=[
        "setitem",
        "imul-view",
        "ufunc-out",
        "fill",
        "sort",
        "labels",
        "wave_masks",
        "folds",
        "plain-view",
    ],
)
def test_in_place_edits_raise(edit):
    ds = make_synthetic(4, seed=3)
    ds = ds.copy(folds=[1, 2, 3, 4])
    before = ds.signals.copy(), ds.labels.copy(), ds.wave_masks.copy(), ds.folds.copy()
    with pytest.raises(ValueError, match="read-only"):  # numpy's error for writeable=False
        edit(ds)
    for old, new in zip(before, (ds.signals, ds.labels, ds.wave_masks, ds.folds)):
        np.testing.assert_array_equal(old, new)


def test_fields_cannot_be_reassigned():
    ds = ECGDataset(_ecg(), fs=100)
    for name, value in (
        ("signals", _ecg()),
        ("fs", 200.0),
        ("labels", np.ones((3, 1))),
        ("record_ids", ("a", "b", "c")),
        ("meta", {}),
    ):
        with pytest.raises(ReadOnlyDataError, match=rf"ds.copy\({name}="):
            setattr(ds, name, value)
    assert ds.fs == 100.0
    ds._cache = 1  # non-field attributes stay free (e.g. caches)


def test_input_array_is_copied_so_later_edits_do_not_leak():
    x = _ecg().astype(np.float32)  # float32 C-contiguous: np.asarray would not copy
    ds = ECGDataset(x, fs=100)
    x[0, 0, 0] = 99.0
    assert ds.signals[0, 0, 0] != 99.0
    assert x.flags.writeable  # the caller's array is left writeable
    y = _ecg()
    via_numpy = from_numpy(y.transpose(0, 2, 1).astype(np.float32), fs=100)
    y[:] = 0
    assert np.abs(via_numpy.signals).max() > 0


def test_with_signals_and_copy_make_modified_datasets():
    ds = make_synthetic(3, seed=1)
    x = ds.signals.copy()
    assert type(x) is np.ndarray and x.flags.writeable
    x[1] *= -1
    new = ds.with_signals(x)
    np.testing.assert_array_equal(new.signals[1], -ds.signals[1])
    np.testing.assert_array_equal(new.signals[0], ds.signals[0])
    assert new.labels is ds.labels and new.wave_masks is ds.wave_masks  # shared: read-only
    assert new.record_ids == ds.record_ids and new.meta == ds.meta
    with pytest.raises(DataError, match="wave_masks"):
        ds.with_signals(x[..., :100])  # masks no longer match
    relabelled = ds.copy(labels=np.zeros((3, 5)))
    assert relabelled.labels.sum() == 0 and ds.labels.sum() > 0
    assert not relabelled.labels.flags.writeable
    assert ds.copy().signals is ds.signals


def test_derived_datasets_are_read_only_too():
    from ecg_cluster_widget.data import (
        bandpass,
        crop_or_pad,
        interpolate_nan,
        resample,
        select_leads,
    )

    ds = make_synthetic(2, seed=2)
    for out in (
        ds.subset([1]),
        resample(ds, 50),
        bandpass(ds),
        crop_or_pad(ds, 500),
        select_leads(ds, ["II"]),
        interpolate_nan(ds),
        ds.copy(fs=100.0),
    ):
        assert type(out.signals) is np.ndarray and not out.signals.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            out.signals[0, 0, 0] = 0.0
        if out.wave_masks is not None:
            with pytest.raises(ValueError, match="read-only"):
                out.wave_masks[0, 0] = 0
    np.testing.assert_array_equal(ds.signals, make_synthetic(2, seed=2).signals)  # inputs untouched


def test_arithmetic_results_are_plain_writeable_arrays():
    ds = ECGDataset(_ecg(), fs=100)
    for res in (
        ds.signals * 2,
        ds.signals - ds.signals.mean(axis=2, keepdims=True),
        np.asarray(ds.signals) + 0,
        ds.signals[[0, 2]],
    ):
        assert res.flags.writeable
        res[...] = 0  # may be edited freely


def test_pickle_and_deepcopy_stay_read_only():
    ds = make_synthetic(2, seed=4)
    for clone in (pickle.loads(pickle.dumps(ds)), _copy.deepcopy(ds), _copy.copy(ds)):
        np.testing.assert_array_equal(clone.signals, ds.signals)
        with pytest.raises(ValueError, match="read-only"):
            clone.signals[0, 0, 0] = 1.0
        with pytest.raises(ReadOnlyDataError):
            clone.fs = 1.0


def test_fingerprinted_results_cannot_go_stale():
    """The issue's case: an edit after ``explain`` that a strided hash would skip."""
    from ecg_cluster_widget.explain.explainer import fingerprint

    ds = ECGDataset(_ecg(2, t=100_000), fs=100)
    fp = fingerprint(ds)
    with pytest.raises(ValueError, match="read-only"):
        ds.signals[1, 3, 12_345] += 1.0  # between the strided samples
    assert fingerprint(ds) == fp
    x = ds.signals.copy()
    x[1, 3, 12_345] += 1.0
    assert fingerprint(ds.with_signals(x)) != fp


# --- units and amplitude plausibility (issue 9 §3) --------------------------------------
def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def test_plausible_mv_gives_no_warning():
    _, msgs = _warnings_of(lambda: ECGDataset(_ecg(), fs=100))
    assert msgs == []
    _, msgs = _warnings_of(lambda: make_synthetic(10, seed=0))
    assert msgs == []


def test_microvolts_passed_as_mv_warn_and_units_uv_converts():
    x = _ecg()
    _, msgs = _warnings_of(lambda: ECGDataset(x * 1000, fs=100))
    assert (
        len(msgs) == 1
        and "values look like microvolts: divide by 1000 or pass units='uV'" in msgs[0]
    )
    ds, msgs = _warnings_of(lambda: ECGDataset(x * 1000, fs=100, units="uV"))
    assert msgs == [] and ds.meta["units"] == "mV"
    np.testing.assert_allclose(ds.signals, x.astype(np.float32), rtol=1e-6)
    assert ds.meta["preprocessing"][-1] == "units(uV -> mV)"
    for spelling in ("µV", "uv", "microvolts"):
        np.testing.assert_allclose(ECGDataset(x * 1000, fs=100, units=spelling).signals, ds.signals)


def test_adc_counts_warn_and_units_adc_converts():
    x = _ecg()
    raw = np.round(x * 200 + 1024)  # MIT-BIH style: 200 ADC units/mV, baseline 1024
    _, msgs = _warnings_of(lambda: from_numpy(raw, fs=100))
    assert len(msgs) == 1 and "raw ADC counts" in msgs[0] and "units='adc'" in msgs[0]
    assert "baseline=10" in msgs[0]  # the level it found (about 1024)
    ds, msgs = _warnings_of(lambda: from_numpy(raw, fs=100, units="adc", gain=200, baseline=1024))
    assert msgs == []
    np.testing.assert_allclose(ds.signals, x, atol=0.5 / 200 + 1e-6)
    per_lead = from_numpy(raw, fs=100, units="adc", gain=[200] * 12, baseline=[1024] * 12)
    np.testing.assert_array_equal(per_lead.signals, ds.signals)
    with pytest.raises(DataError, match="gain="):
        from_numpy(raw, fs=100, units="adc")
    with pytest.raises(DataError, match="one per lead"):
        from_numpy(raw, fs=100, units="adc", gain=[200, 200])
    with pytest.raises(DataError, match="positive"):
        from_numpy(raw, fs=100, units="adc", gain=0)
    with pytest.raises(DataError, match="units='adc' only"):
        from_numpy(raw, fs=100, units="uV", gain=200)
    with pytest.raises(DataError, match="not known"):
        from_numpy(raw, fs=100, units="furlongs")


def test_volts_warn_and_units_v_converts():
    x = _ecg()
    _, msgs = _warnings_of(lambda: ECGDataset(x / 1000, fs=100))
    assert len(msgs) == 1 and "units='V'" in msgs[0]
    ds, msgs = _warnings_of(lambda: ECGDataset(x / 1000, fs=100, units="V"))
    assert msgs == [] and np.allclose(ds.signals, x, atol=1e-6)


def test_flat_and_zero_leads_and_records_are_named():
    x = _ecg(4)
    x[1] = 0.0  # an all-zero record
    x[2, 6] = 0.0  # an all-zero lead (V1)
    x[3, 2] = 0.25  # a flat, constant lead (III)
    ids = ("r0", "r1", "r2", "r3")
    _, msgs = _warnings_of(lambda: ECGDataset(x, fs=100, record_ids=ids))
    text = " | ".join(msgs)
    assert "record(s) r1 are all zeros" in text
    assert "r2/V1" in text and "all zeros" in text
    assert "r3/III" in text and "flat" in text
    assert "r0" not in text
    _, msgs = _warnings_of(lambda: ECGDataset(np.full((2, 12, 50), 0.3), fs=100))
    assert len(msgs) == 1 and "all records are flat" in msgs[0]


def test_one_lead_in_other_units_is_named():
    x = _ecg(2)
    x[0, 7] *= 1000  # V2 of record 0 in microvolts
    _, msgs = _warnings_of(lambda: ECGDataset(x, fs=100, record_ids=("a", "b")))
    assert len(msgs) == 1 and "a/V2" in msgs[0] and "other units" in msgs[0]


def test_amplitude_check_modes():
    x = _ecg() * 1000
    with pytest.raises(DataError, match="microvolts"):
        ECGDataset(x, fs=100, amplitude_check="raise")
    _, msgs = _warnings_of(lambda: ECGDataset(x, fs=100, amplitude_check="ignore"))
    assert msgs == []
    with pytest.raises(DataError, match="amplitude_check"):
        ECGDataset(x, fs=100, amplitude_check="maybe")
    ds = ECGDataset(x, fs=100, amplitude_check="ignore")
    assert "microvolts" in ds.check_amplitudes("ignore")[0]
    # Derived datasets are not re-checked (no repeated warnings per preprocessing step).
    _, msgs = _warnings_of(lambda: (ds.subset([0]), ds.copy(fs=200.0)))
    assert msgs == []


def test_to_millivolts():
    assert to_millivolts(np.array([[[2000.0]]]), "uV").tolist() == [[[2.0]]]
    assert to_millivolts(np.array([[[0.002]]]), "V").tolist() == [[[2.0]]]
    out = to_millivolts(
        np.array([[[1224.0], [1034.0]]]), "adc", gain=[200, 10], baseline=[1024, 1024]
    )
    np.testing.assert_allclose(out.ravel(), [1.0, 1.0])


def test_amplitude_warnings_point_at_the_callers_line():
    x = _ecg() * 1000
    ds = ECGDataset(x / 1000, fs=100)
    for make in (
        lambda: ECGDataset(x, fs=100),
        lambda: from_numpy(x, fs=100),
        lambda: ds.with_signals(x),
        lambda: ds.copy(signals=x),
    ):
        with pytest.warns(DataWarning, match="microvolts") as rec:
            make()
        assert rec[0].filename == __file__
