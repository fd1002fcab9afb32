"""Agreement between two annotators' label files and the Label Studio export.

The time-step agreement and the export run the real engine (the shipped demo model on
synthetic ECGs).
"""

from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from sklearn.metrics import cohen_kappa_score

from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, DataWarning, FileFormatError, LabelsMismatchError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.labels import (
    agreement,
    cluster_agreement,
    cohen_kappa,
    label_studio_config,
    read_label_studio,
    save_labels,
    timestep_agreement,
    to_label_studio,
    write_label_studio,
)
from ecg_cluster_widget.model.pretrained import load_demo_model


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    ds = make_synthetic(16, seed=8)
    tlc = TLCExplainer(
        load_demo_model(), n_clusters=4, n_components=8, max_fit_points=5000, progress=False
    )
    tlc.fit(ds)
    return ds, tlc


def _fit(tlc):
    return tlc.fit_identity()


def test_kappa_matches_sklearn(rng):
    cats = np.array(["P wave", "QRS complex", "T wave", "TP baseline"])
    for _ in range(20):
        a = cats[rng.integers(0, 4, 60)]
        b = np.where(rng.random(60) < 0.6, a, cats[rng.integers(0, 4, 60)])
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["x", "x"], ["x", "x"]) is None  # one category: undefined
    with pytest.raises(DataError, match="same items"):
        cohen_kappa(["a"], ["a", "b"])


