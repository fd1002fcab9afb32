"""Grad-CAM: localisation on a model whose evidence location is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ecg_cluster_widget.data.dataset import ECGDataset
from ecg_cluster_widget.errors import DataError, ModelError
from ecg_cluster_widget.explain.gradcam import GradCAM, gradcam_per_class
from ecg_cluster_widget.model import ResNet1d


class PairBlock(nn.Module):
    """Returns a tuple, like ResBlock1d, and declares the element hooks record."""

    hook_output = 0

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3, padding=1, bias=False)
        with torch.no_grad():
            # channel 0 detects positive deflections, channel 1 negative ones
            self.conv.weight.zero_()
            self.conv.weight[0, 0, 1] = 1.0
            self.conv.weight[1, 0, 1] = -1.0

    def forward(self, x):
        a = torch.relu(self.conv(x))
        return a, a * 0.0


class TwoClassNet(nn.Module):
    """Class 0 = mean positive deflection, class 1 = mean negative deflection."""

    def __init__(self) -> None:
        super().__init__()
        self.block = PairBlock()

    def forward(self, x):
        a, _ = self.block(x)
        return a.mean(dim=2)


def _two_bump_input(n=3, t=100):
    x = np.zeros((n, 1, t), dtype=np.float32)
    x[:, 0, 10:20] = 1.0
    x[:, 0, 60:70] = -2.0
    x += np.random.default_rng(0).normal(0, 0.01, x.shape).astype(np.float32)
    return x


def test_peak_in_region_that_drives_each_class():
    net = TwoClassNet()
    x = _two_bump_input()
    cam = GradCAM(net, layer="block")
    c0 = cam.attribute(x, target=0)
    c1 = cam.attribute(x, target=1)
    assert c0.shape == (3, 100) and c0.dtype == np.float32
    assert np.all((10 <= c0.argmax(1)) & (c0.argmax(1) < 20))
    assert np.all((60 <= c1.argmax(1)) & (c1.argmax(1) < 70))
    # most of the mass of the class-0 map lies in the class-0 region
    assert c0[:, 10:20].sum() > 0.8 * c0.sum()
    assert np.allclose(c0.max(1), 1.0) and c0.min() >= 0


def test_target_none_uses_predicted_class_and_per_class():
    net = TwoClassNet()
    x = _two_bump_input()  # the negative bump is larger -> class 1 predicted
    none = GradCAM(net, layer="block").attribute(x)
    np.testing.assert_allclose(none, GradCAM(net, layer="block").attribute(x, target=1))
    allc = gradcam_per_class(net, x, layer="block")
    assert allc.shape == (3, 2, 100)
    np.testing.assert_allclose(
        allc[:, 0], GradCAM(net, layer="block").attribute(x, target=0), atol=1e-6
    )
    # per-record targets
    both = GradCAM(net, layer="block").attribute(x, target=[0, 1, 0])
    np.testing.assert_allclose(both[1], allc[1, 1], atol=1e-6)
    np.testing.assert_allclose(both[2], allc[2, 0], atol=1e-6)


def test_resnet1d_default_layer_tuple_blocks_and_no_upsample():
    torch.manual_seed(0)
    net = ResNet1d(2, 3, filters=(8, 8, 8), seq_lengths=(64, 32, 16), kernel_size=5)
    g = GradCAM(net)
    assert g.layer == "blocks.1"
    x = np.random.default_rng(1).normal(size=(4, 2, 64)).astype(np.float32)
    full = g.attribute(x, target=2)
    small = g.attribute(torch.from_numpy(x), target=2, upsample=False)
    assert full.shape == (4, 64) and small.shape == (4, 16)
    assert np.isfinite(full).all() and full.max() <= 1 and full.min() >= 0
    raw = g.attribute(x, target=2, relu=False)
    assert np.allclose(raw.min(1), 0) and np.allclose(raw.max(1), 1)
    assert net.training  # mode restored
    # deterministic
    np.testing.assert_array_equal(full, g.attribute(x, target=2))


def test_frozen_weights_still_give_gradients():
    net = TwoClassNet()
    for p in net.parameters():
        p.requires_grad_(False)
    cam = GradCAM(net, layer="block").attribute(_two_bump_input(), target=0)
    assert cam.max() == pytest.approx(1.0)


def test_dataset_input_with_bundle_like_object():
    net = TwoClassNet()

    class Bundle:
        model = net

        def prepare(self, ds):
            return ds.signals * 1.0

    ds = ECGDataset(_two_bump_input()[:, :, :], fs=10, lead_names=("II",))
    cam = GradCAM(Bundle(), layer="block").attribute(ds, target=0)
    assert (cam.argmax(1) >= 10).all() and (cam.argmax(1) < 20).all()


def test_errors():
    net = TwoClassNet()
    with pytest.raises(ModelError, match="not in the model.*block"):
        GradCAM(net, layer="nope")
    with pytest.raises(ModelError, match="out of range"):
        GradCAM(net, layer="block").attribute(_two_bump_input(), target=5)
    x = _two_bump_input()
    x[0, 0, 3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        GradCAM(net, layer="block").attribute(x, target=0)
    with pytest.raises(DataError, match="shape"):
        GradCAM(net, layer="block").attribute(np.zeros((1, 1, 1, 5)), target=0)
    with pytest.raises(ModelError, match="Module or a ModelBundle"):
        GradCAM(object())
    with pytest.raises(ModelError, match="shape"):
        GradCAM(ResNet1d(2, 3, filters=(8, 8), seq_lengths=(64, 32), kernel_size=5)).attribute(
            np.zeros((1, 2, 50)), target=0
        )
    with pytest.raises(ModelError, match="forward failed on input.*TwoClassNet.forward"):
        GradCAM(net, layer="block").attribute(np.zeros((1, 3, 50)), target=0)


class LateTokenizer(nn.Module):
    """The tokenizer is registered last but runs first (registration != execution order)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Conv1d(8, 8, 3, padding=1) for _ in range(3)])
        self.head = nn.Linear(8, 2)
        self.tokenizer = nn.Conv1d(1, 8, 4, stride=4)

    def forward(self, x):
        h = self.tokenizer(x)
        for b in self.blocks:
            h = torch.relu(b(h))
        return self.head(h.mean(2))


