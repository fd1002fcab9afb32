"""evaluate() end to end on small synthetic data with a tiny trained ResNet1d."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecg_cluster_widget.data.dataset import ECGDataset
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, ECGClusterError
from ecg_cluster_widget.explain.evaluate import evaluate, format_evaluation
from ecg_cluster_widget.explain.explainer import TLCExplainer
from ecg_cluster_widget.explain.faithfulness import faithfulness, faithfulness_from_explainer
from ecg_cluster_widget.explain.landmarks import landmark_alignment, untrained_model_labels
from ecg_cluster_widget.model import ResNet1d
from ecg_cluster_widget.model.train import train_model

TLC_KW = dict(n_components=6, max_fit_points=6000, progress=False)


@pytest.fixture(scope="module")
def setup():
    ds = make_synthetic(48, fs=100, duration=4.0, n_leads=3, seed=0)
    tr, te = ds.subset(slice(0, 32)), ds.subset(slice(32, 48))
    net = ResNet1d(3, 5, filters=(8, 8, 8, 8), seq_lengths=(400, 200, 100, 50), kernel_size=9)
    bundle = train_model(net, tr, epochs=2, batch_size=16, progress=False, seed=0)
    return bundle, tr, te


@pytest.fixture(scope="module")
def fitted(setup):
    """evaluate() with an explainer passed in, so later tests can reuse its fit."""
    bundle, tr, te = setup
    tlc = TLCExplainer(bundle, n_clusters=4, random_state=0, **TLC_KW)
    d = evaluate(bundle, tr, te, tlc=tlc, n_estimators=30)
    return d, tlc


@pytest.fixture(scope="module")
def result(fitted):
    return fitted[0]


def test_structure_and_json(result, setup):
    _, tr, te = setup
    d = json.loads(json.dumps(result, allow_nan=False))  # strict JSON: no NaN
    assert set(d) >= {
        "cnn",
        "faithfulness",
        "landmarks",
        "landmarks_source",
        "baselines",
        "time_s",
        "config",
    }
    assert d["config"]["n_clusters"] == 4 and d["config"]["n_train"] == 32
    assert 0 <= d["faithfulness"]["fidelity"] <= 1
    assert d["faithfulness"]["class_names"] == list(tr.class_names)
    assert "annotations" in d["landmarks_source"]
    assert np.array(d["landmarks"]["contingency"]).sum() == te.n_samples * len(te)
    for name in ("raw_window_kmeans", "untrained_network", "trained_network"):
        assert 0 <= d["baselines"][name]["nmi"] <= 1
    assert all(v >= 0 for v in d["time_s"].values())
    assert d["time_s"]["total"] >= d["time_s"]["tlc_fit"]
    text = format_evaluation(d)
    assert "fidelity" in text and "raw k-means" in text and "QRS" in text


def test_contract_form_reuses_explainer_and_matches_parts(fitted, setup):
    result, tlc = fitted
    bundle, tr, te = setup
    assert tlc.is_fitted  # evaluate() fitted the explainer it was given
    # no wave masks -> the delineator provides them
    te_nomask = ECGDataset(
        te.signals, fs=te.fs, lead_names=te.lead_names, labels=te.labels, class_names=te.class_names
    )
    d = evaluate(tlc, bundle, tr, te_nomask, baselines=False, progress=False, n_estimators=30)
    assert "baselines" not in d and "delineate" in d["landmarks_source"]
    # same explainer and seed -> same faithfulness as the first run
    assert d["faithfulness"] == result["faithfulness"]
    # wiring: the dict equals what the parts give directly
    prop_tr, prop_te = tlc.explain_all(tr).proportions, tlc.explain_all(te).proportions
    direct = faithfulness(
        prop_tr,
        bundle.predict_proba(tr),
        prop_te,
        bundle.predict_proba(te),
        y_test=te.labels,
        cnn_proba_test=bundle.predict_proba(te),
        n_estimators=30,
        class_names=list(bundle.class_names),
    )
    assert direct["fidelity"] == pytest.approx(result["faithfulness"]["fidelity"])
    lm = landmark_alignment(tlc.explain_all(te).labels.astype(int), te.wave_masks, n_clusters=4)
    assert lm["nmi"] == pytest.approx(result["landmarks"]["nmi"])
    via = faithfulness_from_explainer(tlc, bundle, tr, te, n_estimators=30)
    assert via["fidelity"] == pytest.approx(direct["fidelity"])
    via2 = faithfulness(tlc, bundle, tr, te, n_estimators=30)
    assert via2["fidelity"] == via["fidelity"]


def test_untrained_baseline_differs_from_trained(fitted, setup):
    bundle, tr, te = setup
    before = [p.detach().clone() for p in bundle.model.parameters()]
    lab = untrained_model_labels(bundle, tr, te, n_clusters=4, random_state=0, **TLC_KW)
    assert lab.shape == (len(te), te.n_samples)
    # the original network is untouched
    assert all(np.array_equal(a, b.detach()) for a, b in zip(before, bundle.model.parameters()))
    trained = fitted[1].explain_all(te).labels
    assert (lab != trained).any()


def test_bad_input(setup):
    bundle, tr, _ = setup
    with pytest.raises(DataError, match="ECGDataset"):
        evaluate(bundle, tr, np.zeros((2, 3, 400)), progress=False)
    with pytest.raises(DataError, match="ModelBundle"):
        evaluate(bundle.model, tr, tr, progress=False)


def test_gradcam_on_trained_bundle_and_dataset(setup):
    from ecg_cluster_widget.explain.gradcam import GradCAM, gradcam_per_class

    bundle, _, te = setup
    cam = GradCAM(bundle).attribute(te)  # dataset -> bundle.prepare
    assert cam.shape == (len(te), te.n_samples) and np.isfinite(cam).all()
    np.testing.assert_allclose(cam, GradCAM(bundle).attribute(bundle.prepare(te)), atol=1e-6)
    per = gradcam_per_class(bundle, te)
    assert per.shape == (len(te), bundle.n_classes, te.n_samples)
    wrong = ECGDataset(te.signals, fs=250, lead_names=te.lead_names)
    with pytest.raises(ECGClusterError, match="fs|Hz|sampling"):
        GradCAM(bundle).attribute(wrong)
