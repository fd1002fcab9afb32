"""Do the TLC clusters line up with the P / QRS / T / TP waves?  A configuration study.

Usage::

    python benchmarks/alignment_study.py [--quick] [--model NAME=PATH ...] [--md docs/alignment.md]

For every model (default: the shipped demo model) and every feature configuration
(block weighting, per-record centring, PCA whitening / dimensions) it fits
:class:`~ecg_cluster_widget.explain.TLCExplainer` and reports

* **NMI synthetic**: NMI between the hard cluster labels of held-out synthetic records
  (``make_synthetic(fs=100)``, unseen seeds) and their exact wave masks, for K in {4, 6, 8};
  the explainer is fitted on a synthetic training set;
* **NMI LUDB**: the same on LUDB records (resampled to 100 Hz, lead II annotations
  resampled by nearest sample, time steps outside the annotated span left out); the
  explainer is fitted on those records themselves (clustering uses no annotation);
  skipped when the LUDB folder is absent (``--ludb``; default ``$ECG_LUDB``, else
  ``$ECG_SHARED_DATA/ludb``, else ``../shared/data/ludb`` next to the checkout);
* **fidelity**: agreement of a random forest on the cluster proportions with the CNN's
  thresholded predictions on the synthetic test set
  (:func:`~ecg_cluster_widget.explain.faithfulness.faithfulness_from_explainer`).

Baseline rows: k-means on raw signal windows
(:func:`~ecg_cluster_widget.explain.landmarks.raw_window_kmeans_labels`) and the same TLC
pipeline on an untrained copy of the network
(:func:`~ecg_cluster_widget.explain.landmarks.untrained_model_labels`), each with the
configurations named in ``UNTRAINED_CONFIGS``. Fidelity of a baseline is that of a random
forest on *its* cluster proportions predicting the trained CNN.

Everything is seeded (``--seed``); the explainer pins BLAS to one thread. With ``--md``
the table is written as markdown between the ``<!-- study:begin -->`` / ``<!-- study:end -->``
markers of that file (the rest of the file is left as it is).
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecg_cluster_widget.data import make_synthetic
from ecg_cluster_widget.data.dataset import ECGDataset
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.faithfulness import faithfulness, faithfulness_from_explainer
from ecg_cluster_widget.explain.landmarks import (
    landmark_alignment,
    raw_window_kmeans_labels,
)
from ecg_cluster_widget.model import load_checkpoint, load_demo_model

KS = (4, 6, 8)
FIDELITY_K = 6

#: name -> TLCExplainer keyword arguments. "old default" is the configuration before
#: this study (plain concatenation, no centring, 32 PCA components).
CONFIGS: dict[str, dict[str, Any]] = {
    "channels (old default)": dict(block_weighting="channels", center_per_record=False),
    "equal": dict(block_weighting="equal", center_per_record=False),
    "centre": dict(block_weighting="channels", center_per_record=True),
    "equal + centre": dict(block_weighting="equal", center_per_record=True),
    "equal + centre + whiten": dict(block_weighting="equal", center_per_record=True, whiten=True),
    "equal + centre, 8 PCs": dict(block_weighting="equal", center_per_record=True, n_components=8),
    "equal + centre, no PCA": dict(
        block_weighting="equal", center_per_record=True, n_components=None
    ),
}
QUICK_CONFIGS = ("channels (old default)", "equal", "centre", "equal + centre")
UNTRAINED_CONFIGS = ("channels (old default)", "equal + centre")

_BEGIN, _END = "<!-- study:begin -->", "<!-- study:end -->"


def default_ludb() -> Path:
    """LUDB folder from the environment, else next to the checkout (no machine paths)."""
    if os.environ.get("ECG_LUDB"):
        return Path(os.environ["ECG_LUDB"]).expanduser()
    shared = os.environ.get("ECG_SHARED_DATA")
    root = (
        Path(shared).expanduser()
        if shared
        else Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    return root / "ludb"


def _proportions(labels: np.ndarray, k: int) -> np.ndarray:
    """(N, T) hard labels -> (N, K) share of time in each cluster."""
    lab = np.asarray(labels, dtype=np.int64)
    out = np.stack([np.bincount(r, minlength=k) for r in lab]).astype(np.float64)
    return out / lab.shape[1]


def _fidelity_from_labels(
    bundle: Any,
    lab_tr: np.ndarray,
    lab_te: np.ndarray,
    train: ECGDataset,
    test: ECGDataset,
    k: int,
    seed: int,
) -> float:
    """Fidelity of a forest on baseline-cluster proportions to the trained CNN."""
    d = faithfulness(
        _proportions(lab_tr, k),
        bundle.predict_proba(train),
        _proportions(lab_te, k),
        bundle.predict_proba(test),
        y_test=test.labels,
        random_state=seed,
    )
    return float(d["fidelity"])


def _untrained_copy(bundle: Any, seed: int) -> Any:
    """The bundle with a freshly initialised network, built exactly as
    :func:`~ecg_cluster_widget.explain.landmarks.untrained_model_labels` builds it
    (same class and config, ``torch.manual_seed(seed)`` in a forked RNG, same preprocessing);
    kept as one object so every K reuses one explainer fit."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        fresh = type(bundle.model)(**bundle.model.config).eval()
    out = copy.copy(bundle)
    out.model = fresh
    return out


