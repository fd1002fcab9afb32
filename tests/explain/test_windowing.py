"""Explanations of records of any length: overlapping windows, stitching, valid masks."""

from __future__ import annotations

import numpy as np
import pytest

from ecg_cluster_widget.data import make_synthetic
from ecg_cluster_widget.errors import DataError
from ecg_cluster_widget.explain.windowing import (
    cut_windows,
    explain_records,
    fit_windows,
    window_starts,
)


@pytest.fixture(scope="module")
def fitted():
    from ecg_cluster_widget.demo import demo_explainer

    tlc, ds, _ = demo_explainer(n_clusters=4, n_records=40)
    return tlc, ds


def _check_tiling(ex):
    """Segments tile exactly the valid samples; invalid ones carry label -1 only."""
    covered = np.zeros(len(ex.labels), dtype=bool)
    for a, b in zip(ex.segments, ex.segments[1:]):
        assert a.end <= b.start
    for s in ex.segments:
        assert not covered[s.start : s.end].any()
        covered[s.start : s.end] = True
        assert (ex.labels[s.start : s.end] == s.cluster).all()
    np.testing.assert_array_equal(covered, ex.valid)
    assert (ex.labels[~ex.valid] == -1).all() and (ex.labels[ex.valid] >= 0).all()
    assert ex.proportions.sum() == pytest.approx(1.0)
    counts = np.bincount(ex.labels[ex.valid], minlength=ex.n_clusters)
    np.testing.assert_allclose(ex.proportions, counts / ex.valid.sum())
    assert ex.mean_entropy == pytest.approx(float(ex.entropy[ex.valid].mean()), abs=1e-6)


def test_window_starts_cover_the_record():
    for length in (1, 999, 1000, 1001, 2500, 180_000):
        starts = window_starts(length, 1000, 500)
        assert starts[0] == 0 and starts[-1] + 1000 >= length
        assert (np.diff(starts) == 500).all()
        assert len(starts) == 1 or starts[-2] + 1000 < length  # no needless last window
    with pytest.raises(DataError, match="hop"):
        window_starts(100, 10, 0)


def test_record_of_the_model_length_matches_explain(fitted):
    tlc, ds = fitted
    sub = ds.subset([0, 3])
    for ex, i in zip(explain_records(tlc, sub), (0, 1)):
        ref = tlc.explain(sub, i)
        np.testing.assert_array_equal(ex.labels, ref.labels)
        np.testing.assert_allclose(ex.gamma, ref.gamma, atol=1e-5)
        np.testing.assert_allclose(ex.entropy, ref.entropy, atol=1e-5)
        assert [s.to_dict() for s in ex.segments] == [s.to_dict() for s in ref.segments]
        assert ex.valid.all() and ex.record_id == ref.record_id
        np.testing.assert_allclose(ex.proportions, ref.proportions)


def test_long_record_is_stitched_from_overlapping_windows(fitted):
    tlc, ds = fitted
    a, b = ds.signals[0], ds.signals[1]
    long = ds.subset([0]).copy(
        signals=np.concatenate([a, b, a[:, :500]], axis=1)[None],
        wave_masks=None,
        record_ids=("long",),
    )
    (ex,) = explain_records(tlc, long)
    assert long.n_samples == 2500 and len(ex.labels) == 2500 and ex.valid.all()
    _check_tiling(ex)
    # where one window alone covers the record, the result is that window's explanation
    win = tlc.explain(ds, 0)
    stride = tlc.n_samples_ // tlc.grid_length_
    head = 500 - 2 * stride
    np.testing.assert_allclose(ex.gamma[:head], win.gamma[:head], atol=1e-5)
    # and the stitched labels follow each part of the record (not cropped, not shifted)
    assert (ex.labels[:1000] == win.labels).mean() > 0.9
    assert (ex.labels[1000:2000] == tlc.explain(ds, 1).labels).mean() > 0.9


def test_long_record_tail_padding_is_invalid(fitted):
    tlc, _ = fitted
    rec = make_synthetic(1, duration=23.3, seed=4)  # 2330 samples: the last window runs past
    (ex,) = explain_records(tlc, rec)
    assert len(ex.labels) == 2500 and ex.n_valid == 2330
    assert ex.valid_spans == [(0, 2330)]
    _check_tiling(ex)
    assert ex.segments[-1].end == 2330


def test_short_record_is_padded_but_padding_is_never_explained(fitted):
    tlc, _ = fitted
    rec = make_synthetic(1, duration=2.5, seed=2)
    (ex,) = explain_records(tlc, rec)
    assert len(ex.labels) == 1000 and ex.n_valid == 250
    _check_tiling(ex)
    assert all(s.end <= 250 for s in ex.segments)
    d = ex.to_dict(include_gamma=False)
    assert d["valid"] == [[0, 250]] and d["n_samples"] == 1000
    assert set(ex.to_frame()["end"]) <= set(range(251))
    assert (ex.label_ids[250:] == -1).all()


def test_overlap_is_checked(fitted):
    tlc, ds = fitted
    with pytest.raises(DataError, match="overlap"):
        explain_records(tlc, ds.subset([0]), overlap=1.0)


def test_fit_windows_use_the_records_own_samples():
    rec = make_synthetic(2, duration=25, seed=1)
    w = fit_windows(rec, 1000)
    assert w.start.tolist() == [0, 1000, 1500] * 2 and w.record.tolist() == [0] * 3 + [1] * 3
    np.testing.assert_array_equal(w.ds.signals[2], rec.signals[0][:, 1500:2500])
    np.testing.assert_array_equal(w.ds.wave_masks[4], rec.wave_masks[1][1000:2000])
    assert w.ds.record_ids[:2] == ("syn00000@0", "syn00000@1000")
    np.testing.assert_array_equal(w.ds.labels[3], rec.labels[1])
    # records of the model's length are their own (only) window: the same dataset object
    same = make_synthetic(3)
    assert fit_windows(same, 1000).ds is same
    # short records are zero-padded, wave code -1
    short = cut_windows(make_synthetic(1, duration=2.5), 1000, np.array([0]))
    assert (short.ds.signals[0][:, 250:] == 0).all() and (short.ds.wave_masks[0][250:] == -1).all()
