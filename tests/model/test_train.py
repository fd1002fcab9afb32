"""Training loop: learning, determinism, early stopping, validation and evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecg_cluster_widget.data import ECGDataset, Standardizer
from ecg_cluster_widget.errors import DataError, ModelError
from ecg_cluster_widget.model import ResNet1d, evaluate_model, train_model

T = 100


def _toy(n=48, seed=0, regression=False) -> ECGDataset:
    """Class A: a spike train in lead 0; class B: lead 1 shifted up. Learnable fast."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, size=(n, 3, T))
    y = rng.integers(0, 2, (n, 2))
    x[y[:, 0] == 1, 0, ::10] += 3.0
    x[y[:, 1] == 1, 1] += 1.0
    if regression:
        age = rng.uniform(20, 80, n)
        x[:, 2] += (age[:, None] - 50) / 15
        return ECGDataset(
            x, fs=50, lead_names=("I", "II", "V1"), labels=age[:, None], class_names=("age",)
        )
    return ECGDataset(x, fs=50, lead_names=("I", "II", "V1"), labels=y, class_names=("A", "B"))


def _net(n_out=2, seed=0) -> ResNet1d:
    torch.manual_seed(seed)
    return ResNet1d(3, n_out, filters=(8, 12, 16), seq_lengths=(T, 50, 25), dropout=0.1)


def test_loss_decreases_and_learns():
    tr, va = _toy(64, 0), _toy(32, 1)
    b = train_model(_net(), tr, va, epochs=6, batch_size=16, lr=3e-3, progress=False)
    losses = [h["train_loss"] for h in b.history]
    assert losses[-1] < 0.7 * losses[0]
    assert b.history[-1]["val_auroc"] > 0.9
    assert b.class_names == ("A", "B") and b.fs == 50 and b.n_samples == T
    assert isinstance(b.standardizer, Standardizer) and not b.model.training
    assert b.meta["seed"] == 0 and b.meta["data"]["n_train"] == 64
    ev = evaluate_model(b, _toy(32, 2))
    assert ev["macro_auroc"] > 0.9 and ev["mean_accuracy"] > 0.75
    assert set(ev["f1"]) == {"A", "B"} and 0 <= ev["exact_match"] <= 1


def test_same_seed_same_weights_and_global_rng_untouched():
    tr = _toy(24)
    net = _net()
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    b1 = train_model(net, tr, epochs=2, batch_size=8, seed=7, progress=False)
    assert torch.equal(torch.random.get_rng_state(), state)
    b2 = train_model(_net(), tr, epochs=2, batch_size=8, seed=7, progress=False)
    b3 = train_model(_net(), tr, epochs=2, batch_size=8, seed=8, progress=False)
    s1, s2, s3 = (b.model.state_dict() for b in (b1, b2, b3))
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)
    assert b1.history[-1]["train_loss"] == b2.history[-1]["train_loss"]


def test_early_stopping_restores_best_weights():
    # Random labels on tiny data with a large lr: validation loss soon stops improving.
    rng = np.random.default_rng(0)
    tr = ECGDataset(
        rng.normal(size=(16, 3, T)),
        fs=50,
        lead_names=("I", "II", "V1"),
        labels=rng.integers(0, 2, (16, 2)),
        class_names=("A", "B"),
    )
    va = ECGDataset(
        rng.normal(size=(16, 3, T)),
        fs=50,
        lead_names=("I", "II", "V1"),
        labels=rng.integers(0, 2, (16, 2)),
        class_names=("A", "B"),
    )
    b = train_model(_net(), tr, va, epochs=40, batch_size=8, lr=1e-2, patience=2, progress=False)
    assert b.meta["stopped_early"] and len(b.history) < 40
    best = b.meta["best_epoch"]
    assert len(b.history) == best + 2
    val_losses = [h["val_loss"] for h in b.history]
    assert best == int(np.argmin(val_losses)) + 1
    ev_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(b.forward_array(b.prepare(va))), torch.from_numpy(va.labels)
    ).item()
    assert ev_loss == pytest.approx(val_losses[best - 1], rel=1e-4)


def test_regression_task():
    tr, te = _toy(64, 0, regression=True), _toy(32, 1, regression=True)
    b = train_model(
        _net(1), tr, epochs=8, batch_size=16, lr=3e-3, progress=False, task="regression"
    )
    assert b.task == "regression" and 40 < b.meta["target_mean"][0] < 60
    ev = evaluate_model(b, te)
    assert ev["r2"] > 0.3 and ev["mae"] < 12
    p = b.predict_proba(te)
    assert p.shape == (32, 1) and 10 < p.mean() < 90  # original units, not z-scores


def test_input_validation():
    tr = _toy(16)
    with pytest.raises(DataError, match="no labels"):
        train_model(_net(), ECGDataset(tr.signals, fs=50, lead_names=tr.lead_names), progress=False)
    with pytest.raises(ModelError, match="3 outputs.*2 label columns"):
        train_model(_net(3), tr, progress=False)
    with pytest.raises(ModelError, match="expects input"):
        train_model(
            _net(),
            ECGDataset(
                np.zeros((4, 3, 80)), fs=50, lead_names=tr.lead_names, labels=np.zeros((4, 2))
            ),
            progress=False,
        )
    x = _toy(16).signals.copy()
    x[0, 0, 0] = np.inf
    bad = _toy(16).with_signals(x)
    with pytest.raises(DataError, match="NaN or inf"):
        train_model(_net(), bad, progress=False)
    with pytest.raises(DataError, match="0/1"):
        train_model(_net(1), _toy(16, regression=True), progress=False)
    va = _toy(8).copy(fs=100.0)
    with pytest.raises(DataError, match="resample"):
        train_model(_net(), tr, va, progress=False)
    with pytest.raises(ModelError, match="task"):
        train_model(_net(), tr, task="ranking", progress=False)
    with pytest.raises(ModelError, match=">= 1"):
        train_model(_net(), tr, epochs=0, progress=False)


def test_custom_module_and_odd_batch():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(3, 4, 5, padding=2)
            self.bn = torch.nn.BatchNorm1d(4)
            self.head = torch.nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.bn(self.conv(x)).amax(-1))

    torch.manual_seed(0)
    # 17 records with batch 8 leaves a lone record, which BatchNorm cannot train on.
    b = train_model(Net(), _toy(17), epochs=1, batch_size=8, progress=False)
    assert b.predict_proba(_toy(4)).shape == (4, 2)
    with pytest.raises(ModelError, match="cannot process"):
        train_model(
            Net(),
            ECGDataset(
                np.zeros((4, 5, T)),
                fs=50,
                labels=np.zeros((4, 2)),
                lead_names=("I", "II", "III", "V1", "V2"),
            ),
            progress=False,
        )


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny tensors: thread hand-offs cost more than they save, badly so on a loaded machine.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
