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
def load_data(
    spec: str,
    *,
    fs: float | None = None,
    n_records: int | None = None,
    seed: int = 0,
    progress: bool = True,
):
    """Load a dataset from a command-line spec.

    Parameters
    ----------
    spec : str
        ``synthetic`` (or ``synthetic:N``), ``real:ptbxl`` / ``real:ludb`` (the real-ECG
        sample shipped with the package, 500 Hz), ``ptbxl:PATH``, ``ludb:PATH``, ``wfdb:PATH``
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
    if kind == "real":
        from .data.samples import REAL_SAMPLES, load_real_sample

        name = rest or "ptbxl"
        if name not in REAL_SAMPLES:
            raise DataError(
                f"--data real:{name}: choose one of {', '.join('real:' + n for n in REAL_SAMPLES)}."
            )
        ds = load_real_sample(name)
        return ds if n_records is None or len(ds) <= n_records else ds.subset(slice(0, n_records))
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
        A shipped model (``"demo"``: synthetic ECGs, 100 Hz; ``"ptbxl250"``: real PTB-XL
        ECGs, 250 Hz), otherwise the path of a checkpoint written by ``train`` /
        :func:`~ecg_cluster_widget.model.save_checkpoint`.

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
    from .model.pretrained import PRETRAINED, load_pretrained

    if spec in PRETRAINED:
        return load_pretrained(spec)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileFormatError(
            f"model checkpoint {str(path)!r} not found (or use a shipped model: "
            f"{', '.join(PRETRAINED)})."
        )
    from .model.checkpoint import load_checkpoint

    return load_checkpoint(path)


def parse_leads(values) -> list[str] | None:
    """Lead names from ``--leads`` values: space- and/or comma-separated.

    Parameters
    ----------
    values : str, sequence of str or None

    Returns
    -------
    list of str or None
        ``None`` when no lead was given.

    Examples
    --------
    >>> parse_leads(["I,II", "v1"])
    ['I', 'II', 'v1']
    >>> parse_leads(None) is None
    True
    """
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    names = [part.strip() for v in values for part in str(v).split(",") if part.strip()]
    if not names:
        raise DataError("--leads needs at least one lead name, e.g. --leads I,II,V1.")
    return names


def select_leads(ds, leads, log=None):
    """Keep and reorder the leads named on the command line (``None``: all, unchanged).

    Parameters
    ----------
    ds : ECGDataset
    leads : sequence of str or None
        Lead names in the order wanted (case-insensitive, e.g. ``["ii", "V1"]``).
    log : callable, optional
        Called with a one-line message when leads are selected.

    Returns
    -------
    ECGDataset

    Examples
    --------
    >>> select_leads(load_data("synthetic:2", progress=False), ["V1", "ii"]).lead_names
    ('V1', 'II')
    """
    if not leads:
        return ds
    from .data import preprocess

    out = preprocess.select_leads(ds, list(leads))
    if log and tuple(out.lead_names) != tuple(ds.lead_names):
        log(f"using leads {', '.join(out.lead_names)} (of {', '.join(ds.lead_names)})")
    return out


def check_leads(ds, bundle) -> None:
    """Raise a ``DataError`` with the ``--leads`` to pass when the leads differ from the model's.

    Cheap (names only), so it runs before any resampling.

    Parameters
    ----------
    ds : ECGDataset
        The records (after any ``--leads`` selection).
    bundle : ModelBundle
        The model whose ``lead_names`` they must match, in order.

    Raises
    ------
    DataError
        Naming the missing leads, or the ``--leads`` argument that selects and orders them.

    Examples
    --------
    >>> from ecg_cluster_widget.data import ECGDataset
    >>> check_leads(ECGDataset(np.zeros((1, 1, 1000)), fs=100, lead_names=("V1",)),
    ...             load_model("demo"))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: the data has leads V1 but the model expects I, II, ..., V6; the data lacks I, II, III, aVR, aVL, aVF, V2, V3, V4, V5, V6.
    """
    model_leads, data_leads = tuple(bundle.lead_names), tuple(ds.lead_names)
    if data_leads == model_leads:
        return
    missing = [n for n in model_leads if n not in data_leads]
    msg = (
        f"the data has leads {', '.join(data_leads)} but the model expects {', '.join(model_leads)}"
    )
    if missing:
        raise DataError(f"{msg}; the data lacks {', '.join(missing)}.")
    raise DataError(f"{msg}; select and order them with --leads {','.join(model_leads)}.")


def fit_to_model(ds, bundle, log=None, leads=None):
    """Select leads, then resample / crop / pad a dataset to the model's rate and length.

    The lead check comes first (it only compares names), so a lead mismatch is
    reported before any expensive resampling; everything else is reported by
    ``bundle.check_dataset``.

    Parameters
    ----------
    ds : ECGDataset
        The records to adapt.
    bundle : ModelBundle
        The model whose leads, ``fs`` and ``n_samples`` the records must match.
    log : callable, optional
        Called with a one-line message for each change made.
    leads : sequence of str, optional
        Leads to keep, in this order (``--leads``); default: as they are.

    Returns
    -------
    ECGDataset
        ``ds`` itself when it already fits, else a selected / resampled / cropped /
        padded copy.

    Raises
    ------
    DataError
        If the leads do not match the model's (after selection).

    Examples
    --------
    >>> bundle = load_model("demo")
    >>> ds = load_data("synthetic:2", fs=200, progress=False)
    >>> fit_to_model(ds, bundle, log=print).signals.shape
    resampling 200 Hz -> 100 Hz to match the model
    (2, 12, 1000)
    """
    from .data import preprocess

    picked = select_leads(ds, leads)
    check_leads(picked, bundle)  # before the "using leads" note and any resampling
    if log and tuple(picked.lead_names) != tuple(ds.lead_names):
        log(f"using leads {', '.join(picked.lead_names)} (of {', '.join(ds.lead_names)})")
    ds = picked
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
    from .demo import default_demo_dir, prepare_demo_dir

    log = _log(args)
    _check_k(args.k)
    folder = Path(args.workdir).expanduser() if args.workdir else default_demo_dir()
    if args.report or args.no_browser:
        from .demo import format_summary, run_demo, source_checkout

        report = Path(args.report or "ecg_cluster_demo.html").expanduser()
        if not report.is_absolute():
            report = folder / report
        repo = source_checkout()
        if repo is not None and report.resolve().is_relative_to(repo):
            raise DataError(
                f"--report {str(report)!r} is inside the source checkout {str(repo)!r}; "
                "write the demo report outside it."
            )
        summary = run_demo(
            report=report,
            n_clusters=args.k,
            n_records=args.n_records,
            progress=not args.json,
            data=args.data,
        )
        if args.json:
            _emit_json(summary)
        else:
            print(format_summary(summary))
            print(f"report written to {summary['report']}")
        return 0
    target, copied = prepare_demo_dir(folder)
    log(
        f"demo folder: {target.parent} ({'copied' if copied else 'kept your'} {target.name}; "
        "everything the demo writes stays there)"
    )
    cmd = jupyter_command(target, args.port)
    if args.print_command:
        print(" ".join(cmd))
        return 0
    log("starting JupyterLab (Ctrl+C to stop): " + " ".join(cmd))
    try:
        return subprocess.call(cmd, cwd=target.parent)
    except FileNotFoundError as exc:
        raise FileFormatError(
            f"could not start JupyterLab ({exc}); pip install jupyterlab."
        ) from exc


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
        for d in (4, 5, 2, 3) if cur > 200 else (2, 5, 3):
            if cur % d == 0 and cur // d >= 8:
                cur //= d
                break
        lengths.append(cur)
    return {"filters": filters, "seq_lengths": tuple(lengths)}


def training_filter(args):
    """The ``SignalFilter`` that ``train`` bakes into the checkpoint (``None`` with --no-filter).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``train`` arguments (``bandpass``, ``no_filter``).

    Returns
    -------
    SignalFilter or None

    Examples
    --------
    >>> args = build_parser().parse_args(["train"])
    >>> training_filter(args).bandpass
    (0.5, 40.0)
    >>> training_filter(build_parser().parse_args(["train", "--no-filter"])) is None
    True
    """
    if args.no_filter:
        return None
    from .data.filtering import SignalFilter

    low, high = args.bandpass
    return SignalFilter(bandpass=(float(low), float(high)))


def cmd_train(args) -> int:
    from .model import ResNet1d, save_checkpoint, train_model

    log = _log(args)
    signal_filter = training_filter(args)  # bad cut-offs fail before any data is loaded
    leads = parse_leads(args.leads)
    ds = load_data(
        args.data, fs=args.fs, n_records=args.n_records, seed=args.seed, progress=not args.json
    )
    if ds.labels is None:
        raise DataError(f"--data {args.data!r} has no labels; training needs labelled records.")
    ds = select_leads(ds, leads, log)
    ds.check_finite()
    train_ds, val_ds = split_dataset(ds, seed=args.seed)
    arch = architecture_for(ds.n_samples)
    model = ResNet1d(ds.n_leads, ds.labels.shape[1], **arch)
    log(
        f"training on {len(train_ds)} records, validating on {len(val_ds)} ({ds!r}); "
        f"filter: {'none' if signal_filter is None else signal_filter.describe()}"
    )
    bundle = train_model(
        model,
        train_ds,
        val_ds,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        progress=not args.json,
        signal_filter=signal_filter,
    )
    bundle.meta["data"] = args.data
    out = save_checkpoint(args.out, bundle)
    last = bundle.history[-1] if bundle.history else {}
    result = {
        "out": str(out),
        "n_train": len(train_ds),
        "n_val": len(val_ds),
        "epochs_run": len(bundle.history),
        "final": last,
        "leads": list(ds.lead_names),
        "signal_filter": None if signal_filter is None else signal_filter.to_dict(),
    }
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
        segs.append(
            {
                "start": int(s.start),
                "end": int(s.end),
                "start_s": float(s.start_s),
                "end_s": float(s.end_s),
                "cluster_id": int(s.cluster_id),
                "mean_entropy": float(np.mean(expl.entropy[s.start : s.end])),
            }
        )
    return {
        "record_id": str(expl.record_id),
        "fs": float(expl.fs),
        "cluster_ids": [int(c) for c in expl.cluster_ids],
        "proportions": {int(c): float(p) for c, p in zip(expl.cluster_ids, expl.proportions)},
        "mean_entropy": float(expl.mean_entropy),
        "segments": segs,
        "entropy": [round(float(e), 5) for e in expl.entropy],
    }


def _safe_name(record_id: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in record_id)
    return keep.strip(".") or "record"


def record_predictions(bundle, ds, threshold: float = 0.5) -> list[dict[str, Any]]:
    """The model's prediction for every record: predicted classes and probabilities.

    Parameters
    ----------
    bundle : ModelBundle
        The explained model.
    ds : ECGDataset
        Records that fit the model.
    threshold : float
        Probability at or above which a class counts as predicted (multi-label).

    Returns
    -------
    list of dict
        Per record ``record_id``, ``predicted`` (class names at or above ``threshold``,
        most probable first; for a regression model the predicted value per target) and
        ``probabilities`` (class name -> probability; regression: ``{}``).

    Examples
    --------
    >>> ds = load_data("synthetic:2", progress=False)
    >>> pred = record_predictions(load_model("demo"), ds)
    >>> sorted(pred[0]), sorted(pred[0]["probabilities"]) == sorted(ds.class_names)
    (['predicted', 'probabilities', 'record_id'], True)
    """
    out = np.asarray(bundle.predict_proba(ds), dtype=np.float64)
    names = [str(n) for n in bundle.class_names]
    rows: list[dict[str, Any]] = []
    for rid, row in zip(ds.record_ids, out):
        if getattr(bundle, "task", "multilabel") == "regression":
            rows.append(
                {
                    "record_id": str(rid),
                    "predicted": {n: float(v) for n, v in zip(names, row)},
                    "probabilities": {},
                }
            )
            continue
        order = np.argsort(-row, kind="stable")
        rows.append(
            {
                "record_id": str(rid),
                "predicted": [names[j] for j in order if row[j] >= threshold],
                "probabilities": {n: round(float(v), 4) for n, v in zip(names, row)},
            }
        )
    return rows


def format_predictions(predictions: list[dict[str, Any]], limit: int = 20) -> str:
    """Plain-text table of :func:`record_predictions`: one line per record.

    Parameters
    ----------
    predictions : list of dict
        Output of :func:`record_predictions`.
    limit : int
        Records shown; a last line counts the rest.

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_predictions([{"record_id": "7", "predicted": ["MI"],
    ...                            "probabilities": {"NORM": 0.1, "MI": 0.9}}]))
    record              predicted             probabilities (highest first)
    7                   MI                    MI 0.90  NORM 0.10
    """
    lines = [f"{'record':<20}{'predicted':<22}probabilities (highest first)"]
    for p in predictions[:limit]:
        if isinstance(p["predicted"], dict):  # regression
            pred, probs = ", ".join(f"{k} {v:.3g}" for k, v in p["predicted"].items()), ""
        else:
            pred = ", ".join(p["predicted"]) or "(none >= 0.5)"
            ranked = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])
            probs = "  ".join(f"{k} {v:.2f}" for k, v in ranked)
        lines.append(f"{p['record_id']:<20}{pred:<22}{probs}".rstrip())
    if len(predictions) > limit:
        lines.append(f"... {len(predictions) - limit} more records in predictions.csv")
    return "\n".join(lines)


def write_explanations(
    tlc,
    ds,
    out_dir: str | os.PathLike,
    progress: bool = True,
    predictions: list[dict[str, Any]] | None = None,
) -> list[Path]:
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
    predictions : list of dict, optional
        :func:`record_predictions` for ``ds``: each record's JSON then has a
        ``prediction`` entry, and ``predictions.csv`` (record, predicted classes, one
        probability column per class) is written too.

    Returns
    -------
    list of pathlib.Path
        The files written, two per record (CSV then JSON), then ``predictions.csv``.

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

    if predictions is not None and len(predictions) != len(ds):
        raise DataError(f"got {len(predictions)} predictions for {len(ds)} records.")
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i in tqdm(range(len(ds)), desc="writing explanations", disable=not progress):
        rec = explanation_record(tlc.explain(ds, i))
        if predictions is not None:
            rec["prediction"] = {k: v for k, v in predictions[i].items() if k != "record_id"}
        name = _safe_name(rec["record_id"])
        rows = ["start,end,start_s,end_s,cluster_id,mean_entropy"] + [
            f"{s['start']},{s['end']},{s['start_s']:.4f},{s['end_s']:.4f},{s['cluster_id']},"
            f"{s['mean_entropy']:.5f}"
            for s in rec["segments"]
        ]
        written.append(atomic_write_text(out / f"{name}_segments.csv", "\n".join(rows) + "\n"))
        written.append(atomic_write_json(out / f"{name}.json", rec))
    if predictions:
        import csv
        import io

        buf = io.StringIO()
        probs = list(predictions[0]["probabilities"])
        values = (
            list(predictions[0]["predicted"])
            if isinstance(predictions[0]["predicted"], dict)
            else []
        )
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(
            ["record_id", "predicted"] + [f"p_{c}" for c in probs] + [f"pred_{c}" for c in values]
        )
        for p in predictions:
            pred = "" if isinstance(p["predicted"], dict) else ";".join(p["predicted"])
            writer.writerow(
                [p["record_id"], pred]
                + [f"{p['probabilities'][c]:.4f}" for c in probs]
                + [f"{p['predicted'][c]:.6g}" for c in values]
            )
        written.append(atomic_write_text(out / "predictions.csv", buf.getvalue()))
    return written


def cmd_explain(args) -> int:
    from .demo import format_summary, summarize
    from .explain import TLCExplainer

    log = _log(args)
    _check_k(args.k)
    bundle = load_model(args.model)
    ds = load_data(
        args.data, fs=bundle.fs, n_records=args.n_records, seed=args.seed, progress=not args.json
    )
    ds = fit_to_model(ds, bundle, log, leads=parse_leads(args.leads))
    tlc = TLCExplainer.for_model(
        bundle, n_clusters=args.k, random_state=args.seed, progress=not args.json
    )
    tlc.fit(ds)
    predictions = record_predictions(bundle, ds)
    files = write_explanations(tlc, ds, args.out, progress=not args.json, predictions=predictions)
    summary = summarize(tlc, ds, bundle)
    summary["predictions"] = predictions
    summary["out"] = str(Path(args.out))
    summary["files"] = len(files)
    if args.report:
        from .views.report import make_report

        summary["report"] = str(
            make_report(tlc, ds, args.report, bundle=bundle, title=f"TLC report: {args.data}")
        )
    if args.json:
        _emit_json(summary)
    else:
        print(format_summary(summary))
        print()
        print(format_predictions(predictions))
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
    ds = load_data(
        args.data, fs=bundle.fs, n_records=args.n_records, seed=args.seed, progress=not args.json
    )
    ds = fit_to_model(ds, bundle, log, leads=parse_leads(args.leads))
    train_ds, test_ds = split_dataset(ds, seed=args.seed, val_frac=0.3, holdout="test")
    tlc = TLCExplainer.for_model(
        bundle, n_clusters=args.k, random_state=args.seed, progress=not args.json
    )
    tlc.fit(train_ds)
    result = evaluate(tlc, bundle, train_ds, test_ds, progress=not args.json)
    if args.report:
        from .views.report import make_report

        make_report(
            tlc,
            test_ds,
            args.report,
            bundle=bundle,
            evaluation=result,
            title=f"TLC evaluation: {args.data}",
        )
    if args.json:
        _emit_json(result)
    else:
        print(format_evaluation(result))
    return 0


# -- parser ----------------------------------------------------------------------------
class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the examples' line breaks and appends ``(default: X)`` to every option
    whose default is a real value (``None`` / flag defaults are described in the help)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or any(
            action.default is v for v in (None, False, argparse.SUPPRESS)
        ):
            return text
        if action.option_strings and action.nargs != 0:
            default = action.default
            if isinstance(default, (list, tuple)):
                return text + " (default: " + " ".join(str(v) for v in default) + ")"
            return text + " (default: %(default)s)"
        return text


DATA_HELP = (
    "records: synthetic[:N] (N synthetic ECGs, 600 without :N) | real:ptbxl | real:ludb "
    "(real-ECG samples shipped with the package) | ptbxl:PATH | ludb:PATH | wfdb:PATH | a WFDB record or "
    "folder path"
)
LEADS_HELP = (
    "leads to use, in this order, by name (comma- or space-separated, e.g. "
    "II,V1,V5); default: all leads as stored"
)

EPILOGS = {
    "demo": """examples:
  ecg-cluster-widget demo                          # copy quickstart.ipynb to the demo folder, open JupyterLab
  ecg-cluster-widget demo --workdir ~/tlc-demo     # the same in another folder
  ecg-cluster-widget demo --report demo.html       # no Jupyter: write <demo folder>/demo.html

