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
    assert canonical_lead_name("MLII") == "MLII"
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
        labels=np.arange(4)[:, None], wave_masks=np.arange(200).reshape(4, 50) % 4,
        record_ids=["a", "b", "c", "d"], folds=[1, 2, 3, 4],
        meta={"info": info, "hr": np.array([60, 70, 80, 90]), "beats": [[1], [2], [3], [4]],
              "source": "test", "per_record": ("info", "hr", "beats")},
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
