"""Live K on the path a user takes: the shipped real-ECG model, the default configuration.

Usage::

    python benchmarks/bench_k_live.py [--records 40 1000 21837] [--json benchmarks/k_live.json]

For each fitting-set size, measured side by side in one process:

* the bare forward pass of the model over the records and the default fit
  ``TLCExplainer(load_pretrained("ptbxl250"), n_clusters=8).fit(ds)`` (its ``options_``
  are printed: the model's recommendation), interleaved, medians of 3 rounds, and their
  ratio; above 5,000 records once each, the fit chunk-wise through a feature store on disk
  (as a PTB-XL-size set is fitted);
* a **new K** in the kernel, for each K offered other than 8 (median and max over them):
  through the API (one record's explanation and every record's labels / entropy /
  proportions) and through the widget's view (``explain.browse.Browser.view``: the record
  plus cluster cards with prototypes, proposed names and the uncertainty scale);
* an **already computed K**: the same requests again (median);
* the share of the fitting time steps held by the smallest cluster at K=8.

Records: the 40 shipped PTB-XL ECGs; larger sizes take PTB-XL records from the shared data
folder (``ECG_SHARED_DATA`` or ``../shared/data``) at 250 Hz, else the 40 shipped records;
beyond what there is (21,837 is PTB-XL's size) the records are tiled, each copy with
independent noise (the row says which). Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: Fitting sets larger than this are fitted chunk-wise through a feature store (streamed).
STREAM_ABOVE = 5000


def _records(n: int):
    from ecg_cluster_widget.data import ECGDataset, load_ptbxl, load_real_sample, resample

    base, source = load_real_sample("ptbxl", fs=250), "shipped PTB-XL sample"
    if n <= len(base):
        return base.subset(list(range(n))), source
    root = Path(os.environ.get("ECG_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
    if (root / "ptbxl_subset").is_dir():
        base = resample(
            load_ptbxl(root / "ptbxl_subset", fs=500, max_records=n, progress=False), 250
        )
        source = f"PTB-XL subset ({len(base)} records, 500 -> 250 Hz)"
        if n <= len(base):
            return base, source
    # More records than there are: tiled, each copy with independent noise.
    rng = np.random.default_rng(0)
    sig = np.concatenate([base.signals] * -(-n // len(base)))[:n]
    for row in sig:  # record by record: a float64 noise array of 21,837 records is 5 GB
        row += 0.02 * rng.standard_normal(row.shape, dtype=np.float32)
    ds = ECGDataset(sig, fs=base.fs, lead_names=list(base.lead_names))
    return ds, f"{source}, tiled to {n} with noise"


def _time(fn, repeat: int = 1) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def measure(n: int) -> dict:
    import torch

    from ecg_cluster_widget import TLCExplainer
    from ecg_cluster_widget.model import load_pretrained

    real = load_pretrained("ptbxl250")
    ds, source = _records(n)
    # The model's input, prepared in chunks (preparing 21,837 records at once takes ~20 GB).
    held = [
        torch.from_numpy(
            np.concatenate(
                [
                    np.asarray(real.prepare(ds.subset(slice(s, s + 1024))), dtype=np.float32)
                    for s in range(0, len(ds), 1024)
                ]
            )
        )
    ]

    def forward() -> None:
        with torch.no_grad():
            for s in range(0, len(held[0]), 256):
                real.model(held[0][s : s + 256])

    streamed = n > STREAM_ABOVE
    forward()  # warm-up
    tlc = TLCExplainer(real, n_clusters=8, progress=False)
    with tempfile.TemporaryDirectory() as store:
        if streamed:
            fwd = _time(forward)
            held.clear()  # the prepared input of 21,837 records is 2.6 GB
            # A PTB-XL-size fit goes chunk by chunk through a feature store on disk.
            fit = _time(lambda: tlc.fit(ds, store=store))
        else:
            # Forward pass and fit interleaved, three rounds, medians: a load change on the
            # shared machine hits both alike.
            rounds = [(_time(forward), _time(lambda: tlc.fit(ds))) for _ in range(3)]
            fwd, fit = (statistics.median(r) for r in zip(*rounds))
            held.clear()
        row = _k_path(tlc, ds, real)

    return {
        "records": n,
        "source": source + (" (streamed fit)" if streamed else ""),
        "options": {k: v for k, v in tlc.options_.items()},
        "forward_s": fwd,
        "fit_s": fit,
        "fit_over_forward": fit / fwd,
        "timings": tlc.timings_,
        **row,
        "load_avg": os.getloadavg()[0],
    }


def _k_path(tlc, ds, real) -> dict:
    from ecg_cluster_widget.explain.browse import Browser

    browser = Browser(tlc, ds, real)

    def api(k: int) -> None:
        # What a notebook user asks: one record and every record's outputs at K.
        tlc.explain(ds, 0, n_clusters=k)
        tlc.explain_all(ds, n_clusters=k)

    def view(k: int) -> None:
        # What the widget asks on a K change: the record, cluster cards with prototypes,
        # proposed names and the uncertainty scale (cached per fit and K by the view).
        browser.view({"k": k}, 8, 0, (2, tlc.max_clusters_))

    api(8)
    view(8)  # the reference K, as the widget opens
    ks = [k for k in range(2, tlc.max_clusters_ + 1) if k != 8]
    # Disjoint K for the two paths: both share the explainer's per-K answers, so a K seen
    # by one would be "already computed" for the other.
    new_view = [_time(lambda k=k: view(k)) for k in ks[::2]]
    cached_view = [_time(lambda k=k: view(k)) for k in ks[::2]]
    new_api = [_time(lambda k=k: api(k)) for k in ks[1::2]]
    cached_api = [_time(lambda k=k: api(k)) for k in ks[1::2]]
    labels = tlc.explain_all(ds).labels
    share = np.bincount(labels.ravel().astype(np.int64), minlength=8) / labels.size
    return {
        "k_values": ks,
        "max_clusters": tlc.max_clusters_,
        "new_k_ms": 1e3 * statistics.median(new_api),
        "new_k_max_ms": 1e3 * max(new_api),
        "cached_k_ms": 1e3 * statistics.median(cached_api),
        "view_new_k_ms": 1e3 * statistics.median(new_view),
        "view_new_k_max_ms": 1e3 * max(new_view),
        "view_cached_k_ms": 1e3 * statistics.median(cached_view),
        "min_cluster_share_k8": float(share.min()),
    }


def table(rows: list[dict]) -> str:
    head = (
        "| records | data | forward (s) | default fit (s) | fit / forward | new K: API (ms, "
        "median; max) | computed K: API (ms) | new K: widget view (ms, median; max) | "
        "computed K: widget view (ms) | K offered | smallest cluster at K=8 |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    return head + "\n".join(
        f"| {r['records']} | {r['source']} | {r['forward_s']:.2f} | {r['fit_s']:.2f} | "
        f"{r['fit_over_forward']:.1f}x | {r['new_k_ms']:.0f}; {r['new_k_max_ms']:.0f} | "
        f"{r['cached_k_ms']:.0f} | {r['view_new_k_ms']:.0f}; {r['view_new_k_max_ms']:.0f} | "
        f"{r['view_cached_k_ms']:.0f} | 2..{r['max_clusters']} | "
        f"{100 * r['min_cluster_share_k8']:.1f} % |"
        for r in rows
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, nargs="+", default=[40, 1000, 21837])
    ap.add_argument("--json", type=Path, default=None)
    ns = ap.parse_args(argv)
    rows = []
    for n in ns.records:
        rows.append(measure(n))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "timings"}), flush=True)
    print(table(rows))
    if ns.json:
        ns.json.write_text(json.dumps(rows, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
