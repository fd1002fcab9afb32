"""FeatureAligner / TLCExplainer options: block weighting, per-record centring, whitening."""

from __future__ import annotations

import numpy as np
import pytest

from ecg_cluster_widget.activations import FeatureAligner
from ecg_cluster_widget.errors import DataError


def _blocks(seed: int = 0, n: int = 6, t: int = 40) -> list[np.ndarray]:
    """Three blocks with different widths (4, 8, 16 channels) on the same time grid."""
    rng = np.random.default_rng(seed)
    return [
        rng.normal(loc=1.0, scale=s, size=(n, c, t)) for c, s in ((4, 0.5), (8, 2.0), (16, 5.0))
    ]


def _smooth_blocks(seed: int = 0, n: int = 5) -> list[np.ndarray]:
    """Blocks at 80 / 40 / 20 steps made of slow sinusoids (interpolation keeps their variance)."""
    rng = np.random.default_rng(seed)
    out = []
    for c, t in ((3, 80), (6, 40), (12, 20)):
        x = (np.arange(t) + 0.5) / t
        ph = rng.uniform(0, 2 * np.pi, size=(n, c, 1))
        out.append(np.sin(2 * np.pi * x[None, None, :] + ph) * rng.uniform(0.5, 3, size=(1, c, 1)))
    return out


def _block_variances(fa: FeatureAligner, feats: np.ndarray) -> list[float]:
    var = feats.reshape(-1, feats.shape[-1]).var(axis=0)
    out, c0 = [], 0
    for c, _ in fa.block_shapes_:
        out.append(float(var[c0 : c0 + c].sum()))
        c0 += c
    return out


def test_equal_weighting_gives_each_block_equal_total_variance():
    blocks = _blocks()
    fa = FeatureAligner(n_components=None, block_weighting="equal").fit(blocks)
    np.testing.assert_allclose(
        _block_variances(fa, fa.transform(blocks)), [1.0, 1.0, 1.0], rtol=1e-4
    )
    fc = FeatureAligner(n_components=None, block_weighting="channels").fit(blocks)
    np.testing.assert_allclose(
        _block_variances(fc, fc.transform(blocks)), [4.0, 8.0, 16.0], rtol=1e-4
    )


def test_equal_weighting_across_time_resolutions():
    blocks = _smooth_blocks()
    fa = FeatureAligner(n_components=None, block_weighting="equal").fit(blocks)
    feats = fa.transform(blocks)
    assert feats.shape == (5, 80, 21)
    np.testing.assert_allclose(_block_variances(fa, feats), [1.0, 1.0, 1.0], rtol=0.05)


@pytest.mark.parametrize("n_components", [None, 5])
@pytest.mark.parametrize("weighting", ["equal", "channels"])
def test_center_per_record_zero_means(n_components, weighting):
    blocks = _smooth_blocks(1)
    blocks = [b + np.arange(b.shape[0])[:, None, None] for b in blocks]  # per-record offsets
    fa = FeatureAligner(
        n_components=n_components, center_per_record=True, block_weighting=weighting
    ).fit(blocks)
    feats = fa.transform(blocks)
    np.testing.assert_allclose(feats.mean(axis=1), 0.0, atol=1e-5)
    # Without centring the per-record offsets survive.
    plain = FeatureAligner(n_components=n_components, block_weighting=weighting).fit_transform(
        blocks
    )
    assert np.abs(plain.mean(axis=1)).max() > 0.1


def test_whiten_gives_unit_variance_components():
    blocks = _blocks(2)
    feats = FeatureAligner(n_components=6, whiten=True, max_pca_points=10**6).fit_transform(blocks)
    np.testing.assert_allclose(feats.reshape(-1, 6).var(axis=0), 1.0, rtol=0.02)


def test_bad_block_weighting_raises():
    with pytest.raises(DataError, match="block_weighting"):
        FeatureAligner(block_weighting="width")
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.model import ResNet1d

    net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
    from ecg_cluster_widget.data import ECGDataset

    ds = ECGDataset(np.zeros((2, 12, 200), dtype=np.float32), fs=100)
    with pytest.raises(DataError, match="block_weighting"):
        TLCExplainer(net, block_weighting="nope", progress=False).fit(ds)


def test_default_demo_model_clusters_beat_untrained_network():
    """With the default options the trained demo model's clusters follow the waves of
    60 synthetic records better (NMI) than the same pipeline on an untrained network."""
    from ecg_cluster_widget.data import make_synthetic
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.explain.landmarks import landmark_alignment, untrained_model_labels
    from ecg_cluster_widget.model import load_demo_model

    bundle = load_demo_model()
    ds = make_synthetic(60, seed=123, fs=100.0)
    masks = ds.wave_masks.astype(np.int64)
    tlc = TLCExplainer(bundle, n_clusters=6, random_state=0, progress=False).fit(ds)
    nmi = landmark_alignment(tlc.explain_all(ds).labels, masks, 6)["nmi"]
    base = landmark_alignment(untrained_model_labels(bundle, ds, ds, n_clusters=6), masks, 6)["nmi"]
    assert nmi > base + 0.03, (nmi, base)
