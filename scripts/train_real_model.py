"""Train the real-ECG model shipped as ``ecg_cluster_widget/assets/ptbxl250.pt``.

One reproducible command (same arguments and data -> bitwise the same weights; it runs
single-threaded for that)::

    python scripts/train_real_model.py --data-dir ../shared/data

It reads the PTB-XL subset (``<data-dir>/ptbxl_subset``, PhysioNet layout, 500 Hz),
resamples to 250 Hz, and follows the PTB-XL benchmark convention: ``strat_fold`` 1-8
train, 9 validation (early stopping, best-weight restore on validation macro AUROC),
10 test. The network sees 0.5-40 Hz band-passed signals (the filter is recorded in the
checkpoint, so every later input is filtered the same way). Layout: ResNet1d with
residual blocks stepping 8 / 16 / 80 / 400 ms (2500 -> 1250 -> 625 -> 125 -> 25
samples), so the finest of the last three hooked blocks resolves 16 ms and
blocks 0-2 reach 8 ms. About 10-20 minutes on one CPU core.

PTB-XL (Wagner et al., Scientific Data 7:154, 2020; PhysioNet) is CC BY 4.0; the
attribution is written into the model card next to the weights.

``--out``/``--widths``/``--epochs``/``--no-augment``/``--bandpass`` train variants with
the same recipe (the experiments that chose the shipped settings are in
``experiments/train_models.py`` and ``docs/results.md``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]

from ecg_cluster_widget.data import load_ptbxl, resample  # noqa: E402
from ecg_cluster_widget.data.filtering import SignalFilter  # noqa: E402
from ecg_cluster_widget.data.ptbxl import split_folds  # noqa: E402
from ecg_cluster_widget.model import ResNet1d, evaluate_model, save_checkpoint, train_model  # noqa: E402
from ecg_cluster_widget.model.pretrained import PRETRAINED, pretrained_path, write_model_card  # noqa: E402

PTBXL_ATTRIBUTION = (
    "Trained on PTB-XL v1.0.3 (Wagner, Strodthoff, Bousseljot, Samek, Schaeffter: PTB-XL, a "
    "large publicly available electrocardiography dataset. Scientific Data 7:154, 2020; "
    "Goldberger et al., PhysioBank, PhysioToolkit and PhysioNet, Circulation 101(23), 2000), "
    "licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). The weights are a "
    "derived work; the data are not included."
)


def default_data_dir() -> Path:
    return Path(os.environ.get("ECG_SHARED_DATA", REPO.parent / "shared" / "data"))


def load_splits(data_dir: Path, fs: float, progress: bool):
    """PTB-XL subset at ``fs``: (train, val, test) by strat_fold 1-8 / 9 / 10."""
    root = data_dir / "ptbxl_subset"
    ds = load_ptbxl(root, fs=500, progress=progress)
    if fs != 500:
        ds = resample(ds, fs)
    return split_folds(ds)  # the package's one fold convention


def main(argv: list[str] | None = None) -> int:
    spec = PRETRAINED["ptbxl250"]
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="folder holding ptbxl_subset/ (env ECG_SHARED_DATA)",
    )
    ap.add_argument("--fs", type=float, default=spec["fs"], help="sampling rate the model runs at")
    ap.add_argument(
        "--widths",
        type=int,
        nargs=5,
        default=list(spec["filters"]),
        help="channels of the stem and the four residual blocks",
    )
    ap.add_argument(
        "--seq-lengths",
        type=int,
        nargs=5,
        default=list(spec["seq_lengths"]),
        help="input length followed by each block's output length",
    )
    recipe = spec["recipe"]
    ap.add_argument(
        "--epochs", type=int, default=recipe["epochs"], help="epochs of the cosine schedule"
    )
    ap.add_argument("--batch-size", type=int, default=recipe["batch_size"])
    ap.add_argument("--lr", type=float, default=recipe["lr"])
    ap.add_argument("--weight-decay", type=float, default=recipe["weight_decay"])
    ap.add_argument("--dropout", type=float, default=recipe["dropout"])
    ap.add_argument(
        "--patience",
        type=int,
        default=recipe["epochs"],
        help="early-stopping patience (default: the whole schedule; the EMA weights with the best validation AUROC are kept)",
    )
    ap.add_argument(
        "--bandpass",
        type=float,
        nargs=2,
        default=list(spec["bandpass"]),
        metavar=("LOW", "HIGH"),
        help="band-pass in Hz applied before the network",
    )
    ap.add_argument("--no-augment", action="store_true", help="train without batch augmentation")
    ap.add_argument("--lr-schedule", choices=("none", "cosine"), default=recipe["lr_schedule"])
    ap.add_argument(
        "--ema",
        type=float,
        default=recipe["ema_decay"],
        help="EMA decay of the weights per step (0 = off)",
    )
    ap.add_argument("--seed", type=int, default=0, help="initialisation and batch-order seed")
    # One thread: multi-threaded conv backward reductions may sum in a different order
    # from run to run on a loaded machine.
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 = bitwise reproducible)"
    )
    ap.add_argument("--out", type=Path, default=pretrained_path("ptbxl250"))
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if not (args.data_dir / "ptbxl_subset" / "ptbxl_database.csv").is_file():
        ap.error(
            f"no PTB-XL subset under {args.data_dir}; pass --data-dir (the folder holding ptbxl_subset/)"
        )

    train, val, test = load_splits(args.data_dir, args.fs, not args.no_progress)
    print(
        f"data: {len(train)} train / {len(val)} val / {len(test)} test at {args.fs:g} Hz, "
        f"{train.n_samples} samples; prevalence "
        f"{dict(zip(train.class_names, np.round(train.labels.mean(0), 3).tolist()))}",
        flush=True,
    )
    torch.manual_seed(args.seed)
    model = ResNet1d(
        train.n_leads,
        len(train.class_names),
        filters=tuple(args.widths),
        seq_lengths=tuple(args.seq_lengths),
        dropout=args.dropout,
    )
    signal_filter = SignalFilter(bandpass=tuple(args.bandpass))
    bundle = train_model(
        model,
        train,
        val,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        patience=args.patience,
        seed=args.seed,
        progress=not args.no_progress,
        signal_filter=signal_filter,
        augment=not args.no_augment,
        monitor="val_auroc",
        lr_schedule=None if args.lr_schedule == "none" else args.lr_schedule,
        ema_decay=args.ema if args.ema > 0 else None,
    )
    val_metrics, test_metrics = evaluate_model(bundle, val), evaluate_model(bundle, test)
    seconds = time.perf_counter() - t0
    bundle.meta["data"].update(
        # No machine paths in a shipped file: the loader's source names the folder used.
        source="PTB-XL v1.0.3 subset (ptbxl_subset/, PhysioNet layout)",
        dataset="PTB-XL v1.0.3 subset (records500, resampled)",
        split="strat_fold 1-8 / 9 / 10",
        n_test=len(test),
        license="CC BY 4.0",
    )
    bundle.meta.update(
        metrics={"val": val_metrics, "test": test_metrics},
        trained_by="scripts/train_real_model.py",
        train_seconds=round(seconds, 1),
        torch_version=torch.__version__,
        threads=args.threads,
        attribution=PTBXL_ATTRIBUTION,
        command="python scripts/train_real_model.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    out = save_checkpoint(args.out, bundle)
    write_model_card(
        out,
        bundle,
        license="weights: MIT (this package) as a derived work of CC BY 4.0 data; see attribution",
        attribution=PTBXL_ATTRIBUTION,
        reproduce=bundle.meta["command"],
    )
    print(
        f"val macro AUROC {val_metrics['macro_auroc']:.4f}, test (fold 10) macro AUROC "
        f"{test_metrics['macro_auroc']:.4f}, per class {test_metrics['auroc']}"
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
