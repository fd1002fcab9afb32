"""Smoke tests: every experiment script runs end to end in ``--quick`` mode on real data.

The scripts share one temporary cache (data + the tiny quick model are built once) and
write their JSON / HTML into a temporary results folder, never into the repository.
Skipped when ``../shared/data`` (PTB-XL subset, LUDB) is absent.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory, ptbxl_root: Path, ludb_root: Path) -> dict[str, Path]:
    if str(EXPERIMENTS) not in sys.path:
        sys.path.insert(0, str(EXPERIMENTS))
    base = tmp_path_factory.mktemp("experiments")
    return {"cache": base / "cache", "results": base / "results", "data": ptbxl_root.parent}


def _run(name: str, dirs: dict[str, Path], *extra: str) -> dict:
    mod = importlib.import_module(name)
    argv = ["--quick", "--cache-dir", str(dirs["cache"]), "--results-dir", str(dirs["results"]),
            "--data-dir", str(dirs["data"]), "--threads", "1", *extra]
    payload = mod.main(argv)
    path = dirs["results"] / f"{name}_quick.json"
    assert path.is_file() and (dirs["results"] / f"{name}_quick.html").is_file()
    saved = json.loads(path.read_text())
    assert saved["quick"] is True and saved["command"].startswith(f"python experiments/{name}.py")
    return payload


def test_faithfulness(workdirs):
    out = _run("faithfulness_ptbxl", workdirs)
    run = out["runs"][0]
    assert 0.0 <= run["fidelity"] <= 1.0 and 0.0 <= run["cnn_accuracy"] <= 1.0
    assert "| 100% |" in out["table_md"]


def test_ludb_alignment(workdirs):
    out = _run("ludb_alignment", workdirs)
    methods = {r["method"] for r in out["runs"]}
    assert len(methods) == 4
    for r in out["runs"]:
        assert 0.0 <= r["nmi"] <= 1.0
        assert len(r["contingency"]) == r["k"] and len(r["contingency"][0]) == 4
    assert set(out["verdict"]["4"]) >= {"beats_raw_kmeans_nmi", "beats_untrained_nmi"}


def test_uncertainty(workdirs):
    out = _run("uncertainty", workdirs)
    run = out["runs"][0]
    assert set(run["ludb_entropy_per_wave"]) >= {"none", "P", "QRS", "T"}
    assert len(run["noise"]) == len(out["noise_mv"])
    assert all(0.0 <= n["mean_entropy"] <= 1.0 for n in run["noise"])


def test_cluster_importance(workdirs):
    import numpy as np

    out = _run("cluster_importance", workdirs)
    imp = np.asarray(out["runs"][0]["modes"]["median"]["importance"])
    assert imp.shape == (out["k"], 5) and (imp >= 0).all()


def test_quality_control(workdirs):
    out = _run("quality_control", workdirs)
    res = out["runs"][0]["results"]["combined"]["any_quality_flag"][0]
    assert 0 <= res["hits"] <= res["top"] and 0.0 <= res["p_value"] <= 1.0


def test_age_regression(workdirs):
    out = _run("age_regression", workdirs)
    assert out["runs"][0]["cnn_mae"] > 0


def test_results_doc(workdirs, tmp_path):
    if not list(workdirs["results"].glob("*_quick.json")):
        pytest.skip("needs the JSON written by the other tests of this module")
    mod = importlib.import_module("make_results_doc")
    mod.main(["--results-dir", str(workdirs["results"]), "--out-dir", str(tmp_path), "--quick"])
    doc = (tmp_path / "results.md").read_text()
    assert "## 1. Faithfulness" in doc and "94.9" in doc
    assert (tmp_path / "results_summary.md").read_text().count("|") > 10
