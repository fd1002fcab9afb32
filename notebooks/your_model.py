# %% [markdown]
# # Explain your own model
#
# `TLCExplainer` works with any `torch.nn.Module`. It finds the layers to hook by running
# the network (repeated blocks that keep a time axis, in execution order) and finds each
# layer's time axis by running it at two input lengths, so convolutional `(batch, channels,
# time)` and transformer `(batch, tokens, channels)` blocks are both read correctly. This
# notebook defines a small convolutional network that is *not* a ResNet1d, trains it
# briefly on synthetic ECGs, checks the hooks and explains it; the last part is a recipe for
# a third-party or transformer model with its own input contract.

# %%
import os

# ECW_FAST=1 (set by the test suite) shrinks the data so the notebook runs in seconds.
FAST = os.environ.get("ECW_FAST") == "1"

# %%
import torch
from torch import nn

from ecg_cluster_widget.demo import demo_dataset


class Block(nn.Module):
    """Conv-BN-ReLU with stride; returns (x, extra) like many residual blocks do."""

    # Which element of the tuple the hooks record. Without it a tuple output is refused
    # with its elements listed: TLC never takes the first element silently.
    hook_output = 0

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 9, stride=stride, padding=4)
        self.bn = nn.BatchNorm1d(c_out)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        return y, y.mean(dim=-1)  # a tuple: hook_output says which element to cluster


class MyNet(nn.Module):
    def __init__(self, n_leads=12, n_classes=5):
        super().__init__()
        self.stem = nn.Conv1d(n_leads, 16, 15, padding=7)
        self.block1 = Block(16, 24, 2)
        self.block2 = Block(24, 32, 2)
        self.block3 = Block(32, 32, 2)
        self.head = nn.Linear(32, n_classes)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x, _ = self.block1(x)
        x, _ = self.block2(x)
        x, _ = self.block3(x)
        return self.head(x.mean(dim=-1))


net = MyNet()
ds = demo_dataset(n_records=60 if FAST else 400)
[name for name, _ in net.named_children()]

# %% [markdown]
# ## Train (briefly)
#
# `train_model` accepts any module and returns a `ModelBundle` (model + sampling rate,
# leads, length and standardisation), which also makes `predict_proba` and Grad-CAM
# available. A model you trained elsewhere can be wrapped with
# `ModelBundle(net, class_names, lead_names, fs, n_samples, standardizer=None)`.

# %%
from ecg_cluster_widget.model import train_model

n_train = int(0.8 * len(ds))
bundle = train_model(
    net,
    ds.subset(slice(0, n_train)),
    ds.subset(slice(n_train, None)),
    epochs=1 if FAST else 8,
    batch_size=32,
    seed=0,
)
bundle.history[-1]

# %% [markdown]
# ## Check the layers and the hooks
#
# TLC hooks the outputs of late blocks: they carry the network's abstract features but
# still have a time axis. Without `layers=` it picks them by structure: modules that keep a
# time axis, repeated blocks first, the last three in execution order (never the whole
# model). `ActivationExtractor` shows the choice and, in `layouts_`, how each output was
# read: the tuple element, the shape and the time axis.

# %%
from ecg_cluster_widget.activations import ActivationExtractor

x = bundle.prepare(ds.subset(slice(0, 4)))
ext = ActivationExtractor(bundle, progress=False)
blocks = ext.extract(x)
layers = ext.layers
for layout, a in zip(ext.layouts_, blocks):
    print(layout.describe(), "->", a.shape, "(batch, channels, time)")

# %% [markdown]
# A layer name that does not exist raises a clear error listing the available ones:

# %%
from ecg_cluster_widget.errors import ECGClusterError

try:
    ActivationExtractor(bundle.model, layers=["block9"], progress=False).extract(x)
except ECGClusterError as err:
    print("error:", err)

# %% [markdown]
# ## Explain

# %%
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.gradcam import GradCAM
from ecg_cluster_widget.views.widget import ClusterExplorer

tlc = TLCExplainer(bundle, n_clusters=5, random_state=0).fit(ds)
ex = tlc.explain(ds, 0)
print(
    "layers:",
    tlc.layers_,
    "| segments in record 0:",
    len(ex.segments),
    "| mean entropy:",
    round(ex.mean_entropy, 3),
)
ClusterExplorer(tlc, ds, model=bundle, progress=False)

# %% [markdown]
# Without a bundle, pass the bare module: `TLCExplainer(net)`. The data is then fed as
# given (no standardisation or checks beyond NaN), so prepare it the way the network was
# trained; `declare_model` (below) states the input instead, and every fit checks it.

# %%
tlc_bare = TLCExplainer(net, n_clusters=5, random_state=0, progress=False)
tlc_bare.fit(ds.subset(slice(0, 30)))
tlc_bare.transform(ds.subset(slice(0, 2))).shape

