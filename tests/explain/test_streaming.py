"""Chunk-wise (streaming) fit and the on-disk feature store."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecg_cluster_widget.activations import ActivationExtractor, FeatureAligner
from ecg_cluster_widget.activations.store import FeatureStore
from ecg_cluster_widget.errors import DataError, FileFormatError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.chunks import chunk_outputs
from ecg_cluster_widget.explain.sources import DatasetChunks, SyntheticChunks
from ecg_cluster_widget.explain.streaming import fit_chunks
from ecg_cluster_widget.model import ResNet1d


@pytest.fixture(scope="module")
def net() -> ResNet1d:
    torch.manual_seed(0)
    return ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))


def _tlc(net, **kw) -> TLCExplainer:
    return TLCExplainer(net, n_clusters=3, n_components=4, progress=False, **kw)


def test_streamed_features_equal_in_memory_features_and_outputs_are_chunk_wise(net, tmp_path):
    src = SyntheticChunks(14, chunk_records=4, fs=100, duration=2, seed=3)
    # The paper's options: the reference below rebuilds them by hand (late blocks, no detrend).
    res = fit_chunks(_tlc(net, preset="paper"), src, store=tmp_path / "st", align_records=100)
    # Every chunk is in the aligner's subset here, so the aligner equals the in-memory one.
    full = [src.chunk(i) for i in range(len(src.sizes))]
    x = np.concatenate([d.signals for d in full])
    blocks = ActivationExtractor(net, progress=False).extract(x)
    ref = FeatureAligner(
        4, random_state=0, block_weighting="equal", center_per_record=True
    ).fit_transform(blocks)
    assert isinstance(res.features, np.memmap)
    np.testing.assert_allclose(res.features, ref, atol=1e-5)
    # The chunk-wise outputs equal the outputs computed on all records at once.
    whole = chunk_outputs(np.asarray(res.features), res.clusterer, 200)
    es = res.explanations
    np.testing.assert_array_equal(es.labels, whole["labels"])
    np.testing.assert_allclose(es.entropy, whole["entropy"], atol=1e-6)
    np.testing.assert_allclose(es.proportions.sum(axis=1), 1.0)
    assert es.labels.shape == (14, 200) and len(es.record_ids) == 14
    assert res.points.shape == (14 * 100, 4)  # max_fit_points > all points: every point
    st = FeatureStore(tmp_path / "st")
    assert st.names == ["entropy", "features", "labels", "mean_entropy", "proportions"]
    assert all(st.is_complete(n) for n in st.names)


def test_point_quota_and_seeds(net):
    src = SyntheticChunks(10, chunk_records=3, fs=100, duration=2)
    a = fit_chunks(_tlc(net, max_fit_points=101), src, align_records=4)
    b = fit_chunks(_tlc(net, max_fit_points=101), src, align_records=4)
    assert a.points.shape == (101, 4)  # quotas per chunk add up exactly
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.clusterer.centroids_, b.clusterer.centroids_)
    c = fit_chunks(_tlc(net, max_fit_points=101, random_state=1), src, align_records=4)
    assert not np.array_equal(a.points, c.points)


def test_dataset_chunks_and_temporal_prior(net):
    from ecg_cluster_widget.data.synthetic import make_synthetic

    ds = make_synthetic(9, fs=100, duration=2, seed=1)
    res = fit_chunks(_tlc(net, temporal="hmm"), DatasetChunks(ds, 4))
    assert res.clusterer.tree.smoother is not None and res.smooth_feats.shape[0] == 9
    assert res.explanations.record_ids == tuple(ds.record_ids)
    with pytest.raises(DataError, match="chunk_records"):
        DatasetChunks(ds, 0)
    with pytest.raises(DataError, match="ECGDataset"):
        DatasetChunks(ds.signals, 4)
    with pytest.raises(DataError, match="n_clusters"):
        fit_chunks(
            TLCExplainer(net, n_clusters=500, n_components=4, progress=False),
            DatasetChunks(ds.subset([0]), 1),
        )


def test_store_roundtrip_errors_and_no_mapped_writes(tmp_path):
    st = FeatureStore(tmp_path)
    st.create("a", (8, 1024, 1024), np.float32)  # 32 MiB
    with pytest.raises(FileFormatError, match="incomplete"):
        st.open("a")

    def rss_kib() -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))

    before = rss_kib()
    for i in range(8):
        st.write("a", i, np.full((1, 1024, 1024), i, np.float32))
    # Written with pwrite, not through a mapping: the store's pages are not our memory.
    assert rss_kib() - before < 16 * 1024
    st.finish("a")
    assert st.read("a", 6, 99).shape == (2, 1024, 1024)
    assert float(st.open("a")[5, 3, 7]) == 5.0
    assert FeatureStore(tmp_path).is_complete("a")  # the index persists
    with pytest.raises(DataError, match="cannot write"):
        st.write("a", 7, np.zeros((2, 1024, 1024), np.float32))
    with pytest.raises(DataError, match="no array"):
        st.read("b", 0, 1)
    with pytest.raises(DataError, match="names"):
        st.create("../x", (1,), np.int8)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        FeatureStore(tmp_path / "file")


def test_explainer_fit_on_a_chunk_source_with_a_store(net, tmp_path):
    from ecg_cluster_widget.data.synthetic import make_synthetic

    src = SyntheticChunks(12, chunk_records=5, fs=100, duration=2, seed=2)
    tlc = _tlc(net).fit(src, store=tmp_path / "st")
    res = tlc.streaming_
    assert tlc.n_clusters_ == 3 and tlc.cluster_ids_.tolist() == [0, 1, 2]
    assert res.explanations.labels.shape == (12, 200)
    assert isinstance(res.explanations.labels, np.memmap)
    # New data goes through the usual path with the chunk-wise fit's aligner and clusters.
    ds = src.chunk(1)
    np.testing.assert_array_equal(tlc.predict(ds), res.explanations.labels[5:10])
    assert tlc.set_n_clusters(4).cluster_ids_.shape == (4,)
    # A dataset fitted with a store: its cached features are the store's.
    ds2 = make_synthetic(7, fs=100, duration=2, seed=4)
    tlc2 = _tlc(net).fit(ds2, store=tmp_path / "st2", chunk_records=3)
    assert tlc2.explain_all(ds2).labels.shape == (7, 200)
    np.testing.assert_array_equal(tlc2.predict(ds2), tlc2.streaming_.explanations.labels)
    assert tlc2.fit_id_ != _tlc(net).fit(ds2).fit_id_  # another fit than the in-memory one
    from ecg_cluster_widget.errors import NotFittedError

    with pytest.raises(NotFittedError, match="chunk-wise"):
        _ = _tlc(net).fit(ds2).streaming_
    with pytest.raises(DataError, match="chunk source"):
        _tlc(net).fit(ds2.signals, store=tmp_path / "st3")


def test_every_k_is_a_merge_no_fit_no_background_work(net, monkeypatch):
    # A K change never fits a clustering and never starts a thread, so a request for any
    # K (new or already computed) cannot wait behind background work.
    import threading

    from ecg_cluster_widget.clustering.base import BaseSoftClusterer
    from ecg_cluster_widget.data.synthetic import make_synthetic

    ds = make_synthetic(6, fs=100, duration=2, seed=1)
    tlc = _tlc(net, temporal="hmm").fit(ds)
    fits = []
    real_fit = BaseSoftClusterer.fit  # every soft clusterer's fit
    monkeypatch.setattr(
        BaseSoftClusterer, "fit", lambda self, *a, **kw: fits.append(1) or real_fit(self, *a, **kw)
    )
    threads = threading.active_count()
    for k in [5, 2, tlc.max_clusters_, 3, 5]:
        tlc.set_n_clusters(k)
        assert tlc.transform(ds).shape[2] == k
    assert fits == [] and threading.active_count() == threads
    # Path-independent: the same ids whatever the order of K changes.
    other = _tlc(net, temporal="hmm").fit(ds)
    np.testing.assert_array_equal(other.cluster_ids_for(5), tlc.cluster_ids_for(5))


@pytest.mark.slow
def test_benchmark_runner_quick_writes_table_json_and_doc(tmp_path):
    # The one benchmark command on tiny sizes: it runs end to end and writes its outputs.
    # (No figure is checked: timings are reported by the benchmarks, never asserted.)
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    out, doc = tmp_path / "perf.json", tmp_path / "perf.md"
    proc = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / "run_all.py"), "--quick"]
        + ["--json", str(out), "--doc", str(doc)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res["quick"] is True and len(res["load_before"]) == 3
    assert {"engine", "clustering", "streaming", "distributed", "summary"} <= set(res)
    metrics = [r["metric"] for r in res["summary"]]
    assert any("fit / bare forward" in m for m in metrics)
    assert any("peak RSS" in m for m in metrics) and any("Dask" in m for m in metrics)
    assert all(r["met"] in ("yes", "no", "-") for r in res["summary"])
    text = doc.read_text()
    assert text.startswith("# Performance") and "Quick run" in text and "Load average" in text
    assert "fit / bare forward" in proc.stdout  # the one printed table
    # Re-rendering from the JSON gives the same page (the doc is generated, not edited).
    doc2 = tmp_path / "perf2.md"
    subprocess.run(
        [sys.executable, str(repo / "benchmarks" / "run_all.py"), "--from-json", str(out)]
        + ["--json", str(tmp_path / "again.json"), "--doc", str(doc2)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert doc2.read_text() == text


def test_in_memory_fit_is_one_chunk_of_the_chunk_wise_fit(net, tmp_path):
    from ecg_cluster_widget.data.synthetic import make_synthetic

    ds = make_synthetic(8, fs=100, duration=2, seed=7)
    tlc = _tlc(net).fit(ds)
    one = fit_chunks(_tlc(net), DatasetChunks(ds, 8), store=tmp_path / "st", align_records=8)
    assert one.features.shape == (8, 100, 4) and one.points.shape[0] == tlc.n_fit_points_
    np.testing.assert_allclose(one.clusterer.centroids_, tlc.clusterer_.centroids_, atol=1e-6)
    np.testing.assert_array_equal(one.explanations.labels, tlc.predict(ds))