The demo folder is $ECW_DEMO_DIR, else ~/ecg-cluster-widget-demo; it is never inside the
source checkout, and an existing quickstart.ipynb there (your edits) is kept.""",
    "train": """examples:
  ecg-cluster-widget train --data synthetic:2000 --epochs 10 --out synth.pt
  ecg-cluster-widget train --data ptbxl:$ECG_SHARED_DATA/ptbxl_subset --fs 100 --leads I,II,V1,V5 --out ptbxl.pt

The band-pass is stored in the checkpoint and applied to every later input of the model.""",
    "explain": """examples:
  ecg-cluster-widget explain --data synthetic:20 --k 6 --out tlc_out
  ecg-cluster-widget explain --model ptbxl.pt --data wfdb:records/00001_lr --leads I,II,V1,V5 --report out.html

Prints per cluster its share of time, mean entropy and proposed wave name, and per record
the model's prediction; writes <record>_segments.csv, <record>.json and predictions.csv.""",
    "evaluate": """examples:
  ecg-cluster-widget evaluate --data synthetic:300 --k 6 --json
  ecg-cluster-widget evaluate --model ptbxl.pt --data ptbxl:/path/to/ptb-xl --k 6 --report eval.html""",
}


def _add_common(p: argparse.ArgumentParser, model: bool = True) -> None:
    if model:
        p.add_argument(
            "--model",
            default="demo",
            help="checkpoint written by `train`, or a shipped model: 'demo' (synthetic ECGs, "
            "100 Hz) or 'ptbxl250' (real PTB-XL ECGs, 250 Hz)",
        )
    p.add_argument("--data", default="synthetic", help=DATA_HELP)
    p.add_argument("--leads", nargs="+", default=None, metavar="LEAD", help=LEADS_HELP)
    p.add_argument(
        "--n-records",
        type=int,
        default=None,
        metavar="N",
        help="use at most N records (default: all)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of data, splits and clustering")
    p.add_argument(
        "--json",
        action="store_true",
        help="print machine-readable JSON on stdout (messages go to stderr)",
    )


