"""Dask path of the chunk-wise fit: same clusters as one process for the same seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecg_cluster_widget.errors import DataError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.distributed import DaskRunner
from ecg_cluster_widget.explain.sources import SyntheticChunks
from ecg_cluster_widget.explain.streaming import fit_chunks
from ecg_cluster_widget.model import ResNet1d

# Minutes in all (trainings, subprocesses, whole experiments): the full suite only.
pytestmark = pytest.mark.slow

distributed = pytest.importorskip("dask.distributed")


def test_local_cluster_gives_the_single_process_clusters(tmp_path):
    torch.manual_seed(0)
    net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    tlc = TLCExplainer(net, n_clusters=4, n_components=5, max_fit_points=900, progress=False)
    src = SyntheticChunks(30, chunk_records=6, fs=100, duration=2, seed=5)
    local = fit_chunks(tlc, src, align_records=12)
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        runner = DaskRunner(client, window=3)
        # Each worker holds the shipped pipeline once; tasks run on both workers.
        assert list(runner.map(pow, [1, 2, 3], 2)) == [2, 4, 8]
        remote = fit_chunks(tlc, src, client=client, store=tmp_path / "st", align_records=12)
        assert len(client.scheduler_info()["workers"]) == 2
    g_local = local.clusterer.predict_proba(np.asarray(local.features).reshape(-1, 5))
    g_remote = remote.clusterer.predict_proba(np.asarray(remote.features).reshape(-1, 5))
    np.testing.assert_allclose(g_remote, g_local, atol=1e-6)
    np.testing.assert_array_equal(remote.explanations.labels, local.explanations.labels)
    assert remote.explanations.record_ids == local.explanations.record_ids


def test_runner_rejects_a_non_client():
    with pytest.raises(DataError, match="dask.distributed.Client"):
        DaskRunner(object())


def test_explainer_fit_with_a_client_equals_the_chunk_wise_fit():
    from ecg_cluster_widget.data.synthetic import make_synthetic

    torch.manual_seed(1)
    net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    ds = make_synthetic(20, fs=100, duration=2, seed=6)
    opts = {"n_clusters": 3, "n_components": 4, "progress": False}
    local = TLCExplainer(net, **opts).fit(ds, store=None, chunk_records=5, client=None)
    chunked = TLCExplainer(net, **opts)._fit_chunked(ds, None, None, 5)
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = TLCExplainer(net, **opts).fit(ds, client=client, chunk_records=5)
    np.testing.assert_allclose(remote.transform(ds), chunked.transform(ds), atol=1e-6)
    assert remote.fit_id_ == chunked.fit_id_
    # Without client or store, fit(ds) is the in-memory fit.
    assert local.fit_id_ != chunked.fit_id_
