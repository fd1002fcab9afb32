"""The ``ecg-cluster-widget`` command line, in-process and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from ecg_cluster_widget.cli import architecture_for, build_parser, jupyter_command, main

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


# -- parsing and errors ----------------------------------------------------------------
def test_help_and_version(capsys):
    rc, out, _ = run_cli([], capsys)
    assert rc == 0 and "demo" in out and "evaluate" in out
    assert run_cli(["--version"], capsys)[0] == 0
    assert build_parser().parse_args(["train", "--epochs", "3"]).epochs == 3


def test_missing_model_file(tmp_path, capsys):
    rc, out, err = run_cli(["explain", "--model", str(tmp_path / "nope.pt"), "--data",
                            "synthetic:4", "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and out == ""
    assert "not found" in one_line_error(err)


def test_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"this is not a torch checkpoint" * 10)
    rc, _, err = run_cli(["evaluate", "--model", str(bad), "--data", "synthetic:8"], capsys)
    assert rc == 2
    one_line_error(err)


def test_k_one_is_rejected(tmp_path, capsys):
    rc, _, err = run_cli(["explain", "--k", "1", "--data", "synthetic:4",
                          "--out", str(tmp_path)], capsys)
    assert rc == 2 and "at least 2" in one_line_error(err)


def test_missing_data_path(tmp_path, capsys):
    rc, _, err = run_cli(["explain", "--data", str(tmp_path / "no_record"), "--k", "3",
                          "--out", str(tmp_path / "o")], capsys)
    assert rc == 2 and "not found" in one_line_error(err)
    rc, _, err = run_cli(["train", "--data", "ptbxl:", "--out", str(tmp_path / "m.pt")], capsys)
    assert rc == 2 and "needs a path" in one_line_error(err)
    assert not (tmp_path / "m.pt").exists()


def test_bad_n_records(capsys):
    rc, _, err = run_cli(["evaluate", "--n-records", "0"], capsys)
    assert rc == 2 and "--n-records" in one_line_error(err)


def test_architecture_for_lengths():
    assert architecture_for(1000)["seq_lengths"] == (1000, 500, 250, 125, 25)
    for n in (500, 2500, 5000, 4096):
        lengths = architecture_for(n)["seq_lengths"]
        assert lengths[0] == n and all(a % b == 0 for a, b in zip(lengths, lengths[1:]))
        assert lengths[-1] >= 8


# -- demo -------------------------------------------------------------------------------
def test_demo_writes_notebook_and_prints_command(tmp_path, capsys):
    rc, out, _ = run_cli(["demo", "--dir", str(tmp_path), "--print-command"], capsys)
    assert rc == 0
    nb = nbformat.read(str(tmp_path / "quickstart.ipynb"), as_version=4)
    assert any("ClusterExplorer" in c.source for c in nb.cells)
    cmd = out.strip().splitlines()[-1]
    assert "jupyterlab" in cmd and "--ip 127.0.0.1" in cmd
    assert ("--allow-root" in cmd) == (os.geteuid() == 0)
    # an existing notebook (the user's edits) is never overwritten
    (tmp_path / "quickstart.ipynb").write_text("{}")
    assert run_cli(["demo", "--dir", str(tmp_path), "--print-command"], capsys)[0] == 0
    assert (tmp_path / "quickstart.ipynb").read_text() == "{}"


def test_demo_prefers_checkout_notebook(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "quickstart.ipynb").write_text("{}")
    rc, out, _ = run_cli(["demo", "--dir", str(tmp_path), "--print-command"], capsys)
    assert rc == 0 and str(tmp_path / "notebooks" / "quickstart.ipynb") in out
    assert not (tmp_path / "quickstart.ipynb").exists()


def test_jupyter_command_targets_notebook(tmp_path):
    cmd = jupyter_command(tmp_path / "q.ipynb", port=8899)
    assert cmd[0] == sys.executable and str(tmp_path / "q.ipynb") in cmd
    assert cmd[cmd.index("--port") + 1] == "8899"


def test_demo_report_json(tmp_path, capsys):
    report = tmp_path / "demo.html"
    rc, out, _ = run_cli(["demo", "--report", str(report), "--k", "4", "--n-records", "60",
                          "--json"], capsys)
    assert rc == 0
    summary = json.loads(out)
    assert summary["n_clusters"] == 4 and summary["n_records"] == 60
    assert len(summary["clusters"]) == 4
    assert sum(c["share"] for c in summary["clusters"]) == pytest.approx(1.0, abs=1e-6)
    assert all(0.0 <= c["mean_entropy"] <= 1.0 for c in summary["clusters"])
    assert summary["report"] == str(report)
    html = report.read_text()
    assert "Bokeh" in html and "cdn.bokeh.org" not in html


# -- explain ------------------------------------------------------------------------------
def test_explain_writes_segments(tmp_path, capsys):
    out_dir = tmp_path / "out"
    rc, out, _ = run_cli(["explain", "--model", "demo", "--data", "synthetic:6", "--k", "3",
                          "--seed", "5", "--out", str(out_dir), "--json"], capsys)
    assert rc == 0
    summary = json.loads(out)
    assert summary["n_records"] == 6 and summary["n_clusters"] == 3 and summary["files"] == 12
    jsons = sorted(out_dir.glob("*.json"))
    csvs = sorted(out_dir.glob("*_segments.csv"))
    assert len(jsons) == 6 and len(csvs) == 6
    rec = json.loads(jsons[0].read_text())
    fs, segs = rec["fs"], rec["segments"]
    n = len(rec["entropy"])
    assert n == 1000 and segs[0]["start"] == 0 and segs[-1]["end"] == n
    for a, b in zip(segs, segs[1:]):
        assert a["end"] == b["start"] and a["cluster_id"] != b["cluster_id"]
    for s in segs:
        assert s["start_s"] == pytest.approx(s["start"] / fs)
        assert s["end_s"] == pytest.approx(s["end"] / fs)
        assert s["cluster_id"] in rec["cluster_ids"]
        ent = np.asarray(rec["entropy"][s["start"]:s["end"]])
        assert s["mean_entropy"] == pytest.approx(ent.mean(), abs=1e-4)
    assert all(0.0 <= e <= 1.0 for e in rec["entropy"])
    assert sum(rec["proportions"].values()) == pytest.approx(1.0, abs=1e-6)
    header = csvs[0].read_text().splitlines()[0]
    assert header == "start,end,start_s,end_s,cluster_id,mean_entropy"
    assert len(csvs[0].read_text().splitlines()) == len(segs) + 1


def test_explain_subprocess_with_report(tmp_path):
    """The installed entry point, end to end, as a user would run it."""
    out_dir, report = tmp_path / "o", tmp_path / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "ecg_cluster_widget", "explain", "--model", "demo", "--data",
         "synthetic:5", "--k", "3", "--out", str(out_dir), "--report", str(report), "--json"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TQDM_DISABLE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["report"] == str(report) and report.stat().st_size > 100_000
    assert len(list(out_dir.glob("*.json"))) == 5


def test_error_subprocess_exit_code(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ecg_cluster_widget", "evaluate", "--model",
         str(tmp_path / "missing.pt")], capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    one_line_error(proc.stderr)


def test_explain_wfdb_record_is_resampled(tmp_path, capsys, ludb_root):
    """A 500 Hz LUDB record is resampled to the demo model's 100 Hz and explained."""
    rc, out, _ = run_cli(["explain", "--model", "demo", "--data", str(ludb_root / "data" / "1"),
                          "--k", "3", "--out", str(tmp_path), "--json"], capsys)
    assert rc == 0
    summary = json.loads(out)
    assert summary["n_records"] == 1 and summary["fs"] == 100.0
    rec = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert len(rec["entropy"]) == 1000


