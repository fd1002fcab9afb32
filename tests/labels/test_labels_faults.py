"""No expert's work is lost: labels files under reopening at another K, two writers,
duplicate ids, hostile files (fuzzed) and full disks."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.data import io_utils
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import (
    DataError,
    DataWarning,
    ECGClusterError,
    FileFormatError,
    StorageError,
)
from ecg_cluster_widget.labels import (
    LABELS_SCHEMA,
    attach_labels,
    merge_labels,
    normalize_labels,
    read_labels_file,
    save_labels,
)
from ecg_cluster_widget.model import ResNet1d
from ecg_cluster_widget.views.widget import ClusterExplorer


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    ds = make_synthetic(16, seed=5)
    net = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()
    tlc = TLCExplainer(net, n_clusters=8, n_components=8, progress=False).fit(ds)
    return tlc, ds


def _all_names(path) -> set[str]:
    lf = read_labels_file(path)
    return {e["name"] for e in lf.labels.values()} | {u["label"]["name"] for u in lf.unplaced}


def _k8_file(tlc, path):
    names = {int(c): f"name {c}" for c in tlc.cluster_ids_for(8)}
    save_labels(path, names, tlc=tlc, n_clusters=8, merge=False)
    return {v for v in names.values()}


# --- names are never deleted on reopen ---------------------------------------------------------
def test_reopen_at_smaller_k_keeps_unplaced_names_through_autosave(fitted, tmp_path):
    """K=8 file (8 names) opened in an explorer at K=6: the first edit's autosave used to
    delete the names it could not attach."""
    tlc, ds = fitted
    path = tmp_path / "labels.json"
    names = _k8_file(tlc, path)
    tlc.set_n_clusters(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        w = ClusterExplorer(tlc, ds, labels_path=path, k_range=(2, 8))
    try:
        assert "not placed" in w.labels_report
        attached = {e["name"] for e in w.cluster_labels.values()}
        assert len(attached) <= 6 and attached < names
        cid = str(w.record["cluster_ids"][0])
        w.cluster_labels = {**w.cluster_labels, cid: {"name": "edited", "notes": ""}}
        kept = _all_names(path)
        lost = names - kept - {w.cluster_labels.get(cid, {}).get("name")}
        # Every name is still in the file except the one this edit replaced.
        assert len(lost) <= 1 and "edited" in kept
        doc = json.loads(path.read_text())
        assert doc["version"] == 3 and doc["unplaced"]
    finally:
        w.close()
        tlc.set_n_clusters(8)
    # Back at K=8 the unplaced names are placed again (8 clusters: any ninth name stays
    # unplaced, still in the report and the file).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        labels, report = attach_labels(path, tlc, n_clusters=8)
    back = {e["name"] for e in labels.values()}
    assert len(back) == 8 and len(report.placed) >= 2
    assert back | {u["label"]["name"] for u in report.unplaced} == kept


def test_a_removal_in_the_session_that_loaded_the_file_is_saved(fitted, tmp_path):
    tlc, _ = fitted
    path = tmp_path / "labels.json"
    _k8_file(tlc, path)
    labels, _ = attach_labels(path, tlc, n_clusters=8)
    first = sorted(labels, key=int)[0]
    del labels[first]
    save_labels(path, labels, tlc=tlc, n_clusters=8)
    assert first not in read_labels_file(path).labels
    assert len(read_labels_file(path).labels) == 7


# --- two writers ---------------------------------------------------------------------------
def test_two_explorers_on_one_file_lose_no_name(fitted, tmp_path):
    tlc, ds = fitted
    path = tmp_path / "shared.json"
    tlc.set_n_clusters(8)
    save_labels(path, {}, tlc=tlc, merge=False)
    a = ClusterExplorer(tlc, ds, labels_path=path, k_range=(2, 8))
    b = ClusterExplorer(tlc, ds, labels_path=path, k_range=(2, 8))
    try:
        ids = [str(i) for i in tlc.cluster_ids_for(8)]
        a.cluster_labels = {ids[0]: {"name": "from A", "notes": "a"}}
        with pytest.warns(DataWarning, match="another writer"):
            b.cluster_labels = {ids[1]: {"name": "from B", "notes": "b"}}
        a.cluster_labels = {**a.cluster_labels, ids[2]: {"name": "A again", "notes": ""}}
        labels = read_labels_file(path).labels
        assert {labels[i]["name"] for i in ids[:3]} == {"from A", "from B", "A again"}
        # A's own removal still works (A started from its own last save).
        a.cluster_labels = {k: v for k, v in a.cluster_labels.items() if k != ids[2]}
        assert ids[2] not in read_labels_file(path).labels
        assert {"from A", "from B"} <= _all_names(path)
    finally:
        a.close()
        b.close()


@pytest.mark.slow
def test_a_writer_in_another_process_is_merged(fitted, tmp_path):
    tlc, _ = fitted
    path = tmp_path / "shared.json"
    _k8_file(tlc, path)
    labels, _ = attach_labels(path, tlc, n_clusters=8)
    ids = sorted(labels, key=int)
    code = f"""
