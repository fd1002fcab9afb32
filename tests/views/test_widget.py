"""ClusterExplorer: traits, the request/response protocol, selection, labels and exports.

These run the real engine (a small seeded ResNet1d on synthetic ECGs); changes coming
from the browser are reproduced by setting the same traits the front end sets.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings

import numpy as np
import pytest
import torch
import traitlets as t

from ecg_cluster_widget.data.standardize import Standardizer
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, FileFormatError, ModelError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.labels import LABELS_SCHEMA
from ecg_cluster_widget.model.checkpoint import ModelBundle
from ecg_cluster_widget.model.resnet1d import ResNet1d
from ecg_cluster_widget.views.widget import ClusterExplorer


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    ds = make_synthetic(24, seed=5)
    net = ResNet1d(
        12, len(ds.class_names), filters=(12, 16, 20, 24), seq_lengths=(1000, 250, 125, 25)
    )
    bundle = ModelBundle(
        net, ds.class_names, ds.lead_names, ds.fs, ds.n_samples, Standardizer().fit(ds)
    )
    tlc = TLCExplainer(bundle, n_clusters=3, n_components=8, max_fit_points=5000, progress=False)
    tlc.fit(ds)
    return ds, bundle, tlc


@pytest.fixture
def widget(setup):
    ds, _, tlc = setup
    tlc.set_n_clusters(3)
    w = ClusterExplorer(tlc, ds, k_range=(2, 6))
    yield w
    w.close()


def _ids(w):
    return np.frombuffer(w.seg_ids, dtype=np.int16)


def test_initial_traits_are_binary_and_consistent(widget, setup):
    ds, _, tlc = setup
    w = widget
    assert w.n_records == len(ds) and w.n_clusters == 3 and w.response_id == 1
    sig = np.frombuffer(w.signal, dtype=np.float32).reshape(ds.n_leads, ds.n_samples)
    np.testing.assert_array_equal(sig, ds.signals[0])
    ent = np.frombuffer(w.entropy, dtype=np.float32)
    assert ent.shape == (ds.n_samples,) and 0 <= ent.min() and ent.max() <= 1
    ids = _ids(w)
    assert set(ids.tolist()) <= set(w.record["cluster_ids"]) == set(tlc.cluster_ids_.tolist())
    k, three, n_leads, width = w.prototypes.shape  # the shape travels with the array
    assert (k, three, n_leads) == (3, 3, 12) and w.prototypes.nbytes == 4 * k * 3 * n_leads * width
    assert list(w.example_snips.shape[:3]) == [3, 3, 12]
    assert [c["id"] for c in w.clusters] == w.record["cluster_ids"]
    assert abs(sum(c["share"] for c in w.clusters) - 1) < 1e-6
    assert np.frombuffer(w.gradcam, dtype=np.float32).shape == (ds.n_samples,)
    assert w.record["prediction"].keys() == set(ds.class_names)
    assert w.class_names == list(ds.class_names)


def test_k_change_from_browser_keeps_ids_stable(widget):
    w = widget
    ids3 = list(w.record["cluster_ids"])
    w.request = {"id": 7, "k": 4, "index": 2, "gradcam_class": ""}
    assert w.busy or w.response_id == 7  # answered in the worker, not on this thread
    w.wait()
    assert (w.response_id, w.n_clusters, w.index, w.busy) == (7, 4, 2, False)
    ids4 = w.record["cluster_ids"]
    assert len(ids4) == 4 and len(set(ids3) & set(ids4)) >= 2
    assert set(_ids(w).tolist()) <= set(ids4)
    assert len(w.clusters) == 4
    w.request = {"id": 8, "k": 3, "index": 2, "gradcam_class": ""}
    w.wait()
    assert w.record["cluster_ids"] == ids3  # back to a cached K: identical ids


def test_stale_requests_are_dropped(widget):
    w = widget
    published = []
    w.observe(lambda c: published.append(c["new"]), "response_id")
    gate = threading.Event()
    w._pool.submit(gate.wait, 30)  # occupy the worker so both requests queue up
    w.request = {"id": 20, "k": 5, "index": 1, "gradcam_class": ""}
    w.request = {"id": 21, "k": 2, "index": 3, "gradcam_class": ""}
    gate.set()
    w.wait()
    assert published == [21] and w.dropped_requests == 1
    assert (w.n_clusters, w.index) == (2, 3)
    # overtaken while computing: request 30 is running when 31 arrives
    w.request = {"id": 30, "k": 6, "index": 4, "gradcam_class": ""}
    w.request = {"id": 31, "k": 2, "index": 5, "gradcam_class": ""}
    w.wait()
    assert 30 not in published and published[-1] == 31 and w.index == 5
    # a replayed (old) request is ignored
    w.request = {"id": 21, "k": 4, "index": 0, "gradcam_class": ""}
    w.wait()
    assert w.response_id == 31 and w.index == 5


def test_bad_request_reports_error_and_keeps_view(widget):
    w = widget
    before = (w.seg_ids, w.n_clusters)
    w.request = {"id": 40, "k": 99, "index": 0}
    with pytest.raises(DataError, match="K must be an integer from 2 to"):
        w.wait()
    assert w.response_id == 40 and "got 99" in w.error and not w.busy
    assert (w.seg_ids, w.n_clusters) == before
    w.request = {"id": 41, "k": 3, "index": 0, "gradcam_class": ""}
    w.wait()
    assert w.error == ""


def test_python_side_navigation(widget, setup):
    ds = setup[0]
    w = widget
    w.index = 6
    w.wait()
    assert w.record["index"] == 6 and w.record["record_id"] == ds.record_ids[6]
    w.show(record_id=ds.record_ids[9])
    assert w.index == 9
    w.show(class_name="MI")
    assert "MI" in w.record["true_classes"]
    w.show(rank="uncertain")
    first = w.index
    es = setup[2].explain_all(ds)
    assert first == int(np.argmax(es.mean_entropy)) and "most uncertain #1" in w.record["rank_info"]
    w.show(rank="uncertain")
    assert "#2" in w.record["rank_info"] and w.index != first
    w.show(rank="atypical")
    assert "least typical" in w.record["rank_info"]
    w.show(gradcam_class="NORM")
    assert w.gradcam_label == "NORM"
    with pytest.raises(DataError, match="no record with id"):
        w.show(record_id="nope")


def test_selection_summary(widget):
    w = widget
    w.selection = {"start_s": 1.0, "end_s": 2.5}
    assert w.selection == {"start_s": 1.0, "end_s": 2.5, "start": 100, "end": 250}
    s = w.selection_summary
    ex = w.explanation
    ids = ex.cluster_ids[ex.labels[100:250]]
    assert {c["cluster_id"] for c in s["clusters"]} == set(ids.tolist())
    assert abs(sum(c["share"] for c in s["clusters"]) - 1) < 1e-9
    assert s["mean_entropy"] == pytest.approx(float(ex.entropy[100:250].mean()), rel=1e-5)
    cam = np.frombuffer(w.gradcam, dtype=np.float32)
    assert s["gradcam_share"] == pytest.approx(float(cam[100:250].sum() / cam.sum()), rel=1e-5)
    assert s["prediction"] == w.record["prediction"]
    w.selection = {}
    assert w.selection_summary == {}
    with pytest.raises(DataError):
        w.selection = {"from": 1}


def test_labels_save_load_corrupt_and_autosave(widget, tmp_path):
    w = widget
    w.cluster_labels = {1: "QRS complex", "2": {"name": "T wave", "notes": "late"}}
    assert w.cluster_labels == {
        "1": {"name": "QRS complex", "notes": ""},
        "2": {"name": "T wave", "notes": "late"},
    }
    p = w.save_labels(tmp_path / "labels.json")
    doc = json.loads(p.read_text())
    # With the fit's identity and signatures the file is version 2 (version-1 readers
    # cannot honour the identity, so they must refuse it).
    assert doc["schema"] == LABELS_SCHEMA and doc["version"] == 2
    assert doc["fit"]["cluster_ids"] == w.record["cluster_ids"]
    assert doc["fit"]["fit_id"] == w.tlc.fit_id_ and set(doc["signatures"]) == {"0", "1", "2"}
    assert [f.name for f in tmp_path.iterdir()] == ["labels.json"]  # no temp file left
    w.cluster_labels = {}
    assert w.load_labels(p)["2"]["notes"] == "late"
    bad = tmp_path / "bad.json"
    bad.write_text(p.read_text()[:40])
    with pytest.raises(FileFormatError, match="not valid JSON"):
        w.load_labels(bad)
    bad.write_text(json.dumps({"schema": "other", "version": 1, "labels": {}}))
    with pytest.raises(FileFormatError, match="not a cluster-labels file"):
        w.load_labels(bad)
    bad.write_text(json.dumps({"schema": LABELS_SCHEMA, "version": 1, "labels": {"x": "P"}}))
    with pytest.raises(FileFormatError, match="malformed"):
        w.load_labels(bad)
    assert w.cluster_labels["1"]["name"] == "QRS complex"  # untouched by the failures
    with pytest.raises(DataError):
        w.cluster_labels = {"a": "b"}
    auto = tmp_path / "auto" / "labels.json"
    w.labels_path = str(auto)
    w.cluster_labels = {**w.cluster_labels, "0": {"name": "P wave", "notes": ""}}
    assert json.loads(auto.read_text())["labels"]["0"]["name"] == "P wave"


def test_exports(widget, setup, tmp_path):
    import pandas as pd
    import wfdb

    ds = setup[0]
    w = widget
    cid = w.record["cluster_ids"][0]
    w.cluster_labels = {str(cid): {"name": "TP baseline", "notes": "flat"}}
    segs = w.explanation.segments
    csv = pd.read_csv(w.export_segments(tmp_path / "seg.csv"), keep_default_na=False)
    assert len(csv) == len(segs) and csv["end"].iloc[-1] == ds.n_samples
    assert set(csv.loc[csv.cluster_id == cid, "name"]) == {"TP baseline"}
    js = json.loads(w.export_segments(tmp_path / "seg.json", indices=[0, 1]).read_text())
    assert {r["record_index"] for r in js["segments"]} == {0, 1}
    with pytest.raises(DataError, match=".csv or .json"):
        w.export_segments(tmp_path / "seg.txt")
    out = w.export_wfdb_annotations("rec0", tmp_path / "wfdb")
    assert out.name == "rec0.tlc"
    ann = wfdb.rdann(str(tmp_path / "wfdb" / "rec0"), "tlc")
    assert ann.symbol.count("(") == len(segs) == ann.symbol.count(")")
    onsets = [n for s, n in zip(ann.symbol, ann.aux_note) if s == "("]
    assert f"C{cid} TP baseline" in onsets
    assert ann.sample[0] == 0 and ann.sample[-1] == ds.n_samples - 1
    with pytest.raises(DataError):
        w.export_wfdb_annotations("a/b", tmp_path)


def test_to_html_is_offline(widget, tmp_path):
    html = widget.to_html(tmp_path / "w.html").read_text()
    assert '"$b64"' in html and "ecw-host" in html
    assert not re.search(r'(src|href)=["\']?https?:', html)
    assert "unpkg.com" not in html and "jsdelivr" not in html


def test_constructor_checks_and_fit(setup):
    ds, bundle, _ = setup
    with pytest.raises(DataError, match="dataset"):
        ClusterExplorer(None, None)
    with pytest.raises(ModelError):
        ClusterExplorer(dataset=ds)
    with pytest.raises(DataError, match="k_range"):
        ClusterExplorer(dataset=ds.subset(slice(0, 6)), model=bundle, k_range=(5, 3))
    w = ClusterExplorer(dataset=ds.subset(slice(0, 6)), model=bundle, n_clusters=2, progress=False)
    assert w.tlc.is_fitted and w.n_clusters == 2 and w.n_records == 6
    w.close()


def test_static_fallback_in_mime_bundle(widget):
    import xml.etree.ElementTree as ET

    w = widget
    w.cluster_labels = {str(w.record["cluster_ids"][0]): {"name": "P <wave>", "notes": ""}}
    out = w._repr_mimebundle_()
    data = out[0] if isinstance(out, tuple) else out
    assert "application/vnd.jupyter.widget-view+json" in data and "text/plain" in data
    page = data["text/html"]
    assert (
        'class="ecw-static"' in page
        and "<script" not in page
        and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    )
    svg = ET.fromstring(w.static_svg())  # well-formed, escaped labels
    ns = "{http://www.w3.org/2000/svg}"
    rects = svg.findall(f".//{ns}rect")
    ids = _ids(w)
    n_runs = 1 + int(np.count_nonzero(np.diff(ids)))
    assert len(rects) >= 2 * n_runs  # a band and a strip cell per run
    assert len(svg.findall(f".//{ns}path")) >= 12  # one trace per lead (+ grid, ribbon)
    texts = "".join(t.text or "" for t in svg.iter(f"{ns}text"))
    assert "1 · P <wave>" in texts and "cluster 2" in texts and "C0" not in texts
    # the view the user chose: a zoomed window and 3 leads
    w.view_range = [2.0, 4.0]
    w.leads = [0, 1, 6]
    small = ET.fromstring(w.static_svg())
    assert len(small.findall(f".//{ns}pattern")) == 3
    assert "2 s" in "".join(t.text or "" for t in small.iter(f"{ns}text"))
    w.static_fallback = False
    out = w._repr_mimebundle_()
    assert "text/html" not in (out[0] if isinstance(out, tuple) else out)


def test_another_ecg_clears_the_brush_and_rank_cursor_of_the_browser(widget):
    w = widget
    w.selection = {"start_s": 1.0, "end_s": 2.0}
    w.show(3)
    assert w.selection == {} and w.selection_summary == {}
    w.show(rank="uncertain")
    w.show(rank="uncertain")
    assert "#2 of" in w.record["rank_info"] and w.record["rank"]["source"] == "python"
    # the browser sends its own cursor: #1 for the user, whatever the notebook did
    rid = w.response_id + 1
    w.request = {
        "id": rid,
        "k": 3,
        "index": w.index,
        "gradcam_class": "",
        "rank": "uncertain",
        "rank_pos": 0,
        "rank_source": "ui",
    }
    w.wait()
    assert w.record["rank"] == {"key": "uncertain", "pos": 0, "n": w.n_records, "source": "ui"}
    assert "most uncertain #1 of" in w.record["rank_info"]
    w.show(rank="uncertain")  # the Python cursor was not moved by the browser's
    assert "#3 of" in w.record["rank_info"]


def test_ping_is_answered_and_view_options_validate(widget):
    w = widget
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)
    w._on_custom_msg(w, {"type": "ping", "t": 5}, [])
    w._on_custom_msg(w, {"type": "other"}, [])
    assert sent == [{"type": "pong", "t": 5}]
    w.font_scale = 9
    assert w.font_scale == 2.0
    w.band_style = "strip"
    w.gain, w.paper_speed = 20, 50
    with pytest.raises(t.TraitError):
        w.band_style = "neon"
    with pytest.raises(t.TraitError):
        w.gain = 7


def test_palette_assigns_distinct_colours_up_to_16():
    from ecg_cluster_widget.views.palette import PALETTE, PALETTE_DARK, assign_colors, cluster_color

    ids = [0, 16, 32, 1, 17, 5, 8, 13, 40, 2, 3, 4, 6, 7, 9, 10]
    for dark in (False, True):
        cols = assign_colors(ids, dark=dark)
        assert len(set(cols.values())) == 16
    assert assign_colors([0, 1])[0] == cluster_color(0) == PALETTE[0]
    assert len(PALETTE) == len(PALETTE_DARK) == 16


# ---------------------------------------------------------------------------- issue 9 §4 / §2
def _browser_update(w, **state):
    """Apply a change as the comm does when the browser sends it (ipywidgets set_state)."""
    sent = []
    # a list of names: the re-sync; ipywidgets' own per-trait sends pass one name
    w.send_state = lambda key=None: sent.append(key) if isinstance(key, list) else None
    with pytest.warns(UserWarning, match="refused a value from the browser"):
        w.set_state(state)
    del w.send_state
    return sent


BAD_PYTHON_VALUES = [
    ("n_clusters", 50),
    ("n_clusters", float("nan")),
    ("n_clusters", "4"),
    ("index", 10**6),
    ("index", -1),
    ("index", True),
    ("k_min", 1),
    ("k_max", 1),
    ("n_records", 3),
    ("class_names", ["x"]),
    ("leads", [12]),
    ("leads", [-1]),
    ("font_scale", float("nan")),
    ("font_scale", float("inf")),
    ("selection", {"start": 5000, "end": 6000}),
    ("selection", {"start_s": float("nan"), "end_s": 2.0}),
    ("selection", {"start_s": float("inf"), "end_s": 2.0}),
    ("selection", {"from": 1}),
    ("view_range", [float("nan"), 2.0]),
    ("view_range", [5.0, 1.0]),
    ("view_range", [50.0, 60.0]),
    ("highlight_cluster", 99),
    ("gradcam_class", "nope"),
    ("gradcam_label", "nope"),
    ("cluster_labels", {"99": "P wave"}),
    ("cluster_labels", {"a": "P wave"}),
    ("label_vocab", [""]),
    ("label_vocab", ["x" * 81]),
    ("request", {"id": 5, "evil": 1}),
    ("band_style", "neon"),
    ("gain", 7),
    ("ecg_layout", "1x12"),
    ("show_gradcam", "yes"),
]


@pytest.mark.parametrize(("name", "bad"), BAD_PYTHON_VALUES)
def test_every_synced_trait_refuses_bad_values_and_keeps_the_previous(widget, name, bad):
    from ecg_cluster_widget.views.traits import TraitValueError

    w = widget
    before = getattr(w, name)
    with pytest.raises(t.TraitError) as info:
        setattr(w, name, bad)
    assert getattr(w, name) == before
    if isinstance(info.value, TraitValueError):  # ours name the trait and show in the widget
        assert w.message.startswith("⚠") and len(w.message) > 10
    # every later action still works
    w.show(index=1)
    assert w.index == 1 and w.error == ""


@pytest.mark.parametrize(
    "state",
    [
        {"selection": {"start": 5000, "end": 6000}},
        {"selection": {"start_s": float("nan"), "end_s": 1.0}},
        {"cluster_labels": {"77": {"name": "P wave", "notes": ""}}},
        {"highlight_cluster": 12345},
        {"leads": [0, 40]},
        {"view_range": [float("nan"), 1.0]},
        {"index": 10**6},
        {"n_clusters": 50},
        {"gain": 7},
        {"response_id": 999},
        {"record": {}},
        {"selection": {"start_s": 1.0, "end_s": 2.0}, "highlight_cluster": 12345},
    ],
)
def test_browser_values_are_rolled_back_and_resent(widget, state):
    w = widget
    keys = [k for k in state if k in w.keys]
    before = {k: getattr(w, k) for k in keys}
    before_sel = dict(w.selection)
    sent = _browser_update(w, **state)
    # the previous value stays (for every key of the message, also the valid ones) ...
    for k in keys:
        assert getattr(w, k) == before[k], k
    assert w.selection == before_sel
    # ... the browser is sent the kernel's values again, and the widget says why
    assert sent == [keys]
    assert w.message.startswith("⚠")
    assert w.error == "" and w.response_id == 1
    w.show(index=2)  # and the widget keeps working
    assert w.index == 2 and w.message == ""  # a refusal note clears with the next view


def test_valid_browser_values_still_apply(widget):
    w = widget
    cid = w.record["cluster_ids"][1]
    w.set_state(
        {
            "selection": {"start_s": 1.0, "end_s": 2.0},
            "highlight_cluster": cid,
            "cluster_labels": {str(cid): {"name": "T wave", "notes": ""}},
            "leads": [0, 1],
            "view_range": [0.0, 5.0],
            "message": "",
        }
    )
    assert w.selection["start"] == 100 and w.highlight_cluster == cid
    assert w.cluster_labels[str(cid)]["name"] == "T wave" and w.leads == [0, 1]
    assert w.selection_summary["clusters"] and w.message == ""


def test_selection_past_the_record_is_clipped_or_refused(widget):
    w = widget
    w.selection = {"start_s": 9.0, "end_s": 12.0}  # reaching past the end: clipped
    assert (w.selection["start"], w.selection["end"]) == (900, 1000)
    with pytest.raises(t.TraitError, match="outside the record"):
        w.selection = {"start_s": 11.0, "end_s": 12.0}
    assert w.selection["end"] == 1000


def test_failed_autosave_is_shown_kept_and_retried(widget, tmp_path):
    w = widget
    blocker = tmp_path / "labels_dir"
    blocker.write_text("a file where the folder should be")  # unwritable, even for root
    target = blocker / "labels.json"
    w.labels_path = str(target)
    cid = str(w.record["cluster_ids"][0])
    with pytest.warns(RuntimeWarning, match="labels NOT saved"):
        w.cluster_labels = {cid: {"name": "P wave", "notes": ""}}
    assert w.cluster_labels[cid]["name"] == "P wave"  # kept in memory
    assert "NOT saved" in w.message and str(target) in w.message
    assert not target.exists()
    blocker.unlink()  # now writable: the next change saves everything
    blocker.mkdir()
    w.cluster_labels = {**w.cluster_labels, cid: {"name": "P wave", "notes": "biphasic"}}
    saved = json.loads(target.read_text())["labels"]
    assert saved[cid] == {"name": "P wave", "notes": "biphasic"}
    assert "NOT saved" not in w.message and "saved to" in w.message


def test_export_csv_escapes_formulas_from_labels(widget, tmp_path):
    w = widget
    cid = str(w.record["cluster_ids"][0])
    w.cluster_labels = {cid: {"name": "=HYPERLINK(1)", "notes": "+1"}}
    text = w.export_segments(tmp_path / "seg.csv").read_text()
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_widget_does_not_change_the_explainers_k(widget, setup):
    tlc = setup[2]
    k_before = tlc.n_clusters_
    widget.set_k(5)
    widget.request = {"id": 90, "k": 4, "index": 1, "gradcam_class": ""}
    widget.wait()
    assert widget.n_clusters == 4 and len(widget.clusters) == 4
    assert tlc.n_clusters_ == k_before
    assert len(tlc.cluster_ids_) == k_before


def test_python_set_k_and_the_browser_take_the_same_route(widget):
    w = widget
    seen = []
    w.observe(lambda c: seen.append(dict(c["new"])), "request")
    w.set_k(4)
    w.n_clusters = 5
    w.wait()
    assert [r["k"] for r in seen] == [4, 5] and w.n_clusters == 5
    with pytest.raises(DataError, match="K must be an integer from 2 to"):
        w.set_k(50)
    assert w.n_clusters == 5


def test_caches_follow_a_refit_of_the_explainer(setup):
    ds, bundle, _ = setup
    tlc = TLCExplainer(bundle, n_clusters=3, n_components=8, max_fit_points=5000, progress=False)
    tlc.fit(ds)
    w = ClusterExplorer(tlc, ds, k_range=(2, 6))
    try:
        w.show(rank="uncertain")
        old_protos, old_fit = w.prototypes.copy(), w.record["fit_id"]
        other = make_synthetic(24, seed=11)
        tlc.random_state = 3
        tlc.fit(other)  # refit on other data while the explorer is open
        w.show(index=0)
        assert w.record["fit_id"] != old_fit
        infos = tlc.cluster_summary(ds, n_examples=w.n_examples)
        assert [c["id"] for c in w.clusters] == [int(c.cluster_id) for c in infos]
        assert [c["share"] for c in w.clusters] == pytest.approx([c.share for c in infos])
        np.testing.assert_allclose(
            w.prototypes[:, 0], np.nan_to_num(np.stack([c.prototype_median for c in infos]))
        )
        assert not np.allclose(w.prototypes, old_protos)
        es = tlc.explain_all(ds)
        w.show(rank="uncertain")  # the ranking is the new fit's, from #1
        assert w.index == int(np.argmax(es.mean_entropy)) and "#1 of" in w.record["rank_info"]
    finally:
        w.close()


def test_labels_carry_the_fit_and_are_reattached_after_a_refit(setup, tmp_path):
    ds, bundle, _ = setup
    tlc = TLCExplainer(bundle, n_clusters=3, n_components=8, max_fit_points=5000, progress=False)
    w = ClusterExplorer(tlc.fit(ds), ds, k_range=(2, 6))
    try:
        ids = w.record["cluster_ids"]
        w.cluster_labels = {str(ids[0]): "P wave", str(ids[1]): "T wave"}
        p = w.save_labels(tmp_path / "labels.json")
        doc = json.loads(p.read_text())
        assert doc["fit"]["fit_id"] == tlc.fit_id_ and doc["fit"]["n_clusters"] == 3
        assert {"activations"} <= set(doc["signatures"][str(ids[0])])
        w.cluster_labels = {}
        assert w.load_labels(p) == {
            str(ids[0]): {"name": "P wave", "notes": ""},
            str(ids[1]): {"name": "T wave", "notes": ""},
        }
        assert w.labels_report.startswith("labels from labels.json: ")
        tlc.random_state = 7
        tlc.fit(ds)  # same model and data, another seed: ids re-mapped by signature
        w.show(index=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # names without a match are warned about
            labs = w.load_labels(p)
        assert set(labs) <= {str(i) for i in w.record["cluster_ids"]}
        assert labs and {v["name"] for v in labs.values()} <= {"P wave", "T wave"}
        assert w.labels_report and w.cluster_labels == labs
    finally:
        w.close()


def test_arrays_travel_with_shape_and_dtype(widget, setup, tmp_path):
    import base64

    from ecg_cluster_widget.views.traits import array_from_json

    ds = setup[0]
    w = widget
    state = w.get_state()
    sig = state["signal"]
    assert sig["shape"] == [ds.n_leads, ds.n_samples] and sig["dtype"] == "float32"
    assert isinstance(sig["buffer"], memoryview)  # sent as a binary frame, not JSON
    np.testing.assert_array_equal(array_from_json(sig), ds.signals[0])
    assert state["seg_ids"]["dtype"] == "int16" and state["prototypes"]["shape"][:2] == [3, 3]
    assert not {"proto_shape", "example_shape"} & set(state)
    page = w.to_html(tmp_path / "w.html").read_text()
    blob = json.loads(re.search(r"const state = (.*);\n", page).group(1))["entropy"]
    ent = np.frombuffer(base64.b64decode(blob["buffer"]["$b64"]), dtype=blob["dtype"])
    np.testing.assert_array_equal(ent, w.entropy)
    with pytest.raises(t.TraitError, match="dimension"):
        w.signal = np.zeros((2, 2, 2), dtype=np.float32)


def test_standalone_page_carries_no_note_of_the_running_kernel(widget, tmp_path):
    w = widget
    with pytest.raises(t.TraitError):
        w.index = 10**6
    assert w.message
    page = w.to_html(tmp_path / "w.html").read_text()
    assert json.loads(re.search(r"const state = (.*);\n", page).group(1))["message"] == ""


def test_k_is_checked_by_one_rule_in_python_and_for_the_browser(widget):
    w = widget
    with pytest.raises(t.TraitError) as from_python:
        w.n_clusters = 50
    with pytest.raises(DataError) as from_request:
        w.set_k(50)
    assert (
        str(from_python.value)
        == str(from_request.value)
        == ("K must be an integer from 2 to 6, got 50.")
    )
    assert "K must be an integer from 2 to 6, got 50." in w.message
    assert w.n_clusters == 3


def test_a_highlight_of_a_cluster_gone_with_k_is_cleared(widget):
    w = widget
    ids3 = set(w.record["cluster_ids"])
    w.set_k(5)
    new = sorted(set(w.record["cluster_ids"]) - ids3)
    assert new  # K=5 has clusters K=3 does not
    w.highlight_cluster = new[0]
    w.set_k(3)
    assert w.highlight_cluster == -1  # never a highlight the view cannot show
    kept = sorted(ids3)[0]
    w.highlight_cluster = kept
    w.set_k(4)
    assert w.highlight_cluster == kept


def _job_over(w, jid: int = 1, timeout: float = 60.0) -> dict:
    """The last report of K job ``jid`` once it is over (a quick job reports only then)."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        job = dict(w.k_job)
        if job.get("id") == jid and job.get("state") != "running":
            return job
        time.sleep(0.02)
    return dict(w.k_job)


