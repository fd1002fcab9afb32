"""TLC on networks nobody here described: five architectures built and trained in the test.

Each network is trained briefly on synthetic ECGs, whose generator knows every wave
exactly, and explained by TLC with its defaults (layers found by structure, time axes
found by probing). Per architecture the test measures the NMI of the clusters with the
P/QRS/T masks three ways: TLC as the hooks read the network; TLC with the time axis
forced to the wrong one (what the old hooks did to a transformer: NMI 0.003 in the
issue); and k-means on raw signal windows. A wrong axis cannot pass: it scores about
0.001 here, and the right one must score at least ten times more and above 0.05.

Against raw-window k-means: the segmenter (features trained on the waves) must beat it.
The briefly trained classifiers are measured but not held to it: the project's own study
(docs/alignment.md, docs/results.md) finds that the last blocks of a trained classifier
tie with or trail raw windows on synthetic data, and 40 training steps do not change
that. Measured on a loaded 2-core machine over three runs (NMI, raw k-means 0.19; 0.21
for the single lead): ResNet 0.08-0.14, transformer 0.13-0.17, tuple-output network
0.14-0.17, single-lead 0.18-0.24, U-Net segmenter 0.44-0.49; wrong axis 0.000-0.002.

The architectures: a ResNet whose class name contains "Res" (the old name matching
hooked the whole model); a transformer with (batch, tokens, channels) blocks; a network
with tuple outputs and an extra forward argument; a single-lead (batch, samples) network;
a U-Net-style per-sample segmenter.
"""

from __future__ import annotations

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


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    for name, row in MEASURED.items():
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))


def _standardise(x: np.ndarray) -> np.ndarray:
    mu = x.mean(axis=(0, 2), keepdims=True)
    sd = x.std(axis=(0, 2), keepdims=True) + 1e-6
    return ((x - mu) / sd).astype(np.float32)


def _train(net: nn.Module, call, x: np.ndarray, y: np.ndarray, loss_fn, steps: int = 40) -> None:
    """A few Adam steps on mini-batches of 16 records."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    xt, yt = torch.tensor(x), torch.tensor(y)
    net.train()
    for _ in range(steps):
        idx = torch.from_numpy(rng.choice(len(x), size=16, replace=False))
        opt.zero_grad()
        loss_fn(call(net, xt[idx]), yt[idx]).backward()
        opt.step()
    net.eval()


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
    # The symptom explain.diagnostics warns about (most time steps get the same cluster in
    # every record): never raised by a network read rightly. Read wrongly it shows on some
    # networks only (the share is reported), so it backs up the layout probe, not replaces it.
    MEASURED[name].update({"positional share": share, "wrong-axis positional share": wrong_share})
    assert share < 0.2 < POSITIONAL_SHARE_LIMIT, MEASURED[name]
    return tlc


# -- the architectures ---------------------------------------------------------------
class Residual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 7, stride=stride, padding=3)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 7, padding=3)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.skip = nn.Conv1d(c_in, c_out, 1, stride=stride)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.skip(x))


class ResEncoderClassifier(nn.Module):
    """Its class name contains "Res": the old default hooked this whole model."""

    def __init__(self, n_leads: int = 12, n_out: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(n_leads, 16, 9, padding=4), nn.ReLU())
        self.blocks = nn.ModuleList(
            [Residual(16, 16, 1), Residual(16, 24, 2), Residual(24, 32, 1), Residual(32, 32, 2)]
        )
        self.head = nn.Linear(32, n_out)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x.mean(dim=2))


class TokenTransformer(nn.Module):
    """Patch tokenizer, then encoder layers whose outputs are (batch, tokens, channels)."""

    def __init__(self, n_leads: int = 12, n_out: int = 5, d: int = 32, patch: int = 4) -> None:
        super().__init__()
        self.tokenize = nn.Conv1d(n_leads, d, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, 1024, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=3, enable_nested_tensor=False)
        self.head = nn.Linear(d, n_out)

    def forward(self, x):
        t = self.tokenize(x).transpose(1, 2)  # (batch, tokens, d)
        t = self.encoder(t + self.pos[:, : t.shape[1]])
        return self.head(t.mean(dim=1))


class GatedBlock(nn.Module):
    """Returns (features, gate): which element to cluster must be said, never guessed."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 7, padding=3)
        self.gate = nn.Conv1d(c_in, c_out, 1)

    def forward(self, x):
        g = torch.sigmoid(self.gate(x))
        return torch.relu(self.conv(x)) * g, g