from ecg_cluster_widget.labels import read_labels_file, save_labels
from ecg_cluster_widget.labels.attach import remember
lf = read_labels_file({str(path)!r})
remember({str(path)!r}, lf.fit, lf.labels)  # what opening the file in an explorer records
labs = dict(lf.labels)
labs[{ids[0]!r}] = {{"name": "other process", "notes": "", "updated": "2999-01-01T00:00:00Z"}}
save_labels({str(path)!r}, labs, fit=lf.fit, signatures=lf.signatures, merge=True)
labs.pop({ids[1]!r})  # an explorer saves after every edit
save_labels({str(path)!r}, labs, fit=lf.fit, signatures=lf.signatures, merge=True)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    # This session edits another cluster, from the state it loaded.
    labels[ids[2]] = {"name": "this session", "notes": ""}
    with pytest.warns(DataWarning, match="merged per cluster"):
        save_labels(path, labels, tlc=tlc, n_clusters=8)
    out = read_labels_file(path).labels
    assert out[ids[0]]["name"] == "other process"  # the other writer's edit is kept
    assert ids[1] not in out  # and its removal too (this session did not touch it)
    assert out[ids[2]]["name"] == "this session"


def test_merge_labels_newest_edit_wins_and_removal_never_beats_an_edit():
    base = {"1": {"name": "P", "notes": ""}, "2": {"name": "T", "notes": ""}}
    ours = {"1": {"name": "P mine", "notes": "", "updated": "2026-01-01T00:00:00Z"}}
    theirs = {
        "1": {"name": "P theirs", "notes": "", "updated": "2026-06-01T00:00:00Z"},
        "2": {"name": "T theirs", "notes": "", "updated": "2026-06-01T00:00:00Z"},
    }
    merged, notes = merge_labels(base, ours, theirs)
    assert merged["1"]["name"] == "P theirs"  # newer
    assert merged["2"]["name"] == "T theirs"  # removed here, edited there: kept
    assert len(notes) == 2
    merged, _ = merge_labels(None, {}, theirs)  # no base: nothing of the file is removed
    assert merged == normalize_labels(theirs)


# --- duplicate ids ---------------------------------------------------------------------------
@pytest.mark.parametrize("keys", [("3", "03"), ("3", " 3 "), (3, "3")])
def test_duplicate_ids_are_refused(keys):
    with pytest.raises(DataError, match="both name cluster 3"):
        normalize_labels({keys[0]: "P wave", keys[1]: "T wave"})


def test_duplicate_ids_in_a_file_are_refused(tmp_path):
    p = tmp_path / "l.json"
    body = '{"3": {"name": "P"}, "03": {"name": "Q"}, " 3 ": {"name": "R"}}'
    p.write_text(f'{{"schema": "{LABELS_SCHEMA}", "version": 1, "labels": {body}}}')
    with pytest.raises(FileFormatError, match="both name cluster 3"):
        read_labels_file(p)
    body = '{"3": {"name": "P"}, "3": {"name": "Q"}}'
    p.write_text(f'{{"schema": "{LABELS_SCHEMA}", "version": 1, "labels": {body}}}')
    with pytest.raises(FileFormatError, match="repeats the key '3'"):
        read_labels_file(p)


def test_two_dimensional_signatures_are_refused(tmp_path):
    p = tmp_path / "l.json"
    doc = {
        "schema": LABELS_SCHEMA,
        "version": 2,
        "labels": {"1": {"name": "P"}},
        "fit": {"model_checksum": "m", "data_fingerprint": "d"},
        "signatures": {"1": {"activations": [[1.0, 2.0], [3.0, 4.0]]}},
    }
    p.write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match="must be a vector"):
        read_labels_file(p)


