"""TLC on networks nobody here described: five architectures built and trained in the test.

Each network is trained briefly on synthetic ECGs, whose generator knows every wave
exactly, and explained by TLC with its defaults (layers found by structure, time axes
found by probing). Per architecture the test measures the NMI of the clusters with the
P/QRS/T masks three ways: TLC as the hooks read the network; TLC with the time axis
forced to the wrong one (what the old hooks did to a transformer: NMI 0.003 in the
issue); and k-means on raw signal windows. A wrong axis cannot pass: it scores about
0.001 here, and the right one must score at least ten times more and above 0.05.

Against raw-window k-means: every network's clusters must beat it. TLC runs with the
defaults a model without a recommendation gets (the ``"generic"`` preset: the first three
blocks, a full-covariance GMM, the HMM prior), chosen by experiments/generic_default.py on
other data (synthetic seed 11, LUDB 1-100; this test's data, seed 3, is its report split).
With the paper's configuration (the last three blocks, isotropic GMM) the briefly trained
classifiers trailed the baseline here (NMI 0.14 / 0.11 / 0.14 / 0.17 against 0.19 and
0.21 for the single lead), and the margins the generic preset wins by are small for some
networks (docs/results.md, section 00b, shows where it does not win on other data). Each
network's initial weights and training are seeded, so a test reads the same whatever ran
before it; torch's thread count still changes the training: the ResNet reads 0.23 with two
threads and 0.28 with one, the other networks the same to three decimals. (Unseeded
initial weights had made the ResNet's reading depend on the tests run before it: 0.15 run
alone, 0.25 in the full suite.)

The architectures: a ResNet whose class name contains "Res" (the old name matching
hooked the whole model); a transformer with (batch, tokens, channels) blocks; a network
with tuple outputs and an extra forward argument; a single-lead (batch, samples) network;
a U-Net-style per-sample segmenter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ecg_cluster_widget.activations import ActivationExtractor, default_layers
from ecg_cluster_widget.data import make_synthetic, select_leads
from ecg_cluster_widget.data.standardize import Standardizer
from ecg_cluster_widget.errors import DataError, ModelError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.diagnostics import POSITIONAL_SHARE_LIMIT, positional_share
from ecg_cluster_widget.explain.gradcam import GradCAM
from ecg_cluster_widget.explain.landmarks import landmark_alignment, raw_window_kmeans_labels
from ecg_cluster_widget.model import declare_model

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments"))
from architectures import (  # noqa: E402  (the networks the evidence measured)
    LeadConditionedNet,
    ResEncoderClassifier,
    SingleLeadNet,
    TokenTransformer,
    UNet1d,
    lead_set_call,
    standardise,
    train_briefly,
)

# Minutes in all (trainings, subprocesses, whole experiments): the full suite only.
pytestmark = pytest.mark.slow

K = 5
FS, SECONDS = 100.0, 5.0
N_SAMPLES = int(FS * SECONDS)
#: NMI measured per architecture, printed at the end of the module (``-s``) for reports.
MEASURED: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def data():
    """96 synthetic 12-lead records of 5 s at 100 Hz, with exact wave masks."""
    return make_synthetic(96, fs=FS, duration=SECONDS, n_leads=12, seed=3)


@pytest.fixture(scope="module")
def lead2(data):
    return select_leads(data, ["II"])


def _raw_nmi(ds) -> float:
    return landmark_alignment(raw_window_kmeans_labels(ds, K), ds.wave_masks, K)["nmi"]


@pytest.fixture(scope="module")
def raw_nmi(data):
    """NMI of raw-window k-means with the wave masks: the CNN-agnostic baseline."""
    return _raw_nmi(data)


@pytest.fixture(autouse=True)
def seeded():
    """Each network starts from the same weights whatever ran before it in the process (its
    initialisation draws from torch's global generator)."""
    torch.manual_seed(0)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    for name, row in MEASURED.items():
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))


def _tlc(bundle, ds, **kw) -> tuple[float, float, TLCExplainer]:
    """NMI with the wave masks, share of positional time steps, and the explainer."""
    tlc = TLCExplainer(
        bundle, n_clusters=K, n_components=8, max_fit_points=20_000, progress=False, **kw
    ).fit(ds)
    labels = tlc.transform(ds).argmax(-1)
    nmi = landmark_alignment(labels, ds.wave_masks, K)["nmi"]
    return nmi, positional_share(labels), tlc


