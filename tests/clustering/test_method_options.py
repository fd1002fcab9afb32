"""Tests of the real-ECG method options: model-owned filtering, entropy on the grid,
beat-scale detrending / within-record scaling, and the HMM temporal prior."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.activations import FeatureAligner
from ecg_cluster_widget.clustering.temporal import TemporalSmoother, transition_counts
from ecg_cluster_widget.data import ECGDataset
from ecg_cluster_widget.data.filtering import SignalFilter
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, ModelError
from ecg_cluster_widget.explain import normalized_entropy
from ecg_cluster_widget.model import ResNet1d, load_checkpoint, save_checkpoint, train_model
from ecg_cluster_widget.model.checkpoint import ModelBundle


@pytest.fixture(scope="module")
def ds() -> ECGDataset:
    return make_synthetic(16, seed=3)


@pytest.fixture(scope="module")
def net() -> ResNet1d:
    torch.manual_seed(0)
    return ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()


# ------------------------------------------------------------------ filtering
def test_signal_filter_removes_drift_and_validates():
    fs = 250.0
    t = np.arange(2500) / fs
    qrs_like = np.sin(2 * np.pi * 10 * t)
    x = (qrs_like + 1.5 + 0.3 * np.sin(2 * np.pi * 0.1 * t))[None, None].astype(np.float32)
    y = SignalFilter(bandpass=(0.5, 40.0)).apply(x, fs)
    assert abs(y[..., 250:-250].mean()) < 0.02
    # the in-band 10 Hz component survives (zero phase: no shift)
    assert np.corrcoef(y[0, 0, 250:-250], qrs_like[250:-250])[0, 1] > 0.99
    notch = SignalFilter(bandpass=None, notch=50.0).apply(
        np.sin(2 * np.pi * 50 * t)[None].astype(np.float32), fs
    )
    assert np.abs(notch[..., 500:-500]).max() < 0.05
    with pytest.raises(DataError, match="Nyquist"):
        SignalFilter(bandpass=(0.5, 40.0)).apply(x, 60.0)
    with pytest.raises(DataError, match="below"):
        SignalFilter(bandpass=(40.0, 0.5))
    with pytest.raises(DataError, match="NaN"):
        SignalFilter().apply(np.full((1, 1, 500), np.nan), fs)


def test_bundle_applies_and_stores_filter(tmp_path, net, ds):
    f = SignalFilter(bandpass=(0.5, 40.0))
    b = ModelBundle(net, [f"c{i}" for i in range(5)], None, fs=100, n_samples=1000, signal_filter=f)
    x = b.prepare(ds)
    np.testing.assert_allclose(x, f.apply(ds.signals, 100.0), atol=1e-6)
    assert "band-pass 0.5-40 Hz" in b.preprocessing_description
    p = save_checkpoint(tmp_path / "m.pt", b)
    b2 = load_checkpoint(p)
    assert b2.signal_filter == f
    np.testing.assert_array_equal(b2.prepare(ds), x)
    # A checkpoint written before filters were recorded loads unfiltered.
    payload = torch.load(p, weights_only=True)
    del payload["signal_filter"]
    buf = io.BytesIO()
    torch.save(payload, buf)
    (tmp_path / "old.pt").write_bytes(buf.getvalue())
    old = load_checkpoint(tmp_path / "old.pt")
    assert old.signal_filter is None
    np.testing.assert_array_equal(old.prepare(ds), ds.signals.astype(np.float32))


def test_train_model_filters_training_data(ds):
    torch.manual_seed(0)
    net = ResNet1d(12, 5, filters=(8, 8, 8), seq_lengths=(1000, 250, 125))
    f = SignalFilter(bandpass=(0.5, 40.0))
    b = train_model(net, ds, epochs=1, batch_size=8, progress=False, signal_filter=f, augment=True)
    assert b.signal_filter == f
    # The standardiser was fitted on filtered signals: their per-lead means are ~0.
    assert np.abs(b.standardizer.mean_).max() < 0.05
    with pytest.raises(ModelError, match="monitor"):
        train_model(net, ds, epochs=1, progress=False, monitor="val_auroc")


# ------------------------------------------------------------------ entropy
def test_entropy_is_computed_on_the_grid_then_interpolated(net, ds):
    tlc = TLCExplainer(net, n_clusters=4, n_components=8, progress=False).fit(ds)
    grid = tlc.transform(ds, resolution="grid")
    grid_ent = normalized_entropy(grid)
    es = tlc.explain_all(ds)
    for i in range(len(ds)):
        ex = tlc.explain(ds, i)
        # Interpolating entropy never exceeds the larger of its two grid neighbours;
        # entropy of interpolated gamma spikes at every label change (the old bug).
        assert ex.entropy.max() <= grid_ent[i].max() + 1e-5
        np.testing.assert_allclose(ex.entropy, es.entropy[i], atol=1e-6)
        assert np.array_equal(ex.labels, ex.gamma.argmax(axis=1))
    changes = np.count_nonzero(np.diff(es.labels, axis=1))
    assert changes > 0  # boundaries exist, so the bound above was tested where it matters


# ------------------------------------------------------------------ features
def test_detrend_removes_slow_drift_but_keeps_fast_structure():
    t = np.arange(400)
    fast = np.sin(2 * np.pi * t / 20)
    slow = 5 * np.sin(2 * np.pi * t / 400)
    block = np.stack([fast + slow, -fast + 0.5 * slow])[None].astype(np.float32)  # (1, 2, 400)
    blocks = [np.concatenate([block, block * 0.5])]
    plain = FeatureAligner(None, center_per_record=True).fit(blocks).transform(blocks)
    det = (
        FeatureAligner(None, center_per_record=True, detrend_window=20)
        .fit(blocks)
        .transform(blocks)
    )
    f_plain = np.corrcoef(plain[0, 50:-50, 0], fast[50:-50])[0, 1]
    f_det = np.corrcoef(det[0, 50:-50, 0], fast[50:-50])[0, 1]
    assert f_det > 0.99 > f_plain
    scaled = FeatureAligner(
        None, center_per_record=True, detrend_window=20, scale_per_record="feature"
    )
    out = scaled.fit(blocks).transform(blocks)
    # Within-record scaling makes the half-amplitude record look like the full one.
    np.testing.assert_allclose(out[0], out[1], atol=1e-4)
    with pytest.raises(DataError, match="scale_per_record"):
        FeatureAligner(None, scale_per_record="bogus")


def test_explainer_options_validated_before_forward_pass(net, ds):
    for kw, match in (
        (dict(temporal="crf"), "temporal"),
        (dict(detrend_s=-1.0), "detrend_s"),
        (dict(max_fit_points=-5), "max_fit_points"),
        (dict(scale_per_record="x"), "scale_per_record"),
    ):
        with pytest.raises(DataError, match=match):
            TLCExplainer(net, n_clusters=3, progress=False, **kw).fit(ds)
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="CUDA"):
            TLCExplainer(net, n_clusters=3, progress=False, device="cuda").fit(ds)
    tlc = TLCExplainer(net, n_clusters=3, n_components=6, progress=False).fit(ds)
    with pytest.raises(DataError, match="integer"):
        tlc.explain(ds, 1.7)


# ------------------------------------------------------------------ temporal prior
def test_hmm_smoother_learns_persistence_and_denoises():
    rng = np.random.default_rng(0)
    n, runs, run_len, k = 20, 12, 8, 3
    states = np.repeat(rng.integers(0, k, (n, runs)), run_len, axis=1)
    clean = np.eye(k)[states]
    noisy = 0.3 * clean + 0.7 * rng.dirichlet(np.ones(k), size=states.shape)
    sm = TemporalSmoother().fit(noisy, weights=np.full(k, 1 / k))
    assert np.allclose(sm.transition_.sum(axis=1), 1)
    assert np.diag(sm.transition_).min() > 0.85  # true runs: ~0.9
    out = sm.transform(noisy)
    assert np.allclose(out.sum(axis=2), 1, atol=1e-5)
    before = (noisy.argmax(2) == states).mean()
    after = (out.argmax(2) == states).mean()
    assert after > before + 0.2


def test_transition_counts_with_validity():
    lab = np.array([[0, 0, 1, 1, 2]])
    valid = np.array([[True, True, True, False, True]])
    m = transition_counts(lab, 3, valid)
    assert m.tolist() == [[0.5, 0.5, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_explainer_hmm_option_and_transition_api(net, ds):
    tlc = TLCExplainer(net, n_clusters=4, n_components=8, progress=False, temporal="hmm").fit(ds)
    tm = tlc.transition_matrix_
    assert tm.shape == (4, 4) and np.allclose(tm.sum(axis=1), 1)
    assert np.diag(tm).mean() > 0.5  # clusters persist over steps
    plain = TLCExplainer(net, n_clusters=4, n_components=8, progress=False).fit(ds)
    # The HMM posterior has fewer label changes than the independent per-step one.
    ch = lambda t: np.count_nonzero(np.diff(t.explain_all(ds).labels, axis=1))  # noqa: E731
    assert ch(tlc) <= ch(plain)
    trans = tlc.cluster_transitions(ds)
    assert set(trans) >= {"all"} and trans["all"].shape == (4, 4)
    assert any(name in trans for name in ds.class_names)
    # A new K gets its own transition matrix with ids kept.
    tlc.set_n_clusters(5)
    assert tlc.transition_matrix_.shape == (5, 5)
    tlc.set_n_clusters(4)
    np.testing.assert_array_equal(tlc.transition_matrix_, tm)


def test_gradcam_fine_layer_resolves_finer_than_default():
    from ecg_cluster_widget.explain.gradcam import GradCAM

    torch.manual_seed(0)
    net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(1000, 500, 100, 20))
    x = np.random.default_rng(0).normal(size=(2, 12, 1000)).astype(np.float32)
    fine, coarse = GradCAM(net, layer="fine"), GradCAM(net, layer="coarse")
    assert fine.layer == "blocks.0" and coarse.layer == GradCAM(net).layer == "blocks.2"
    a_f = fine.attribute(x, target=0, upsample=False)
    a_c = coarse.attribute(x, target=0, upsample=False)
    assert a_f.shape[1] == 500 and a_c.shape[1] == 20


def test_gmm_full_covariance_separates_correlated_clusters_and_reorders():
    from ecg_cluster_widget.clustering import SoftClusterer

    rng = np.random.default_rng(0)
    # Two clusters with the same centre spread but opposite channel correlation: an
    # isotropic mixture cannot tell them apart, a full-covariance one can.
    a = rng.multivariate_normal([0, 0], [[1, 0.95], [0.95, 1]], 3000)
    b = rng.multivariate_normal([0, 0], [[1, -0.95], [-0.95, 1]], 3000)
    X, y = np.r_[a, b], np.r_[np.zeros(3000), np.ones(3000)]
    from sklearn.metrics import adjusted_rand_score

    full = SoftClusterer(2, method="gmm_full", random_state=0).fit(X)
    iso = SoftClusterer(2, method="gmm", random_state=0).fit(X)
    assert adjusted_rand_score(y, full.predict(X)) > 0.6 > adjusted_rand_score(y, iso.predict(X))
    assert full.covariances_.shape == (2, 2, 2)
    np.testing.assert_allclose(full.predict_proba(X).sum(axis=1), 1, atol=1e-9)
    re = full.reordered([1, 0])
    np.testing.assert_allclose(re.predict_proba(X), full.predict_proba(X)[:, ::-1], atol=1e-12)
    again = SoftClusterer(2, method="gmm_full", random_state=0).fit(X)
    np.testing.assert_array_equal(again.predict_proba(X), full.predict_proba(X))