# --- fuzzing: any JSON gives a result or a package error -----------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
_label_key = st.sampled_from(["1", "01", " 1", "2", "-1", "x", "1e3"]) | st.text(max_size=4)
_entry = _json | st.fixed_dictionaries(
    {}, optional={"name": _json, "notes": _json, "updated": _json, "annotator": _json}
)
_doc = st.fixed_dictionaries(
    {"schema": st.just(LABELS_SCHEMA) | _json, "version": st.sampled_from([1, 2, 3]) | _json},
    optional={
        "labels": st.dictionaries(_label_key, _entry, max_size=4) | _json,
        "meta": _json,
        "fit": st.fixed_dictionaries(
            {}, optional={"n_clusters": _json, "cluster_ids": _json, "fit_id": _json}
        )
        | _json,
        "signatures": st.dictionaries(_label_key, _json, max_size=3) | _json,
        "unplaced": st.lists(
            st.fixed_dictionaries({"id": _json, "label": _entry}, optional={"activations": _json}),
            max_size=3,
        )
        | _json,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_doc | _json)
def test_fuzz_labels_reader_gives_a_result_or_a_package_error(tmp_path_factory, doc):
    p = tmp_path_factory.mktemp("fuzz") / "l.json"
    p.write_text(json.dumps(doc))
    try:
        lf = read_labels_file(p)
    except ECGClusterError:
        return
    assert isinstance(lf.labels, dict) and isinstance(lf.unplaced, list)


# --- full disk and permissions ---------------------------------------------------------------
def test_full_disk_gives_a_clear_error_and_no_partial_file(tmp_path, monkeypatch):
    p = save_labels(tmp_path / "l.json", {1: "P wave"})
    before = p.read_bytes()

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io_utils.os, "fsync", no_space)
    with pytest.raises(StorageError, match="disk is full.*Nothing was written") as info:
        save_labels(p, {1: "T wave"})
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert p.read_bytes() == before  # the previous file is intact
    assert [f.name for f in tmp_path.iterdir()] == ["l.json"]  # no temp file left


def test_permission_denied_gives_a_clear_error(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(io_utils.tempfile, "mkstemp", denied)
    with pytest.raises(StorageError, match="no permission to write in .*pick a folder"):
        save_labels(tmp_path / "l.json", {1: "P wave"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    sys.platform == "win32" or not hasattr(__import__("os"), "geteuid"), reason="posix"
)
def test_unwritable_folder_gives_a_clear_error(tmp_path):
    import os

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    # Root writes anywhere: as root (CI), write as the unprivileged user "nobody" instead.
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.seteuid(65534)
        with pytest.raises(StorageError, match="no permission to write in"):
            save_labels(folder / "l.json", {1: "P wave"})
    finally:
        if as_root:
            os.seteuid(0)
        folder.chmod(0o700)


def test_changing_k_in_the_explorer_is_not_taken_for_another_writer(fitted, tmp_path):
    """The same explorer saving at K=6 a file it wrote at K=8: its labels, nothing merged in."""
    tlc, ds = fitted
    path = tmp_path / "labels.json"
    names = _k8_file(tlc, path)
    tlc.set_n_clusters(8)
    w = ClusterExplorer(tlc, ds, labels_path=path, k_range=(2, 8))
    try:
        w.set_k(6)
        cid = str(w.record["cluster_ids"][0])
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataWarning)  # no "another writer" merge note
            w.cluster_labels = {**w.cluster_labels, cid: {"name": "edited", "notes": ""}}
        lf = read_labels_file(path)
        assert lf.fit["n_clusters"] == 6
        assert lf.labels == normalize_labels(w.cluster_labels)  # exactly this explorer's
        assert _all_names(path) >= (names - {f"name {cid}"}) | {"edited"}
    finally:
        w.close()
        tlc.set_n_clusters(8)


_names = st.sampled_from(["P wave", "QRS", "T wave", "ST", "other"])
_labels = st.dictionaries(st.sampled_from(["0", "1", "2", "3"]), _names, max_size=4)


@settings(max_examples=300, deadline=None)
@given(base=st.none() | _labels, ours=_labels, theirs=_labels)
def test_merge_keeps_every_edit_of_the_other_writer(base, ours, theirs):
    merged, _ = merge_labels(base, ours, theirs, now="2026-12-07T00:00:00Z")
    got = {k: v["name"] for k, v in merged.items()}
    for cid in set(ours) | set(theirs) | set(base or {}):
        b = None if base is None else base.get(cid)
        o, d = ours.get(cid), theirs.get(cid)
        if base is None:
            if d is not None:
                assert cid in got  # nothing of the file is removed without a base
        elif o == b:
            assert got.get(cid) == d  # only the other writer changed it: its value
        elif d == b:
            assert got.get(cid) == o  # only this writer changed it: its value
        elif o is None:
            assert got.get(cid) == d  # a removal never beats the other writer's edit