def _nmi(labels: np.ndarray, masks: np.ndarray, k: int) -> float:
    return float(
        landmark_alignment(np.asarray(labels), np.asarray(masks).astype(np.int64), k)["nmi"]
    )


def load_data(n_train: int, n_test: int, n_ludb: int, ludb_root: Path | None, seed: int):
    """Synthetic train/test sets (seeds unseen by the demo model) and LUDB at 100 Hz (or None)."""
    from ecg_cluster_widget.model.pretrained import DEMO_DATA_KWARGS

    train = make_synthetic(n_train, seed=1000 + seed, **DEMO_DATA_KWARGS)
    test = make_synthetic(n_test, seed=2000 + seed, **DEMO_DATA_KWARGS)
    ludb = ludb_mask = None
    if ludb_root is not None and (ludb_root / "data").is_dir():
        from ecg_cluster_widget.data import resample
        from ecg_cluster_widget.data.ludb import load_ludb

        raw = load_ludb(ludb_root, records=list(range(1, n_ludb + 1)), progress=False)
        ludb = resample(raw, 100.0)
        ludb_mask = ludb.wave_mask_for_lead("II").astype(np.int64)
    return train, test, ludb, ludb_mask


def run_model(
    name: str, bundle: Any, configs: list[str], data: tuple, seed: int, log: Any
) -> list[dict]:
    """All rows (configs + untrained baselines) for one model."""
    train, test, ludb, ludb_mask = data
    rows = []
    for cname in configs:
        kw = CONFIGS[cname]
        t0 = time.perf_counter()
        row: dict[str, Any] = {"model": name, "config": cname, "syn": {}, "ludb": {}}
        tlc = TLCExplainer(bundle, n_clusters=KS[0], random_state=seed, progress=False, **kw).fit(
            train
        )
        for k in KS:
            tlc.set_n_clusters(k)
            row["syn"][k] = _nmi(tlc.explain_all(test).labels, test.wave_masks, k)
            if k == FIDELITY_K:
                row["fidelity"] = float(
                    faithfulness_from_explainer(tlc, bundle, train, test, random_state=seed)[
                        "fidelity"
                    ]
                )
        if ludb is not None:
            tl = TLCExplainer(
                bundle, n_clusters=KS[0], random_state=seed, progress=False, **kw
            ).fit(ludb)
            for k in KS:
                tl.set_n_clusters(k)
                row["ludb"][k] = _nmi(tl.explain_all(ludb).labels, ludb_mask, k)
        row["seconds"] = time.perf_counter() - t0
        log(row)
        rows.append(row)
    for cname in UNTRAINED_CONFIGS:
        if cname not in configs:
            continue
        kw = CONFIGS[cname]
        t0 = time.perf_counter()
        row = {
            "model": name,
            "config": f"baseline: untrained network, {cname}",
            "syn": {},
            "ludb": {},
        }
        fresh = _untrained_copy(bundle, seed)
        tlc = TLCExplainer(fresh, n_clusters=KS[0], random_state=seed, progress=False, **kw).fit(
            train
        )
        for k in KS:
            tlc.set_n_clusters(k)
            lab_te = tlc.explain_all(test).labels
            row["syn"][k] = _nmi(lab_te, test.wave_masks, k)
            if k == FIDELITY_K:
                lab_tr = tlc.explain_all(train).labels
                row["fidelity"] = _fidelity_from_labels(
                    bundle, lab_tr, lab_te, train, test, k, seed
                )
        if ludb is not None:
            tl = TLCExplainer(fresh, n_clusters=KS[0], random_state=seed, progress=False, **kw).fit(
                ludb
            )
            for k in KS:
                tl.set_n_clusters(k)
                row["ludb"][k] = _nmi(tl.explain_all(ludb).labels, ludb_mask, k)
        row["seconds"] = time.perf_counter() - t0
        log(row)
        rows.append(row)
    return rows


