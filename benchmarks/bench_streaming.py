"""Streaming fit benchmark: peak memory and per-stage cost of a chunk-wise TLC fit.

Usage::

    python benchmarks/bench_streaming.py [--records 21837] [--chunk 256] [--json out.json]

Fits TLC on ``--records`` synthetic 12-lead 10 s ECGs at 500 Hz (a PTB-XL-sized set at
its full rate), generated chunk by chunk (``SyntheticChunks``), with an untrained
``ResNet1d.for_input(500, 5000, size="tiny")``, features and per-record outputs written to
an on-disk store in a temporary folder. The fit runs in a child process so that its peak
resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, read by the child at the
end) belongs to the fit alone. Prints the stage times, records per second, the peak RSS and
the store size, and extrapolates the stage times to 100,000 records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("aligner_s", "features_s", "clustering_s", "outputs_s")


def _child(n_records: int, chunk: int, store: str, progress: bool) -> dict:
    """The measured fit (runs in the child process)."""
    import resource

    import torch

    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.explain.sources import SyntheticChunks
    from ecg_cluster_widget.explain.streaming import fit_chunks
    from ecg_cluster_widget.model import ResNet1d

    torch.manual_seed(0)
    net = ResNet1d.for_input(500, 5000, size="tiny")
    tlc = TLCExplainer(net, n_clusters=6, progress=progress)
    src = SyntheticChunks(n_records, chunk_records=chunk, fs=500, duration=10, seed=0)
    t = time.perf_counter()
    res = fit_chunks(tlc, src, store=store)
    wall = time.perf_counter() - t
    return {
        "n_records": n_records,
        "chunk_records": chunk,
        "input": [12, 5000],
        "grid_length": res.grid_length,
        "feature_dim": res.feature_dim,
        "n_fit_points": int(res.points.shape[0]),
        "timings": res.timings,
        "wall_s": wall,
        "records_per_s": n_records / wall,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "store_mib": res.store.nbytes() / 2**20,
        "torch_threads": torch.get_num_threads(),
    }


def run(n_records: int = 21_837, chunk: int = 256, progress: bool = False) -> dict:
    """Run the fit in a child process and return its measurements.

    Examples
    --------
    >>> run(8, chunk=4)["n_records"]  # doctest: +SKIP
    8
    """
    with tempfile.TemporaryDirectory(prefix="tlc-store-") as tmp:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "--records",
            str(n_records),
            "--chunk",
            str(chunk),
            "--store",
            str(Path(tmp) / "store"),
        ]
        if progress:
            cmd.append("--progress")
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    per = 100_000 / res["n_records"]
    # The clustering works on at most max_fit_points points and the aligner on a subset of
    # ALIGN_RECORDS records whatever N: neither scales with N beyond that.
    from ecg_cluster_widget.explain.pipeline import ALIGN_RECORDS

    scale = {s: per for s in STAGES}
    scale["clustering_s"] = 1.0
    scale["aligner_s"] = max(1.0, ALIGN_RECORDS / res["n_records"])
    res["per_100k_records_s"] = {s: res["timings"][s] * scale[s] for s in STAGES}
    res["load_avg_1min"] = os.getloadavg()[0]
    return res


def format_results(res: dict) -> str:
    """The printed table."""
    t = res["timings"]
    lines = [
        f"Streaming fit: {res['n_records']} synthetic ECGs (12 x 5000, 500 Hz), chunks of "
        f"{res['chunk_records']}, grid {res['grid_length']} x {res['feature_dim']} features",
        f"  {'stage':<22}{'seconds':>10}{'per 100k records':>18}",
    ]
    for s in STAGES:
        lines.append(f"  {s[:-2]:<22}{t[s]:>10.1f}{res['per_100k_records_s'][s]:>18.0f}")
    lines += [
        f"  {'total':<22}{t['total_s']:>10.1f}",
        f"  records/s {res['records_per_s']:.1f}; peak RSS {res['peak_rss_mib']:.0f} MiB; "
        f"store {res['store_mib']:.0f} MiB on disk",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=21_837)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--json", default=None)
    ap.add_argument("--progress", action="store_true", help="progress bar with ETA on stderr")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--store", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.records, args.chunk, args.store, args.progress)))
        return 0
    res = run(args.records, args.chunk, progress=args.progress)
    print(format_results(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
