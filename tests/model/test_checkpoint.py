"""Checkpoint round-trips, corrupt files and the ModelBundle input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ecg_cluster_widget.data import ECGDataset, Standardizer
from ecg_cluster_widget.errors import DataError, FileFormatError, ModelError
from ecg_cluster_widget.model import ModelBundle, ResNet1d, load_checkpoint, save_checkpoint

FS, T = 50.0, 100
LEADS = ("I", "II", "V1")


def _ds(n=6, fs=FS, t=T, leads=LEADS, seed=0) -> ECGDataset:
    rng = np.random.default_rng(seed)
    return ECGDataset(
        rng.normal(size=(n, len(leads), t)),
        fs=fs,
        lead_names=leads,
        labels=rng.integers(0, 2, (n, 2)),
        class_names=("A", "B"),
    )


def _bundle(task="multilabel") -> ModelBundle:
    torch.manual_seed(0)
    net = ResNet1d(len(LEADS), 2, filters=(8, 8, 12), seq_lengths=(T, 50, 25))
    std = Standardizer().fit(_ds(seed=1))
    return ModelBundle(
        net,
        ("A", "B"),
        LEADS,
        FS,
        T,
        std,
        task=task,
        history=[{"epoch": 1, "train_loss": 0.5}],
        meta={"seed": 3, "arr": np.arange(2), "torch": torch.__version__, "x": np.float32(0.5)},
    )


def test_roundtrip_identical_predictions(tmp_path):
    b = _bundle()
    ds = _ds()
    path = save_checkpoint(tmp_path / "m.pt", b)
    b2 = load_checkpoint(path)
    np.testing.assert_array_equal(b.predict_proba(ds), b2.predict_proba(ds))
    assert b2.class_names == ("A", "B") and b2.lead_names == LEADS
    assert b2.fs == FS and b2.n_samples == T and b2.task == "multilabel"
    assert b2.history == [{"epoch": 1, "train_loss": 0.5}]
    assert b2.meta == {"seed": 3, "arr": [0, 1], "torch": str(torch.__version__), "x": 0.5}
    assert type(b2.meta["torch"]) is str
    np.testing.assert_array_equal(b2.standardizer.mean_, b.standardizer.mean_)
    assert not b2.model.training
    # plain content: loads with weights_only and leaves no temp files behind
    assert torch.load(path, weights_only=True)["arch"] == "ResNet1d"
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_regression_outputs_in_target_units(tmp_path):
    b = _bundle(task="regression")
    b.model = ResNet1d(len(LEADS), 2, filters=(8, 8, 12), seq_lengths=(T, 50, 25)).eval()
    ds = _ds()
    raw = b.forward_array(b.prepare(ds))
    b.meta.update(target_mean=[50.0, -1.0], target_std=[10.0, 2.0])
    p = b.predict_proba(ds)
    np.testing.assert_allclose(p, raw * [10.0, 2.0] + [50.0, -1.0], rtol=1e-5)
    np.testing.assert_array_equal(b.predict(ds), p)
    b2 = load_checkpoint(save_checkpoint(tmp_path / "r.pt", b))
    np.testing.assert_array_equal(b2.predict_proba(ds), p)


def test_predict_thresholds_probabilities():
    b = _bundle()
    ds = _ds()
    p = b.predict_proba(ds)
    assert p.shape == (6, 2) and ((p > 0) & (p < 1)).all()
    np.testing.assert_array_equal(b.predict(ds, threshold=0.3), (p >= 0.3).astype(int))


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 5, padding=2)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.conv(x).mean(-1))


def test_custom_model_needs_module_on_load(tmp_path):
    torch.manual_seed(0)
    b = ModelBundle(_Custom(), ("A", "B"), LEADS, FS, T)
    path = save_checkpoint(tmp_path / "c.pt", b)
    with pytest.raises(ModelError, match="model=MyNet"):
        load_checkpoint(path)
    b2 = load_checkpoint(path, model=_Custom())
    ds = _ds()
    np.testing.assert_array_equal(b.predict_proba(ds), b2.predict_proba(ds))
    with pytest.raises(ModelError, match="do not fit the given model"):
        load_checkpoint(path, model=ResNet1d(3, 2, filters=(8, 8), seq_lengths=(T, 50)))


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_and_garbage_files(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _bundle())
    data = path.read_bytes()
    (tmp_path / "t.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="t.pt is not a readable checkpoint"):
        load_checkpoint(tmp_path / "t.pt")
    (tmp_path / "g.pt").write_bytes(b"this is not a torch file")
    with pytest.raises(FileFormatError, match="g.pt"):
        load_checkpoint(tmp_path / "g.pt")


def test_wrong_content(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(FileFormatError, match="not an ecg_cluster_widget checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    payload = torch.load(save_checkpoint(tmp_path / "m.pt", _bundle()), weights_only=True)
    del payload["fs"]
    torch.save(payload, tmp_path / "nofs.pt")
    with pytest.raises(FileFormatError, match="lacks the entries fs"):
        load_checkpoint(tmp_path / "nofs.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["state_dict"].pop("lin.weight")
    torch.save(payload, tmp_path / "nolin.pt")
    with pytest.raises(FileFormatError, match="do not fit the stored config"):
        load_checkpoint(tmp_path / "nolin.pt")


def test_check_dataset_errors():
    b = _bundle()
    b.check_dataset(_ds())  # matching data passes
    with pytest.raises(DataError, match=r"100 Hz.*expects 50 Hz.*resample\(ds, 50\)"):
        b.check_dataset(_ds(fs=100.0))
    with pytest.raises(DataError, match="2 leads but the model expects 3.*I, II.*I, II, V1"):
        b.check_dataset(_ds(leads=("I", "II")))
    with pytest.raises(DataError, match="different leads"):
        b.check_dataset(_ds(leads=("I", "II", "V2")))
    with pytest.raises(DataError, match="different order"):
        b.check_dataset(_ds(leads=("II", "I", "V1")))
    with pytest.raises(DataError, match=r"120 samples.*expects 100.*crop_or_pad\(ds, 100\)"):
        b.check_dataset(_ds(t=120))
    x = _ds().signals.copy()
    x[2, 1, 5] = np.nan
    bad = _ds().with_signals(x)
    with pytest.raises(DataError, match="NaN"):
        b.predict_proba(bad)
    with pytest.raises(DataError, match="ECGDataset"):
        b.prepare(np.zeros((2, 3, T)))


def test_bundle_validation():
    with pytest.raises(ModelError, match="task"):
        ModelBundle(_Custom(), ("A", "B"), LEADS, FS, T, task="classify")
    with pytest.raises(ModelError, match="torch.nn.Module"):
        ModelBundle("net", ("A", "B"), LEADS, FS, T)
    b = ModelBundle(_Custom(), ("A", "B", "C"), LEADS, FS, T)
    with pytest.raises(ModelError, match="returns 2 outputs"):
        b.predict_proba(_ds())


def test_is_bundle_and_as_bundle_are_the_one_bundle_test():
    from ecg_cluster_widget.model import DEFAULT_TASK, as_bundle, is_bundle

    net = ResNet1d(12, 1, filters=(8, 8), seq_lengths=(100, 50))
    bundle = ModelBundle(net, ["y"], None, fs=100, n_samples=100)
    assert bundle.task == DEFAULT_TASK == "multilabel"
    assert is_bundle(bundle) and not is_bundle(net) and not is_bundle(object())
    assert as_bundle(bundle) is bundle and as_bundle(net) is None
    # A wrapper following the bundle protocol (.model network + callable .prepare) is one
    # for hooks and Grad-CAM; a look-alike whose .model is no network is not.
    fake = type("Fake", (), {"model": net, "prepare": lambda self, ds: None})()
    assert is_bundle(fake)
    assert not is_bundle(type("NoNet", (), {"model": object(), "prepare": print})())
    assert not is_bundle(type("NoPrepare", (), {"model": net, "prepare": None})())
    with pytest.raises(ModelError, match="wrap it: ModelBundle"):
        as_bundle(net, required=True)
    with pytest.raises(ModelError, match="got Fake"):
        as_bundle(fake)


def _scale(x):
    return x * 2.0


def _shift(x):
    return x + 1.0


def test_model_checksum_includes_the_input_contract():
    """forward, preprocess and input_layout change the checksum, hence fit id and cache keys."""
    from ecg_cluster_widget.explain.cache import fit_id, model_checksum

    net = ResNet1d(1, 2, filters=(8, 8), seq_lengths=(100, 50))

    def bundle(**kw):
        return ModelBundle(net, ["A", "B"], ["II"], fs=100, n_samples=100, **kw)

    plain = model_checksum(bundle())
    assert model_checksum(bundle()) == plain  # same contract, same checksum
    variants = {
        "forward": bundle(forward=lambda m, x: m(x)),
        "other forward": bundle(forward=lambda m, x: m(x)[:, :1]),
        "preprocess": bundle(preprocess=_scale),
        "other preprocess": bundle(preprocess=_shift),
        "input_layout": bundle(input_layout="samples"),
    }
    sums = {name: model_checksum(b) for name, b in variants.items()}
    assert plain not in sums.values()
    assert len(set(sums.values())) == len(sums), sums
    assert model_checksum(bundle(preprocess=_scale)) == sums["preprocess"]
    ids = {fit_id(s, "data", {"n_clusters": 3}) for s in [plain, *sums.values()]}
    assert len(ids) == len(sums) + 1
