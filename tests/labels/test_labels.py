"""Cluster-labels files (fit identity, signatures, meta checks, hostile files) and the
escaping of exported labels (CSV formulas, standalone HTML)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from ecg_cluster_widget.data.io_utils import csv_safe
from ecg_cluster_widget.errors import DataError, DataWarning, FileFormatError, LabelsMismatchError
from ecg_cluster_widget.labels import (
    LABELS_SCHEMA,
    LABELS_VERSION,
    LabelsFile,
    attach_labels,
    check_labels_meta,
    normalize_fit,
    normalize_signatures,
    read_labels_file,
    save_labels,
    write_segments,
)

FIT = {
    "model_checksum": "sha256:aa11",
    "data_fingerprint": "fp:bb22",
    "n_clusters": 3,
    "cluster_ids": [0, 2, 5],
}
LABELS = {0: "P wave", 2: {"name": "QRS complex", "notes": "narrow"}, 5: "T wave"}


def _write(path, doc):
    path.write_text(json.dumps(doc))
    return path


# --- fit identity and signatures ---------------------------------------------------------
def test_fit_and_signatures_round_trip(tmp_path):
    sig = {
        0: [0.1, 0.2],
        2: {"centroid": np.array([1.0, -1.0]), "prototype": np.ones((2, 3))},
        5: {"prototype": [[0.5, 0.25, 0.0]]},
    }
    p = save_labels(tmp_path / "l.json", LABELS, {"source": "test"}, fit=FIT, signatures=sig)
    doc = json.loads(p.read_text())
    assert doc["version"] == 2 and LABELS_VERSION == 3 and doc["fit"] == FIT
    lf = read_labels_file(p)
    assert isinstance(lf, LabelsFile) and lf.fit == FIT and lf.meta == {"source": "test"}
    assert lf.signatures == {
        "0": {"centroid": [0.1, 0.2]},
        "2": {"centroid": [1.0, -1.0], "prototype": [[1.0] * 3] * 2},
        "5": {"prototype": [[0.5, 0.25, 0.0]]},
    }
    assert lf.labels["2"] == {"name": "QRS complex", "notes": "narrow"}
    assert attach_labels(p, FIT)[0] == lf.labels


def test_files_without_fit_stay_version_1(tmp_path):
    p = save_labels(tmp_path / "l.json", LABELS)
    doc = json.loads(p.read_text())
    assert doc["version"] == 1 and "fit" not in doc and "signatures" not in doc
    assert read_labels_file(p).fit is None


@pytest.mark.parametrize(
    "fit, match",
    [
        ({"model_checksum": ""}, "non-empty string"),
        ({"data_fingerprint": 3}, "non-empty string"),
        ({"n_clusters": 0}, "positive integer"),
        ({"n_clusters": 2.5}, "positive integer"),
        ({"n_clusters": True}, "positive integer"),
        ({"cluster_ids": [0, 0]}, "repeat"),
        ({"cluster_ids": [0, -1]}, "non-negative"),
        ({"cluster_ids": [0.5]}, "non-negative integers"),
        ({"n_clusters": 3, "cluster_ids": [0, 1]}, "2 cluster_ids"),
        ({"K": 3, "n_clusters": 4}, "K=3"),
        ({"extra": {"nested": 1}}, "flat list"),
        ({"extra": float("nan")}, "finite"),
        ([1, 2], "must be a dict"),
    ],
)
def test_malformed_fit_is_refused(tmp_path, fit, match):
    with pytest.raises(DataError, match=match):
        save_labels(tmp_path / "l.json", LABELS, fit=fit)
    doc = {"schema": LABELS_SCHEMA, "version": 2, "labels": {}, "fit": fit}
    with pytest.raises(FileFormatError, match="malformed fit"):
        read_labels_file(_write(tmp_path / "bad.json", doc))


@pytest.mark.parametrize(
    "sig, match",
    [
        ({"x": [1.0]}, "not an integer"),
        ({2: {"median": [1.0]}}, "centroid"),
        ({2: [float("nan")]}, "finite"),
        ({2: ["a"]}, "numeric"),
        ({2: []}, "non-empty"),
        ({7: [1.0]}, "not among the fit's cluster_ids"),
        ([1.0], "must be a dict"),
    ],
)
def test_malformed_signatures_are_refused(tmp_path, sig, match):
    with pytest.raises(DataError, match=match):
        save_labels(tmp_path / "l.json", LABELS, fit=FIT, signatures=sig)
    doc = {"schema": LABELS_SCHEMA, "version": 2, "labels": {}, "fit": FIT, "signatures": sig}
    with pytest.raises(FileFormatError, match="signatures"):
        read_labels_file(_write(tmp_path / "bad.json", doc))


def test_normalize_fit_accepts_numpy_and_alias():
    out = normalize_fit(
        {
            "K": np.int64(3),
            "cluster_ids": np.array([0, 2, 5]),
            "random_state": np.int64(0),
            "method": "gmm",
        }
    )
    assert out == {"n_clusters": 3, "cluster_ids": [0, 2, 5], "random_state": 0, "method": "gmm"}
    assert normalize_signatures({"3": [1, 2]}) == {"3": {"centroid": [1.0, 2.0]}}


# --- the meta check on load -------------------------------------------------------------
def test_attach_labels_refuses_another_model_or_dataset(tmp_path):
    p = save_labels(tmp_path / "l.json", LABELS, fit=FIT)
    with pytest.raises(LabelsMismatchError, match="another model") as info:
        attach_labels(p, {**FIT, "model_checksum": "sha256:other"})
    assert info.value.report.same_model is False and info.value.report.same_data is True
    assert "not attached" in str(info.value)
    with pytest.raises(LabelsMismatchError, match="another dataset"):
        attach_labels(p, {**FIT, "data_fingerprint": "fp:other"})
    with pytest.raises(LabelsMismatchError, match="another model and dataset"):
        attach_labels(p, {**FIT, "model_checksum": "m2", "data_fingerprint": "d2"})
    assert issubclass(LabelsMismatchError, FileFormatError)


def test_attach_labels_warns_when_it_cannot_check(tmp_path):
    p = save_labels(tmp_path / "old.json", LABELS)  # a file from before fit identities
    with pytest.warns(DataWarning, match="no fit identity"):
        assert attach_labels(p, FIT)[0]["0"]["name"] == "P wave"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_labels_file(p)  # without a fit: nothing to compare, no warning
        labels, report = attach_labels(dict(LABELS), FIT)  # labels in memory: no warning
    assert report.mode == "unchecked" and labels["5"]["name"] == "T wave"


def test_attach_labels_warns_about_clusters_not_in_the_fit(tmp_path):
    p = save_labels(tmp_path / "l.json", LABELS, fit=FIT)
    current = {**FIT, "n_clusters": 3, "cluster_ids": [0, 2, 7]}
    with pytest.warns(DataWarning, match=r"labelled clusters \[5\] are not in the current fit"):
        labels, report = attach_labels(p, current)
    assert report.mode == "by_id" and report.labelled_ids_missing == [5] and not report.ok


def test_check_labels_meta_report():
    same = check_labels_meta({"fit": FIT, "labels": {"5": "T"}}, FIT)
    assert same.ok and same.compatible and same.same_model and same.same_data
    assert same.mismatches == {} and set(same.matches) == set(FIT)
    other = check_labels_meta(FIT, {**FIT, "n_clusters": 4, "cluster_ids": [0, 2, 5, 9]})
    assert other.compatible and not other.ok
    assert other.mismatches == {"n_clusters": (3, 4), "cluster_ids": ([0, 2, 5], [0, 2, 5, 9])}
    assert other.ids_only_in_file == [] and other.ids_only_in_fit == [9]
    reordered = check_labels_meta(FIT, {**FIT, "cluster_ids": [5, 2, 0]})
    assert reordered.ok and "cluster_ids" in reordered.matches
    partial = check_labels_meta({"n_clusters": 3}, FIT)
    assert partial.same_model is None and partial.compatible and not partial.ok
    assert set(partial.missing) == {"model_checksum", "data_fingerprint", "cluster_ids"}
    none = check_labels_meta(None, FIT)
    assert not none.has_fit and none.compatible and "no fit identity" in none.summary()
    d = check_labels_meta(FIT, {**FIT, "model_checksum": "x"}).to_dict()
    assert d["compatible"] is False and json.dumps(d)
    with pytest.raises(DataError):
        check_labels_meta(FIT, {"n_clusters": -1})


def test_check_labels_meta_accepts_a_labels_file(tmp_path):
    p = save_labels(tmp_path / "l.json", {9: "artifact"}, fit=FIT)
    with pytest.raises(DataError):
        save_labels(tmp_path / "l2.json", {9: "artifact"}, fit=FIT, signatures={9: [1.0]})
    report = check_labels_meta(read_labels_file(p), FIT)
    assert report.labelled_ids_missing == [9] and not report.ok


# --- hostile and malformed files ------------------------------------------------------
def test_deeply_nested_json_is_a_file_format_error(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(FileFormatError, match="nested too deeply"):
        read_labels_file(deep)
    nested_labels = tmp_path / "deep2.json"
    deep_value = '{"a": ' * 200_000 + "1" + "}" * 200_000
    nested_labels.write_text(
        f'{{"schema": "{LABELS_SCHEMA}", "version": 1, "labels": {deep_value}}}'
    )
    with pytest.raises(FileFormatError):
        read_labels_file(nested_labels)


@pytest.mark.parametrize(
    "doc, match",
    [
        ({"schema": LABELS_SCHEMA, "version": 1, "labels": {}, "meta": []}, "'meta' must be"),
        ({"schema": LABELS_SCHEMA, "version": 1, "labels": {}, "meta": "x"}, "'meta' must be"),
        ({"schema": LABELS_SCHEMA, "version": True, "labels": {}}, "version True"),
        ({"schema": LABELS_SCHEMA, "version": 4, "labels": {}}, "version 4"),
        ({"schema": "other", "version": 1, "labels": {}}, "not a cluster-labels file"),
        ([1, 2, 3], "not a cluster-labels file"),
    ],
)
def test_bad_meta_schema_or_version_is_refused(tmp_path, doc, match):
    with pytest.raises(FileFormatError, match=match):
        read_labels_file(_write(tmp_path / "bad.json", doc))


def test_save_labels_refuses_bad_meta(tmp_path):
    with pytest.raises(DataError, match="meta must be a dict"):
        save_labels(tmp_path / "l.json", LABELS, meta=[1])
    with pytest.raises(DataError, match="JSON"):
        save_labels(tmp_path / "l.json", LABELS, meta={"x": object()})
    assert not (tmp_path / "l.json").exists()


# --- export escaping (issue 9 §4) ---------------------------------------------------------
def _row(name, notes="", record_id="r0"):
    return {
        "record_index": 0,
        "record_id": record_id,
        "start": 0,
        "end": 10,
        "start_s": 0.0,
        "end_s": 0.1,
        "cluster_id": 3,
        "name": name,
        "notes": notes,
        "mean_entropy": 0.5,
    }


def test_csv_export_escapes_formulas(tmp_path):
    import pandas as pd

    names = [
        '=HYPERLINK("http://evil","x")',
        "+1+2",
        "-2+3",
        "@SUM(A1)",
        "\tTAB",
        "QRS complex",
        "a=b",
    ]
    rows = [_row(n, notes=n, record_id=n) for n in names]
    p = write_segments(tmp_path / "seg.csv", rows)
    frame = pd.read_csv(p, keep_default_na=False)
    for col in ("name", "notes", "record_id"):
        cells = frame[col].tolist()
        for raw, cell in zip(names, cells):
            if raw[0] in "=+-@\t":
                assert cell == "'" + raw if raw[0] != "\t" else cell.startswith("'")
            else:
                assert cell == raw
    # Numbers are numbers, not escaped text.
    assert frame.start.tolist() == [0] * len(names) and frame.mean_entropy.iloc[0] == 0.5
    # A carriage return inside a name keeps its row whole (quoted, CRLF rows).
    import csv

    p2 = write_segments(tmp_path / "cr.csv", [_row("P\rwave", notes="a\nb", record_id="r1")])
    with open(p2, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert len(read) == 1 and read[0]["name"] == "P\rwave" and read[0]["notes"] == "a\nb"
    # The JSON export keeps the text verbatim.
    js = json.loads(write_segments(tmp_path / "seg.json", rows).read_text())
    assert [r["name"] for r in js["segments"]] == names


def test_csv_safe_leaves_negative_numbers():
    assert csv_safe(-3) == -3 and csv_safe(-0.5) == -0.5 and csv_safe("") == ""
    assert csv_safe("=x") == "'=x"


# --- labels that re-attach themselves (issue 9 §1) -------------------------------------------
import subprocess  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402

from ecg_cluster_widget import TLCExplainer  # noqa: E402
from ecg_cluster_widget.data.synthetic import make_synthetic  # noqa: E402
from ecg_cluster_widget.labels import (  # noqa: E402
    LabelsReport,
    match_signatures,
    normalize_labels,
    normalize_timestamp,
)
from ecg_cluster_widget.labels.schema import now_utc  # noqa: E402
from ecg_cluster_widget.model import ResNet1d  # noqa: E402

TLC_KW = dict(n_components=8, progress=False)


@pytest.fixture(scope="module")
def ecg():
    return make_synthetic(12, seed=5)


@pytest.fixture(scope="module")
def net_path(tmp_path_factory):
    torch.manual_seed(0)
    net = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()
    path = tmp_path_factory.mktemp("net") / "net.pt"
    torch.save(net.state_dict(), path)
    return path


def _net(path):
    net = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()
    net.load_state_dict(torch.load(path))
    return net


@pytest.fixture(scope="module")
def labelled(ecg, net_path, tmp_path_factory):
    """Fit, go K 6 -> 3 -> 8, name every cluster, save with the explainer's identity."""
    tlc = TLCExplainer(_net(net_path), n_clusters=6, **TLC_KW).fit(ecg)
    tlc.set_n_clusters(3).set_n_clusters(8)
    names = {int(c): f"Welle {c} – ü" for c in tlc.cluster_ids_}
    path = tmp_path_factory.mktemp("labels") / "labels.json"
    save_labels(path, names, tlc=tlc)
    per_step = np.array([names[int(i)] for i in tlc.cluster_ids_[tlc.predict(ecg)].ravel()])
    return tlc, path, per_step


