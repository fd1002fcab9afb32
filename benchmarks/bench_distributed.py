"""Dask benchmark: the chunk-wise fit on one process and on a local Dask cluster.

Usage::

    python benchmarks/bench_distributed.py [--records 512] [--workers 2] [--json out.json]

Fits the same synthetic records (demo model, 100 Hz) with ``fit_chunks`` without a client
and with a ``LocalCluster(n_workers, processes=True, threads_per_worker=1)``, and reports the
stage times of both, the cluster's start-up time and whether the soft assignments agree. On
a machine with as many cores as workers the cluster cannot be faster than one process that
already uses every core; the figures show what distribution costs (start-up, shipping the
model, gathering the chunks), which a cluster of many machines amortises.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def run(n_records: int = 512, workers: int = 2, chunk: int = 128) -> dict:
    """Measure the local and the Dask fit of the same records.

    Examples
    --------
    >>> run(16, chunk=8)["agree_max_abs"] < 1e-6  # doctest: +SKIP
    True
    """
    from dask.distributed import Client, LocalCluster

    from ecg_cluster_widget.data.synthetic import make_synthetic
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.explain.sources import DatasetChunks
    from ecg_cluster_widget.explain.streaming import fit_chunks
    from ecg_cluster_widget.model.pretrained import load_demo_model

    bundle = load_demo_model()
    ds = make_synthetic(n_records, fs=bundle.fs, duration=bundle.n_samples / bundle.fs, seed=0)
    src = DatasetChunks(ds, chunk)
    tlc = TLCExplainer(bundle, n_clusters=6, batch_size="auto", progress=False)
    t = time.perf_counter()
    local = fit_chunks(tlc, src)
    t_local = time.perf_counter() - t
    t = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        t_up = time.perf_counter() - t
        t = time.perf_counter()
        remote = fit_chunks(tlc, src, client=client)
        t_dask = time.perf_counter() - t
    dim = local.feature_dim
    g_l = local.clusterer.predict_proba(np.asarray(local.features).reshape(-1, dim))
    g_r = remote.clusterer.predict_proba(np.asarray(remote.features).reshape(-1, dim))
    return {
        "n_records": n_records,
        "workers": workers,
        "chunk_records": chunk,
        "local_s": t_local,
        "dask_s": t_dask,
        "cluster_start_s": t_up,
        "local_timings": local.timings,
        "dask_timings": remote.timings,
        "agree_max_abs": float(np.abs(g_l - g_r).max()),
        "load_avg_1min": os.getloadavg()[0],
    }


def format_results(res: dict) -> str:
    """The printed table."""
    lines = [
        f"Chunk-wise fit of {res['n_records']} demo ECGs: one process vs LocalCluster "
        f"({res['workers']} worker processes, 1 thread each), chunks of {res['chunk_records']}",
        f"  {'stage':<14}{'local s':>10}{'dask s':>10}",
    ]
    for s in ("aligner_s", "features_s", "clustering_s", "outputs_s", "total_s"):
        lines.append(
            f"  {s[:-2]:<14}{res['local_timings'][s]:>10.2f}{res['dask_timings'][s]:>10.2f}"
        )
    lines.append(
        f"  cluster start-up {res['cluster_start_s']:.1f} s; max |gamma difference| "
        f"{res['agree_max_abs']:.1e}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=512)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=128)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    res = run(args.records, args.workers, args.chunk)
    print(format_results(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
