"""The experiments: every script runs end to end in ``--quick`` mode on real data, and what
each one claims is checked where a check means something.

The ``--quick`` runs (70 PTB-XL records, a model trained for one epoch) are smoke tests:
their figures do not carry the experiments' claims. Measured, not assumed: on the quick
run the age regression's CNN R^2 is negative (-0.99, -0.69, -1.22 for seeds 0-2, 7 test
records) and the mean entropy *falls* at 0.5 mV noise (seeds 0 and 1), so those numbers
are not asserted. What is asserted on the quick runs is that every verdict an experiment
writes follows from its own numbers. The claims themselves are tested on constructed
cases with the shipped demo model, where the answer is known: quality control ranks
known-bad records above known-good ones, entropy rises with added noise, and a random
forest on cluster proportions reproduces a regression output that depends on them (and
not one that does not).

The quick scripts share one temporary cache (data + the tiny quick model are built once)
and write their JSON / HTML into a temporary results folder, never into the repository.
They skip when the real data are absent (``ECG_SHARED_DATA``); the constructed cases
always run.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

# Minutes in all (trainings, subprocesses, whole experiments): the full suite only.
pytestmark = pytest.mark.slow

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
NAMES = (
    "real_alignment",
    "faithfulness_ptbxl",
    "ludb_alignment",
    "uncertainty",
    "cluster_importance",
    "quality_control",
    "age_regression",
)


def _import(name: str):
    if str(EXPERIMENTS) not in sys.path:
        sys.path.insert(0, str(EXPERIMENTS))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory, ptbxl_root: Path, ludb_root: Path) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("experiments")
    return {"cache": base / "cache", "results": base / "results", "data": ptbxl_root.parent}


@pytest.fixture(scope="module")
def quick(workdirs):
    """``quick(name)``: the payload of ``experiments/<name>.py --quick``, run at most once per
    module, so that every test (``test_results_doc`` included) works in any order or alone."""
    done: dict[str, dict] = {}

    def run(name: str) -> dict:
        if name not in done:
            argv = [
                "--quick",
                "--cache-dir",
                str(workdirs["cache"]),
                "--results-dir",
                str(workdirs["results"]),
                "--data-dir",
                str(workdirs["data"]),
                "--threads",
                "1",
            ]
            payload = _import(name).main(argv)
            path = workdirs["results"] / f"{name}_quick.json"
            assert path.is_file() and (workdirs["results"] / f"{name}_quick.html").is_file()
            saved = json.loads(path.read_text())
            assert saved["quick"] is True
            assert saved["command"].startswith(f"python experiments/{name}.py")
            done[name] = payload
        return done[name]

    return run


# -- quick runs on real data ---------------------------------------------------------------
def test_faithfulness(quick):
    out = quick("faithfulness_ptbxl")
    run = out["runs"][0]
    assert 0.0 <= run["fidelity"] <= 1.0 and 0.0 <= run["cnn_accuracy"] <= 1.0
    assert 0.0 <= run["rf_accuracy"] <= 1.0
    assert "| 100% |" in out["table_md"]


def test_ludb_alignment(quick):
    mod = _import("ludb_alignment")
    out = quick("ludb_alignment")
    methods = {r["method"] for r in out["runs"]}
    assert len(methods) == 4
    for r in out["runs"]:
        assert 0.0 <= r["nmi"] <= 1.0
        assert len(r["contingency"]) == r["k"] and len(r["contingency"][0]) == 4
    # The verdict it reports is what its own NMI / homogeneity figures say.
    for k, verdict in out["verdict"].items():
        mean = {}
        for key in ("nmi", "homogeneity"):
            mean[key] = {
                m: np.mean([r[key] for r in out["runs"] if r["method"] == m and r["k"] == int(k)])
                for m in methods
            }
        trained, raw, untrained = mod.METHODS[0], mod.METHODS[1], mod.METHODS[2]
        assert verdict["beats_raw_kmeans_nmi"] == bool(mean["nmi"][trained] > mean["nmi"][raw])
        assert verdict["beats_untrained_nmi"] == bool(mean["nmi"][trained] > mean["nmi"][untrained])
        assert verdict["beats_raw_kmeans_homogeneity"] == bool(
            mean["homogeneity"][trained] > mean["homogeneity"][raw]
        )


def test_real_alignment(quick):
    out = quick("real_alignment")
    s = out["summary"]
    # its verdict follows from its numbers, and the tuned options come from the tuning split
    met = (
        s["tlc_picked"]["mean"] >= out["target"]["nmi"]
        and s["gap_vs_raw_kmeans"]["mean"] >= out["target"]["gap"]
    )
    assert out["target_met"] == met
    assert out["picked"] in [t["config"] for t in out["tuning"]]
    best = max(t["nmi_tune"] for t in out["tuning"])
    assert max(t["nmi_tune"] for t in out["tuning"] if t["config"] == out["picked"]) == best
    for r in out["runs"]:
        for m in ("tlc_picked", "tlc_paper", "raw_kmeans_bandpassed", "probe_picked"):
            assert 0.0 <= r[m]["nmi"] <= 1.0


def test_uncertainty(quick):
    out = quick("uncertainty")
    run = out["runs"][0]
    assert set(run["ludb_entropy_per_wave"]) >= {"none", "P", "QRS", "T"}
    assert len(run["noise"]) == len(out["noise_mv"])
    assert all(0.0 <= n["mean_entropy"] <= 1.0 for n in run["noise"])
    # its verdicts follow from its numbers
    for r in out["runs"]:
        ents = [n["mean_entropy"] for n in r["noise"]]
        assert r["noise_monotonic"] == bool(np.all(np.diff(ents) > 0))
    assert out["entropy_rises_with_noise_all_seeds"] == all(
        r["noise_monotonic"] for r in out["runs"]
    )


def test_cluster_importance(quick):
    out = quick("cluster_importance")
    imp = np.asarray(out["runs"][0]["modes"]["median"]["importance"])
    assert imp.shape == (out["k"], 5) and (imp >= 0).all()


def test_quality_control(quick):
    out = quick("quality_control")
    for flag, rows in out["runs"][0]["results"]["combined"].items():
        for res in rows:
            assert 0 <= res["hits"] <= res["top"] and 0.0 <= res["p_value"] <= 1.0
            assert res["hits"] <= out["flag_counts"][flag]
            assert res["precision"] == pytest.approx(res["hits"] / res["top"])


def test_age_regression(quick):
    out = quick("age_regression")
    for r in out["runs"]:
        assert r["cnn_mae"] > 0 and r["rf_mae"] > 0
        assert r["cnn_r2"] <= 1.0 and r["rf_r2"] <= 1.0 and r["fidelity"] <= 1.0
    assert out["n_test"] > 0 and out["test_age_sd"] > 0


def test_results_doc(quick, workdirs, tmp_path):
    for name in NAMES:  # runs whatever the other tests have not run yet
        quick(name)
    mod = _import("make_results_doc")
    mod.main(["--results-dir", str(workdirs["results"]), "--out-dir", str(tmp_path), "--quick"])
    doc = (tmp_path / "results.md").read_text()
    assert "## 1. Faithfulness" in doc and "94.9" in doc
    assert (tmp_path / "results_summary.md").read_text().count("|") > 10


# -- the claims, on constructed cases with the shipped model (no real data needed) ---------
@pytest.fixture(scope="module")
def demo_fit():
    import torch

    from ecg_cluster_widget.demo import demo_dataset
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.model import load_demo_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        bundle = load_demo_model()
        train = demo_dataset(n_records=150, seed=101)
        tlc = TLCExplainer(bundle, n_clusters=6, random_state=0, progress=False).fit(train)
        yield bundle, tlc, train
    finally:
        torch.set_num_threads(threads)


def _noisy(ds, sd_mv: float, rng, drift_mv: float = 0.0, rows=None):
    sig = ds.signals.astype(np.float64)
    rows = np.arange(len(ds)) if rows is None else rows
    t = np.arange(ds.n_samples) / ds.fs
    sig[rows] += rng.normal(0, sd_mv, sig[rows].shape) + drift_mv * np.sin(2 * np.pi * 0.3 * t)
    return replace(ds, signals=sig.astype(ds.signals.dtype))


def test_quality_control_ranks_known_bad_first(demo_fit):
    """20 clean records and 20 with heavy noise + baseline drift: the combined score puts
    (nearly) all bad ones on top; with flipped labels the surrogate score does."""
    from ecg_cluster_widget.demo import demo_dataset

    qc = _import("quality_control")
    bundle, tlc, train = demo_fit
    pool = demo_dataset(n_records=40, seed=202)
    bad = np.arange(40) >= 20
    noisy = _noisy(pool, 0.3, np.random.default_rng(0), drift_mv=0.8, rows=np.flatnonzero(bad))
    s = qc.scores(None, bundle, tlc, train, noisy, 0)
    assert qc.enrichment(s["combined"], bad, 20)["hits"] >= 16
    assert s["entropy"][bad].mean() > s["entropy"][~bad].mean()
    labels = pool.labels.copy()
    labels[bad] = 1 - labels[bad]
    s = qc.scores(None, bundle, tlc, train, replace(pool, labels=labels), 0)
    res = qc.enrichment(s["surrogate"], bad, 20)
    assert res["hits"] >= 18 and res["p_value"] < 1e-3


def test_entropy_rises_with_noise(demo_fit):
    from ecg_cluster_widget.demo import demo_dataset

    _, tlc, _ = demo_fit
    test = demo_dataset(n_records=30, seed=200)
    rng = np.random.default_rng(0)
    ents = [
        float(tlc.explain_all(_noisy(test, s, rng)).mean_entropy.mean())
        for s in (0.0, 0.05, 0.2, 0.5)
    ]
    assert np.all(np.diff(ents) > 0), ents
    assert ents[-1] > 2 * ents[0], ents


def test_regression_faithfulness_follows_the_proportions(demo_fit):
    """What the age regression's fidelity R^2 claims: a forest on the K proportions
    reproduces a regression output that is a function of them, and not random noise."""
    from ecg_cluster_widget.demo import demo_dataset
    from ecg_cluster_widget.explain.faithfulness import faithfulness_regression

    _, tlc, train = demo_fit
    test = demo_dataset(n_records=30, seed=200)
    ptr, pte = tlc.explain_all(train).proportions, tlc.explain_all(test).proportions
    rng = np.random.default_rng(0)
    w = rng.normal(size=ptr.shape[1])
    d = faithfulness_regression(
        ptr, 50 + 20 * ptr @ w, pte, 50 + 20 * pte @ w, n_estimators=100, random_state=0
    )
    assert d["fidelity"] > 0.7
    d = faithfulness_regression(
        ptr,
        rng.normal(50, 10, len(ptr)),
        pte,
        rng.normal(50, 10, len(pte)),
        n_estimators=100,
        random_state=0,
    )
    assert d["fidelity"] < 0.2