def _check_alignment(name: str, bundle, ds, raw: float, wrong_axis: int, **kw) -> TLCExplainer:
    """TLC's NMI as read, and with the hooked layers' time axis forced to ``wrong_axis``
    (the explainer's per-layer override, ``time_axis=``)."""
    nmi, share, tlc = _tlc(bundle, ds, **kw)
    forced = {layer: wrong_axis for layer in tlc.layers_}
    wrong, wrong_share, _ = _tlc(bundle, ds, time_axis=forced, **kw)
    MEASURED[name] = {"TLC NMI": nmi, "wrong-axis NMI": wrong, "raw-window k-means NMI": raw}
    # The clusters follow the waves; read along the wrong axis they follow nothing.
    assert nmi > 0.05 and nmi > 10 * wrong, MEASURED[name]
    # ... and they follow the waves better than the raw signal's shape does.
    assert nmi > raw, MEASURED[name]
    # The symptom explain.diagnostics warns about (most time steps get the same cluster in
    # every record): never raised by a network read rightly. Read wrongly it shows on some
    # networks only (the share is reported), so it backs up the layout probe, not replaces it.
    MEASURED[name].update({"positional share": share, "wrong-axis positional share": wrong_share})
    assert share < 0.2 < POSITIONAL_SHARE_LIMIT, MEASURED[name]
    return tlc


# -- the tests -----------------------------------------------------------------------
def _classifier_setup(data):
    x = standardise(np.asarray(data.signals))
    y = np.asarray(data.labels, dtype=np.float32)
    return x, y, nn.BCEWithLogitsLoss(), Standardizer().fit(data.signals)


@pytest.mark.slow
def test_resnet_default_layers_by_structure_never_the_root(data, raw_nmi):
    net = ResEncoderClassifier()
    x, y, loss, std = _classifier_setup(data)
    train_briefly(net, lambda m, xb: m(xb), x, y, loss)
    assert default_layers(net, x[:2]) == ["blocks.1", "blocks.2", "blocks.3"]
    wrapped = nn.Sequential(net)  # a wrapper holding the whole model is never chosen either
    assert default_layers(wrapped, x[:2]) == ["0.blocks.1", "0.blocks.2", "0.blocks.3"]
    bundle = declare_model(
        net, fs=FS, lead_names=data.lead_names, n_samples=N_SAMPLES, standardizer=std
    )
    tlc = _check_alignment("ResNet", bundle, data, raw_nmi, wrong_axis=1)
    assert tlc.layers_ == ["blocks.0", "blocks.1", "blocks.2"]  # the generic preset's: early


def test_transformer_tokens_are_transposed(data, raw_nmi):
    net = TokenTransformer()
    x, y, loss, std = _classifier_setup(data)
    train_briefly(net, lambda m, xb: m(xb), x, y, loss)
    assert default_layers(net, x[:2]) == [f"encoder.layers.{i}" for i in range(3)]
    ext = ActivationExtractor(net, progress=False)
    blocks = ext.extract(x[:3])
    # (batch, tokens, channels) = (3, 125, 32) is read as 32 channels x 125 time steps;
    # the old hooks read it as 125 channels x 32 "time steps".
    assert [b.shape for b in blocks] == [(3, 32, 125)] * 3
    assert [(lay.time_axis, lay.how) for lay in ext.layouts_] == [(1, "length probe")] * 3
    bundle = declare_model(
        net, fs=FS, lead_names=data.lead_names, n_samples=N_SAMPLES, standardizer=std
    )
    _check_alignment("transformer", bundle, data, raw_nmi, wrong_axis=2)