def test_k_change_in_the_background_reports_steps_and_applies(widget):
    w = widget
    w.show(index=2)
    w.k_request = {"id": 1, "k": 5}
    job = _job_over(w)
    assert job["state"] == "done" and job["k"] == 5 and job["done"] == job["total"] == 3
    w.wait()
    # the ECG shown when the job ended, at the new K
    assert (w.n_clusters, w.index) == (5, 2)


def _record_messages(w) -> list:
    """The trait names of every comm message the widget sends from now on (the real
    send_state still runs)."""
    sent: list = []
    send = w.send_state

    def recording(key=None):
        sent.append(sorted(key) if isinstance(key, (set, list, tuple)) else [key])
        return send(key)

    w.send_state = recording
    return sent


def test_k_job_ends_in_one_message_and_a_computed_k_needs_no_job(widget, monkeypatch):
    from ecg_cluster_widget.views import k_jobs

    # A job quicker than the progress threshold reports no step, only its end.
    monkeypatch.setattr(k_jobs, "PROGRESS_AFTER_S", 60.0)
    w = widget
    states: list = []
    w.observe(lambda c: states.append((c["new"].get("id"), c["new"].get("state"))), "k_job")
    sent = _record_messages(w)
    w.k_request = {"id": 1, "k": 5}  # new: a job in the background
    assert _job_over(w)["state"] == "done"
    w.wait()
    assert [s for i, s in states if i == 1] == ["done"] and w.n_clusters == 5
    assert sent[0] == ["k_request"] and len(sent) == 3
    # the request, its busy / status and the job's "done" leave together, then the answer
    # (the worker's answer waits for that batch: never half sent by another thread)
    assert sent[-2:] == [["busy", "k_job", "request", "status"], sent[-1]]
    assert sent[-1][:2] == ["busy", "clusters"] and "response_id" in sent[-1]
    # K=3 was answered already: done at once (never "running"), answered by the worker
    del sent[:]
    w.k_request = {"id": 2, "k": 3}
    assert w.k_job["state"] == "done" and w.k_job["id"] == 2
    assert [s for i, s in states if i == 2] == ["done"]
    w.wait()
    assert w.n_clusters == 3 and w.record["k"] == 3
    assert sent[1:] == [["busy", "k_job", "request", "status"], sent[-1]] and len(sent) == 3


