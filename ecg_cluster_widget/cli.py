"""The ``ecg-cluster-widget`` command line: ``demo``, ``train``, ``explain``, ``evaluate``.

Argument parsing, calls into the library (:mod:`.data.loading`, :mod:`.model.fitting`,
:mod:`.explain.windowing`, :mod:`.explain.export`) and printing.

Every bad input exits with status 2 and one line ``error: ...`` on stderr: argument
values are checked while parsing (``--data`` spec, ``--fs``, counts, whether ``--out``
can be written), usage errors are one line too, and every
:class:`~ecg_cluster_widget.errors.ECGClusterError` raised later becomes one line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .data.loading import (
    check_writable,
    fit_to_model,
    load_data,
    parse_data_spec,
    parse_leads,
    split_dataset,
    use_leads,
)
from .errors import ECGClusterError, FileFormatError
from .model.fitting import load_model

__all__ = ["main", "build_parser", "load_data", "load_model", "split_dataset"]


# -- argument types: bad values fail while parsing, before any work --------------------
def _number(kind, minimum: float, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"{what}, got {text!r}.")
        return value

    return parse


_count = _number(int, 1, "must be a whole number >= 1")
_clusters = _number(int, 2, "must be at least 2 clusters")
_positive = _number(float, math.ulp(0.0), "must be a positive number")


def _checked(check, **kw):
    """An argument type from a check that raises the package's one-line errors."""

    def parse(text: str):
        try:
            return check(text, **kw)
        except ECGClusterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


