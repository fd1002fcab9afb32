"""Engine benchmarks: forward pass, feature extraction overhead, first fit and K changes.

Usage::

    python benchmarks/bench_engine.py [--n 1000] [--repeats 3] [--quick] [--json out.json]

Prints medians over ``--repeats`` runs, measured side by side in one process (ratios are
robust to the load of a shared machine, absolute times are not):

* the bare forward pass in batches of 64 (the previous default) and in the batches of
  ``batch_size="auto"``, with its FLOP count (``torch.utils.flop_counter``) and GFLOP/s;
* forward + hooks, forward + hooks + standardise/align/PCA and a whole
  ``TLCExplainer.fit`` (activations + features + clustering), each against the bare
  forward pass of the same batches;
* ``TLCExplainer.set_n_clusters``: a new K (fitted on the cached points) and a K seen
  before (served from the cache).

The clustering fits next to scikit-learn are in ``bench_clustering.py``. The model is the
shipped demo model when present, else a default ``ResNet1d``; the data come from the
synthetic generator, so the benchmark runs offline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch

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


def _flops(net: torch.nn.Module, xb: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc, torch.inference_mode():
        net(xb)
    return int(fc.get_total_flops())


def run(
    n: int = 1000,
    repeats: int = 3,
    new_k: int = 8,
    k0: int = 6,
    max_fit_points: int = 200_000,
    seed: int = 0,
) -> dict:
    """Run all measurements and return them as a dict of plain numbers.

    Examples
    --------
    >>> res = run(n=16, repeats=1, max_fit_points=2000)  # doctest: +SKIP
    >>> sorted(res)  # doctest: +SKIP
    ['extraction', 'set_n_clusters', 'setup']
    """
    from ecg_cluster_widget.activations import ActivationExtractor
    from ecg_cluster_widget.activations.batching import auto_batch_size
    from ecg_cluster_widget.activations.features import FeatureAligner
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
    auto = auto_batch_size(x.shape[1], x.shape[2])
    flops = _flops(net, torch.from_numpy(x[:1])) * len(x)
    out: dict = {
        "setup": {
            "model": model_desc,
            "n_records": n,
            "input_shape": list(x.shape),
            "repeats": repeats,
            "torch_threads": torch.get_num_threads(),
            "load_avg_1min": os.getloadavg()[0],
            "cpu_count": os.cpu_count(),
            "auto_batch": auto,
            "gflop_per_pass": flops / 1e9,
        }
    }

    def bare_forward(bs: int):
        with torch.inference_mode():
            for s in range(0, len(x), bs):
                net(torch.from_numpy(x[s : s + bs]))

    extractor = ActivationExtractor(net, batch_size="auto", progress=False)
    opts = {"block_weighting": "equal", "center_per_record": True}

    def hooks_and_align():
        blocks = extractor.extract(x)
        FeatureAligner(32, random_state=seed, **opts).fit_transform(blocks)

    def full_fit():
        TLCExplainer(
            bundle,
            n_clusters=k0,
            max_fit_points=max_fit_points,
            batch_size="auto",
            random_state=seed,
            progress=False,
        ).fit(ds)

    bare_forward(auto)  # warm-up: first call pays for allocator and kernel selection
    cases = {
        "bare_forward_b64": lambda: bare_forward(64),
        "bare_forward": lambda: bare_forward(auto),
        "hooks": lambda: extractor.extract(x),
        "hooks_align_pca": hooks_and_align,
        "fit": full_fit,
    }
    ext: dict = {"layers": extractor.layers}
    # Interleave the repeats (one of each case per round) so that a load change on the
    # shared machine hits every case alike.
    walls: dict[str, list[float]] = {c: [] for c in cases}
    cpus: dict[str, list[float]] = {c: [] for c in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            c, t = time.process_time(), time.perf_counter()
            fn()
            walls[name].append(time.perf_counter() - t)
            cpus[name].append(time.process_time() - c)
    for name in cases:
        ext[f"{name}_s"] = statistics.median(walls[name])
        ext[f"{name}_cpu_s"] = statistics.median(cpus[name])
    for name in ("bare_forward_b64", "hooks", "hooks_align_pca", "fit"):
        ext[f"ratio_{name}"] = ext[f"{name}_s"] / ext["bare_forward_s"]
        ext[f"cpu_ratio_{name}"] = ext[f"{name}_cpu_s"] / ext["bare_forward_cpu_s"]
    ext["gflops_per_s"] = flops / 1e9 / ext["bare_forward_s"]
    ext["gflops_per_cpu_s"] = flops / 1e9 / ext["bare_forward_cpu_s"]
    out["extraction"] = ext

    tlc = TLCExplainer(
        bundle,
        n_clusters=k0,
        max_fit_points=max_fit_points,
        batch_size="auto",
        random_state=seed,
        progress=False,
    )
    t = time.perf_counter()
    tlc.fit(ds)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    tlc.set_n_clusters(new_k)
    t_new = time.perf_counter() - t
    t_cached = (
        _median_time(lambda: (tlc.set_n_clusters(k0), tlc.set_n_clusters(new_k)), repeats) / 2
    )
    out["set_n_clusters"] = {
        "first_fit_s": t_fit,
        "timings": dict(getattr(tlc, "timings_", {})),
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
        f"forward pass: {s['gflop_per_pass']:.1f} GFLOP; {e['gflops_per_s']:.1f} GFLOP/s wall, "
        f"{e['gflops_per_cpu_s']:.1f} GFLOP per CPU-second (batches of {s['auto_batch']})",
        "",
        f"Feature extraction (layers {', '.join(e['layers'])}), against the bare forward pass "
        f"in batches of {s['auto_batch']}",
        f"  {'':<36}{'wall (s)':>10}{'ratio':>8}{'CPU (s)':>10}{'ratio':>8}",
    ]
    rows = [
        ("bare forward, batches of 64", "bare_forward_b64"),
        (f"bare forward, batches of {s['auto_batch']}", "bare_forward"),
        ("forward + hooks", "hooks"),
        ("forward + hooks + align + PCA", "hooks_align_pca"),
        ("TLCExplainer.fit (all stages)", "fit"),
    ]
    for label, key in rows:
        r = 1.0 if key == "bare_forward" else e[f"ratio_{key}"]
        rc = 1.0 if key == "bare_forward" else e[f"cpu_ratio_{key}"]
        lines.append(
            f"  {label:<36}{e[key + '_s']:>10.3f}{r:>8.2f}{e[key + '_cpu_s']:>10.3f}{rc:>8.2f}"
        )
    m = res["set_n_clusters"]
    lines += [
        "",
        "TLCExplainer",
        f"  {'first fit':<34}{m['first_fit_s']:>9.3f} s",
        f"  {'set_n_clusters(new K=' + str(m['new_k']) + ')':<34}{m['new_k_s'] * 1000:>9.1f} ms",
        f"  {'set_n_clusters(cached K)':<34}{m['cached_k_s'] * 1000:>9.3f} ms",
    ]
    return "\n".join(lines)


def compile_check(n: int = 1024, repeats: int = 3, seed: int = 0) -> dict:
    """``torch.compile`` of the model next to eager mode: compile time and pass times.

    Examples
    --------
    >>> compile_check(n=16, repeats=1)["compile_and_first_s"] > 0  # doctest: +SKIP
    True
    """
    from ecg_cluster_widget.activations.batching import auto_batch_size
    from ecg_cluster_widget.data.synthetic import make_synthetic

    bundle, _ = _load_model()
    net = bundle.model.eval()
    ds = make_synthetic(n, fs=bundle.fs, duration=bundle.n_samples / bundle.fs, seed=seed)
    x = bundle.prepare(ds)
    bs = auto_batch_size(x.shape[1], x.shape[2])

    def run(m) -> None:
        with torch.inference_mode():
            for s in range(0, len(x), bs):
                m(torch.from_numpy(x[s : s + bs]))

    run(net)
    t = time.perf_counter()
    compiled = torch.compile(net)
    run(compiled)
    first = time.perf_counter() - t
    eager, comp = [], []
    for _ in range(repeats):  # interleaved, so load changes hit both alike
        for m, out in ((net, eager), (compiled, comp)):
            t = time.perf_counter()
            run(m)
            out.append(time.perf_counter() - t)
    return {
        "n_records": n,
        "compile_and_first_s": first,
        "eager_s": statistics.median(eager),
        "compiled_s": statistics.median(comp),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="records (default 1000)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per measurement (median)")
    ap.add_argument("--quick", action="store_true", help="32 records, 1 repeat")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    ap.add_argument(
        "--compile", action="store_true", help="only compare torch.compile with eager mode"
    )
    args = ap.parse_args(argv)
    if args.compile:
        c = compile_check()
        print(
            f"torch.compile on {c['n_records']} records: compile + first pass "
            f"{c['compile_and_first_s']:.1f} s; then {c['compiled_s']:.3f} s per pass vs "
            f"eager {c['eager_s']:.3f} s (medians)"
        )
        return 0
    if args.quick:
        res = run(n=32, repeats=1, max_fit_points=10_000)
    else:
        res = run(n=args.n, repeats=args.repeats)
    print(format_results(res))
    if args.json:
        from ecg_cluster_widget.data.io_utils import atomic_write_json

        atomic_write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
