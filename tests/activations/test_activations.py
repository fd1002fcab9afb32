"""Tests for activation hooks and feature alignment (tiny models, synthetic inputs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ecg_cluster_widget.activations import (
    ActivationExtractor,
    FeatureAligner,
    default_layers,
    resample_time,
)
from ecg_cluster_widget.errors import DataError, ModelError, NotFittedError
from ecg_cluster_widget.model import ResNet1d


@pytest.fixture(scope="module")
def net() -> ResNet1d:
    torch.manual_seed(0)
    return ResNet1d(12, 3, filters=(8, 12, 16, 16, 16))


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(5, 12, 1000)).astype(np.float32)


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_default_layers_are_last_three_blocks(net, x):
    ext = ActivationExtractor(net, progress=False)
    assert ext.layers == ["blocks.1", "blocks.2", "blocks.3"]
    blocks = ext.extract(x)
    assert [b.shape for b in blocks] == [(5, 16, 250), (5, 16, 125), (5, 16, 25)]
    assert all(b.dtype == np.float32 for b in blocks)


def test_tuple_output_uses_the_blocks_declared_element(net, x):
    # ResBlock1d returns (x, skip) and declares hook_output = 0: the post-activation main path.
    (blk,) = ActivationExtractor(net, layers=["blocks.3"], progress=False).extract(x[:2])
    captured = {}
    h = net.blocks[3].register_forward_hook(lambda m, i, o: captured.setdefault("o", o))
    net.eval()
    with torch.no_grad():
        net(torch.from_numpy(x[:2]))
    h.remove()
    np.testing.assert_allclose(blk, captured["o"][0].numpy(), rtol=1e-6)
    assert (blk >= 0).all()  # after ReLU, unlike the skip output


def test_batching_eval_mode_and_hook_cleanup(net, x):
    net.train()
    a = ActivationExtractor(net, batch_size=2, progress=False).extract(x)
    b = ActivationExtractor(net, batch_size=64, progress=False).extract(x)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)  # eval mode: no dropout noise
    assert net.training  # train mode restored
    assert _hook_count(net) == 0
    net.eval()


def test_hooks_removed_after_failure(net):
    with pytest.raises(ModelError):
        ActivationExtractor(net, progress=False).extract(np.zeros((2, 11, 1000), np.float32))
    assert _hook_count(net) == 0


def test_unknown_layer_lists_similar_names(net):
    with pytest.raises(ModelError, match=r"no layer named 'block.3'.*blocks\.3"):
        ActivationExtractor(net, layers=["block.3"], progress=False)


def test_non_temporal_layer_is_rejected(net, x):
    with pytest.raises(
        ModelError,
        match=r"time axis of layer 'lin', output shape \(2, 3\).*\(batch, channels, time\)",
    ):
        ActivationExtractor(net, layers=["lin"], progress=False).extract(x[:1])


def test_bad_input_raises_package_errors(net):
    ext = ActivationExtractor(net, progress=False)
    with pytest.raises(ModelError, match="expects input of shape"):
        ext.extract(np.zeros((1, 12, 900), np.float32))
    bad = np.zeros((1, 12, 1000), np.float32)
    bad[0, 0, 3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        ext.extract(bad)
    with pytest.raises(DataError, match="shape"):
        ext.extract(np.zeros((12, 1000), np.float32))


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 3, padding=1, stride=2)

    def forward(self, x):
        return torch.relu(self.conv(x))


def test_bring_your_own_model():
    model = nn.Sequential(_Block(2, 4), _Block(4, 4), _Block(4, 6), _Block(6, 6), nn.Flatten())
    x = np.ones((3, 2, 64), np.float32)
    assert default_layers(model, x) == ["1", "2", "3"]
    ext = ActivationExtractor(model, progress=False)
    out = ext.extract(x)
    assert ext.layers == ["1", "2", "3"]
    assert [o.shape for o in out] == [(3, 4, 16), (3, 6, 8), (3, 6, 4)]
    # A generic module failing inside torch must surface as ModelError, not RuntimeError,
    # and show the forward's signature.
    with pytest.raises(ModelError, match=r"forward failed.*Sequential\.forward\(input"):
        ActivationExtractor(model, progress=False).extract(np.ones((1, 3, 64), np.float32))
    plain = nn.Sequential(nn.Conv1d(2, 2, 3), nn.ReLU())
    with pytest.raises(ModelError, match="layers="):
        default_layers(plain)
    with pytest.raises(ModelError, match="extract"):
        ActivationExtractor(plain, progress=False).layers  # noqa: B018 - the property raises
    with pytest.raises(ModelError, match="torch.nn.Module"):
        ActivationExtractor("not a model")


def test_accepts_bundle(net, x):
    from ecg_cluster_widget.model.checkpoint import ModelBundle

    bundle = ModelBundle(net, ["a", "b", "c"], None, fs=100, n_samples=1000)
    ext = ActivationExtractor(bundle, progress=False)
    assert ext.model is net
    assert ext.extract(x[:1])[0].shape == (1, 16, 250)


def test_resample_time_centre_alignment():
    a = np.array([[[0.0], [1.0]]])
    np.testing.assert_allclose(resample_time(a, 4)[0, :, 0], [0.0, 0.25, 0.75, 1.0])
    assert resample_time(a, 2) is not None and resample_time(a, 2).shape == (1, 2, 1)


def test_feature_aligner_standardises_and_aligns():
    rng = np.random.default_rng(1)
    fine = rng.normal(3.0, 5.0, size=(4, 3, 8)).astype(np.float32)
    coarse = np.tile(np.array([0.0, 10.0], np.float32), (4, 1, 1))  # (4, 1, 2)
    fa = FeatureAligner(n_components=None).fit([fine, coarse])
    assert fa.grid_length_ == 8 and fa.n_features_out_ == 4
    out = fa.transform([fine, coarse])
    assert out.shape == (4, 8, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., :3].reshape(-1, 3).mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out[..., :3].reshape(-1, 3).std(0), 1, atol=1e-4)
    # Coarse sample i covers fine samples 4i..4i+3: the first four grid steps sit in the
    # first half (value -1 after z-scoring) except the transition around the centre.
    expected = resample_time(np.array([[[-1.0], [1.0]]]), 8)[0, :, 0]
    np.testing.assert_allclose(out[0, :, 3], expected, atol=1e-5)
    assert out[0, 0, 3] == pytest.approx(-1) and out[0, 7, 3] == pytest.approx(1)


def test_feature_aligner_pca_deterministic_and_checked():
    rng = np.random.default_rng(2)
    blocks = [rng.normal(size=(6, 10, 40)), rng.normal(size=(6, 5, 20))]
    a = FeatureAligner(n_components=4, random_state=0).fit_transform(blocks)
    b = FeatureAligner(n_components=4, random_state=0).fit_transform(blocks)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (6, 40, 4)
    # PCA components are ordered by variance.
    var = a.reshape(-1, 4).var(0)
    assert (np.diff(var) <= 1e-6).all()
    assert FeatureAligner(n_components=100).fit(blocks).n_features_out_ == 15
    fa = FeatureAligner(4).fit(blocks)
    with pytest.raises(DataError, match="fitted on"):
        fa.transform([blocks[0], blocks[1][:, :4]])
    with pytest.raises(NotFittedError):
        FeatureAligner().transform(blocks)
    nan = [blocks[0].copy(), blocks[1]]
    nan[0][0, 0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        FeatureAligner().fit(nan)
    with pytest.raises(DataError, match="records"):
        FeatureAligner().fit([blocks[0], blocks[1][:3]])


def test_auto_batch_size_same_blocks_and_bad_batch_size(net, x):
    from ecg_cluster_widget.activations.batching import auto_batch_size

    assert auto_batch_size(12, 1000) == 256 and auto_batch_size(12, 5000) == 64
    assert auto_batch_size(1, 10) == 512 and auto_batch_size(12, 10**6) == 8
    a = ActivationExtractor(net, batch_size="auto", progress=False).extract(x)
    b = ActivationExtractor(net, batch_size=1, progress=False).extract(x)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    for bad in (0, -3, 2.5, "big", True):
        with pytest.raises(DataError, match="batch_size"):
            ActivationExtractor(net, batch_size=bad)


def test_capture_outputs_is_shared_with_gradcam_and_cleans_up(net, x):
    from ecg_cluster_widget.activations.hooks import capture_outputs
    from ecg_cluster_widget.explain import gradcam

    # One forward-hook helper: Grad-CAM imports it rather than keeping its own.
    assert gradcam.capture_outputs is capture_outputs
    assert not hasattr(gradcam, "_first_tensor")
    with pytest.raises(RuntimeError), capture_outputs([net.blocks[3]]) as cap:
        net.eval()
        with torch.no_grad():
            net(torch.from_numpy(x[:1]))
        assert cap[0].shape == (1, 16, 25)
        raise RuntimeError("boom")
    assert _hook_count(net) == 0


@pytest.mark.parametrize("weighting", ["equal", "channels"])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("whiten", [True, False])
@pytest.mark.parametrize("detrend", [None, 7])
def test_projected_transform_equals_concatenate_then_project(weighting, center, whiten, detrend):
    # transform() projects each block before aligning it; that must equal the reference
    # pipeline (z-score, align, concatenate, centre, detrend, then PCA) to round-off.
    rng = np.random.default_rng(1)
    blocks = [
        rng.normal(1.0, 2.0, size=(6, 10, 80)).astype(np.float32),
        (3 * rng.normal(size=(6, 14, 40)) - 2).astype(np.float32),
        rng.normal(size=(6, 6, 16)).astype(np.float32),
    ]
    fa = FeatureAligner(
        5,
        block_weighting=weighting,
        center_per_record=center,
        whiten=whiten,
        detrend_window=detrend,
    ).fit(blocks)
    dense = fa._concat(blocks)
    ref = (
        np.matmul(fa._pca_components.T, dense) - (fa._pca_mean @ fa._pca_components)[None, :, None]
    )
    got = fa.transform(blocks, chunk_size=4)
    np.testing.assert_allclose(got, ref.transpose(0, 2, 1), atol=2e-5)
    # A refit with other blocks must not reuse the previous projection.
    fa.fit([b[:, ::-1].copy() for b in blocks])
    dense = fa._concat([b[:, ::-1].copy() for b in blocks])
    ref2 = (
        np.matmul(fa._pca_components.T, dense) - (fa._pca_mean @ fa._pca_components)[None, :, None]
    )
    got2 = fa.transform([b[:, ::-1].copy() for b in blocks])
    np.testing.assert_allclose(got2, ref2.transpose(0, 2, 1), atol=2e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_extraction_matches_cpu_and_model_returns_home(net, x):
    cpu = ActivationExtractor(net, progress=False).extract(x)
    gpu = ActivationExtractor(net, device="cuda", progress=False).extract(x)
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    assert next(net.parameters()).device.type == "cpu"


# --- layouts: (batch, tokens, channels) blocks, selectors, structural defaults ----------
class _Tokens(nn.Module):
    """Patch tokenizer + encoder layers: every layer outputs (batch, tokens, channels)."""

    def __init__(self, fixed_length: int | None = None, d: int = 12) -> None:
        super().__init__()
        self.tok = nn.Conv1d(2, d, 4, stride=4)
        self.pos = nn.Parameter(torch.randn(1, fixed_length or 512, d) * 0.1)
        self.fixed = fixed_length is not None
        self.layers = nn.ModuleList(
            [nn.TransformerEncoderLayer(d, 2, 24, dropout=0.0, batch_first=True) for _ in range(4)]
        )
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        t = self.tok(x).transpose(1, 2)
        t = t + (self.pos if self.fixed else self.pos[:, : t.shape[1]])
        for layer in self.layers:
            t = layer(t)
        return self.head(t.mean(1))


def test_batch_time_channel_blocks_are_transposed():
    # The old hooks read (batch, tokens, channels) as (batch, channels, time): 25 tokens
    # became 25 "channels" and the 12-wide model dimension a 12-step "time" axis.
    torch.manual_seed(0)
    net = _Tokens().eval()
    x = np.random.default_rng(0).normal(size=(3, 2, 100)).astype(np.float32)
    ext = ActivationExtractor(net, progress=False)
    out = ext.extract(x)
    assert ext.layers == ["layers.1", "layers.2", "layers.3"]
    assert [o.shape for o in out] == [(3, 12, 25)] * 3
    with torch.no_grad():
        seen = {}
        h = net.layers[3].register_forward_hook(lambda m, i, o: seen.setdefault("o", o))
        net(torch.from_numpy(x))
        h.remove()
    np.testing.assert_allclose(out[2], seen["o"].transpose(1, 2).numpy(), rtol=1e-5, atol=1e-6)
    assert ext.layouts_[0].how == "length probe" and "time axis 1" in ext.layouts_[0].describe()


def test_fixed_length_network_falls_back_on_ratio_or_refuses():
    torch.manual_seed(0)
    x = np.zeros((2, 2, 100), np.float32)
    # 25 tokens divide 100 samples, 12 channels do not: the ratio finds the tokens.
    ext = ActivationExtractor(_Tokens(fixed_length=25).eval(), layers=["layers.0"], progress=False)
    assert ext.extract(x)[0].shape == (2, 12, 25) and ext.layouts_[0].how == "length ratio"
    # 20 channels also divide 100: ambiguous, refused with the layer and its shape ...
    net = _Tokens(fixed_length=25, d=20).eval()
    with pytest.raises(
        ModelError, match=r"time axis of layer 'layers.0', output shape \(2, 25, 20\)"
    ):
        ActivationExtractor(net, layers=["layers.0"], progress=False).extract(x)
    # ... until the axis is given.
    given = ActivationExtractor(net, layers=["layers.0"], time_axis={"layers.0": 1}, progress=False)
    assert given.extract(x)[0].shape == (2, 20, 25)
    with pytest.raises(ModelError, match="batch axis"):
        ActivationExtractor(net, layers=["layers.0"], time_axis=0, progress=False).extract(x)


class _DictBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3, padding=1)

    def forward(self, x):
        h = self.conv(x)
        return {"features": h, "pooled": h.mean(2)}


class ResidualWrapper(nn.Module):
    """Its class name contains "Res" and it wraps the whole model: never hooked."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(*[nn.Conv1d(2, 2, 3, padding=1) for _ in range(4)])

    def forward(self, x):
        return self.inner(x).mean(2)


