"""Run-length encoding of cluster labels and the one segment export (explain/segments.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecg_cluster_widget.errors import DataError
from ecg_cluster_widget.explain import segments as S


def test_old_import_locations_are_the_same_objects():
    from ecg_cluster_widget import explain
    from ecg_cluster_widget.explain import explanation, prototypes

    assert explanation.Segment is S.Segment is explain.Segment
    assert prototypes.segments_from_labels is S.segments_from_labels
    assert prototypes.segment_arrays is S.segment_arrays is explain.segment_arrays


@pytest.mark.parametrize(
    "first", ["explanation", "prototypes", "segments", "windowing", "explainer"]
)
@pytest.mark.slow
def test_no_import_circle(first):
    """Each module imports on its own, first, in a fresh interpreter."""
    code = f"import ecg_cluster_widget.explain.{first}"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-1, 3), min_size=1, max_size=60))
def test_runs_tile_the_non_negative_labels(values):
    lab = np.array(values)
    segs = S.segments_from_labels(lab, fs=10.0, cluster_ids=np.array([10, 11, 12, 13]))
    rebuilt = np.full(lab.size, -1)
    for s in segs:
        assert s.end > s.start and s.cluster >= 0 and s.cluster_id == 10 + s.cluster
        assert s.start_s == pytest.approx(s.start / 10.0)
        rebuilt[s.start : s.end] = s.cluster
    np.testing.assert_array_equal(rebuilt, np.where(lab >= 0, lab, -1))
    for a, b in zip(segs, segs[1:]):  # adjacent runs differ or are separated by invalid ones
        assert a.end < b.start or a.cluster != b.cluster


def test_segment_arrays_many_records_and_invalid_runs():
    rec, start, end, cl = S.segment_arrays(np.array([[0, 0, -1, 1], [-1, -1, -1, -1]]))
    assert rec.tolist() == [0, 0] and start.tolist() == [0, 3]
    assert end.tolist() == [2, 4] and cl.tolist() == [0, 1]
    assert S.segments_from_labels(np.array([-1, -1]), fs=1.0) == []
    with pytest.raises(DataError, match="1-D"):
        S.segments_from_labels(np.zeros((2, 2), int), fs=1.0)


def test_segment_rows_is_what_to_frame_writes():
    from ecg_cluster_widget.explain import ECGExplanation

    lab = np.array([0, 0, 1, 1, 1, -1])
    ent = np.array([0.1, 0.3, 0.5, 0.5, 0.8, 0.0], np.float32)
    segs = S.segments_from_labels(lab, 2.0, np.array([4, 9]))
    ex = ECGExplanation(
        0,
        "r",
        2.0,
        np.array([4, 9]),
        lab,
        np.ones((6, 2), np.float32) / 2,
        ent,
        segs,
        np.array([0.4, 0.6]),
        0.44,
        valid=lab >= 0,
    )
    rows = S.segment_rows(segs, ent)
    assert [r["cluster_id"] for r in rows] == [4, 9]
    assert rows[1]["mean_entropy"] == pytest.approx(0.6)
    assert rows[1]["duration_s"] == pytest.approx(1.5)
    frame = ex.to_frame()
    assert list(frame.columns) == list(S.SEGMENT_COLUMNS)
    assert frame.to_dict("records") == rows
    assert ex.valid_spans == [(0, 5)] and ex.to_dict()["valid"] == [[0, 5]]


def test_valid_mask_must_match_the_labels():
    from ecg_cluster_widget.explain import ECGExplanation

    with pytest.raises(DataError, match="one entry per sample"):
        ECGExplanation(
            0,
            "r",
            1.0,
            np.array([0]),
            np.zeros(3, int),
            np.ones((3, 1)),
            np.zeros(3),
            [],
            np.ones(1),
            0.0,
            valid=np.ones(2, bool),
        )
