"""ResNet1d architecture, ResNet1d.for_input and the shipped demo model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecg_cluster_widget.errors import FileFormatError, ModelError
from ecg_cluster_widget.model import (
    DEMO_DATA_KWARGS,
    ModelBundle,
    ResNet1d,
    demo_model_path,
    evaluate_model,
    load_demo_model,
)


def test_default_config_unchanged():
    net = ResNet1d()
    assert net.config["filters"] == (32, 48, 64, 80, 96)
    assert net.config["seq_lengths"] == (1000, 500, 250, 125, 25)
    assert net.default_layers() == ["blocks.1", "blocks.2", "blocks.3"]
    assert 0.6e6 < sum(p.numel() for p in net.parameters()) < 0.8e6


def test_blocks_return_tuples_with_expected_lengths():
    torch.manual_seed(0)
    net = ResNet1d(12, 5).eval()
    seen = {}
    hooks = [
        b.register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(k, o))
        for k, b in enumerate(net.blocks)
    ]
    out = net(torch.randn(2, 12, 1000))
    for h in hooks:
        h.remove()
    assert out.shape == (2, 5)
    assert all(isinstance(v, tuple) and len(v) == 2 for v in seen.values())
    assert [seen[k][0].shape[-1] for k in range(4)] == [500, 250, 125, 25]
    assert [seen[k][0].shape[1] for k in range(4)] == [48, 64, 80, 96]


def test_forward_rejects_wrong_shape():
    net = ResNet1d(12, 5)
    with pytest.raises(ModelError, match=r"expects input of shape \(batch, 12, 1000\)"):
        net(torch.zeros(1, 12, 500))
    with pytest.raises(ModelError, match="integer factor"):
        ResNet1d(12, 5, filters=(8, 8), seq_lengths=(100, 30))
    with pytest.raises(ModelError, match="same length"):
        ResNet1d(12, 5, filters=(8, 8, 8), seq_lengths=(100, 50))


@pytest.mark.parametrize(
    "fs, n, lengths",
    [
        (100, 1000, (1000, 500, 250, 125, 25)),
        (400, 4096, (4096, 1024, 256, 64, 16)),
        (500, 5000, (5000, 1250, 250, 125, 25)),
        (250, 2500, (2500, 1250, 250, 125, 25)),
    ],
)
def test_for_input_time_resolution(fs, n, lengths):
    net = ResNet1d.for_input(fs, n, n_leads=12, n_classes=3)
    assert net.config["seq_lengths"] == lengths
    # the first hooked block steps at ~40 ms, as in the reference network
    step_ms = 1000 * n / lengths[2] / fs
    assert step_ms == pytest.approx(40, rel=0.05)
    assert net(torch.zeros(1, 12, n)).shape == (1, 3)


def test_for_input_sizes_and_errors():
    assert ResNet1d.for_input(400, 4096, size="ribeiro").config["filters"] == (
        64,
        128,
        196,
        256,
        320,
    )
    assert ResNet1d.for_input(100, 1000, size="tiny").config["filters"] == (16, 24, 32, 40, 48)
    assert ResNet1d.for_input(100, 1000).config == ResNet1d().config
    with pytest.raises(ModelError, match="size"):
        ResNet1d.for_input(100, 1000, size="huge")
    with pytest.raises(ModelError, match=r"crop_or_pad\(ds, 1000\)"):
        ResNet1d.for_input(100, 997)
    with pytest.raises(ModelError, match="positive"):
        ResNet1d.for_input(-1, 1000)


@pytest.fixture(autouse=True)
def _one_thread():
    # Small batches on a shared machine: one thread avoids costly hand-offs.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def demo() -> ModelBundle:
    if not demo_model_path().is_file():
        pytest.skip("the demo model has not been trained yet (scripts/train_demo_model.py)")
    return load_demo_model()


def test_demo_model_metadata(demo):
    assert demo.fs == DEMO_DATA_KWARGS["fs"] and demo.n_samples == 1000 and demo.n_leads == 12
    assert demo.class_names == ("NORM", "MI", "STTC", "CD", "AF")
    assert demo.task == "multilabel" and demo.standardizer is not None
    assert demo.meta["metrics"]["test"]["macro_auroc"] > 0.9
    assert demo.history and demo_model_path().stat().st_size < 5e6


def test_demo_model_beats_chance_on_fresh_data(demo):
    from ecg_cluster_widget.data.synthetic import make_synthetic

    ds = make_synthetic(120, seed=2024, **DEMO_DATA_KWARGS)
    ev = evaluate_model(demo, ds)
    assert ev["macro_auroc"] > 0.85, ev
    # shuffled labels must drop to chance: the score reflects the signals, not priors
    shuffled = ds.copy(labels=ds.labels[np.random.default_rng(0).permutation(len(ds))])
    assert evaluate_model(demo, shuffled)["macro_auroc"] < 0.7


def test_missing_demo_asset_message(monkeypatch, tmp_path):
    import ecg_cluster_widget.model.pretrained as pre

    monkeypatch.setattr(pre, "demo_model_path", lambda: tmp_path / "demo_model.pt")
    with pytest.raises(FileFormatError, match="train_demo_model.py"):
        pre.load_demo_model()


@pytest.mark.parametrize("fs,n", [(100, 1000), (250, 2500), (500, 5000), (400, 4096), (100, 500)])
def test_for_input_uses_network_layout(fs, n):
    from ecg_cluster_widget.model import network_layout

    layout = network_layout(fs, n)
    net = ResNet1d.for_input(fs, n, n_leads=3, n_classes=2)
    assert net.config["filters"] == layout["filters"]
    assert net.config["seq_lengths"] == layout["seq_lengths"]
    assert net(torch.zeros(1, 3, n)).shape == (1, 2)


def test_network_layout_rejects_bad_input():
    from ecg_cluster_widget.model import network_layout

    with pytest.raises(ModelError, match="size must be"):
        network_layout(100, 1000, size="huge")
    with pytest.raises(ModelError, match="positive"):
        network_layout(0, 1000)


# --- a model's input contract: forward=, preprocess=, input_layout=, tasks -------------
class _TwoArg(torch.nn.Module):
    """forward(x, scale) returning (logits, features), as third-party models often do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(2, 3, 3, padding=1)

    def forward(self, x, scale):
        h = self.conv(x) * scale
        return h.mean(2), h