def test_a_k_job_longer_than_the_threshold_reports_each_step_then_its_end(widget, monkeypatch):
    import time

    from ecg_cluster_widget.views import k_jobs

    monkeypatch.setattr(k_jobs, "PROGRESS_AFTER_S", 0.2)
    w = widget
    explain_all = w.browser.fit.explain_all

    def slow_explain_all(*args, **kwargs):
        time.sleep(0.6)  # the first step outlasts the threshold
        return explain_all(*args, **kwargs)

    monkeypatch.setattr(w.browser.fit, "explain_all", slow_explain_all)
    jobs: list = []
    w.observe(lambda c: jobs.append(dict(c["new"])), "k_job")
    w.k_request = {"id": 1, "k": 5}
    assert _job_over(w)["state"] == "done"
    w.wait()
    steps = [(j["state"], j["step"].split(" ")[0]) for j in jobs if j["id"] == 1]
    # the step under way when the threshold passed (reported by the timer), each later
    # step as it starts, and the end last: never a "running" after it
    assert steps == [("running", "clustering"), ("running", "cluster"), ("done", "drawing")]
    assert jobs[0]["elapsed_s"] >= 0.2 and w.n_clusters == 5


def test_cancelled_k_change_is_not_applied_and_bad_k_requests_are_refused(widget):
    from ecg_cluster_widget.views.traits import TraitValueError

    w = widget
    w.k_request = {"id": 1, "k": 4}
    w.k_request = {"id": 2, "cancel": True}
    assert _job_over(w)["state"] == "cancelled"
    w.wait()
    assert w.n_clusters == 3
    with pytest.raises(TraitValueError, match="K must be an integer from 2 to"):
        w.k_request = {"id": 3, "k": 50}
    with pytest.raises(TraitValueError, match="unknown k_request field"):
        w.k_request = {"id": 3, "k": 4, "evil": 1}
    assert w.k_request == {"id": 2, "cancel": True}
    before = dict(w.k_job)
    with pytest.warns(UserWarning, match="only be changed by the kernel"):
        w.set_state({"k_job": {"state": "done"}})  # as the browser would send it
    assert w.k_job == before