def test_tuple_outputs_and_extra_forward_argument(data, raw_nmi):
    net = LeadConditionedNet()
    x, y, loss, std = _classifier_setup(data)
    train_briefly(net, lead_set_call, x, y, loss)
    # Without the adapter: the error shows the forward's signature and the fix.
    with pytest.raises(ModelError, match=r"forward\(x, lead_set\) needs 2 inputs.*forward="):
        ActivationExtractor(net, layers=["blocks.3"], progress=False).extract(x[:2])
    bundle = declare_model(
        net,
        fs=FS,
        lead_names=data.lead_names,
        n_samples=N_SAMPLES,
        standardizer=std,
        forward=lead_set_call,
    )
    assert bundle.class_names == tuple(f"output {i}" for i in range(5))
    assert bundle.predict_proba(data.subset([0, 1])).shape == (2, 5)
    # The blocks return (features, gate): refused with the choices listed ...
    with pytest.raises(ModelError, match=r"'blocks.1' returns a tuple.*\[0\].*\[1\]"):
        ActivationExtractor(bundle, progress=False).extract(x[:2])
    # ... and picked explicitly: per call, on the explainer, or on the module.
    pick = {f"blocks.{i}": 0 for i in range(4)}
    picked = ActivationExtractor(bundle, output=pick, progress=False)
    assert [b.shape for b in picked.extract(x[:2])] == [(2, 16, N_SAMPLES)] * 3
    with pytest.raises(ModelError, match=r"returns a tuple"):
        TLCExplainer(bundle, n_clusters=K, progress=False).fit(data)
    tlc = _check_alignment(
        "tuple outputs + extra argument", bundle, data, raw_nmi, wrong_axis=1, layer_output=pick
    )
    assert tlc.layers_ == ["blocks.0", "blocks.1", "blocks.2"]
    for b in net.blocks:
        b.hook_output = 0
    assert TLCExplainer(bundle, n_clusters=K, n_components=8, progress=False).fit(data).layers_


def test_single_lead_samples_model(data, lead2):
    net = SingleLeadNet()
    x = standardise(np.asarray(lead2.signals))
    y = np.asarray(lead2.labels, dtype=np.float32)
    train_briefly(net, lambda m, xb: m(xb[:, 0]), x, y, nn.BCEWithLogitsLoss())
    bundle = declare_model(
        net,
        fs=FS,
        lead_names=["MLII"],
        n_samples=N_SAMPLES,
        input_layout="samples",
        standardizer=Standardizer().fit(lead2.signals),
    )
    assert bundle.lead_names == ("II",)
    # The declared contract is checked at fit: 12 leads do not go into a 1-lead model.
    with pytest.raises(DataError, match="12 leads but the model expects 1"):
        TLCExplainer(bundle, n_clusters=K, progress=False).fit(data)
    _check_alignment("single-lead (batch, samples)", bundle, lead2, _raw_nmi(lead2), 1)
    cam = GradCAM(bundle).attribute(lead2.subset([0, 1]))
    assert cam.shape == (2, N_SAMPLES) and cam.max() == pytest.approx(1.0)


@pytest.mark.slow
def test_unet_segmenter_per_sample_outputs(data, raw_nmi):
    net = UNet1d()
    x = standardise(np.asarray(data.signals))
    masks = np.asarray(data.wave_masks, dtype=np.int64)
    train_briefly(net, lambda m, xb: m(xb), x, masks, nn.CrossEntropyLoss(), steps=60)
    bundle = declare_model(
        net,
        fs=FS,
        lead_names=data.lead_names,
        n_samples=N_SAMPLES,
        task="segmentation",
        class_names=["none", "P", "QRS", "T"],
        standardizer=Standardizer().fit(data.signals),
    )
    sub = data.subset([0, 1, 2])
    pred = bundle.predict(sub)
    assert pred.shape == (3, N_SAMPLES) and set(np.unique(pred)) <= {0, 1, 2, 3}
    frac = bundle.predict_proba(sub)
    assert frac.shape == (3, 4) and np.allclose(frac.sum(1), 1, atol=1e-4)
    layers = default_layers(net, x[:2])
    assert "" not in layers and len(layers) == 3
    tlc = _check_alignment("U-Net segmenter", bundle, data, raw_nmi, wrong_axis=1)
    assert tlc.layers_ == default_layers(net, x[:2], which="early")
    # Grad-CAM of QRS differentiates the QRS logit summed where QRS is predicted: the map
    # peaks inside QRS complexes, and the layer used is named.
    cam_engine = GradCAM(bundle)
    cam = cam_engine.attribute(sub, target=2)
    assert cam_engine.layer == layers[-1] and layers[-1] in cam_engine.describe()
    hit = np.asarray(sub.wave_masks)[np.arange(3), cam.argmax(1)]
    assert (hit == 2).sum() >= 2, hit