_data_spec = _checked(parse_data_spec)
_out_dir, _out_file = _checked(check_writable, folder=True), _checked(check_writable, folder=False)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one ``error: ...`` line (no usage block), exit status 2."""

    def error(self, message: str):
        # argparse prefixes "argument --x: "; drop it when the message names --x itself
        m = re.match(r"argument (\S+): (.*)$", message, re.S)
        if m and m.group(2).startswith(m.group(1).split("/")[0]):
            message = m.group(2)
        self.exit(2, f"error: {' '.join(message.split())}\n")


def _log(args) -> Any:
    out = sys.stderr if getattr(args, "json", False) else sys.stdout
    return lambda msg: print(msg, file=out)


def _emit_json(obj: Any) -> None:
    from .data.io_utils import to_jsonable

    print(json.dumps(to_jsonable(obj), indent=2))


# -- demo ---------------------------------------------------------------------------
def _jupyter_command(notebook: Path, port: int | None = None) -> list[str]:
    """The JupyterLab command ``demo`` runs (``--allow-root`` only when running as root)."""
    cmd = [sys.executable, "-m", "jupyterlab", "--ip", "127.0.0.1", str(notebook)]
    if port is not None:
        cmd += ["--port", str(port)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def cmd_demo(args) -> int:
    from .demo import default_demo_dir, prepare_demo_dir

    log = _log(args)
    folder = Path(args.workdir).expanduser() if args.workdir else default_demo_dir()
    if args.report or args.no_browser:
        from .demo import format_summary, run_demo

        summary = run_demo(
            report=args.report or "ecg_cluster_demo.html",
            n_clusters=args.k,
            n_records=args.n_records,
            progress=not args.json,
            data=args.data,
            workdir=folder,
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
    cmd = _jupyter_command(target, args.port)
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
def cmd_train(args) -> int:
    from .data.filtering import SignalFilter
    from .model import save_checkpoint
    from .model.fitting import fit_classifier

    log = _log(args)
    # bad cut-offs fail before any data is loaded
    signal_filter = None if args.no_filter else SignalFilter(bandpass=tuple(args.bandpass))
    leads = parse_leads(args.leads)
    ds = load_data(
        args.data, fs=args.fs, n_records=args.n_records, seed=args.seed, progress=not args.json
    )
    ds = use_leads(ds, leads, log)
    bundle, train_ds, val_ds = fit_classifier(
        ds,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        signal_filter=signal_filter,
        progress=not args.json,
        log=log,
    )
    bundle.meta["data"] = args.data.text
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
def _model_records_explainer(args, log, length: bool):
    """The model, the records of ``--data`` fitted to it (``length``: crop / pad too) and an
    explainer of the model with ``--k`` clusters, not fitted yet."""
    from .explain import TLCExplainer

    bundle = load_model(args.model)
    progress = not args.json
    ds = load_data(
        args.data, fs=bundle.fs, n_records=args.n_records, seed=args.seed, progress=progress
    )
    ds = fit_to_model(ds, bundle, log, leads=parse_leads(args.leads), length=length)
    tlc = TLCExplainer.for_model(
        bundle, n_clusters=args.k, random_state=args.seed, progress=progress
    )
    return bundle, ds, tlc


def cmd_explain(args) -> int:
    from .demo import format_summary, summarize
    from .explain.export import format_predictions, write_explanations
    from .explain.windowing import fit_and_explain
    from .model.fitting import record_predictions

    log = _log(args)
    bundle, ds, tlc = _model_records_explainer(args, log, length=False)
    windows, explanations = fit_and_explain(tlc, ds, bundle.n_samples, log=log)
    windowed = windows.ds is not ds
    predictions = record_predictions(
        bundle, windows.ds, windows=windows if windowed else None, record_ids=ds.record_ids
    )
    files, renamed = write_explanations(
        explanations, args.out, progress=not args.json, predictions=predictions
    )
    for rid, stem in renamed.items():
        log(f"record {rid!r} written as {stem}.json: its file name would clash with another's")
    summary = summarize(tlc, windows.ds, bundle)
    summary.update(n_records=len(ds), n_samples=ds.n_samples, predictions=predictions)
    if windowed:
        summary["n_windows"] = len(windows)
    summary.update(out=str(args.out), files=len(files), renamed=renamed)
    if args.report:
        from .views.report import make_report

        title = f"TLC report: {args.data.text}" + (" (model-length windows)" if windowed else "")
        summary["report"] = str(
            make_report(tlc, windows.ds, args.report, bundle=bundle, title=title)
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
    from .explain.evaluate import evaluate, format_evaluation

    log = _log(args)
    bundle, ds, tlc = _model_records_explainer(args, log, length=True)
    train_ds, test_ds = split_dataset(ds, seed=args.seed, val_frac=0.3, holdout="test")
    tlc.fit(train_ds)
    result = evaluate(tlc, bundle, train_ds, test_ds, progress=not args.json)
    if args.report:
        from .views.report import make_report

        title = f"TLC evaluation: {args.data.text}"
        make_report(tlc, test_ds, args.report, bundle=bundle, evaluation=result, title=title)
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
        text, default = action.help or "", action.default
        if "%(default)" in text or any(default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        if not action.option_strings or action.nargs == 0:
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else "%(default)s"
        return f"{text} (default: {shown})"


DATA_HELP = (
    "records: synthetic[:N] (N synthetic ECGs, 600 without :N) | real:ptbxl | real:ludb "
    "(real-ECG samples shipped with the package) | ptbxl:PATH | ludb:PATH | wfdb:PATH | a WFDB record or "
    "folder path"
)
MODEL_HELP = (
    "checkpoint written by `train`, or a shipped model: 'demo' (synthetic ECGs, 100 Hz) or "
    "'ptbxl250' (real PTB-XL ECGs, 250 Hz)"
)
WORKDIR_HELP = "folder the demo works in (default: $ECW_DEMO_DIR or ~/ecg-cluster-widget-demo)"
DEMO_REPORT_HELP = (
    "write the demo report here (default: none; a relative path goes inside DIR); implies "
    "--no-browser"
)
DEMO_DATA_HELP = (
    "report on the shipped real ECGs (20 LUDB records) with the real-ECG model ptbxl250 "
    "fitted on 40 shipped PTB-XL records (default), or on synthetic ECGs with the demo "
    "model; the notebook shows both"
)
BANDPASS_HELP = "zero-phase band-pass in Hz applied in training and stored in the checkpoint"
REPORT_HELP = "also write a standalone HTML report here (default: none)"
NO_BROWSER_HELP = "do not start JupyterLab; fit the demo and write <DIR>/ecg_cluster_demo.html"
PORT_HELP = "JupyterLab port (default: JupyterLab picks a free one from 8888)"
PRINT_COMMAND_HELP = "copy the notebook and print the JupyterLab command instead of running it"
FS_HELP = "sampling rate in Hz for synthetic / PTB-XL data (default: 100)"
EPOCHS_HELP = "maximum number of epochs; early stopping on the validation loss may end sooner"
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
the model's prediction; writes <record>_segments.csv, <record>.json and predictions.csv.
Records of any length: longer ones are explained in overlapping windows of the model's
length, shorter ones are padded; every file says which samples are valid.""",
    "evaluate": """examples:
  ecg-cluster-widget evaluate --data synthetic:300 --k 6 --json
  ecg-cluster-widget evaluate --model ptbxl.pt --data ptbxl:/path/to/ptb-xl --k 6 --report eval.html""",
}