def _sub(sub, name: str, help: str) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog=EPILOGS[name],
        formatter_class=_HelpFormatter,
    )


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
        epilog="examples:\n  ecg-cluster-widget demo\n  ecg-cluster-widget explain --help\n\n"
        "Data paths come from --data; the test suite and experiments read real data "
        "from $ECG_SHARED_DATA.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _sub(sub, "demo", "open the quickstart notebook in JupyterLab, or write the demo report")
    p.add_argument(
        "--workdir",
        "--dir",
        dest="workdir",
        default=None,
        metavar="DIR",
        help="folder the demo works in (default: $ECW_DEMO_DIR or ~/ecg-cluster-widget-demo)",
    )
    p.add_argument(
        "--no-browser",
        action="store_true",
        help="do not start JupyterLab; fit the demo and write <DIR>/ecg_cluster_demo.html",
    )
    p.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="write the demo report here (default: none; a relative path goes inside DIR); "
        "implies --no-browser",
    )
    p.add_argument(
        "--data",
        choices=("synthetic", "real"),
        default="synthetic",
        help="report on synthetic ECGs with the demo model, or on the shipped real ECGs "
        "(20 LUDB records) with the real-ECG model ptbxl250 fitted on 40 shipped "
        "PTB-XL records; the notebook shows both",
    )
    p.add_argument("--k", type=int, default=6, help="number of clusters")
    p.add_argument(
        "--n-records",
        type=int,
        default=400,
        metavar="N",
        help="synthetic records the report is fitted on",
    )
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help="JupyterLab port (default: JupyterLab picks a free one from 8888)",
    )
    p.add_argument(
        "--print-command",
        action="store_true",
        help="copy the notebook and print the JupyterLab command instead of running it",
    )
    p.add_argument("--json", action="store_true", help="print the report's summary as JSON")
    p.set_defaults(func=cmd_demo)

    p = _sub(sub, "train", "train a ResNet1d on labelled records and save a checkpoint")
    _add_common(p, model=False)
    p.add_argument(
        "--fs",
        type=float,
        default=None,
        help="sampling rate in Hz for synthetic / PTB-XL data (default: 100)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=10,
        help="maximum number of epochs; early stopping on the validation loss may end sooner",
    )
    p.add_argument("--batch-size", type=int, default=64, help="records per optimisation step")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument(
        "--bandpass",
        nargs=2,
        type=float,
        default=(0.5, 40.0),
        metavar=("LOW", "HIGH"),
        help="zero-phase band-pass in Hz applied in training and stored in the checkpoint",
    )
    p.add_argument(
        "--no-filter", action="store_true", help="no band-pass: train on the signals as given"
    )
    p.add_argument("--out", default="model.pt", help="checkpoint to write")
    p.set_defaults(func=cmd_train)

    p = _sub(sub, "explain", "segment records into clusters; write CSV + JSON per record")
    _add_common(p)
    p.add_argument("--k", type=int, default=6, help="number of clusters")
    p.add_argument("--out", default="tlc_out", help="output folder")
    p.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="also write a standalone HTML report here (default: none)",
    )
    p.set_defaults(func=cmd_explain)

    p = _sub(sub, "evaluate", "faithfulness and landmark alignment of the clusters")
    _add_common(p)
    p.add_argument("--k", type=int, default=6, help="number of clusters")
    p.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="also write a standalone HTML report here (default: none)",
    )
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
