"""The shipped real-ECG model and real-ECG sample work on a machine with no data."""

from __future__ import annotations

import numpy as np
import pytest

from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.data import load_real_sample
from ecg_cluster_widget.data.samples import real_sample_path
from ecg_cluster_widget.errors import DataError, ModelError
from ecg_cluster_widget.explain.landmarks import landmark_alignment
from ecg_cluster_widget.model import list_pretrained, load_pretrained

# Minutes in all (trainings, subprocesses, whole experiments): the full suite only.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle():
    return load_pretrained("ptbxl250")


def test_registry_and_model_card(bundle):
    names = list_pretrained()
    assert {"demo", "ptbxl250"} <= set(names)
    assert bundle.fs == 250.0 and bundle.n_samples == 2500
    assert bundle.signal_filter is not None and bundle.signal_filter.bandpass == (0.5, 40.0)
    assert "CC BY 4.0" in bundle.meta["attribution"]
    assert bundle.meta["metrics"]["test"]["macro_auroc"] > 0.85
    # finest hooked residual block at 20 ms or finer: 2500 samples / 10 s -> 625 steps = 16 ms
    assert bundle.model.config["seq_lengths"][2] >= 500
    with pytest.raises(ModelError, match="unknown pretrained"):
        load_pretrained("nope")


def test_real_sample_contents_and_licences():
    ludb = load_real_sample("ludb")
    assert len(ludb) == 20 and ludb.fs == 500 and ludb.wave_masks.shape == (20, 12, 5000)
    assert set(np.unique(ludb.wave_masks)) <= {-1, 0, 1, 2, 3}
    # QRS peak-to-peak in lead II of a real ECG in mV: roughly 0.3-5 mV
    p2p = np.ptp(ludb.signals[:, 1], axis=1)
    assert 0.3 < np.median(p2p) < 5
    ptb = load_real_sample("ptbxl", fs=250)
    assert len(ptb) == 40 and ptb.n_samples == 2500 and (np.asarray(ptb.folds) == 10).all()
    folder = real_sample_path("ludb").parent
    assert (folder / "LICENSE-LUDB.txt").read_text().startswith("# ODC Attribution")
    assert "Attribution 4.0" in (folder / "LICENSE-PTBXL.txt").read_text()
    with pytest.raises(DataError, match="unknown real sample"):
        load_real_sample("mitbih")


def test_real_model_predicts_the_shipped_test_records(bundle):
    from sklearn.metrics import roc_auc_score

    ds = load_real_sample("ptbxl", fs=bundle.fs)
    p = bundle.predict_proba(ds)
    y = ds.labels >= 0.5
    aucs = [
        roc_auc_score(y[:, j], p[:, j]) for j in range(y.shape[1]) if 0 < y[:, j].sum() < len(y)
    ]
    assert np.mean(aucs) > 0.8  # a broken or unfiltered model drops toward 0.5


def test_real_model_explains_real_ecgs_and_clusters_follow_waves(bundle):
    fit = load_real_sample("ptbxl", fs=bundle.fs)
    ludb = load_real_sample("ludb", fs=bundle.fs)
    tlc = TLCExplainer.for_model(bundle, n_clusters=6, progress=False, max_fit_points=40_000).fit(
        fit
    )
    es = tlc.explain_all(ludb)
    assert es.labels.shape == (20, 2500)
    nmi = landmark_alignment(es.labels, ludb.wave_mask_for_lead("II"), n_clusters=6)["nmi"]
    # Shuffling labels in time destroys alignment; the fitted clusters carry wave information.
    rng = np.random.default_rng(0)
    shuffled = np.array([rng.permutation(row) for row in es.labels])
    nmi_shuffled = landmark_alignment(shuffled, ludb.wave_mask_for_lead("II"), n_clusters=6)["nmi"]
    assert nmi > 0.15 > nmi_shuffled


def test_cli_accepts_the_shipped_model_and_real_sample(tmp_path):
    from ecg_cluster_widget.cli import load_data, load_model, main

    assert load_model("ptbxl250").fs == 250.0
    assert len(load_data("real:ludb", progress=False)) == 20
    with pytest.raises(DataError, match="real:"):
        load_data("real:nope", progress=False)
    rc = main(
        ["demo", "--data", "real", "--report", str(tmp_path / "real.html"), "--k", "5", "--json"]
    )
    assert rc == 0 and (tmp_path / "real.html").stat().st_size > 100_000