class TokensOut(nn.Module):
    """Blocks output (batch, tokens, channels), like a transformer's."""

    def __init__(self) -> None:
        super().__init__()
        self.tok = nn.Conv1d(1, 6, 4, stride=4)
        self.mix = nn.ModuleList([nn.Linear(6, 6) for _ in range(2)])
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        t = self.tok(x).transpose(1, 2)
        for m in self.mix:
            t = torch.relu(m(t))
        return self.head(t.mean(1))


def test_default_layer_is_the_last_block_in_execution_order():
    # The old default, the last Conv1d in registration order, was the tokenizer here.
    torch.manual_seed(0)
    net = LateTokenizer()
    cam = GradCAM(net)
    assert cam.layer is None and "chosen on the first input" in cam.describe()
    maps = cam.attribute(np.random.default_rng(0).normal(size=(2, 1, 64)), target=1)
    assert maps.shape == (2, 64)
    assert cam.layer == "blocks.2" and "'blocks.2'" in cam.describe()
    fine = GradCAM(net, layer="fine")
    fine.attribute(np.ones((1, 1, 64)), target=0)
    assert fine.layer == "blocks.0"


def test_gradcam_on_batch_time_channel_layers():
    torch.manual_seed(0)
    net = TokensOut()
    x = np.zeros((2, 1, 64), np.float32)
    x[:, 0, 40:44] = 3.0
    cam = GradCAM(net)
    maps = cam.attribute(x, target=0, upsample=False)
    assert cam.layer == "mix.1" and cam.layout_.time_axis == 1
    assert maps.shape == (2, 16)  # 16 tokens: time, not the 6 channels