_FLAG = "flag"  # an option that takes no value (store_true)
_N, _LOW_HIGH = {"metavar": "N"}, ("LOW", "HIGH")
_COMMON = [
    ("--data", _data_spec, "synthetic", DATA_HELP, {}),
    ("--leads", str, None, LEADS_HELP, {"nargs": "+", "metavar": "LEAD"}),
    ("--n-records", _count, None, "use at most N records (default: all)", _N),
    ("--seed", int, 0, "random seed of data, splits and clustering", {}),
    ("--json", _FLAG, False, "print machine-readable JSON on stdout (messages go to stderr)", {}),
]
_MODEL = [("--model", str, "demo", MODEL_HELP, {})]
_K = [("--k", _clusters, 6, "number of clusters", {})]
_REPORT = [("--report", _out_file, None, REPORT_HELP, {"metavar": "HTML"})]
#: Per command: (help, options); an option is (flag(s), type, default, help, extra kwargs).
COMMANDS: dict[str, tuple[str, list]] = {
    "demo": (
        "open the quickstart notebook in JupyterLab, or write the demo report",
        [
            (("--workdir", "--dir"), str, None, WORKDIR_HELP, {"metavar": "DIR"}),
            ("--no-browser", _FLAG, False, NO_BROWSER_HELP, {}),
            ("--report", str, None, DEMO_REPORT_HELP, {"metavar": "HTML"}),
            ("--data", str, "real", DEMO_DATA_HELP, {"choices": ("real", "synthetic")}),
            *_K,
            ("--n-records", _count, 400, "synthetic records the report is fitted on", _N),
            ("--port", _count, None, PORT_HELP, {}),
            ("--print-command", _FLAG, False, PRINT_COMMAND_HELP, {}),
            ("--json", _FLAG, False, "print the report's summary as JSON", {}),
        ],
    ),
    "train": (
        "train a ResNet1d on labelled records and save a checkpoint",
        [
            *_COMMON,
            ("--fs", _positive, None, FS_HELP, {}),
            ("--epochs", _count, 10, EPOCHS_HELP, {}),
            ("--batch-size", _count, 64, "records per optimisation step", {}),
            ("--lr", _positive, 1e-3, "Adam learning rate", {}),
            ("--bandpass", float, (0.5, 40.0), BANDPASS_HELP, {"nargs": 2, "metavar": _LOW_HIGH}),
            ("--no-filter", _FLAG, False, "no band-pass: train on the signals as given", {}),
            ("--out", _out_file, "model.pt", "checkpoint to write", {}),
        ],
    ),
    "explain": (
        "segment records into clusters; write CSV + JSON per record",
        [
            *_MODEL,
            *_COMMON,
            *_K,
            ("--out", _out_dir, "tlc_out", "output folder", {}),
            *_REPORT,
        ],
    ),
    "evaluate": (
        "faithfulness and landmark alignment of the clusters",
        [*_MODEL, *_COMMON, *_K, *_REPORT],
    ),
}


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
    parser = _Parser(
        prog="ecg-cluster-widget",
        description="Explain ECG deep-learning models with time-localized clusters.",
        epilog="examples:\n  ecg-cluster-widget demo\n  ecg-cluster-widget explain --help\n\n"
        "Data paths come from --data; the test suite and experiments read real data "
        "from $ECG_SHARED_DATA.",
        formatter_class=_HelpFormatter,
    )
    version = f"%(prog)s {__version__}"
    parser.add_argument("--version", action="version", version=version, help="print the version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (text, options) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=text,
            description=text[0].upper() + text[1:] + ".",
            epilog=EPILOGS[name],
            formatter_class=_HelpFormatter,
        )
        p.set_defaults(func=globals()[f"cmd_{name}"])
        for flags, type_, default, help_, extra in options:
            flags = (flags,) if isinstance(flags, str) else flags
            if type_ is _FLAG:
                p.add_argument(*flags, action="store_true", help=help_)
            else:
                p.add_argument(*flags, type=type_, default=default, help=help_, **extra)
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
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors already printed their one line
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except ECGClusterError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except OSError as exc:  # what the package did not word itself: still one line
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
