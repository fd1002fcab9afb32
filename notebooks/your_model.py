# %% [markdown]
# # Explain your own model
#
# `TLCExplainer` works with any `torch.nn.Module` that maps `(batch, leads, samples)` to
# outputs, as long as you name the layers to hook. This notebook defines a small
# convolutional network that is *not* a ResNet1d, trains it briefly on synthetic ECGs, picks
# layers, checks the hooks and explains it.

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

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 9, stride=stride, padding=4)
        self.bn = nn.BatchNorm1d(c_out)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        return y, y.mean(dim=-1)  # a tuple: the hooks take the first element


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
# ## Choose layers and check the hooks
#
# TLC hooks the outputs of late blocks: they carry the network's abstract features but
# still have a time axis. Pick blocks that keep a time dimension (`Conv1d`-like outputs of
# shape `(batch, channels, time)`), typically the last two or three before global pooling.
# `ActivationExtractor` shows what each hook returns; tuples are reduced to their first
# element.

# %%
from ecg_cluster_widget.activations.hooks import ActivationExtractor

layers = ["block1", "block2", "block3"]
x = bundle.prepare(ds.subset(slice(0, 4)))
blocks = ActivationExtractor(bundle.model, layers=layers, progress=False).extract(x)
for name, a in zip(layers, blocks):
    print(f"{name}: {a.shape}  (batch, channels, time)")

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
from ecg_cluster_widget.views.widget import ClusterExplorer

tlc = TLCExplainer(bundle, n_clusters=5, layers=layers, random_state=0).fit(ds)
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
# Without a bundle, pass the bare module: `TLCExplainer(net, layers=layers)`. The data is
# then fed as given (no standardisation or checks beyond NaN), so prepare it the way the
# network was trained.

# %%
tlc_bare = TLCExplainer(net, n_clusters=5, layers=layers, random_state=0, progress=False)
tlc_bare.fit(ds.subset(slice(0, 30)))
tlc_bare.transform(ds.subset(slice(0, 2))).shape