def test_grad_cam_without_a_bundle_says_why(setup):
    ds, bundle, tlc = setup
    tlc.set_n_clusters(3)
    w = ClusterExplorer(tlc, ds, model=bundle.model, k_range=(2, 6))
    try:
        assert "needs a model bundle" in w.gradcam_unavailable
        with pytest.raises(t.TraitError, match="needs a model bundle"):
            w.show_gradcam = True
        assert w.show_gradcam is False and "needs a model bundle" in w.message
    finally:
        w.close()


def test_cards_carry_proposed_names_and_confidence(widget):
    w = widget
    assert all(c["proposed_name"] for c in w.clusters)
    assert {c["confidence"] for c in w.clusters} <= {"confident", "unsure"}
    q = w.record["entropy_quantiles"]
    assert len(q) == 101 and q == sorted(q)


def test_an_opened_widget_prefetches_the_finer_trees_posteriors(setup):
    # The first K above the fitted K then needs no posteriors of its own.
    ds, _, tlc = setup
    tlc.set_n_clusters(3)
    trees = tlc._fitted().registry.trees
    for tree in trees:  # forget what other tests computed
        tree._memo = []
    w = ClusterExplorer(tlc, ds, k_range=(2, 6))
    try:
        assert len(trees) == 2 and w.k_max > tlc._fitted().registry.reference_k
        feats = tlc._features(w.fit.summary_ds)
        deadline = time.monotonic() + 60
        while any(t._recall(feats, "sequences") is None for t in trees):
            assert time.monotonic() < deadline, "the finer tree's posteriors were not prefetched"
            time.sleep(0.05)
    finally:
        w.close()


