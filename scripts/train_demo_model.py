"""Train the demo model shipped as ``ecg_cluster_widget/assets/demo_model.pt``.

One reproducible command (same arguments -> bitwise the same weights; it runs
single-threaded for that)::

    python scripts/train_demo_model.py

It draws ``make_synthetic(n_records, seed=DEMO_TRAIN_SEED, **DEMO_DATA_KWARGS)``,
splits it 70/15/15 into train/validation/test with ``--seed``, trains a
``ResNet1d.for_input(100, 1000, size="tiny")`` (the default lengths 1000 -> 500 ->
250 -> 125 -> 25, widths 16-48, ~0.2 M parameters, so the demo stays fast) with
early stopping on the validation loss, reports validation and test macro AUROC and
writes the checkpoint plus a small JSON model card, both atomically. About 2 minutes
on an idle CPU core; ~15 minutes when the machine is heavily shared.

``--seq-lengths`` trains another layout with the same recipe (used by
``benchmarks/alignment_study.py``; e.g. ``--seq-lengths 1000 500 250 250 125
--out /tmp/m.pt``); the shipped model keeps the default layout (``docs/alignment.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.model import ResNet1d, evaluate_model, save_checkpoint, train_model
from ecg_cluster_widget.model.pretrained import (
    DEMO_DATA_KWARGS,
    DEMO_TRAIN_SEED,
    demo_model_path,
    write_model_card,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-records", type=int, default=1200)
    ap.add_argument("--size", default="tiny", choices=("tiny", "small", "ribeiro"))
    ap.add_argument(
        "--seq-lengths",
        type=int,
        nargs="+",
        default=None,
        help="override the lengths chosen by ResNet1d.for_input (stem + blocks, e.g. 1000 500 250 125 125)",
    )
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument(
        "--seed", type=int, default=0, help="split, initialisation and batch-order seed"
    )
    # One thread: multi-threaded conv backward reductions may sum in a different order
    # from run to run on a loaded machine, which made two 2-thread runs diverge.
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 = bitwise reproducible)"
    )
    ap.add_argument("--out", type=Path, default=demo_model_path())
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()

    ds = make_synthetic(
        args.n_records, seed=DEMO_TRAIN_SEED, progress=not args.no_progress, **DEMO_DATA_KWARGS
    )
    perm = np.random.default_rng(args.seed).permutation(len(ds))
    n_tr, n_va = int(0.7 * len(ds)), int(0.15 * len(ds))
    train, val, test = (ds.subset(np.sort(i)) for i in np.split(perm, [n_tr, n_tr + n_va]))
    print(
        f"data: {len(train)} train / {len(val)} val / {len(test)} test, "
        f"prevalence {dict(zip(ds.class_names, np.round(train.labels.mean(0), 3).tolist()))}"
    )

    torch.manual_seed(args.seed)
    model = ResNet1d.for_input(
        ds.fs, ds.n_samples, n_leads=ds.n_leads, n_classes=len(ds.class_names), size=args.size
    )
    if args.seq_lengths is not None:
        cfg = dict(model.config)
        if len(args.seq_lengths) != len(cfg["filters"]) or args.seq_lengths[0] != ds.n_samples:
            ap.error(
                f"--seq-lengths needs {len(cfg['filters'])} values starting with {ds.n_samples}"
            )
        cfg["seq_lengths"] = tuple(args.seq_lengths)
        torch.manual_seed(args.seed)  # same initialisation stream as without the override
        model = ResNet1d(**cfg)
    bundle = train_model(
        model,
        train,
        val,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        seed=args.seed,
        progress=not args.no_progress,
    )
    val_metrics, test_metrics = evaluate_model(bundle, val), evaluate_model(bundle, test)
    seconds = time.perf_counter() - t0
    bundle.meta["data"].update(
        generator="ecg_cluster_widget.data.synthetic.make_synthetic",
        kwargs=dict(DEMO_DATA_KWARGS, n_records=args.n_records, seed=DEMO_TRAIN_SEED),
        split="70/15/15 random permutation",
        split_seed=args.seed,
        n_test=len(test),
    )
    bundle.meta.update(
        metrics={"val": val_metrics, "test": test_metrics},
        trained_by="scripts/train_demo_model.py",
        train_seconds=round(seconds, 1),
        torch_version=torch.__version__,
        threads=args.threads,
    )
    out = save_checkpoint(args.out, bundle)
    write_model_card(out, bundle, reproduce="python scripts/train_demo_model.py")
    print(
        f"val macro AUROC {val_metrics['macro_auroc']:.4f}, test macro AUROC "
        f"{test_metrics['macro_auroc']:.4f}, per class {test_metrics['auroc']}"
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
