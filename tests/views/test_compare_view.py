"""CompareView: two ECGs on one time axis, the time steps whose cluster changed, both
predictions, and the counterfactual edits (T-wave inversion, Q waves).

They run the real engine (the shipped demo model on synthetic ECGs with wave masks).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, ModelError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.counterfactual import add_q_waves, invert_t_waves
from ecg_cluster_widget.model.pretrained import load_demo_model
from ecg_cluster_widget.views.compare_view import CompareView, changed_runs


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    ds = make_synthetic(30, seed=6)
    bundle = load_demo_model()
    tlc = TLCExplainer(bundle, n_clusters=5, n_components=8, max_fit_points=6000, progress=False)
    tlc.fit(ds)
    return ds, bundle, tlc


def test_changed_runs():
    assert changed_runs(np.array([1, 1, 2]), np.array([1, 1, 2])) == []
    assert changed_runs(np.array([0, 0, 0]), np.array([1, 1, 1])) == [[0, 3]]
    assert changed_runs(np.array([1, 2, 3, 4]), np.array([0, 2, 0, 4])) == [[0, 1], [2, 3]]


def test_two_records_of_one_dataset(setup):
    ds, bundle, tlc = setup
    v = CompareView(tlc, ds, a=2, b=9)
    ea, eb = tlc.explain(ds, 2), tlc.explain(ds, 9)
    ia = np.frombuffer(v.ids_a, dtype=np.int16)
    ib = np.frombuffer(v.ids_b, dtype=np.int16)
    np.testing.assert_array_equal(ia, ea.label_ids)
    np.testing.assert_array_equal(ib, eb.label_ids)
    sig = np.frombuffer(v.signal_b, dtype=np.float32).reshape(ds.n_leads, ds.n_samples)
    np.testing.assert_allclose(sig, ds.signals[9])
    # The changed runs cover exactly the time steps whose cluster differs.
    mask = np.zeros(ds.n_samples, bool)
    for s, e in v.changed:
        assert 0 <= s < e <= ds.n_samples
        mask[s:e] = True
    np.testing.assert_array_equal(mask, ea.label_ids != eb.label_ids)
    np.testing.assert_array_equal(mask, v.changed_mask)
    assert v.changed_share == pytest.approx(mask.mean())
    # Both predictions, as the model gives them.
    pa = np.asarray(bundle.predict_proba(ds.subset([2])))[0]
    assert v.pred_a == pytest.approx(dict(zip(bundle.class_names, pa.tolist())))
    assert set(v.pred_b) == set(bundle.class_names)
    assert v.title_a == ds.record_ids[2] and v.lead_names[v.leads[0]] == "II"
    assert "changed=" in repr(v)
    same = CompareView(tlc, ds, a=4, b=4)
    assert same.changed == [] and same.changed_share == 0.0


@pytest.mark.slow
def test_invert_t_changes_clusters_near_the_t_waves(setup):
    ds, bundle, tlc = setup
    i = 0
    v = CompareView.from_edit(tlc, ds, i, edit="invert_t")
    inv = invert_t_waves(ds, i)
    sig = np.frombuffer(v.signal_b, dtype=np.float32).reshape(ds.n_leads, ds.n_samples)
    np.testing.assert_allclose(sig, inv.signals[0])
    assert v.title_b.endswith("(invert_t)") and "Tinv" in v.title_b
    t_wave = ds.wave_mask_for_lead("II")[i] == 3
    changed = v.changed_mask
    assert changed.any(), "inverting the T waves changed no cluster"
    # Most changes sit on or next to a T wave (within the network's receptive field).
    near = np.convolve(t_wave.astype(float), np.ones(41), mode="same") > 0
    assert changed[near].sum() / changed.sum() > 0.7, changed[near].sum() / changed.sum()
    assert v.pred_a != v.pred_b


def test_add_q_and_edit_options(setup):
    ds, _, tlc = setup
    v = CompareView.from_edit(tlc, ds, 1, edit="add_q", depth_mv=0.6, view_leads=["II", "aVF"])
    q = add_q_waves(ds, 1, depth_mv=0.6)
    sig = np.frombuffer(v.signal_b, dtype=np.float32).reshape(ds.n_leads, ds.n_samples)
    np.testing.assert_allclose(sig, q.signals[0])
    assert [v.lead_names[j] for j in v.leads] == ["II", "aVF"]
    with pytest.raises(DataError, match="edit must be one of"):
        CompareView.from_edit(tlc, ds, 1, edit="delete_p")
    nomask = ds.copy(wave_masks=None)
    with pytest.raises(DataError, match="wave annotations"):
        CompareView.from_edit(tlc, nomask, 1)


def test_k_is_explicit_and_the_explainer_is_left_alone(setup):
    ds, _, tlc = setup
    before = tlc.cluster_ids_.tolist()
    v = CompareView(tlc, ds, a=0, b=1)
    assert v.cluster_ids == before
    assert tlc.cluster_ids_.tolist() == before


def test_bad_input(setup):
    ds, _, tlc = setup
    with pytest.raises(ModelError, match="TLCExplainer"):
        CompareView(None, ds)
    with pytest.raises(DataError, match="pair"):
        CompareView(tlc, [ds])
    with pytest.raises(DataError, match="out of range"):
        CompareView(tlc, ds, a=0, b=len(ds))
    with pytest.raises(DataError, match="integer"):
        CompareView(tlc, ds, a=0.5)
    other = make_synthetic(1, fs=250, seed=1)
    with pytest.raises(DataError, match="time axis"):
        CompareView(tlc, (ds, other), a=0, b=0)
    with pytest.raises(DataError, match="out of range"):
        CompareView(tlc, ds, leads=[40])
