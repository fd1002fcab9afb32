"""Engine benchmarks: feature extraction overhead and clustering fit time.

Usage::

    python benchmarks/bench_engine.py [--n 500] [--repeats 3] [--quick] [--json out.json]

Prints medians over ``--repeats`` runs of

* feature extraction (forward hooks on the hooked blocks + standardise/align/PCA) vs a
  bare forward pass of the same batch, and their ratio;
* the TLC soft-clustering fit per K in {4, 6, 8, 12} vs scikit-learn
  ``KMeans(n_init=1)`` on the same points (hard clustering, the cheapest reference);
* ``TLCExplainer.set_n_clusters``: a new K (fitted on the cached points) and a K seen
  before (served from the cache).

The model is the shipped demo model when present, else a default ``ResNet1d``; the data
come from the synthetic generator, so the benchmark runs offline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.cluster import KMeans

_CPU: dict[str, list[float]] = {}


def _median_time(fn: Callable[[], object], repeats: int, key: str | None = None) -> float:
    """Median wall time; the median process CPU time goes to ``_CPU[key]``.

    CPU time is reported too because on a shared machine wall time mostly measures
    the other processes.
    """
    times, cpu = [], []
    for _ in range(repeats):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    if key is not None:
        _CPU[key] = [statistics.median(cpu)]
    return statistics.median(times)


def _load_model():
    """(bundle, description): the demo model, or an untrained default ResNet1d."""
    from ecg_cluster_widget.errors import ECGClusterError
    from ecg_cluster_widget.model import ResNet1d
    from ecg_cluster_widget.model.checkpoint import ModelBundle

    try:
        from ecg_cluster_widget.model.pretrained import load_demo_model

        return load_demo_model(), "demo model"
    except (ImportError, ECGClusterError, OSError):
        torch.manual_seed(0)
        net = ResNet1d()
        names = ("NORM", "MI", "STTC", "CD", "AF")
        return ModelBundle(
            net, names, None, fs=100, n_samples=net.n_samples
        ), "default ResNet1d (untrained)"


def run(
    n: int = 500,
    repeats: int = 3,
    ks: tuple[int, ...] = (4, 6, 8, 12),
    batch_size: int = 64,
    max_fit_points: int = 100_000,
    seed: int = 0,
) -> dict:
    """Run all measurements and return them as a dict of plain numbers.

    Examples
    --------
    >>> res = run(n=16, repeats=1, ks=(4,), max_fit_points=2000)  # doctest: +SKIP
    >>> sorted(res)  # doctest: +SKIP
    ['clustering', 'extraction', 'set_n_clusters', 'setup']
    """
    from ecg_cluster_widget.activations.features import FeatureAligner
    from ecg_cluster_widget.activations.hooks import ActivationExtractor
    from ecg_cluster_widget.clustering.soft_clustering import SoftClusterer
    from ecg_cluster_widget.data.synthetic import make_synthetic
    from ecg_cluster_widget.explain.explainer import TLCExplainer

    bundle, model_desc = _load_model()
    net = bundle.model.eval()
    ds = make_synthetic(
        n,
        fs=bundle.fs,
        duration=bundle.n_samples / bundle.fs,
        n_leads=len(bundle.lead_names),
        seed=seed,
    )
    x = bundle.prepare(ds)
    out: dict = {
        "setup": {
            "model": model_desc,
            "n_records": n,
            "input_shape": list(x.shape),
            "repeats": repeats,
            "torch_threads": torch.get_num_threads(),
            "load_avg_1min": os.getloadavg()[0],
            "cpu_count": os.cpu_count(),
        }
    }

    def bare_forward():
        with torch.no_grad():
            for s in range(0, len(x), batch_size):
                net(torch.from_numpy(x[s : s + batch_size]))

    extractor = ActivationExtractor(net, batch_size=batch_size, progress=False)
    holder: dict = {}

    def hooks_only():
        holder["blocks"] = extractor.extract(x)

    def hooks_and_align():
        blocks = extractor.extract(x)
        holder["feats"] = FeatureAligner(32, random_state=seed).fit_transform(blocks)

    bare_forward()  # warm-up: first call pays for allocator and kernel selection
    t_fwd = _median_time(bare_forward, repeats, "fwd")
    t_hooks = _median_time(hooks_only, repeats, "hooks")
    t_feat = _median_time(hooks_and_align, repeats, "feat")
    c_fwd, c_hooks, c_feat = _CPU["fwd"][0], _CPU["hooks"][0], _CPU["feat"][0]
    out["extraction"] = {
        "layers": extractor.layers,
        "bare_forward_s": t_fwd,
        "hooks_s": t_hooks,
        "hooks_align_pca_s": t_feat,
        "ratio_hooks": t_hooks / t_fwd,
        "ratio_hooks_align_pca": t_feat / t_fwd,
        "bare_forward_cpu_s": c_fwd,
        "hooks_cpu_s": c_hooks,
        "hooks_align_pca_cpu_s": c_feat,
        "cpu_ratio_hooks": c_hooks / c_fwd,
        "cpu_ratio_hooks_align_pca": c_feat / c_fwd,
    }

    feats = holder["feats"]
    pts = feats.reshape(-1, feats.shape[-1])
    rng = np.random.default_rng(seed)
    pts = np.ascontiguousarray(
        pts[np.sort(rng.choice(len(pts), min(max_fit_points, len(pts)), replace=False))]
    )
    clus = []
    for k in ks:
        t_tlc = _median_time(
            lambda k=k: SoftClusterer(k, random_state=seed).fit(pts), repeats, "tlc"
        )
        t_km = _median_time(
            lambda k=k: KMeans(k, n_init=1, random_state=seed).fit(pts), repeats, "km"
        )
        clus.append(
            {
                "k": k,
                "n_points": len(pts),
                "dim": pts.shape[1],
                "tlc_fit_s": t_tlc,
                "kmeans_fit_s": t_km,
                "ratio": t_tlc / t_km,
                "tlc_fit_cpu_s": _CPU["tlc"][0],
                "kmeans_fit_cpu_s": _CPU["km"][0],
            }
        )
    out["clustering"] = clus

    tlc = TLCExplainer(
        bundle,
        n_clusters=ks[0],
        max_fit_points=max_fit_points,
        batch_size=batch_size,
        random_state=seed,
        progress=False,
    )
    t = time.perf_counter()
    tlc.fit(ds)
    t_fit = time.perf_counter() - t
    new_k = ks[1] if len(ks) > 1 else ks[0] + 2
    t = time.perf_counter()
    tlc.set_n_clusters(new_k)
    t_new = time.perf_counter() - t
    t_cached = (
        _median_time(lambda: (tlc.set_n_clusters(ks[0]), tlc.set_n_clusters(new_k)), repeats) / 2
    )
    out["set_n_clusters"] = {
        "full_fit_s": t_fit,
        "new_k": new_k,
        "new_k_s": t_new,
        "cached_k_s": t_cached,
    }
    return out


def format_results(res: dict) -> str:
    """The printed table."""
    s = res["setup"]
    e = res["extraction"]
    lines = [
        f"model: {s['model']}; input {tuple(s['input_shape'])}; medians of {s['repeats']} run(s); "
        f"torch threads {s['torch_threads']}; load average {s['load_avg_1min']:.1f} on "
        f"{s['cpu_count']} CPUs (wall times include other processes' load)",
        "",
        f"Feature extraction (layers {', '.join(e['layers'])})",
        f"  {'':<32}{'wall (s)':>10}{'ratio':>8}{'CPU (s)':>10}{'ratio':>8}",
        f"  {'bare forward pass':<32}{e['bare_forward_s']:>10.3f}{1:>8.2f}"
        f"{e['bare_forward_cpu_s']:>10.3f}{1:>8.2f}",
        f"  {'forward + hooks':<32}{e['hooks_s']:>10.3f}{e['ratio_hooks']:>8.2f}"
        f"{e['hooks_cpu_s']:>10.3f}{e['cpu_ratio_hooks']:>8.2f}",
        f"  {'forward + hooks + align + PCA':<32}{e['hooks_align_pca_s']:>10.3f}"
        f"{e['ratio_hooks_align_pca']:>8.2f}{e['hooks_align_pca_cpu_s']:>10.3f}"
        f"{e['cpu_ratio_hooks_align_pca']:>8.2f}",
        "",
        f"Clustering fit on {res['clustering'][0]['n_points']} points x {res['clustering'][0]['dim']} dims",
        f"  {'K':>4}{'TLC wall':>10}{'KMeans wall':>13}{'ratio':>8}{'TLC CPU':>10}{'KMeans CPU':>12}",
    ]
    for c in res["clustering"]:
        lines.append(
            f"  {c['k']:>4}{c['tlc_fit_s']:>10.3f}{c['kmeans_fit_s']:>13.3f}{c['ratio']:>8.2f}"
            f"{c['tlc_fit_cpu_s']:>10.3f}{c['kmeans_fit_cpu_s']:>12.3f}"
        )
    m = res["set_n_clusters"]
    lines += [
        "",
        "TLCExplainer",
        f"  {'full fit':<34}{m['full_fit_s']:>9.3f} s",
        f"  {'set_n_clusters(new K=' + str(m['new_k']) + ')':<34}{m['new_k_s']:>9.3f} s",
        f"  {'set_n_clusters(cached K)':<34}{m['cached_k_s'] * 1000:>9.3f} ms",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500, help="records (default 500)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per measurement (median)")
    ap.add_argument("--quick", action="store_true", help="32 records, 1 repeat, K in {4, 6}")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    if args.quick:
        res = run(n=32, repeats=1, ks=(4, 6), max_fit_points=10_000)
    else:
        res = run(n=args.n, repeats=args.repeats)
    print(format_results(res))
    if args.json:
        from ecg_cluster_widget.data.io_utils import atomic_write_json

        atomic_write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