def _names_per_step(tlc, ds, labels, k=None):
    ids = tlc.cluster_ids_for(k)[tlc.predict(ds, n_clusters=k)].ravel()
    return np.array([labels.get(str(int(i)), {}).get("name", "") for i in ids])


@pytest.mark.slow
def test_labels_reattach_in_a_fresh_process(labelled, ecg, net_path, tmp_path):
    """The acceptance test: 6 -> 3 -> 8 here, 6 -> 8 in a new process: >= 99 % coverage."""
    _, path, per_step = labelled
    np.save(tmp_path / "names.npy", per_step)
    code = f"""
import numpy as np, torch
from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.model import ResNet1d
from ecg_cluster_widget.labels import attach_labels
net = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()
net.load_state_dict(torch.load({str(net_path)!r}))
ds = make_synthetic(12, seed=5)
tlc = TLCExplainer(net, n_clusters=6, n_components=8, progress=False).fit(ds).set_n_clusters(8)
labels, report = attach_labels({str(path)!r}, tlc)
ids = tlc.cluster_ids_[tlc.predict(ds)].ravel()
now = np.array([labels.get(str(int(i)), {{}}).get("name", "") for i in ids])
print(report.mode, float((now == np.load({str(tmp_path / "names.npy")!r})).mean()))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    mode, coverage = res.stdout.split()
    assert mode == "same_fit" and float(coverage) >= 0.99


def test_labels_remap_by_signature_when_ids_differ(labelled, ecg, net_path):
    tlc, path, per_step = labelled
    # Another reference K: the K=8 clustering is the same, its ids are not.
    other = TLCExplainer(_net(net_path), n_clusters=5, **TLC_KW).fit(ecg)
    assert other.fit_id_ != tlc.fit_id_
    labels, report = attach_labels(path, other, n_clusters=8)
    assert isinstance(report, LabelsReport) and report.mode == "remapped" and report.ok
    assert (_names_per_step(other, ecg, labels, 8) == per_step).mean() >= 0.99
    assert other.n_clusters_ == 5  # attaching for K=8 did not switch the explainer


def test_labels_remap_with_another_seed_reports_unmatched(labelled, ecg, net_path):
    from scipy.optimize import linear_sum_assignment

    tlc, path, per_step = labelled
    other = TLCExplainer(_net(net_path), n_clusters=6, random_state=1, **TLC_KW).fit(ecg)
    other.set_n_clusters(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels, report = attach_labels(path, other)
    assert report.mode == "remapped"
    got = _names_per_step(other, ecg, labels)
    # As good as the best one-to-one relabelling of the two clusterings, up to 10 points.
    old_ids = tlc.cluster_ids_[tlc.predict(ecg)].ravel()
    new_ids = other.cluster_ids_[other.predict(ecg)].ravel()
    table = np.array(
        [[np.sum((old_ids == a) & (new_ids == b)) for b in range(8)] for a in range(8)]
    )
    r, c = linear_sum_assignment(-table)
    assert (got == per_step).mean() >= table[r, c].sum() / old_ids.size - 0.10
    # Every name is either attached once or reported; none is silently dropped.
    attached = [v["name"] for v in labels.values()]
    assert len(attached) == len(set(attached))
    assert set(attached) | set(report.unmatched.values()) == set(per_step)
    if report.unmatched:
        assert any("not attached" in str(w.message) for w in caught)


def test_labels_of_another_model_or_dataset_are_refused(labelled, ecg, net_path):
    _, path, _ = labelled
    other_data = TLCExplainer(_net(net_path), n_clusters=6, **TLC_KW).fit(ecg.subset(range(10)))
    with pytest.raises(LabelsMismatchError, match="another dataset.*fit the explainer"):
        attach_labels(path, other_data)
    torch.manual_seed(1)
    other_net = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()
    other_model = TLCExplainer(other_net, n_clusters=6, **TLC_KW).fit(ecg)
    with pytest.raises(LabelsMismatchError, match="another model") as info:
        attach_labels(path, other_model)
    assert info.value.report.same_model is False


def test_old_files_attach_by_id_with_a_warning(labelled, tmp_path):
    tlc = labelled[0]
    old = _write(
        tmp_path / "v1.json",
        {"schema": LABELS_SCHEMA, "version": 1, "labels": {"1": {"name": "P", "notes": ""}}},
    )
    with pytest.warns(DataWarning, match="no fit identity"):
        labels, report = attach_labels(old, tlc)
    assert labels == {"1": {"name": "P", "notes": ""}} and report.mode == "unchecked"
    no_sig = save_labels(tmp_path / "v2.json", {2: "T"}, fit={**tlc.fit_identity(), "fit_id": "x"})
    with pytest.warns(DataWarning, match="no cluster signatures"):
        labels, report = attach_labels(no_sig, tlc)
    assert report.mode == "by_id" and not report.ok and labels == {"2": {"name": "T", "notes": ""}}
    json.dumps(report.to_dict())


def test_save_labels_with_explainer_writes_identity_and_signatures(labelled):
    tlc, path, _ = labelled
    lf = read_labels_file(path)
    assert lf.fit == normalize_fit(tlc.fit_identity(8)) and lf.fit["fit_id"] == tlc.fit_id_
    assert sorted(map(int, lf.signatures)) == tlc.cluster_ids_for(8).tolist()
    sig = tlc.cluster_signatures(8)
    for cid, entry in lf.signatures.items():
        np.testing.assert_allclose(entry["activations"], sig[int(cid)])
    with pytest.raises(DataError, match="either tlc"):
        save_labels(path.with_name("x.json"), {}, tlc=tlc, fit={"n_clusters": 2})
    with pytest.raises(DataError, match="needs tlc"):
        save_labels(path.with_name("x.json"), {}, n_clusters=3)


def test_match_signatures_threshold():
    a = {0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0])}
    b = {5: np.array([1.0, 0.05]), 6: np.array([-1.0, -1.0])}
    mapping, dist = match_signatures(a, b)
    assert mapping == {0: 5} and dist[0] < 0.1  # 1 vs 6 is too far to be the same cluster
    assert match_signatures(a, b, max_distance=10.0)[0] == {0: 5, 1: 6}
    assert match_signatures({}, b) == ({}, {})


# --- annotator and time stamp on every label (issue 10) ---------------------------------------
def test_annotator_and_timestamp_round_trip(tmp_path):
    labels = {
        3: {
            "name": "QRS – ü",
            "notes": "",
            "annotator": "Dr. Ø",
            "updated": "2026-12-02T02:30:00+01:00",
        },
        4: {"name": "T", "notes": "late", "updated": "2026-12-02T01:00:00.250000Z"},
        5: "P",
    }
    norm = normalize_labels(labels)
    assert norm["3"] == {
        "name": "QRS – ü",
        "notes": "",
        "annotator": "Dr. Ø",
        "updated": "2026-12-02T01:30:00Z",
    }
    assert norm["4"]["updated"] == "2026-12-02T01:00:00.250000Z" and "annotator" not in norm["4"]
    assert norm["5"] == {"name": "P", "notes": ""}
    p = save_labels(tmp_path / "l.json", labels)
    assert read_labels_file(p).labels == norm and normalize_labels(norm) == norm


@pytest.mark.parametrize(
    "entry, match",
    [
        ({"name": "P", "updated": "2026-12-02 01:30"}, "no time zone"),
        ({"name": "P", "updated": "yesterday"}, "not ISO-8601"),
        ({"name": "P", "updated": 1733100000}, "ISO-8601 string"),
        ({"name": "P", "annotator": 7}, "'annotator' must be strings"),
        ({"name": "P", "author": "x"}, "unknown fields"),
    ],
)
def test_bad_annotator_or_timestamp_is_refused(entry, match):
    with pytest.raises(DataError, match=match):
        normalize_labels({1: entry})


def test_now_utc_is_a_canonical_time_stamp():
    from datetime import datetime, timezone

    now = now_utc()
    stamp = datetime.fromisoformat(now.replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 60
    assert normalize_timestamp(stamp) == now
