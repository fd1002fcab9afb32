"""The ``ecg-cluster-widget`` command line: ``demo``, ``train``, ``explain``, ``evaluate``.

Every :class:`~ecg_cluster_widget.errors.ECGClusterError` becomes a one-line
``error: ...`` on stderr and exit status 2, so scripts can rely on the status and
users never see a traceback for bad input. Engine modules are imported inside the
commands so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import DataError, ECGClusterError, FileFormatError, ModelError

#: Notebook that ``demo`` opens; a copy ships inside the package.
QUICKSTART = "quickstart.ipynb"


# -- data and model specs ---------------------------------------------------------
def load_data(spec: str, *, fs: float | None = None, n_records: int | None = None,
              seed: int = 0, progress: bool = True):
    """Load a dataset from a command-line spec.

    Parameters
    ----------
    spec : str
        ``synthetic`` (or ``synthetic:N``), ``ptbxl:PATH``, ``ludb:PATH``, ``wfdb:PATH``
        or a bare path to a WFDB record (without extension) or a folder of records.
    fs : float, optional
        Sampling rate for synthetic / PTB-XL data (100 or 500 for PTB-XL); default 100.
    n_records : int, optional
        Cap on the number of records.
    seed : int
        Seed of the synthetic generator.
    progress : bool
        Progress bars.

    Returns
    -------
    ECGDataset

    Examples
    --------
    >>> load_data("synthetic:8", progress=False).signals.shape
    (8, 12, 1000)
    """
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "synthetic":
        from .data.synthetic import make_synthetic

        n = int(rest) if rest else (n_records or 600)
        if n < 1:
            raise DataError(f"synthetic:N needs N >= 1, got {n}.")
        return make_synthetic(n_records=n, fs=fs or 100.0, seed=seed, progress=progress)
    if kind in ("ptbxl", "ludb", "wfdb") and not rest:
        raise DataError(f"--data {spec!r} needs a path, e.g. {kind}:/data/{kind}.")
    path = Path(rest if kind in ("ptbxl", "ludb", "wfdb") else spec).expanduser()
    if kind == "ptbxl":
        _require_path(path)
        from .data.ptbxl import load_ptbxl

        # PTB-XL ships 100 and 500 Hz only; other rates are resampled later from 500 Hz.
        ptb_fs = int(fs) if fs in (100, 500) else (100 if fs is None else 500)
        return load_ptbxl(path, fs=ptb_fs, max_records=n_records, progress=progress)
    if kind == "ludb":
        _require_path(path)
        from .data.ludb import load_ludb

        recs = None if n_records is None else list(range(1, int(n_records) + 1))
        ds = load_ludb(path, records=recs, progress=progress)
    else:
        if not path.exists() and not path.with_suffix(".hea").exists():
            raise FileFormatError(
                f"data {str(path)!r} not found: give a WFDB record path (without extension), a "
                "folder of records, 'synthetic', 'ptbxl:PATH' or 'ludb:PATH'."
            )
        from .data.wfdb_io import load_wfdb

        ds = load_wfdb(path, progress=progress)
    if n_records is not None and len(ds) > n_records:
        ds = ds.subset(slice(0, n_records))
    return ds


def _require_path(path: Path) -> None:
    if not path.exists():
        raise FileFormatError(f"data folder {str(path)!r} does not exist.")


def load_model(spec: str):
    """Load the model named on the command line.

    Parameters
    ----------
    spec : str
        ``"demo"`` for the model shipped with the package, otherwise the path of a
        checkpoint written by ``train`` / :func:`~ecg_cluster_widget.model.save_checkpoint`.

    Returns
    -------
    ModelBundle

    Raises
    ------
    FileFormatError
        If the checkpoint file does not exist.

    Examples
    --------
    >>> load_model("demo").fs
    100.0
    """
    if spec == "demo":
        from .model.pretrained import load_demo_model

        return load_demo_model()
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileFormatError(f"model checkpoint {str(path)!r} not found (or use --model demo).")
    from .model.checkpoint import load_checkpoint

    return load_checkpoint(path)


def fit_to_model(ds, bundle, log=None):
    """Resample / crop / pad a dataset to the model's sampling rate and length.

    Lead sets must already match; anything else is reported by
    ``bundle.check_dataset``.

    Parameters
    ----------
    ds : ECGDataset
        The records to adapt.
    bundle : ModelBundle
        The model whose ``fs`` and ``n_samples`` the records must match.
    log : callable, optional
        Called with a one-line message for each change made.

    Returns
    -------
    ECGDataset
        ``ds`` itself when it already fits, else a resampled / cropped / padded copy.

    Raises
    ------
    DataError
        If the leads do not match the model's.

    Examples
    --------
    >>> bundle = load_model("demo")
    >>> ds = load_data("synthetic:2", fs=200, progress=False)
    >>> fit_to_model(ds, bundle, log=print).signals.shape
    resampling 200 Hz -> 100 Hz to match the model
    (2, 12, 1000)
    """
    from .data import preprocess

    if abs(ds.fs - bundle.fs) > 1e-6:
        if log:
            log(f"resampling {ds.fs:g} Hz -> {bundle.fs:g} Hz to match the model")
        ds = preprocess.resample(ds, bundle.fs)
    if ds.n_samples != bundle.n_samples:
        if log:
            log(f"cropping/padding {ds.n_samples} -> {bundle.n_samples} samples to match the model")
        ds = preprocess.crop_or_pad(ds, bundle.n_samples)
    bundle.check_dataset(ds)
    return ds


def _check_k(k: int) -> int:
    if k < 2:
        raise ModelError(f"--k must be at least 2 clusters, got {k}.")
    return k


def _log(args) -> Any:
    quiet = getattr(args, "json", False)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr if quiet else sys.stdout)

    return log


def _emit_json(obj: Any) -> None:
    from .data.io_utils import _json_default

    print(json.dumps(obj, indent=2, default=_json_default))


# -- demo ---------------------------------------------------------------------------
def packaged_quickstart() -> Path:
    """Path of the quickstart notebook shipped inside the package.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> packaged_quickstart().name
    'quickstart.ipynb'
    """
    return Path(__file__).resolve().parent / "assets" / QUICKSTART


def jupyter_command(notebook: Path, port: int | None = None) -> list[str]:
    """The JupyterLab command ``demo`` runs (``--allow-root`` only when running as root).

    Parameters
    ----------
    notebook : pathlib.Path
        Notebook to open.
    port : int, optional
        JupyterLab port; JupyterLab picks one when omitted.

    Returns
    -------
    list of str
        The argument vector, starting with the current Python interpreter.

    Examples
    --------
    >>> cmd = jupyter_command(Path("quickstart.ipynb"))
    >>> cmd[1:3], "--ip" in cmd
    (['-m', 'jupyterlab'], True)
    """
    cmd = [sys.executable, "-m", "jupyterlab", "--ip", "127.0.0.1", str(notebook)]
    if port is not None:
        cmd += ["--port", str(port)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def cmd_demo(args) -> int:
    log = _log(args)
    _check_k(args.k)
    if args.report or args.no_browser:
        from .demo import format_summary, run_demo

        report = args.report or "ecg_cluster_demo.html"
        summary = run_demo(report=report, n_clusters=args.k, n_records=args.n_records,
                           progress=not args.json)
        if args.json:
            _emit_json(summary)
        else:
            print(format_summary(summary))
            print(f"report written to {summary['report']}")
        return 0
    folder = Path(args.dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / QUICKSTART
    in_repo = folder / "notebooks" / QUICKSTART
    if not target.exists() and in_repo.is_file():
        # Run from a source checkout: open the tracked notebook rather than adding a copy.
        target = in_repo
    if target.exists():
        log(f"using existing {target}")
    else:
        src = packaged_quickstart()
        if not src.is_file():
            raise FileFormatError(f"the packaged notebook {src} is missing; reinstall the package.")
        shutil.copyfile(src, target)
        log(f"wrote {target}")
    cmd = jupyter_command(target, args.port)
    if args.print_command:
        print(" ".join(cmd))
        return 0
    log("starting JupyterLab (Ctrl+C to stop): " + " ".join(cmd))
    try:
        return subprocess.call(cmd, cwd=folder)
    except FileNotFoundError as exc:
        raise FileFormatError(f"could not start JupyterLab ({exc}); pip install jupyterlab.") from exc


# -- train ----------------------------------------------------------------------------
def split_dataset(ds, seed: int = 0, val_frac: float = 0.2, holdout: str = "val"):
    """Train / held-out split: PTB-XL folds when present, else a seeded random split.

    With folds, the PTB-XL convention holds: folds 1-8 train, fold 9 is the validation
    split (``holdout="val"``, used by ``train`` for early stopping) and fold 10 the test
    split (``holdout="test"``, used by ``evaluate``), so the test fold never steers training.

    Parameters
    ----------
    ds : ECGDataset
        At least two records.
    seed : int
        Seed of the random split (ignored when PTB-XL folds are used).
    val_frac : float
        Fraction of records held out by the random split (at least one record).
    holdout : {"val", "test"}
        Which PTB-XL fold to hold out: 9 (validation) or 10 (test).

    Returns
    -------
    train, held_out : ECGDataset
        Disjoint subsets, each in the original record order.

    Raises
    ------
    DataError
        If ``ds`` has fewer than two records.
    ValueError
        If ``holdout`` is not ``"val"`` or ``"test"``.

    Examples
    --------
    >>> ds = load_data("synthetic:10", progress=False)
    >>> tr, va = split_dataset(ds); len(tr), len(va)
    (8, 2)
    """
    if len(ds) < 2:
        raise DataError(f"training needs at least 2 records, got {len(ds)}.")
    if holdout not in ("val", "test"):
        raise ValueError(f"holdout must be 'val' or 'test', got {holdout!r}")
    hold_fold = 9 if holdout == "val" else 10
    if ds.folds is not None and (ds.folds <= 8).any() and (ds.folds == hold_fold).any():
        return ds.subset(ds.folds <= 8), ds.subset(ds.folds == hold_fold)
    order = np.random.default_rng(seed).permutation(len(ds))
    n_val = max(1, int(round(val_frac * len(ds))))
    return ds.subset(np.sort(order[n_val:])), ds.subset(np.sort(order[:n_val]))


def architecture_for(n_samples: int) -> dict[str, Any]:
    """ResNet1d widths and block lengths for records of ``n_samples`` samples.

    1000 samples (10 s at 100 Hz) gives the demo model's layout; other lengths get
    four blocks that downsample by the largest of 4, 5, 2, 3 dividing the length
    (coarse early, fine late), keeping at least 8 steps at the end.

    Parameters
    ----------
    n_samples : int
        Record length in samples.

    Returns
    -------
    dict
        ``{"filters": tuple of int, "seq_lengths": tuple of int}``, the keyword
        arguments of :class:`~ecg_cluster_widget.model.ResNet1d`.

    Examples
    --------
    >>> architecture_for(1000)["seq_lengths"]
    (1000, 500, 250, 125, 25)
    >>> architecture_for(5000)["seq_lengths"]
    (5000, 1250, 250, 50, 25)
    """
    filters = (32, 48, 64, 80, 96)
    if n_samples == 1000:
        return {"filters": filters, "seq_lengths": (1000, 500, 250, 125, 25)}
    lengths, cur = [int(n_samples)], int(n_samples)
    for _ in range(4):
        for d in ((4, 5, 2, 3) if cur > 200 else (2, 5, 3)):
            if cur % d == 0 and cur // d >= 8:
                cur //= d
                break
        lengths.append(cur)
    return {"filters": filters, "seq_lengths": tuple(lengths)}


def cmd_train(args) -> int:
    from .model import ResNet1d, save_checkpoint, train_model

    log = _log(args)
    ds = load_data(args.data, fs=args.fs, n_records=args.n_records, seed=args.seed,
                   progress=not args.json)
    if ds.labels is None:
        raise DataError(f"--data {args.data!r} has no labels; training needs labelled records.")
    ds.check_finite()
    train_ds, val_ds = split_dataset(ds, seed=args.seed)
    arch = architecture_for(ds.n_samples)
    model = ResNet1d(ds.n_leads, ds.labels.shape[1], **arch)
    log(f"training on {len(train_ds)} records, validating on {len(val_ds)} ({ds!r})")
    bundle = train_model(model, train_ds, val_ds, epochs=args.epochs, batch_size=args.batch_size,
                         lr=args.lr, seed=args.seed, progress=not args.json)
    bundle.meta["data"] = args.data
    out = save_checkpoint(args.out, bundle)
    last = bundle.history[-1] if bundle.history else {}
    result = {"out": str(out), "n_train": len(train_ds), "n_val": len(val_ds),
              "epochs_run": len(bundle.history), "final": last}
    if args.json:
        _emit_json(result)
    else:
        for key, value in last.items():
            print(f"{key:>12}: {value:.4f}" if isinstance(value, float) else f"{key:>12}: {value}")
        print(f"model saved to {out}")
    return 0


# -- explain ----------------------------------------------------------------------------
def explanation_record(expl) -> dict[str, Any]:
    """JSON-friendly dict of one ``ECGExplanation``: segments with seconds and entropy.

    Parameters
    ----------
    expl : ECGExplanation
        One record's explanation, from ``TLCExplainer.explain``.

    Returns
    -------
    dict
        ``record_id``, ``fs``, ``cluster_ids``, ``proportions`` (cluster id -> share of
        time), ``mean_entropy``, ``segments`` (start/end in samples and seconds, cluster id,
        mean entropy) and the per-sample ``entropy``; only plain Python types.

    Examples
    --------
    >>> from ecg_cluster_widget.demo import demo_explainer
    >>> tlc, ds, _ = demo_explainer(n_clusters=3, n_records=40)
    >>> rec = explanation_record(tlc.explain(ds, 0))
    >>> sorted(rec)[:4], len(rec["entropy"]) == ds.n_samples
    (['cluster_ids', 'entropy', 'fs', 'mean_entropy'], True)
    """
    segs = []
    for s in expl.segments:
        segs.append({
            "start": int(s.start), "end": int(s.end),
            "start_s": float(s.start_s), "end_s": float(s.end_s),
            "cluster_id": int(s.cluster_id),
            "mean_entropy": float(np.mean(expl.entropy[s.start:s.end])),
        })
    return {
        "record_id": str(expl.record_id), "fs": float(expl.fs),
        "cluster_ids": [int(c) for c in expl.cluster_ids],
        "proportions": {int(c): float(p) for c, p in zip(expl.cluster_ids, expl.proportions)},
        "mean_entropy": float(expl.mean_entropy),
        "segments": segs,
        "entropy": [round(float(e), 5) for e in expl.entropy],
    }


def _safe_name(record_id: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in record_id)
    return keep.strip(".") or "record"


def write_explanations(tlc, ds, out_dir: str | os.PathLike, progress: bool = True) -> list[Path]:
    """Write ``<record>_segments.csv`` and ``<record>.json`` per record, atomically.

    Parameters
    ----------
    tlc : TLCExplainer
        A fitted explainer.
    ds : ECGDataset
        Records to explain.
    out_dir : str or os.PathLike
        Output folder; created if missing.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of pathlib.Path
        The files written, two per record (CSV then JSON).

    Examples
    --------
    >>> import tempfile
    >>> from ecg_cluster_widget.demo import demo_explainer
    >>> tlc, ds, _ = demo_explainer(n_clusters=3, n_records=40)
    >>> paths = write_explanations(tlc, ds.subset([0, 1]), tempfile.mkdtemp(), progress=False)
    >>> len(paths), paths[0].name.endswith("_segments.csv")
    (4, True)
    """
    from tqdm.auto import tqdm

    from .data.io_utils import atomic_write_json, atomic_write_text

    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i in tqdm(range(len(ds)), desc="writing explanations", disable=not progress):
        rec = explanation_record(tlc.explain(ds, i))
        name = _safe_name(rec["record_id"])
        rows = ["start,end,start_s,end_s,cluster_id,mean_entropy"] + [
            f"{s['start']},{s['end']},{s['start_s']:.4f},{s['end_s']:.4f},{s['cluster_id']},"
            f"{s['mean_entropy']:.5f}" for s in rec["segments"]
        ]
        written.append(atomic_write_text(out / f"{name}_segments.csv", "\n".join(rows) + "\n"))
        written.append(atomic_write_json(out / f"{name}.json", rec))
    return written


def cmd_explain(args) -> int:
    from .demo import summarize
    from .explain import TLCExplainer

    log = _log(args)
    _check_k(args.k)
    bundle = load_model(args.model)
    ds = load_data(args.data, fs=bundle.fs, n_records=args.n_records, seed=args.seed,
                   progress=not args.json)
    ds = fit_to_model(ds, bundle, log)
    tlc = TLCExplainer(bundle, n_clusters=args.k, random_state=args.seed, progress=not args.json)
    tlc.fit(ds)
    files = write_explanations(tlc, ds, args.out, progress=not args.json)
    summary = summarize(tlc, ds, bundle)
    summary["out"] = str(Path(args.out))
    summary["files"] = len(files)
    if args.report:
        from .views.report import make_report

        summary["report"] = str(make_report(tlc, ds, args.report, bundle=bundle,
                                            title=f"TLC report: {args.data}"))
    if args.json:
        _emit_json(summary)
    else:
        from .demo import format_summary

        print(format_summary(summary))
        print(f"{len(files)} files written to {args.out}")
        if args.report:
            print(f"report written to {summary['report']}")
    return 0


# -- evaluate ----------------------------------------------------------------------------
def cmd_evaluate(args) -> int:
    from .explain import TLCExplainer
    from .explain.evaluate import evaluate, format_evaluation

    log = _log(args)
    _check_k(args.k)
    bundle = load_model(args.model)
    ds = load_data(args.data, fs=bundle.fs, n_records=args.n_records, seed=args.seed,
                   progress=not args.json)
    ds = fit_to_model(ds, bundle, log)
    train_ds, test_ds = split_dataset(ds, seed=args.seed, val_frac=0.3, holdout="test")
    tlc = TLCExplainer(bundle, n_clusters=args.k, random_state=args.seed, progress=not args.json)
    tlc.fit(train_ds)
    result = evaluate(tlc, bundle, train_ds, test_ds, progress=not args.json)
    if args.report:
        from .views.report import make_report

        make_report(tlc, test_ds, args.report, bundle=bundle, evaluation=result,
                    title=f"TLC evaluation: {args.data}")
    if args.json:
        _emit_json(result)
    else:
        print(format_evaluation(result))
    return 0


# -- parser ----------------------------------------------------------------------------
def _add_common(p: argparse.ArgumentParser, model: bool = True) -> None:
    if model:
        p.add_argument("--model", default="demo", help="checkpoint path, or 'demo' (default)")
    p.add_argument("--data", default="synthetic",
                   help="synthetic[:N] | ptbxl:PATH | ludb:PATH | wfdb:PATH | a record/folder path")
    p.add_argument("--n-records", type=int, default=None, help="use at most this many records")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for docs and tests).

    Returns
    -------
    argparse.ArgumentParser
        Parser with the ``demo``, ``train``, ``explain`` and ``evaluate`` sub-commands.

    Examples
    --------
    >>> build_parser().parse_args(["explain", "--k", "4"]).k
    4
    """
    parser = argparse.ArgumentParser(
        prog="ecg-cluster-widget",
        description="Explain ECG deep-learning models with time-localized clusters.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="open the quickstart notebook, or write the demo report")
    p.add_argument("--dir", default=".", help="folder for quickstart.ipynb (default: current)")
    p.add_argument("--no-browser", action="store_true",
                   help="do not start JupyterLab; build the demo and write the HTML report")
    p.add_argument("--report", default=None, metavar="HTML",
                   help="write the demo report here (implies --no-browser)")
    p.add_argument("--k", type=int, default=6, help="number of clusters (default 6)")
    p.add_argument("--n-records", type=int, default=400, help="synthetic records (default 400)")
    p.add_argument("--port", type=int, default=None, help="JupyterLab port")
    p.add_argument("--print-command", action="store_true",
                   help="write the notebook, print the JupyterLab command, do not run it")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("train", help="train a ResNet1d and save a checkpoint")
    _add_common(p, model=False)
    p.add_argument("--fs", type=float, default=None, help="sampling rate (synthetic / PTB-XL)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--out", default="model.pt", help="checkpoint to write (default model.pt)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("explain", help="segment records into clusters; write CSV + JSON")
    _add_common(p)
    p.add_argument("--k", type=int, default=6, help="number of clusters (default 6)")
    p.add_argument("--out", default="tlc_out", help="output folder (default tlc_out)")
    p.add_argument("--report", default=None, metavar="HTML", help="also write an HTML report")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("evaluate", help="faithfulness and landmark alignment of the clusters")
    _add_common(p)
    p.add_argument("--k", type=int, default=6, help="number of clusters (default 6)")
    p.add_argument("--report", default=None, metavar="HTML", help="also write an HTML report")
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 2 for bad input (reported as one ``error: ...`` line on stderr),
        130 when interrupted.

    Examples
    --------
    >>> main(["--version"])
    ecg-cluster-widget ...
    0
    >>> main(["explain", "--model", "no/such/model.pt"])  # doctest: +SKIP
    error: model checkpoint 'no/such/model.pt' not found (or use --model demo).
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse usage errors already printed their message
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    if getattr(args, "n_records", None) is not None and args.n_records < 1:
        print(f"error: --n-records must be at least 1, got {args.n_records}.", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except ECGClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