# %% [markdown]
# ## Recipe: a third-party or transformer model
#
# A network you did not write often breaks TLC's assumptions: its blocks output
# `(batch, tokens, channels)`, its `forward` takes an extra argument or returns a tuple,
# it has its own normalisation, or it takes a single lead as `(batch, samples)`. State its
# input contract once with `declare_model`; the explainer, predictions and Grad-CAM all
# use it:
#
# * `fs`, `lead_names`, `n_samples`: checked at every fit (a 12-lead dataset is refused by
#   a single-lead model instead of being fed to it); lead names accept aliases (`MLII`,
#   `V 1`);
# * `forward=lambda net, x: ...`: how to call it (extra arguments, picking the logits out of
#   a tuple);
# * `preprocess=`: its own normalisation, applied after the optional filter and z-score;
# * `input_layout="samples"`: a single-lead network taking `(batch, samples)`;
# * `task=`: `"multilabel"` (sigmoid), `"multiclass"` (softmax), `"regression"` or
#   `"segmentation"` (per-sample outputs `(batch, classes, time)`).
#
# Here a small transformer stands in for a downloaded one: a patch tokenizer, encoder
# layers that output `(batch, tokens, channels)`, an extra `lead_set` argument, a
# `(logits, embedding)` tuple output, and per-window scaling it was trained with.

# %%
import numpy as np

from ecg_cluster_widget.model import declare_model


class ThirdPartyTransformer(nn.Module):
    def __init__(self, n_leads=12, n_classes=5, d=32, patch=4):
        super().__init__()
        self.tokenize = nn.Conv1d(n_leads, d, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, 2048, d) * 0.02)
        self.lead_set = nn.Embedding(2, d)
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=3, enable_nested_tensor=False)
        self.head = nn.Linear(d, n_classes)

    def forward(self, x, lead_set):
        t = self.tokenize(x).transpose(1, 2)  # (batch, tokens, d)
        t = t + self.pos[:, : t.shape[1]] + self.lead_set(lead_set)[:, None]
        t = self.encoder(t)
        emb = t.mean(dim=1)
        return self.head(emb), emb


def per_window_scaling(x: np.ndarray) -> np.ndarray:
    """The normalisation this model was trained with: each window to unit spread."""
    return x / (x.std(axis=-1, keepdims=True) + 1e-6)


def call(net, x):
    return net(x, torch.zeros(len(x), dtype=torch.long))[0]  # logits out of the tuple


third = ThirdPartyTransformer()
third_bundle = declare_model(
    third,
    fs=ds.fs,
    lead_names=ds.lead_names,
    n_samples=ds.n_samples,
    forward=call,
    preprocess=per_window_scaling,
    task="multiclass",
)
third_bundle

# %% [markdown]
# The hooks find the encoder layers by structure and their time axis by probing: the
# 250 tokens are time, the 32-wide model dimension is channels. (Read the other way, as
# the hooks once did, every "time step" is a channel and most of them get the same
# cluster in every record; `explain.diagnostics.warn_if_positional` warns about that.)

# %%
ext = ActivationExtractor(third_bundle, progress=False)
_ = ext.extract(third_bundle.prepare(ds.subset(slice(0, 2))))
for layout in ext.layouts_:
    print(layout.describe())

# %% [markdown]
# The contract is recorded for the network, so the hooks above needed no adapter. A copy
# without it (as downloaded) fails with an error that says what the network wanted:

# %%
try:
    ActivationExtractor(ThirdPartyTransformer(), progress=False).extract(x)
except ECGClusterError as err:
    print("error:", str(err)[:400], "...")

# %% [markdown]
# When a layer's time axis cannot be found (a network that refuses other lengths and
# whose axes both divide the input length), TLC refuses it naming the layer and its shape;
# pass it yourself: `ActivationExtractor(net, time_axis={"encoder.layers.2": 1})`, or set
# `module.hook_time_axis = 1` on the layer so the explainer sees it too. Tuple or dict
# outputs: `output={"layer": 0}` or `module.hook_output = 0`.
#
# Explain it (in practice, a model trained on this data):

# %%
tlc_third = TLCExplainer(third_bundle, n_clusters=5, random_state=0, progress=False)
tlc_third.fit(ds.subset(slice(0, 40)))
print("hooked:", tlc_third.layers_)
cam = GradCAM(third_bundle)
cam.attribute(ds.subset(slice(0, 2)))
print(cam.describe())

# %% [markdown]
# Tuned options do not transfer between models: the options recommended for the shipped
# `ptbxl250` model (its default, `preset="auto"`) were picked on that model; on a third-party
# ECG transformer they lowered the wave alignment from NMI 0.49 to 0.34. A model without a
# recommendation gets the `"generic"` preset (the first three blocks, a full-covariance GMM,
# the HMM prior), chosen across several architectures (docs/results.md, section 00b). For
# your model start from these defaults and compare options on records whose waves you know
# (`explain.evaluate`).