def test_cluster_agreement_names_and_options(tmp_path):
    fit = {"model_checksum": "m1", "data_fingerprint": "d1", "n_clusters": 5}
    fit["cluster_ids"] = [0, 1, 2, 3, 4]
    pa = save_labels(
        tmp_path / "a.json",
        {0: "P wave", 1: "QRS complex", 2: "ST segment", 3: "TP baseline", 4: "T wave"},
        fit=fit,
    )
    pb = save_labels(
        tmp_path / "b.json",
        {0: "p  wave", 1: "QRS complex", 2: "TP baseline", 3: "TP baseline"},
        fit=fit,
    )
    r = cluster_agreement(pa, pb)
    assert r["n_compared"] == 4 and r["observed"] == 0.75  # case and spaces ignored
    a = ["p wave", "qrs complex", "st segment", "tp baseline"]
    b = ["p wave", "qrs complex", "tp baseline", "tp baseline"]
    assert r["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert [c["agree"] for c in r["per_cluster"]] == [True, True, False, True]
    assert np.array(r["confusion"]).sum() == 4
    r2 = cluster_agreement(pa, pb, include_unnamed=True)
    assert r2["n_compared"] == 5 and "" in r2["names"]
    json.dumps(r)


def test_different_fits_are_refused(tmp_path):
    base = {"model_checksum": "m1", "data_fingerprint": "d1", "n_clusters": 2}
    labs = {0: "P wave", 1: "T wave"}
    a = save_labels(tmp_path / "a.json", labs, fit={**base, "cluster_ids": [0, 1]})
    for change, what in (
        ({"model_checksum": "m2"}, "model_checksum"),
        ({"data_fingerprint": "d9"}, "data_fingerprint"),
        ({"fit_id": "other"}, None),  # only one side names a fit id: not a mismatch
        ({"cluster_ids": [0, 5]}, "cluster ids"),
    ):
        fit = {**base, "cluster_ids": [0, 1], **change}
        b = save_labels(tmp_path / "b.json", {0: "P wave", 5: "T wave"}, fit=fit)
        if what is None:
            cluster_agreement(a, b)
            continue
        with pytest.raises(LabelsMismatchError, match="different fits") as exc:
            cluster_agreement(a, b)
        assert what in str(exc.value) and exc.value.report is not None
    with pytest.raises(LabelsMismatchError, match="fit_id"):
        cluster_agreement(
            save_labels(tmp_path / "c.json", labs, fit={**base, "fit_id": "f1"}),
            save_labels(tmp_path / "d.json", labs, fit={**base, "fit_id": "f2"}),
        )
    # A file without a fit identity cannot be checked: say so.
    bare = save_labels(tmp_path / "e.json", labs)
    with pytest.warns(DataWarning, match="no fit identity"):
        assert cluster_agreement(a, bare)["kappa"] == 1.0
    with pytest.raises(FileFormatError, match="does not exist"):
        cluster_agreement(a, tmp_path / "missing.json")
    with pytest.raises(DataError, match="labels file path"):
        cluster_agreement(a, 42)


def _names(tlc, names):
    return {int(c): n for c, n in zip(tlc.cluster_ids_, names)}


def test_timestep_agreement_weights_clusters_by_time(setup, tmp_path):
    ds, tlc = setup
    fit = _fit(tlc)
    ids = [int(c) for c in tlc.cluster_ids_]
    a_names = ["P wave", "QRS complex", "T wave", "TP baseline"]
    b_names = ["P wave", "QRS complex", "ST segment", "TP baseline"]
    pa = save_labels(tmp_path / "a.json", _names(tlc, a_names), fit=fit)
    pb = save_labels(tmp_path / "b.json", _names(tlc, b_names), fit=fit)
    recs = [0, 3, 5, 7]
    r = timestep_agreement(pa, pb, tlc, ds, records=recs)
    # The same kappa as over explicit per-sample names (the explainer's segmentation).
    lab = tlc.explain_all(ds.subset(recs)).labels
    sa = np.array(a_names)[lab].ravel()
    sb = np.array(b_names)[lab].ravel()
    assert r["kappa"] == pytest.approx(cohen_kappa_score(sa, sb))
    assert r["observed"] == pytest.approx(float((sa == sb).mean()))
    assert r["n_steps"] == lab.size and r["n_records"] == 4 and len(r["per_record"]) == 4
    assert r["k"] == len(ids)
    same = timestep_agreement(pa, pa, tlc, ds, records=recs)
    assert same["kappa"] == pytest.approx(1.0) and same["observed"] == 1.0
    # An unnamed cluster's time steps are left out.
    pc = save_labels(tmp_path / "c.json", _names(tlc, a_names[:3] + [""]), fit=fit)
    part = timestep_agreement(pa, pc, tlc, ds, records=recs)
    assert part["n_steps"] == int((lab != 3).sum())
    both = agreement(pa, pb, tlc, ds, records=recs)
    assert both["time_steps"]["kappa"] == pytest.approx(r["kappa"])
    assert both["clusters"]["n_compared"] == 4
    with pytest.raises(DataError, match="records"):
        timestep_agreement(pa, pb, tlc, ds, records=[len(ds)])
    json.dumps(both)


def test_timestep_agreement_refuses_labels_of_another_fit(setup, tmp_path):
    ds, tlc = setup
    fit = _fit(tlc)
    ids = [int(c) for c in tlc.cluster_ids_]
    labs = _names(tlc, ["P wave", "QRS complex", "T wave", "TP baseline"])
    other_ids = {**fit, "cluster_ids": [i + 100 for i in ids]}
    pa = save_labels(tmp_path / "a.json", {i + 100: "P wave" for i in ids}, fit=other_ids)
    with pytest.raises(LabelsMismatchError):
        timestep_agreement(pa, pa, tlc, ds, records=[0])
    wrong = {**fit, "model_checksum": "another-model"}
    pb = save_labels(tmp_path / "b.json", labs, fit=wrong)
    with pytest.raises(LabelsMismatchError, match="another fit than this explainer"):
        timestep_agreement(pb, pb, tlc, ds, records=[0])


def test_label_studio_export_round_trips_through_json(setup, tmp_path):
    ds, tlc = setup
    labs = _names(tlc, ["P wave", "QRS complex", "T wave", ""])
    tasks = to_label_studio(tlc, ds, labs, records=[1, 2], leads=("II", "V2"))
    path = write_label_studio(tmp_path / "ls.json", tasks)
    back = read_label_studio(path)
    assert read_label_studio(json.loads(path.read_text())) == back
    assert len(tasks) == 2
    t0 = tasks[0]
    assert set(t0["data"]["ts"]) == {"time", "II", "V2"}
    assert len(t0["data"]["ts"]["II"]) == ds.n_samples
    assert t0["data"]["record_index"] == 1 and t0["data"]["record_id"] == ds.record_ids[1]
    np.testing.assert_allclose(
        t0["data"]["ts"]["II"], ds.signals[1, ds.lead_index("II")], atol=1e-4
    )
    res = t0["predictions"][0]["result"]
    assert all(r["type"] == "timeserieslabels" and r["to_name"] == "ts" for r in res)
    # The spans tile the record, and each carries its cluster's name (or "cluster <id>").
    segs = [s for s in back if s["record_index"] == 1]
    assert segs[0]["start_s"] == 0.0
    assert segs[-1]["end_s"] == pytest.approx(ds.n_samples / ds.fs)
    assert all(a["end_s"] == b["start_s"] for a, b in zip(segs, segs[1:]))
    assert all(a["name"] != b["name"] for a, b in zip(segs, segs[1:]))  # merged runs
    expl = tlc.explain(ds, 1)
    fs = float(ds.fs)
    for s in segs:
        i = int(round((s["start_s"] + s["end_s"]) / 2 * fs))
        cid = int(expl.label_ids[min(i, ds.n_samples - 1)])
        want = labs.get(cid) or f"cluster {cid}"
        assert s["name"] == want
    ann = to_label_studio(tlc, ds, labs, records=[0], as_annotations=True)
    assert "annotations" in ann[0] and read_label_studio(ann)[0]["source"] == "annotations"
    # The labeling config parses and names every label used.
    cfg = ET.fromstring(label_studio_config(sorted({s["name"] for s in back}), ["II", "V2"]))
    values = {e.get("value") for e in cfg.iter("Label")}
    assert values == {s["name"] for s in back}
    assert [c.get("column") for c in cfg.iter("Channel")] == ["II", "V2"]
    with pytest.raises(FileFormatError, match="list"):
        read_label_studio(5)
    assert read_label_studio(json.dumps(tasks)) == back  # a JSON string works too
    value = {"end": 1, "timeserieslabels": ["P wave"]}
    bad = [{"predictions": [{"result": [{"type": "timeserieslabels", "value": value}]}]}]
    with pytest.raises(FileFormatError, match="'start' must be a finite number"):
        read_label_studio(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_label_studio(tlc, ds, None, records=[0])  # no labels: every span "cluster <id>"
    with pytest.raises(DataError, match="out of range"):
        to_label_studio(tlc, ds, labs, records=[99])


@pytest.mark.slow
def test_files_saved_by_the_explorer(setup, tmp_path):
    """Two annotators label in the explorer; a third labels another fit of the same data."""
    from ecg_cluster_widget.views.widget import ClusterExplorer

    ds, tlc = setup
    paths = []
    for who, names in (
        ("alice", ["P wave", "QRS complex", "T wave", "TP baseline"]),
        ("bob", ["P wave", "QRS complex", "ST segment", "TP baseline"]),
    ):
        w = ClusterExplorer(tlc, ds, progress=False, static_fallback=False)
        try:
            ids = w.record["cluster_ids"]
            w.cluster_labels = {str(c): {"name": n, "notes": ""} for c, n in zip(ids, names)}
            paths.append(w.save_labels(tmp_path / f"{who}.json"))
        finally:
            w.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # both files carry their fit
        r = agreement(paths[0], paths[1], tlc, ds, records=range(6))
    assert r["clusters"]["n_compared"] == 4 and r["clusters"]["observed"] == 0.75
    assert r["time_steps"]["n_steps"] == 6 * ds.n_samples
    other = TLCExplainer(
        tlc.model,
        n_clusters=4,
        n_components=8,
        max_fit_points=5000,
        progress=False,
        random_state=7,
    ).fit(ds)
    w = ClusterExplorer(other, ds, progress=False, static_fallback=False)
    try:
        w.cluster_labels = {
            str(c): {"name": "P wave", "notes": ""} for c in w.record["cluster_ids"]
        }
        carol = w.save_labels(tmp_path / "carol.json")
    finally:
        w.close()
    assert tlc.fit_identity()["fit_id"] != other.fit_identity()["fit_id"]
    with pytest.raises(LabelsMismatchError, match="fit_id"):
        cluster_agreement(paths[0], carol)
    with pytest.raises(LabelsMismatchError, match="another fit than this explainer"):
        timestep_agreement(carol, carol, tlc, ds, records=[0])