def test_train_on_unlabelled_records_fails_cleanly(tmp_path, capsys, ludb_root):
    rc, _, err = run_cli(["train", "--data", f"wfdb:{ludb_root / 'data' / '1'}",
                          "--out", str(tmp_path / "m.pt")], capsys)
    assert rc == 2 and "no labels" in one_line_error(err)
    assert not (tmp_path / "m.pt").exists()


def test_explain_ptbxl_with_demo_model(tmp_path, capsys, ptbxl_root):
    """Real PTB-XL records through the CLI; the demo model's classes differ, so no accuracy."""
    rc, out, _ = run_cli(["explain", "--model", "demo", "--data", f"ptbxl:{ptbxl_root}",
                          "--n-records", "12", "--k", "4", "--out", str(tmp_path), "--json"], capsys)
    assert rc == 0
    summary = json.loads(out)
    assert summary["n_records"] == 12 and "model_accuracy" not in summary
    assert len(list(tmp_path.glob("*_segments.csv"))) == 12


# -- train and evaluate -----------------------------------------------------------------------
def test_train_then_explain(tmp_path, capsys):
    ckpt = tmp_path / "m.pt"
    rc, out, _ = run_cli(["train", "--data", "synthetic:40", "--epochs", "1", "--out", str(ckpt),
                          "--seed", "1", "--json"], capsys)
    assert rc == 0, out
    res = json.loads(out)
    assert res["out"] == str(ckpt) and ckpt.is_file()
    assert res["n_train"] == 32 and res["n_val"] == 8 and res["epochs_run"] == 1
    assert np.isfinite(res["final"]["train_loss"])
    rc, out, _ = run_cli(["explain", "--model", str(ckpt), "--data", "synthetic:4", "--k", "2",
                          "--out", str(tmp_path / "o"), "--json"], capsys)
    assert rc == 0 and json.loads(out)["n_clusters"] == 2


def test_evaluate_json_and_report(tmp_path, capsys):
    report = tmp_path / "eval.html"
    rc, out, _ = run_cli(["evaluate", "--model", "demo", "--data", "synthetic:60", "--k", "4",
                          "--report", str(report), "--json"], capsys)
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

    from ecg_cluster_widget.cli import split_dataset
    from ecg_cluster_widget.data import ECGDataset

    folds = np.repeat(np.arange(1, 11), 2)
    ds = ECGDataset(np.zeros((20, 12, 50)), fs=100, labels=np.zeros((20, 1)), folds=folds)
    tr, va = split_dataset(ds)
    assert set(tr.folds) == set(range(1, 9)) and set(va.folds) == {9}
    tr, te = split_dataset(ds, holdout="test")
    assert set(tr.folds) == set(range(1, 9)) and set(te.folds) == {10}