def run_raw_baseline(bundle: Any, data: tuple, seed: int, log: Any) -> dict:
    """Raw-window k-means row (independent of the model and the feature options)."""
    train, test, ludb, ludb_mask = data
    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "model": "-",
        "config": "baseline: raw-window k-means",
        "syn": {},
        "ludb": {},
    }
    for k in KS:
        lab_te = raw_window_kmeans_labels(test, k, random_state=seed, fit_ds=train)
        row["syn"][k] = _nmi(lab_te, test.wave_masks, k)
        if k == FIDELITY_K:
            lab_tr = raw_window_kmeans_labels(train, k, random_state=seed, fit_ds=train)
            row["fidelity"] = _fidelity_from_labels(bundle, lab_tr, lab_te, train, test, k, seed)
        if ludb is not None:
            row["ludb"][k] = _nmi(
                raw_window_kmeans_labels(ludb, k, random_state=seed), ludb_mask, k
            )
    row["seconds"] = time.perf_counter() - t0
    log(row)
    return row


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def markdown_table(rows: list[dict], has_ludb: bool) -> str:
    """Rows -> a markdown table (NMI per K for synthetic and LUDB, fidelity at K=FIDELITY_K)."""
    head = ["model", "configuration"] + [f"NMI syn K={k}" for k in KS]
    if has_ludb:
        head += [f"NMI LUDB K={k}" for k in KS]
    head += [f"fidelity K={FIDELITY_K}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], r["config"]] + [_fmt(r["syn"].get(k)) for k in KS]
        if has_ludb:
            cells += [_fmt(r["ludb"].get(k)) for k in KS]
        cells.append(_fmt(r.get("fidelity")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_markdown(path: Path, table: str, header: str) -> None:
    """Put ``header`` + ``table`` between the study markers of ``path`` (created if missing)."""
    block = f"{_BEGIN}\n{header}\n\n{table}\n{_END}"
    text = (
        path.read_text()
        if path.exists()
        else f"# Cluster / wave alignment study\n\n{_BEGIN}\n{_END}\n"
    )
    if _BEGIN not in text or _END not in text:
        text = text.rstrip("\n") + f"\n\n{_BEGIN}\n{_END}\n"
    text = re.sub(re.escape(_BEGIN) + r".*?" + re.escape(_END), lambda _: block, text, flags=re.S)
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer records and configurations")
    ap.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="checkpoint(s) to study (repeatable); default: the shipped demo model",
    )
    ap.add_argument(
        "--configs",
        nargs="+",
        default=None,
        choices=list(CONFIGS),
        metavar="CONFIG",
        help=f"configurations to run (default: all; --quick: {', '.join(QUICK_CONFIGS)})",
    )
    ap.add_argument(
        "--n-train", type=int, default=None, help="synthetic fitting records (300; quick 120)"
    )
    ap.add_argument(
        "--n-test", type=int, default=None, help="synthetic test records (150; quick 60)"
    )
    ap.add_argument("--n-ludb", type=int, default=None, help="LUDB records (100; quick 40)")
    ap.add_argument(
        "--ludb",
        type=Path,
        default=default_ludb(),
        help="LUDB folder (default: $ECG_LUDB, else $ECG_SHARED_DATA/ludb, else "
        "../shared/data/ludb next to the checkout)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--md", type=Path, default=None, help="write the table into this markdown file")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    n_train = args.n_train or (120 if args.quick else 300)
    n_test = args.n_test or (60 if args.quick else 150)
    n_ludb = args.n_ludb or (40 if args.quick else 100)
    configs = args.configs or list(QUICK_CONFIGS if args.quick else CONFIGS)
    models = []
    for spec in args.model or ["demo=" + "__demo__"]:
        name, _, path = spec.partition("=")
        bundle = load_demo_model() if path == "__demo__" else load_checkpoint(path)
        sl = "/".join(str(s) for s in bundle.model.config["seq_lengths"][-3:])
        models.append((f"{name} ({sl})", bundle))

    def log(row: dict) -> None:
        syn = " ".join(f"{row['syn'][k]:.3f}" for k in KS)
        lud = " ".join(f"{row['ludb'][k]:.3f}" for k in KS) if row["ludb"] else "-"
        print(
            f"[{row['seconds']:6.1f} s] {row['model']:<24} {row['config']:<46} syn {syn} | "
            f"ludb {lud} | fid {_fmt(row.get('fidelity'))}",
            flush=True,
        )

    data = load_data(n_train, n_test, n_ludb, args.ludb, args.seed)
    has_ludb = data[2] is not None
    if not has_ludb:
        print(f"LUDB not found at {args.ludb}: LUDB columns skipped.")
    rows = [run_raw_baseline(models[0][1], data, args.seed, log)]
    for name, bundle in models:
        rows += run_model(name, bundle, configs, data, args.seed, log)
    table = markdown_table(rows, has_ludb)
    print()
    print(table)
    if args.md is not None:
        header = (
            f"Produced by `python benchmarks/alignment_study.py{' --quick' if args.quick else ''}"
            f"{' --configs ' + ' '.join(repr(c) for c in args.configs) if args.configs else ''}"
            f"{''.join(' --model ' + m for m in args.model)}` "
            f"(seed {args.seed}; synthetic {n_train} fitting / {n_test} test records"
            + (
                f"; LUDB records 1-{n_ludb} at 100 Hz, lead II annotations"
                if has_ludb
                else "; LUDB absent"
            )
            + "). Model column: checkpoint name (time steps of the three hooked blocks)."
        )
        write_markdown(args.md, table, header)
        print(f"\nwrote {args.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