def test_uncertainty_scale_histograms_match_numpy(setup):
    # The per-cluster rank histograms, computed in one pass, are numpy's cluster by cluster.
    from ecg_cluster_widget.explain.browse import Browser, percentile_ranks

    ds, bundle, tlc = setup
    b = Browser(tlc, ds, bundle)
    k = int(tlc.n_clusters_)
    scale = b.uncertainty_scale(k)
    es = b.fit.explain_all(k)
    lab, ent = np.asarray(es.labels).ravel(), np.asarray(es.entropy, np.float64).ravel()
    step = max(1, lab.size // 200_000)
    ranks = percentile_ranks(ent[::step], np.asarray(scale["quantiles"]))
    for pos, cid in enumerate(es.cluster_ids):
        r = ranks[lab[::step] == pos]
        got = scale["clusters"][int(cid)]
        hist = np.histogram(r, bins=10, range=(0, 1))[0] / max(1, r.size)
        np.testing.assert_allclose(got["pct_hist"], hist.round(4), atol=1e-4)
        assert got["mean_pct"] == pytest.approx(r.mean() if r.size else 0.5, abs=1e-4)


def test_names_are_proposed_from_delineation_when_the_data_has_no_waves(setup):
    from ecg_cluster_widget.data.dataset import ECGDataset
    from ecg_cluster_widget.explain.browse import Browser

    ds, bundle, tlc = setup
    tlc.set_n_clusters(3)
    bare = ECGDataset(ds.signals, ds.fs, ds.lead_names, ds.labels, ds.class_names)
    assert bare.wave_mask_for_lead("II") is None
    b = Browser(tlc, bare, bundle)
    b.fit.MAX_SUMMARY_RECORDS = 10  # a large dataset: summaries of an even spread of records
    names = b.proposed_names(3)
    masks, rows = b.wave_masks(), b.fit.summary_rows
    assert masks.shape == (10, bare.n_samples) and rows[0] == 0 and rows[-1] == len(bare) - 1
    assert set(names) == {int(c) for c in tlc.cluster_ids_} and all(names.values())


def test_a_large_dataset_is_summarised_on_an_even_sample_with_examples_in_place(setup):
    # Cards, names and the uncertainty scale of a large dataset come from an evenly spaced
    # sample (a K change then costs the same at 1,000 and 20,000 records); an example's
    # record_index still points at its record in the browsed dataset.
    from ecg_cluster_widget.explain.browse import Browser

    ds, bundle, tlc = setup
    b = Browser(tlc, ds, bundle)
    b.fit.MAX_SUMMARY_RECORDS = 7
    view = b.view({"k": 4}, 3, 0, (2, 6))
    assert view.traits["record"]["summary_records"] == 7 == len(b.fit.summary_ds)
    rows = b.fit.summary_rows
    sample = tlc.explain_all(ds, n_clusters=4)
    infos = tlc.cluster_summary(b.fit.summary_ds, n_clusters=4)
    for card, info in zip(view.traits["clusters"], infos, strict=True):
        assert card["share"] == pytest.approx(info.share)
        for ex in card["examples"]:
            assert ex["record_id"] == ds.record_ids[ex["record_index"]]
            assert ex["record_index"] in rows
    # The sample's explanations are the full dataset's rows: no other features.
    np.testing.assert_array_equal(
        tlc.explain_all(b.fit.summary_ds, n_clusters=4).labels, sample.labels[rows]
    )
    # Rankings still order every record.
    b.view({"k": 4, "rank": "uncertain", "rank_pos": 0}, 3, 0, (2, 6))
    assert len(b.ranking(4, "uncertain")) == len(ds)


def test_the_header_says_where_the_configuration_came_from(widget, setup):
    from ecg_cluster_widget.explain.options import describe_options

    _, _, tlc = setup
    # A bundle without recommended options: the generic preset, named with what it hooks.
    assert widget.fit_options == describe_options(tlc.options_, tlc.layers_)
    assert widget.fit_options.startswith(
        "the generic preset (the model recommends none): blocks.0, blocks.1, blocks.2; "
        "full-covariance GMM; HMM prior"
    )
    _browser_update(widget, fit_options="the paper preset")  # only the kernel writes it
    assert widget.fit_options.startswith("the generic preset")


def test_effective_k_counts_clusters_present_in_the_browsed_ecgs(setup):
    # Near-flat ECGs use few of the clusters fitted on real beats: the header says so.
    ds, _, tlc = setup
    from ecg_cluster_widget.data.dataset import ECGDataset
    from ecg_cluster_widget.explain.browse import PRESENT_SHARE

    flat = ECGDataset(
        ds.signals[:4] * 0.05, fs=ds.fs, lead_names=ds.lead_names, amplitude_check="ignore"
    )
    w = ClusterExplorer(tlc, flat, k_range=(2, 6))
    try:
        w.set_k(6)
        labels = tlc.explain_all(flat, n_clusters=6).labels
        share = np.bincount(labels.ravel().astype(np.int64), minlength=6) / labels.size
        expected = int((share >= PRESENT_SHARE).sum())
        assert expected < 6  # the case the header must report
        assert w.record["effective_k"] == expected
        assert w.status == f"ECG 0 · K=6 ({expected} present in these ECGs)"
    finally:
        w.close()