def _ds(n=4, leads=("I", "II"), t=50, fs=100):
    from ecg_cluster_widget.data import ECGDataset

    x = np.random.default_rng(0).normal(size=(n, len(leads), t))
    return ECGDataset(x, fs=fs, lead_names=leads, amplitude_check="ignore")


def test_forward_adapter_and_multiclass_softmax():
    import copy

    from ecg_cluster_widget.model import declare_model

    torch.manual_seed(0)
    net = _TwoArg()
    with pytest.raises(ModelError, match=r"_TwoArg.forward\(x, scale\) needs 2 inputs.*forward="):
        declare_model(net, fs=100, lead_names=["I", "II"], n_samples=50)
    b = declare_model(
        net,
        fs=100,
        lead_names=["I", "II"],
        n_samples=50,
        forward=lambda m, x: m(x, 2.0)[0],
        task="multiclass",
    )
    assert b.class_names == ("output 0", "output 1", "output 2")
    p = b.predict_proba(_ds())
    assert p.shape == (4, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    hard = b.predict(_ds())
    assert (hard.sum(1) == 1).all() and (hard.argmax(1) == p.argmax(1)).all()
    # A copy (sklearn.clone, pickling) keeps the contract for its own copy of the network.
    c = copy.deepcopy(b)
    assert c.model is not net and np.allclose(c.predict_proba(_ds()), p)
    # A bundle whose network returns a tuple without forward= says how to pick the logits.
    plain = _TwoArg()
    bad = ModelBundle(plain, ["a", "b", "c"], ["I", "II"], fs=100, n_samples=50)
    with pytest.raises(ModelError, match="forward=lambda net, x: net"):
        bad.predict_proba(_ds())


def test_preprocess_and_single_lead_contract():
    from ecg_cluster_widget.model import declare_model

    seen = {}

    class OneLead(torch.nn.Module):
        def forward(self, x):
            seen["shape"] = tuple(x.shape)
            return x[:, :2]

    def unit_scale(x):
        return x / (np.abs(x).max(axis=-1, keepdims=True) + 1e-9)

    b = declare_model(
        OneLead(),
        fs=100,
        lead_names=["ML2"],
        n_samples=50,
        input_layout="samples",
        preprocess=unit_scale,
    )
    ds = _ds(leads=("II",))
    assert np.abs(b.prepare(ds)).max() == pytest.approx(1.0)
    assert b.predict_proba(ds).shape == (4, 2) and seen["shape"] == (4, 50)
    assert "unit_scale" in b.preprocessing_description
    with pytest.raises(ModelError, match="single-lead"):
        ModelBundle(OneLead(), ["a"], ["I", "II"], fs=100, n_samples=50, input_layout="samples")
    with pytest.raises(ModelError, match="input_layout must be one of"):
        ModelBundle(OneLead(), ["a"], ["II"], fs=100, n_samples=50, input_layout="tokens")
    broken = ModelBundle(
        OneLead(),
        ["a", "b"],
        ["II"],
        fs=100,
        n_samples=50,
        input_layout="samples",
        preprocess=lambda x: x[..., :10],
    )
    with pytest.raises(ModelError, match="preprocess returned shape"):
        broken.prepare(ds)


def test_input_layout_survives_a_checkpoint(tmp_path):
    from ecg_cluster_widget.model import load_checkpoint, save_checkpoint

    net = ResNet1d(1, 2, filters=(4, 4), seq_lengths=(32, 16))

    class Squeeze(torch.nn.Module):  # a single-lead wrapper stored by its weights
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x[:, None])

    b = ModelBundle(Squeeze(net), ["a", "b"], ["II"], fs=100, n_samples=32, input_layout="samples")
    path = save_checkpoint(tmp_path / "m.pt", b)
    back = load_checkpoint(
        path, model=Squeeze(ResNet1d(1, 2, filters=(4, 4), seq_lengths=(32, 16)))
    )
    assert back.input_layout == "samples"
    ds = _ds(leads=("II",), t=32)
    np.testing.assert_allclose(back.predict_proba(ds), b.predict_proba(ds), rtol=1e-5)