class LeadConditionedNet(nn.Module):
    """``forward(x, lead_set)`` with an extra argument, returning (logits, embedding)."""

    def __init__(self, n_leads: int = 12, n_out: int = 5) -> None:
        super().__init__()
        self.lead_set = nn.Embedding(4, 16)
        self.inp = nn.Conv1d(n_leads, 16, 9, padding=4)
        self.blocks = nn.ModuleList([GatedBlock(16, 16) for _ in range(4)])
        self.head = nn.Linear(16, n_out)

    def forward(self, x, lead_set):
        h = torch.relu(self.inp(x) + self.lead_set(lead_set)[:, :, None])
        for b in self.blocks:
            h, _ = b(h)
        emb = h.mean(dim=2)
        return self.head(emb), emb


class SingleLeadNet(nn.Module):
    """Takes (batch, samples), as many single-lead wearable models do."""

    def __init__(self, n_out: int = 5) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Conv1d(1, 16, 9, padding=4)] + [nn.Conv1d(16, 16, 9, padding=4) for _ in range(3)]
        )
        self.head = nn.Linear(16, n_out)

    def forward(self, x):
        h = x[:, None, :]
        for conv in self.layers:
            h = torch.relu(conv(h))
        return self.head(h.mean(dim=2))


class Down(nn.Module):
    def __init__(self, c_in: int, c_out: int, pool: bool) -> None:
        super().__init__()
        self.pool = nn.MaxPool1d(2) if pool else nn.Identity()
        self.conv = nn.Conv1d(c_in, c_out, 7, padding=3)

    def forward(self, x):
        return torch.relu(self.conv(self.pool(x)))


class Up(nn.Module):
    def __init__(self, c_in: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in + c_skip, c_out, 7, padding=3)

    def forward(self, x, skip):
        x = nn.functional.interpolate(x, size=skip.shape[-1], mode="linear")
        return torch.relu(self.conv(torch.cat([x, skip], dim=1)))


class UNet1d(nn.Module):
    """Per-sample segmenter: (batch, 4 waves, samples) logits."""

    def __init__(self, n_leads: int = 12, n_out: int = 4) -> None:
        super().__init__()
        self.d1, self.d2, self.d3 = Down(n_leads, 16, False), Down(16, 24, True), Down(24, 32, True)
        self.u2, self.u1 = Up(32, 24, 24), Up(24, 16, 16)
        self.out = nn.Conv1d(16, n_out, 1)

    def forward(self, x):
        a = self.d1(x)
        b = self.d2(a)
        c = self.d3(b)
        return self.out(self.u1(self.u2(c, b), a))


# -- the tests -----------------------------------------------------------------------
def _classifier_setup(data):
    x = _standardise(np.asarray(data.signals))
    y = np.asarray(data.labels, dtype=np.float32)
    return x, y, nn.BCEWithLogitsLoss(), Standardizer().fit(data.signals)


