"""The ``ecg-cluster-widget`` command line, in-process and as a subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from ecg_cluster_widget.cli import _jupyter_command, build_parser, main

# Minutes in all (trainings, subprocesses, whole experiments): the full suite only.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


def run_quiet(args: list[str]) -> tuple[int, str, str]:
    """``main(args)`` with its output captured, for module-scoped fixtures (no capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def two_lead(tmp_path_factory):
    """One trained 2-lead model (``--leads ii I``: reordered to II, I) shared by the tests
    that need a model of their own: ``(checkpoint path, train --json summary)``."""
    ckpt = tmp_path_factory.mktemp("model") / "m.pt"
    argv = ["train", "--data", "synthetic:40", "--epochs", "1", "--seed", "1"]
    rc, out, err = run_quiet([*argv, "--leads", "ii", "I", "--out", str(ckpt), "--json"])
    assert rc == 0, err
    return ckpt, json.loads(out)


@pytest.fixture(scope="module")
def demo_explained(tmp_path_factory):
    """``explain`` of 40 synthetic records by the demo model: ``(summary, out folder)``."""
    out_dir = tmp_path_factory.mktemp("explained")
    argv = ["explain", "--data", "synthetic:40", "--k", "4", "--seed", "5"]
    rc, out, err = run_quiet([*argv, "--out", str(out_dir), "--json"])
    assert rc == 0, err
    return json.loads(out), out_dir


# -- parsing and errors ----------------------------------------------------------------
def test_help_and_version(capsys):
    rc, out, _ = run_cli([], capsys)
    assert rc == 0 and "demo" in out and "evaluate" in out
    assert run_cli(["--version"], capsys)[0] == 0
    assert build_parser().parse_args(["train", "--epochs", "3"]).epochs == 3


def test_missing_model_file(tmp_path, capsys):
    rc, out, err = run_cli(
        [
            "explain",
            "--model",
            str(tmp_path / "nope.pt"),
            "--data",
            "synthetic:4",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert rc == 2 and out == ""
    assert "not found" in one_line_error(err)


def test_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"this is not a torch checkpoint" * 10)
    rc, _, err = run_cli(["evaluate", "--model", str(bad), "--data", "synthetic:8"], capsys)
    assert rc == 2
    one_line_error(err)


def test_k_one_is_rejected(tmp_path, capsys):
    rc, _, err = run_cli(
        ["explain", "--k", "1", "--data", "synthetic:4", "--out", str(tmp_path)], capsys
    )
    assert rc == 2 and "at least 2" in one_line_error(err)


def test_missing_data_path(tmp_path, capsys):
    rc, _, err = run_cli(
        [
            "explain",
            "--data",
            str(tmp_path / "no_record"),
            "--k",
            "3",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert rc == 2 and "not found" in one_line_error(err)
    rc, _, err = run_cli(["train", "--data", "ptbxl:", "--out", str(tmp_path / "m.pt")], capsys)
    assert rc == 2 and "needs a path" in one_line_error(err)
    assert not (tmp_path / "m.pt").exists()


def test_bad_n_records(capsys):
    rc, _, err = run_cli(["evaluate", "--n-records", "0"], capsys)
    assert rc == 2 and "--n-records" in one_line_error(err)


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["explain", "--data", "synthetic:abc"], "synthetic:abc"),
        (["train", "--data", "synthetic:0"], "synthetic:200"),
        (["explain", "--data", "real:nope"], "real:ptbxl"),
        (["train", "--fs", "0"], "--fs"),
        (["train", "--fs", "nan"], "--fs"),
        (["train", "--epochs", "0"], "--epochs"),
        (["explain", "--k", "x"], "--k"),
        (["explain", "--no-such-option"], "--no-such-option"),
        (["nocommand"], "invalid choice"),
    ],
)
def test_bad_values_fail_while_parsing_with_one_line(argv, needle, capsys):
    rc, out, err = run_cli(argv, capsys)
    assert rc == 2 and out == ""
    assert needle in one_line_error(err)


def test_unwritable_out_fails_before_any_work(tmp_path, capsys, monkeypatch):
    import ecg_cluster_widget.cli as cli

    def no_loading(*a, **k):
        raise AssertionError("data loaded before --out was checked")

    monkeypatch.setattr(cli, "load_data", no_loading)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [
        (["explain", "--out", str(a_file)], "is a file"),
        (["explain", "--out", str(a_file / "sub")], "not a folder"),
        (["train", "--out", str(tmp_path)], "is a folder"),
        (["train", "--out", str(a_file / "m.pt")], "not a folder"),
        (["explain", "--report", str(a_file / "r.html")], "not a folder"),
    ]
    for argv, needle in cases:
        rc, _, err = run_cli([*argv, "--data", "synthetic:4"], capsys)
        line = one_line_error(err)
        assert rc == 2 and "--" in line and needle in line, line
    assert a_file.read_text() == "x"


def test_unwritable_out_subprocess(tmp_path):
    (tmp_path / "f").write_text("x")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecg_cluster_widget",
            "train",
            "--out",
            str(tmp_path / "f" / "m.pt"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "cannot write" in one_line_error(proc.stderr)


@pytest.mark.parametrize("fs", [100, 250, 500])
def test_cli_train_builds_the_library_network(tmp_path, capsys, fs):
    """`train` sizes the network with ResNet1d.for_input, the library's one rule."""
    from ecg_cluster_widget.model import ResNet1d, load_checkpoint

    ckpt = tmp_path / "m.pt"
    rc, out, _ = run_cli(
        ["train", "--data", "synthetic:10", "--fs", str(fs), "--epochs", "1", "--leads", "II,V1"]
        + ["--out", str(ckpt), "--json"],
        capsys,
    )
    assert rc == 0, out
    net = load_checkpoint(ckpt).model
    ref = ResNet1d.for_input(fs, 10 * fs, n_leads=2, n_classes=net.config["n_classes"])
    assert net.config == ref.config
    assert [p.shape for p in net.parameters()] == [p.shape for p in ref.parameters()]


# -- help -------------------------------------------------------------------------------
def _subparsers():
    import argparse

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, action.choices


def test_every_option_has_help_default_and_example(capsys):
    parser, subs = _subparsers()
    assert set(subs) == {"demo", "train", "explain", "evaluate"}
    for name, sub in subs.items():
        rc, out, _ = run_cli([name, "--help"], capsys)
        assert rc == 0
        assert "examples:" in out and f"ecg-cluster-widget {name}" in out.split("examples:")[1]
        for action in sub._actions:
            if "-h" in action.option_strings:
                continue
            assert action.help and len(action.help) > 10, (name, action.option_strings)
            if action.nargs == 0:  # flags: the help says what they switch on
                continue
            formatted = sub.formatter_class("x")._get_help_string(action)
            assert "default" in formatted, (name, action.option_strings, formatted)
    assert "(default: 0.5 40.0)" in " ".join(run_cli(["train", "--help"], capsys)[1].split())
    assert "(default: 6)" in run_cli(["explain", "--help"], capsys)[1]


SOURCE_SUFFIXES = {
    ".py",
    ".sh",
    ".md",
    ".ipynb",
    ".toml",
    ".cfg",
    ".ini",
    ".yml",
    ".yaml",
    ".js",
    ".txt",
    "",
}


def test_no_machine_specific_paths_in_the_repo():
    """No absolute path of one machine (under the work, root or a home folder) in the code,
    scripts, notebooks and docs: data paths come from arguments or ECG_SHARED_DATA."""
    import re

    pattern = re.compile(r"(?<![\w.~-])/(?:work|root|home/\w+)(?:/|\b)(?!-)")
    if (REPO / ".git").exists():
        files = subprocess.run(
            ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
    else:
        files = [
            str(p.relative_to(REPO))
            for p in REPO.rglob("*")
            if p.is_file() and not {".venv", "node_modules", ".git"} & set(p.parts)
        ]
    hits = []
    for rel in files:
        path = REPO / rel
        if (
            path.suffix not in SOURCE_SUFFIXES
            or not path.is_file()
            or path.stat().st_size > 2_000_000
        ):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        hits += [f"{rel}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not hits, hits


# -- demo -------------------------------------------------------------------------------
def test_demo_copies_notebook_into_workdir_and_prints_command(tmp_path, capsys):
    work = tmp_path / "demo"
    rc, out, _ = run_cli(["demo", "--workdir", str(work), "--print-command"], capsys)
    assert rc == 0
    assert f"demo folder: {work.resolve()}" in out
    nb = nbformat.read(str(work / "quickstart.ipynb"), as_version=4)
    assert any("ClusterExplorer" in c.source for c in nb.cells)
    cmd = out.strip().splitlines()[-1]
    assert "jupyterlab" in cmd and "--ip 127.0.0.1" in cmd
    assert str((work / "quickstart.ipynb").resolve()) in cmd
    assert ("--allow-root" in cmd) == (os.geteuid() == 0)
    # an existing notebook (the user's edits) is never overwritten
    (work / "quickstart.ipynb").write_text("{}")
    assert run_cli(["demo", "--dir", str(work), "--print-command"], capsys)[0] == 0
    assert (work / "quickstart.ipynb").read_text() == "{}"


def test_demo_default_folder_is_outside_the_checkout(tmp_path, capsys, monkeypatch):
    from ecg_cluster_widget.demo import default_demo_dir

    monkeypatch.delenv("ECW_DEMO_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_demo_dir() == tmp_path / "ecg-cluster-widget-demo"
    monkeypatch.setenv("ECW_DEMO_DIR", str(tmp_path / "elsewhere"))
    rc, out, _ = run_cli(["demo", "--print-command"], capsys)
    assert rc == 0 and (tmp_path / "elsewhere" / "quickstart.ipynb").is_file()
    assert str(REPO / "notebooks" / "quickstart.ipynb") not in out


def test_demo_refuses_a_folder_inside_the_checkout(tmp_path, capsys, monkeypatch):
    import ecg_cluster_widget.demo as demo

    fake_repo = tmp_path / "repo"
    (fake_repo / "notebooks").mkdir(parents=True)
    monkeypatch.setattr(demo, "source_checkout", lambda: fake_repo)
    rc, _, err = run_cli(
        ["demo", "--workdir", str(fake_repo / "notebooks"), "--print-command"], capsys
    )
    assert rc == 2 and "inside the source checkout" in one_line_error(err)
    assert not (fake_repo / "notebooks" / "quickstart.ipynb").exists()
    rc, _, err = run_cli(["demo", "--report", str(fake_repo / "r.html")], capsys)
    assert rc == 2 and "inside the source checkout" in one_line_error(err)
    # the real checkout is recognised when the package is imported from one
    if (REPO / ".git").exists() and Path(demo.__file__).resolve().is_relative_to(REPO):
        monkeypatch.undo()
        assert demo.source_checkout() == REPO


def test_demo_relative_report_goes_into_workdir(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    rc, out, _ = run_cli(
        [
            "demo",
            "--workdir",
            str(work),
            "--report",
            "d.html",
            "--k",
            "3",
            "--n-records",
            "40",
            "--json",
        ],
        capsys,
    )
    assert rc == 0 and json.loads(out)["report"] == str(work / "d.html")
    assert (work / "d.html").is_file() and not (tmp_path / "d.html").exists()


def test_jupyter_command_targets_notebook(tmp_path):
    cmd = _jupyter_command(tmp_path / "q.ipynb", port=8899)
    assert cmd[0] == sys.executable and str(tmp_path / "q.ipynb") in cmd
    assert cmd[cmd.index("--port") + 1] == "8899"


def test_demo_report_json(tmp_path, capsys):
    report = tmp_path / "demo.html"
    rc, out, _ = run_cli(
        ["demo", "--report", str(report), "--k", "4", "--json"], capsys
    )  # an absolute --report is used as it is
    assert rc == 0
    summary = json.loads(out)
    # The default demo is the real one: the 20 shipped LUDB ECGs, the real-ECG model.
    assert summary["n_clusters"] == 4 and summary["n_records"] == 20
    assert len(summary["clusters"]) == 4
    assert sum(c["share"] for c in summary["clusters"]) == pytest.approx(1.0, abs=1e-6)
    assert all(0.0 <= c["mean_entropy"] <= 1.0 for c in summary["clusters"])
    assert all(c["proposed_name"] for c in summary["clusters"])
    assert summary["report"] == str(report)
    # ... with the real model's recommended options, said in words
    assert summary["options"].startswith("the model's recommended options: blocks.0.bn2, ")
    html = report.read_text()
    assert "Bokeh" in html and "cdn.bokeh.org" not in html


# -- explain ------------------------------------------------------------------------------
def test_explain_writes_segments(demo_explained):
    summary, out_dir = demo_explained
    assert summary["n_records"] == 40 and summary["n_clusters"] == 4 and summary["files"] == 81
    jsons = sorted(out_dir.glob("*.json"))
    csvs = sorted(out_dir.glob("*_segments.csv"))
    assert len(jsons) == 40 and len(csvs) == 40
    rec = json.loads(jsons[0].read_text())
    fs, segs = rec["fs"], rec["segments"]
    n = len(rec["entropy"])
    assert n == 1000 and segs[0]["start"] == 0 and segs[-1]["end"] == n
    assert rec["valid"] == [[0, 1000]] and rec["n_valid"] == rec["n_samples"] == 1000
    for a, b in zip(segs, segs[1:]):
        assert a["end"] == b["start"] and a["cluster_id"] != b["cluster_id"]
    for s in segs:
        assert s["start_s"] == pytest.approx(s["start"] / fs)
        assert s["end_s"] == pytest.approx(s["end"] / fs)
        assert s["cluster_id"] in rec["cluster_ids"]
        ent = np.asarray(rec["entropy"][s["start"] : s["end"]])
        assert s["mean_entropy"] == pytest.approx(ent.mean(), abs=1e-4)
    assert all(0.0 <= e <= 1.0 for e in rec["entropy"])
    assert sum(rec["proportions"].values()) == pytest.approx(1.0, abs=1e-6)
    lines = csvs[0].read_text().splitlines()
    assert lines[0] == "start,end,start_s,end_s,cluster_id,number,mean_entropy,valid"
    assert len(lines) == len(segs) + 1 and all(ln.endswith(",1") for ln in lines[1:])
    # The display number (1..K, as the widget shows it) next to the stable id.
    ids = sorted(rec["cluster_ids"])
    for ln in lines[1:]:
        cells = ln.split(",")
        assert int(cells[5]) == ids.index(int(cells[4])) + 1


def test_explain_reports_predictions_and_proposed_names(tmp_path, capsys, demo_explained):
    """Per record the model's classes and probabilities; per cluster a wave name."""
    from ecg_cluster_widget.cli import load_data, load_model
    from ecg_cluster_widget.explain.landmarks import INTERVAL_NAMES, PROPOSED_NAMES

    summary, out_dir = demo_explained
    bundle = load_model("demo")
    proba = bundle.predict_proba(load_data("synthetic:40", seed=5, progress=False))
    preds = summary["predictions"]
    assert [p["record_id"] for p in preds] == [f"syn{i:05d}" for i in range(40)]
    for p, row in zip(preds, proba):
        assert list(p["probabilities"]) == list(bundle.class_names)
        assert list(p["probabilities"].values()) == pytest.approx(row.tolist(), abs=1e-4)
        expected = [
            c for c, v in sorted(zip(bundle.class_names, row), key=lambda cv: -cv[1]) if v >= 0.5
        ]
        assert p["predicted"] == expected
    rec = json.loads((out_dir / "syn00000.json").read_text())
    assert rec["prediction"]["predicted"] == preds[0]["predicted"]
    csv_lines = (out_dir / "predictions.csv").read_text().splitlines()
    assert csv_lines[0] == (
        "record_id,predicted," + ",".join(f"p_{c}" for c in bundle.class_names) + ",valid"
    )
    assert len(csv_lines) == 41 and all(ln.endswith(",0:1000") for ln in csv_lines[1:])
    # synthetic records carry exact wave masks: the names come from them, and the clusters
    # cover the main waves
    assert summary["waves_source"] == "annotations (lead II)"
    names = {c["proposed_name"] for c in summary["clusters"]}
    assert names <= set(PROPOSED_NAMES.values()) and {"QRS complex", "T wave"} <= names
    for c in summary["clusters"]:
        assert c["wave"] in INTERVAL_NAMES and 0.0 < c["wave_purity"] <= 1.0

    rc, text, _ = run_cli(
        [
            "explain",
            "--data",
            "synthetic:40",
            "--k",
            "4",
            "--seed",
            "5",
            "--out",
            str(tmp_path / "o2"),
        ],
        capsys,
    )
    assert rc == 0
    assert "proposed name" in text and "QRS complex (" in text
    assert "probabilities (highest first)" in text and "syn00000" in text
    assert "20 more records in predictions.csv" in text


def test_proposed_names_without_annotations_use_the_delineator():
    from dataclasses import replace

    from ecg_cluster_widget.demo import demo_explainer, propose_cluster_names

    tlc, ds, _ = demo_explainer(n_clusters=4, n_records=60)
    names = propose_cluster_names(tlc, replace(ds, wave_masks=None))
    assert names["source"] == "rule-based delineation of lead II"
    assert {"QRS complex", "T wave"} <= {c["proposed_name"] for c in names["clusters"]}


# -- leads --------------------------------------------------------------------------------
def test_leads_select_and_reorder_for_a_smaller_model(tmp_path, capsys, two_lead):
    from ecg_cluster_widget.model import load_checkpoint

    ckpt, res = two_lead
    assert res["leads"] == ["II", "I"]
    assert load_checkpoint(ckpt).lead_names == ("II", "I")
    # 12-lead data and a 2-lead model: the error says which --leads to pass
    rc, _, err = run_cli(
        [
            "explain",
            "--model",
            str(ckpt),
            "--data",
            "synthetic:4",
            "--k",
            "2",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
        capsys,
    )
    assert rc == 2 and "--leads II,I" in one_line_error(err)
    rc, _, err = run_cli(
        [
            "explain",
            "--model",
            str(ckpt),
            "--data",
            "synthetic:4",
            "--k",
            "2",
            "--leads",
            "I,II",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
        capsys,
    )
    assert rc == 2 and "--leads II,I" in one_line_error(err)  # same leads, wrong order
    rc, out, _ = run_cli(
        [
            "explain",
            "--model",
            str(ckpt),
            "--data",
            "synthetic:4",
            "--k",
            "2",
            "--leads",
            "II,I",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
        capsys,
    )
    assert rc == 0 and json.loads(out)["n_records"] == 4
    rc, out, _ = run_cli(
        [
            "evaluate",
            "--model",
            str(ckpt),
            "--data",
            "synthetic:30",
            "--k",
            "2",
            "--leads",
            "II",
            "I",
            "--json",
        ],
        capsys,
    )
    assert rc == 0 and json.loads(out)["config"]["n_clusters"] == 2


def test_unknown_lead_is_one_clean_error(tmp_path, capsys):
    rc, _, err = run_cli(
        ["explain", "--json", "--data", "synthetic:4", "--leads", "II,X9", "--out", str(tmp_path)],
        capsys,
    )
    assert rc == 2 and "X9" in one_line_error(err)


def test_lead_check_comes_before_resampling(monkeypatch):
    from ecg_cluster_widget.cli import fit_to_model, load_data, load_model
    from ecg_cluster_widget.data import preprocess
    from ecg_cluster_widget.errors import DataError

    def no_resampling(*a, **k):
        raise AssertionError("resampled before the lead check")

    monkeypatch.setattr(preprocess, "resample", no_resampling)
    ds = load_data("synthetic:2", fs=200, progress=False)
    with pytest.raises(DataError, match="--leads"):
        fit_to_model(
            ds,
            load_model("demo"),
            leads=["V6", "V5", "V4", "V3", "V2", "V1", "aVF", "aVL", "aVR", "III", "II", "I"],
        )


# -- train: the band-pass stored in the checkpoint ------------------------------------------
def test_train_bandpass_and_no_filter(tmp_path, capsys, two_lead):
    from ecg_cluster_widget.model import load_checkpoint

    assert tuple(load_checkpoint(two_lead[0]).signal_filter.bandpass) == (0.5, 40.0)  # default
    for extra, expected in ((["--bandpass", "1", "30"], (1.0, 30.0)), (["--no-filter"], None)):
        ckpt = tmp_path / f"m{len(extra)}.pt"
        rc, out, _ = run_cli(
            [
                "train",
                "--data",
                "synthetic:20",
                "--epochs",
                "1",
                "--out",
                str(ckpt),
                "--json",
                *extra,
            ],
            capsys,
        )
        assert rc == 0, out
        filt = load_checkpoint(ckpt).signal_filter
        assert (filt is None) if expected is None else (tuple(filt.bandpass) == expected)
    rc, _, err = run_cli(
        [
            "train",
            "--data",
            "synthetic:20",
            "--bandpass",
            "40",
            "1",
            "--out",
            str(tmp_path / "bad.pt"),
        ],
        capsys,
    )
    assert rc == 2 and "bandpass" in one_line_error(err)
    assert not (tmp_path / "bad.pt").exists()


def test_explain_subprocess_with_report(tmp_path):
    """The installed entry point, end to end, as a user would run it."""
    out_dir, report = tmp_path / "o", tmp_path / "r.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecg_cluster_widget",
            "explain",
            "--model",
            "demo",
            "--data",
            "synthetic:5",
            "--k",
            "3",
            "--out",
            str(out_dir),
            "--report",
            str(report),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["report"] == str(report) and report.stat().st_size > 100_000
    assert len(list(out_dir.glob("*.json"))) == 5


def test_error_subprocess_exit_code(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecg_cluster_widget",
            "evaluate",
            "--model",
            str(tmp_path / "missing.pt"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    one_line_error(proc.stderr)


def test_explain_wfdb_record_is_resampled(tmp_path, capsys, ludb_root):
    """A 500 Hz LUDB record is resampled to the demo model's 100 Hz and explained."""
    rc, out, _ = run_cli(
        [
            "explain",
            "--model",
            "demo",
            "--data",
            str(ludb_root / "data" / "1"),
            "--k",
            "3",
            "--out",
            str(tmp_path),
            "--json",
        ],
        capsys,
    )
    assert rc == 0
    summary = json.loads(out)
    assert summary["n_records"] == 1 and summary["fs"] == 100.0
    rec = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert len(rec["entropy"]) == 1000


def test_train_on_unlabelled_records_fails_cleanly(tmp_path, capsys, ludb_root):
    rc, _, err = run_cli(
        ["train", "--data", f"wfdb:{ludb_root / 'data' / '1'}", "--out", str(tmp_path / "m.pt")],
        capsys,
    )
    assert rc == 2 and "no labels" in one_line_error(err)
    assert not (tmp_path / "m.pt").exists()


def test_explain_ptbxl_with_demo_model(tmp_path, capsys, ptbxl_root):
    """Real PTB-XL records through the CLI; the demo model's classes differ, so no accuracy."""
    rc, out, _ = run_cli(
        [
            "explain",
            "--model",
            "demo",
            "--data",
            f"ptbxl:{ptbxl_root}",
            "--n-records",
            "12",
            "--k",
            "4",
            "--out",
            str(tmp_path),
            "--json",
        ],
        capsys,
    )
    assert rc == 0
    summary = json.loads(out)
    assert summary["n_records"] == 12 and "model_accuracy" not in summary
    assert len(list(tmp_path.glob("*_segments.csv"))) == 12


# -- train and evaluate -----------------------------------------------------------------------
def test_train_then_explain(tmp_path, capsys, two_lead):
    ckpt, res = two_lead
    assert res["out"] == str(ckpt) and ckpt.is_file()
    assert res["n_train"] == 32 and res["n_val"] == 8 and res["epochs_run"] == 1
    assert np.isfinite(res["final"]["train_loss"])
    rc, out, _ = run_cli(
        [
            "explain",
            "--model",
            str(ckpt),
            "--data",
            "synthetic:4",
            "--k",
            "2",
            "--leads",
            "II,I",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ],
        capsys,
    )
    assert rc == 0 and json.loads(out)["n_clusters"] == 2
    # A network trained here carries no recommendation: the generic preset, said so.
    assert json.loads(out)["options"].startswith("the generic preset (the model recommends none)")


def test_evaluate_json_and_report(tmp_path, capsys):
    report = tmp_path / "eval.html"
    rc, out, _ = run_cli(
        [
            "evaluate",
            "--model",
            "demo",
            "--data",
            "synthetic:60",
            "--k",
            "4",
            "--report",
            str(report),
            "--json",
        ],
        capsys,
    )
    assert rc == 0
    res = json.loads(out)
    faith, marks = res["faithfulness"], res["landmarks"]
    assert 0.0 <= faith["fidelity"] <= 1.0 and 0.0 <= marks["nmi"] <= 1.0
    assert "rf_auroc" in faith and "cnn_auroc" in faith
    assert res["config"]["n_clusters"] == 4 and res["config"]["n_test"] == 18
    html = report.read_text()
    assert "fidelity (agreement with the CNN)" in html and "Clusters vs. delineated waves" in html


def test_split_follows_ptbxl_fold_convention():
    import numpy as np

    from ecg_cluster_widget.data import ECGDataset
    from ecg_cluster_widget.data.loading import split_dataset

    folds = np.repeat(np.arange(1, 11), 2)
    ds = ECGDataset(np.zeros((20, 12, 50)), fs=100, labels=np.zeros((20, 1)), folds=folds)
    tr, va = split_dataset(ds)
    assert set(tr.folds) == set(range(1, 9)) and set(va.folds) == {9}
    tr, te = split_dataset(ds, holdout="test")
    assert set(tr.folds) == set(range(1, 9)) and set(te.folds) == {10}


# -- records of any length ---------------------------------------------------------------------
def _write_wfdb(folder: Path, name: str, signals: np.ndarray, fs: float, leads) -> Path:
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * len(leads),
        sig_name=list(leads),
        p_signal=np.ascontiguousarray(signals.T, dtype=np.float64),
        fmt=["16"] * len(leads),
        adc_gain=[1000.0] * len(leads),
        baseline=[0] * len(leads),
        write_dir=str(folder),
    )
    return folder / name


def _segments_csv(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    assert lines[0] == "start,end,start_s,end_s,cluster_id,number,mean_entropy,valid"
    return [ln.split(",") for ln in lines[1:]]


@pytest.fixture(scope="module")
def holter(tmp_path_factory):
    """A 30-minute 2-lead record at 360 Hz (the shape of MIT-BIH record 100), as WFDB."""
    from ecg_cluster_widget.data import make_synthetic

    rec = make_synthetic(1, fs=360, duration=1800, n_leads=2, seed=3)
    return _write_wfdb(
        tmp_path_factory.mktemp("holter"), "100", rec.signals[0], 360, rec.lead_names
    )


def test_explain_a_30_minute_record_end_to_end(tmp_path, capsys, holter, two_lead):
    import time

    ckpt = two_lead[0]
    # the 12-lead demo model refuses a 2-lead record with one line that says what to do
    rc, _, err = run_cli(["explain", "--data", f"wfdb:{holter}", "--out", str(tmp_path)], capsys)
    line = one_line_error(err)
    assert rc == 2 and "the data lacks III" in line and "never fed invented leads" in line
    t0 = time.perf_counter()
    out_dir = tmp_path / "out"
    rc, out, err = run_cli(
        ["explain", "--model", str(ckpt), "--data", f"wfdb:{holter}", "--k", "4"]
        + ["--leads", "II,I", "--out", str(out_dir), "--json"],
        capsys,
    )
    wall = time.perf_counter() - t0
    assert rc == 0, err
    print(f"30-min 2-lead record explained end to end in {wall:.1f} s")
    summary = json.loads(out)
    n = 1800 * 100  # resampled 360 Hz -> the model's 100 Hz, never cropped
    assert summary["n_records"] == 1 and summary["n_samples"] == n
    assert summary["n_windows"] == 180 and "resampling 360 Hz -> 100 Hz" in err
    assert "overlapping windows" in err
    rec = json.loads((out_dir / "100.json").read_text())
    assert rec["n_valid"] == n and rec["valid"] == [[0, n]]
    assert rec["segments"][0]["start"] == 0 and rec["segments"][-1]["end"] == n
    for a, b in zip(rec["segments"], rec["segments"][1:]):
        assert a["end"] == b["start"]
    rows = _segments_csv(out_dir / "100_segments.csv")
    assert all(r[-1] == "1" for r in rows) and int(rows[-1][1]) == n
    assert sum(int(r[1]) - int(r[0]) for r in rows) == n
    assert len({s["cluster_id"] for s in rec["segments"]}) >= 2
    assert sum(rec["proportions"].values()) == pytest.approx(1.0)
    assert rec["prediction"]["n_windows"] == 180


def test_explain_a_short_record_marks_the_padding_invalid(tmp_path, capsys):
    from ecg_cluster_widget.data import make_synthetic

    short = make_synthetic(1, fs=100, duration=2.5, seed=8)
    path = _write_wfdb(tmp_path / "rec", "short", short.signals[0], 100, short.lead_names)
    out_dir = tmp_path / "out"
    rc, out, err = run_cli(
        ["explain", "--data", f"wfdb:{path}", "--k", "3", "--out", str(out_dir), "--json"], capsys
    )
    assert rc == 0, err
    assert "750 padded samples are marked invalid" in err
    rec = json.loads((out_dir / "short.json").read_text())
    assert rec["n_samples"] == 1000 and rec["n_valid"] == 250 and rec["valid"] == [[0, 250]]
    assert rec["segments"][-1]["end"] == 250
    assert all(e is None for e in rec["entropy"][250:])
    assert all(e is not None for e in rec["entropy"][:250])
    rows = _segments_csv(out_dir / "short_segments.csv")
    assert rows[-1][:2] == ["250", "1000"] and rows[-1][4] == "-1" and rows[-1][-1] == "0"
    assert all(r[-1] == "1" for r in rows[:-1]) and int(rows[-2][1]) == 250
    pred = (out_dir / "predictions.csv").read_text().splitlines()
    assert pred[0].endswith(",valid") and pred[1].endswith(",0:250")


def test_record_ids_that_clash_as_file_names_never_overwrite(tmp_path, capsys):
    from ecg_cluster_widget.data import make_synthetic
    from ecg_cluster_widget.explain.export import output_stems

    assert output_stems(["a/b", "a_b", "a?b", "c"]) == ["a_b", "a_b-2", "a_b-3", "c"]
    assert output_stems(["x", "x-2", "x"]) == ["x", "x-2", "x-3"]
    ds = make_synthetic(2, seed=1)
    folder = tmp_path / "recs"
    for i, name in enumerate(("rec", "REC")):  # one file on case-insensitive file systems
        _write_wfdb(folder, name, ds.signals[i], 100, ds.lead_names)
    out_dir = tmp_path / "out"
    rc, out, err = run_cli(
        ["explain", "--data", str(folder), "--k", "3", "--out", str(out_dir), "--json"], capsys
    )
    assert rc == 0, err
    summary = json.loads(out)
    renamed = summary["renamed"]
    assert len(renamed) == 1 and "written as" in err
    ((rid, stem),) = renamed.items()
    assert stem.lower() == "rec-2"
    ids = {json.loads(p.read_text())["record_id"] for p in out_dir.glob("*.json")}
    assert ids == {"rec", "REC"} and (out_dir / f"{stem}_segments.csv").is_file()
