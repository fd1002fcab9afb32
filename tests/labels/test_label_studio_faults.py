"""Label Studio exchange under bad input: a strict reader (types, finite ordered times,
known labels, any JSON fuzzed) and an export that refuses another fit's labels."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import ECGClusterError, FileFormatError, LabelsMismatchError
from ecg_cluster_widget.labels import (
    read_label_studio,
    read_labels_file,
    save_labels,
    to_label_studio,
)
from ecg_cluster_widget.model import ResNet1d


def _task(value, kind="timeserieslabels", data=None):
    return {"data": data or {"record_index": 0}, "annotations": [{"result": [
        {"type": kind, "value": value}]}]}  # fmt: skip


GOOD = {"start": 0.1, "end": 0.2, "timeserieslabels": ["P wave"]}


def test_a_well_formed_task_reads():
    seg = read_label_studio([_task(GOOD)], known=["P wave", "T wave"])[0]
    assert (seg["start_s"], seg["end_s"], seg["name"]) == (0.1, 0.2, "P wave")
    instant = {**GOOD, "end": 0.1, "instant": True}
    assert read_label_studio([_task(instant)])[0]["end_s"] == 0.1


@pytest.mark.parametrize(
    "value, match",
    [
        ({**GOOD, "timeserieslabels": "P wave"}, "must be a list of label names"),
        ({**GOOD, "timeserieslabels": [1]}, "must be a list of label names"),
        ({**GOOD, "start": float("nan")}, "'start' must be a finite number"),
        ({**GOOD, "end": float("inf")}, "'end' must be a finite number"),
        ({**GOOD, "start": "0.1"}, "'start' must be a finite number"),
        ({**GOOD, "start": True}, "'start' must be a finite number"),
        ({**GOOD, "start": 0.3}, "reversed"),
        ({**GOOD, "end": 0.1}, "reversed or empty"),
        ({**GOOD, "start": -0.5}, "negative"),
        (None, "'value' must be an object"),
    ],
)
def test_malformed_spans_are_refused(value, match):
    with pytest.raises(FileFormatError, match=match):
        read_label_studio([_task(value)])


def test_unknown_labels_are_refused_when_the_names_are_known():
    with pytest.raises(FileFormatError, match=r"unknown label\(s\) \['Q wave'\]"):
        read_label_studio([_task({**GOOD, "timeserieslabels": ["Q wave"]})], known=["P wave"])


@pytest.mark.parametrize(
    "doc, match",
    [
        ("[1]", "task 0 is a number"),
        ('[{"annotations": {}}]', "'annotations' must be a list"),
        ('[{"annotations": [{"result": {}}]}]', "'result' must be a list"),
        ('[{"annotations": [[]]}]', "annotations 0 is a list"),
        ('[{"data": []}]', "'data' must be an object"),
        ('[{"data": {"record_index": -1}}]', "'record_index' must be a non-negative"),
        ('[{"data": {"record_index": "3"}}]', "'record_index' must be a non-negative"),
        ("[{not json", "not valid JSON"),
        (5, "must be a JSON list, got a number"),
    ],
)
def test_malformed_tasks_are_refused(doc, match):
    with pytest.raises(FileFormatError, match=match):
        read_label_studio(doc)


def test_deep_nesting_is_a_clear_error(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FileFormatError, match="nested too deeply"):
        read_label_studio(p)
    with pytest.raises(FileFormatError, match="nested too deeply"):
        read_label_studio('[{"data": ' + "[" * 100_000 + "]" * 100_000 + "}]")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)
_value = st.fixed_dictionaries(
    {},
    optional={
        "start": _json | st.floats(),
        "end": _json | st.floats(),
        "instant": _json,
        "timeserieslabels": _json | st.lists(st.text(max_size=5), max_size=3),
    },
)
_result = st.fixed_dictionaries(
    {}, optional={"type": st.just("timeserieslabels") | _json, "value": _value | _json}
)
_tasks = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "data": st.fixed_dictionaries({}, optional={"record_index": _json, "record_id": _json})
            | _json,
            "annotations": st.lists(
                st.fixed_dictionaries({}, optional={"result": st.lists(_result, max_size=3)})
                | _json,
                max_size=2,
            )
            | _json,
            "predictions": _json,
        },
    )
    | _json,
    max_size=3,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_tasks | _json)
def test_fuzz_label_studio_reader_gives_segments_or_a_package_error(doc):
    text = json.dumps(doc)
    for source in (doc, text):
        try:
            segs = read_label_studio(source)
        except ECGClusterError:
            continue
        for s in segs:
            assert 0 <= s["start_s"] <= s["end_s"] and isinstance(s["name"], str)


# --- export refuses another fit's labels ------------------------------------------------------
@pytest.fixture(scope="module")
def two_fits():
    torch.manual_seed(0)
    ds = make_synthetic(12, seed=5)
    net = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()
    kw = dict(n_clusters=3, n_components=8, progress=False)
    here = TLCExplainer(net, **kw).fit(ds)
    other = TLCExplainer(net, **kw).fit(ds.subset(range(8)))
    return here, other, ds


def test_export_refuses_a_labels_file_of_another_dataset(two_fits, tmp_path):
    here, other, ds = two_fits
    p = save_labels(tmp_path / "other.json", {int(other.cluster_ids_[0]): "P wave"}, tlc=other)
    with pytest.raises(LabelsMismatchError, match="another dataset"):
        to_label_studio(here, ds, p, records=[0])
    with pytest.raises(LabelsMismatchError, match="another dataset"):
        to_label_studio(here, ds, read_labels_file(p), records=[0])
    # This fit's own file exports its names.
    mine = save_labels(tmp_path / "mine.json", {int(here.cluster_ids_[0]): "P wave"}, tlc=here)
    tasks = to_label_studio(here, ds, mine, records=[0])
    names = {
        n for r in tasks[0]["predictions"][0]["result"] for n in r["value"]["timeserieslabels"]
    }
    assert "P wave" in names or len(names) >= 1