@pytest.mark.slow
def test_resnet_default_layers_by_structure_never_the_root(data, raw_nmi):
    net = ResEncoderClassifier()
    x, y, loss, std = _classifier_setup(data)
    _train(net, lambda m, xb: m(xb), x, y, loss)
    assert default_layers(net, x[:2]) == ["blocks.1", "blocks.2", "blocks.3"]
    wrapped = nn.Sequential(net)  # a wrapper holding the whole model is never chosen either
    assert default_layers(wrapped, x[:2]) == ["0.blocks.1", "0.blocks.2", "0.blocks.3"]
    bundle = declare_model(
        net, fs=FS, lead_names=data.lead_names, n_samples=N_SAMPLES, standardizer=std
    )
    tlc = _check_alignment("ResNet", bundle, data, raw_nmi, wrong_axis=1)
    assert tlc.layers_ == ["blocks.1", "blocks.2", "blocks.3"]


def test_transformer_tokens_are_transposed(data, raw_nmi):
    net = TokenTransformer()
    x, y, loss, std = _classifier_setup(data)
    _train(net, lambda m, xb: m(xb), x, y, loss)
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

    def call(m, xb):
        return m(xb, torch.zeros(len(xb), dtype=torch.long))[0]

    _train(net, call, x, y, loss)
    # Without the adapter: the error shows the forward's signature and the fix.
    with pytest.raises(ModelError, match=r"forward\(x, lead_set\) needs 2 inputs.*forward="):
        ActivationExtractor(net, layers=["blocks.3"], progress=False).extract(x[:2])
    bundle = declare_model(
        net, fs=FS, lead_names=data.lead_names, n_samples=N_SAMPLES, standardizer=std, forward=call
    )
    assert bundle.class_names == tuple(f"output {i}" for i in range(5))
    assert bundle.predict_proba(data.subset([0, 1])).shape == (2, 5)
    # The blocks return (features, gate): refused with the choices listed ...
    with pytest.raises(ModelError, match=r"'blocks.1' returns a tuple.*\[0\].*\[1\]"):
        ActivationExtractor(bundle, progress=False).extract(x[:2])
    # ... and picked explicitly: per call, on the explainer, or on the module.
    pick = {f"blocks.{i}": 0 for i in (1, 2, 3)}
    picked = ActivationExtractor(bundle, output=pick, progress=False)
    assert [b.shape for b in picked.extract(x[:2])] == [(2, 16, N_SAMPLES)] * 3
    with pytest.raises(ModelError, match=r"returns a tuple"):
        TLCExplainer(bundle, n_clusters=K, progress=False).fit(data)
    tlc = _check_alignment(
        "tuple outputs + extra argument", bundle, data, raw_nmi, wrong_axis=1, layer_output=pick
    )
    assert tlc.layers_ == ["blocks.1", "blocks.2", "blocks.3"]
    for b in net.blocks:
        b.hook_output = 0
    assert TLCExplainer(bundle, n_clusters=K, n_components=8, progress=False).fit(data).layers_


def test_single_lead_samples_model(data, lead2):
    net = SingleLeadNet()
    x = _standardise(np.asarray(lead2.signals))
    y = np.asarray(lead2.labels, dtype=np.float32)
    _train(net, lambda m, xb: m(xb[:, 0]), x, y, nn.BCEWithLogitsLoss())
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
    x = _standardise(np.asarray(data.signals))
    masks = np.asarray(data.wave_masks, dtype=np.int64)
    _train(net, lambda m, xb: m(xb), x, masks, nn.CrossEntropyLoss(), steps=60)
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
    # Its features are trained on the waves: its clusters beat raw windows.
    assert MEASURED["U-Net segmenter"]["TLC NMI"] > raw_nmi
    assert tlc.layers_ == layers
    # Grad-CAM of QRS differentiates the QRS logit summed where QRS is predicted: the map
    # peaks inside QRS complexes, and the layer used is named.
    cam_engine = GradCAM(bundle)
    cam = cam_engine.attribute(sub, target=2)
    assert cam_engine.layer == layers[-1] and layers[-1] in cam_engine.describe()
    hit = np.asarray(sub.wave_masks)[np.arange(3), cam.argmax(1)]
    assert (hit == 2).sum() >= 2, hit