def test_dict_outputs_need_a_selector_and_roots_are_never_default():
    net = nn.Sequential(_DictBlock())
    x = np.ones((2, 2, 16), np.float32)
    with pytest.raises(ModelError, match=r"returns a tuple or dict \(\['features'\].*\['pooled'\]"):
        ActivationExtractor(net, layers=["0"], progress=False).extract(x)
    out = ActivationExtractor(net, layers=["0"], output="features", progress=False).extract(x)
    assert out[0].shape == (2, 3, 16)
    with pytest.raises(ModelError, match="names no tensor"):
        ActivationExtractor(net, layers=["0"], output="logits", progress=False).extract(x)
    wrapper = ResidualWrapper()
    assert default_layers(wrapper, x) == ["inner.1", "inner.2", "inner.3"]
    assert default_layers(nn.Sequential(wrapper), x) == ["0.inner.1", "0.inner.2", "0.inner.3"]


def test_a_bundle_names_its_layers_before_any_data():
    # Its declared input shape lets the structural choice run at construction (the
    # chunk-wise fit reads .layers before extracting).
    from ecg_cluster_widget.model import declare_model

    net = nn.Sequential(_Block(2, 4), _Block(4, 4), _Block(4, 6), _Block(6, 6), nn.Flatten())
    bundle = declare_model(net, fs=100, lead_names=["I", "II"], n_samples=64, class_names=["y"])
    assert ActivationExtractor(bundle, progress=False).layers == ["1", "2", "3"]
