"""Faults and misuse with clear outcomes: damaged checkpoints, formula cells in
predictions.csv, a full disk under the CLI, a closed Dask client, concurrent calls."""

from __future__ import annotations

import errno
import threading

import numpy as np
import pytest
import torch

from ecg_cluster_widget.cli import main
from ecg_cluster_widget.data import Standardizer, io_utils
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, FileFormatError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.model import ModelBundle, ResNet1d, load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def ds():
    return make_synthetic(8, seed=3)


@pytest.fixture(scope="module")
def bundle(ds):
    torch.manual_seed(0)
    net = ResNet1d(12, len(ds.class_names), filters=(8, 8, 8, 8), seq_lengths=(1000, 250, 125, 25))
    return ModelBundle(
        net.eval(), ds.class_names, ds.lead_names, ds.fs, ds.n_samples, Standardizer().fit(ds)
    )


# --- checkpoints: schema validated on load -----------------------------------------------------
def _tampered(tmp_path, bundle, **changes):
    p = save_checkpoint(tmp_path / "m.pt", bundle)
    payload = torch.load(p, weights_only=True)
    for key, value in changes.items():
        if callable(value):
            value(payload)
        else:
            payload[key] = value
    torch.save(payload, p)
    return p


def _zero_std(payload):
    payload["standardizer"]["std"][2] = 0.0


def _nan_mean(payload):
    payload["standardizer"]["mean"][0] = float("nan")


def _short_std(payload):
    payload["standardizer"]["std"] = payload["standardizer"]["std"][:3]


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"version": "abc"}, "format version 'abc', not a positive integer"),
        ({"version": 0}, "not a positive integer"),
        ({"std": _zero_std}, r"std must be finite and > 0 \(leads III\).*NaN"),
        ({"mean": _nan_mean}, "mean must be finite"),
        ({"short": _short_std}, "one value per lead"),
        ({"signal_filter": {"bandpass": [0.5, 400.0], "notch": None}}, "signal filter"),
        ({"fs": 0}, "fs=0, not a positive number"),
    ],
)
def test_bad_checkpoints_are_refused_with_a_clear_error(tmp_path, bundle, changes, match):
    p = _tampered(tmp_path, bundle, **changes)
    with pytest.raises(FileFormatError, match=match):
        load_checkpoint(p)


def test_a_good_checkpoint_still_loads(tmp_path, bundle, ds):
    back = load_checkpoint(save_checkpoint(tmp_path / "m.pt", bundle))
    assert np.isfinite(back.predict_proba(ds)).all()


# --- predictions.csv escapes formulas ----------------------------------------------------------
def test_predictions_csv_escapes_formula_record_ids(tmp_path, ds, bundle):
    import csv

    from ecg_cluster_widget.explain.export import write_explanations
    from ecg_cluster_widget.model.fitting import record_predictions

    evil = ds.copy(
        record_ids=['=HYPERLINK("http://x")', "+1+1", "@SUM(A1)"] + list(ds.record_ids[3:])
    )
    tlc = TLCExplainer(bundle, n_clusters=3, n_components=4, progress=False).fit(evil)
    expls = [tlc.explain(evil, i) for i in range(3)]
    preds = record_predictions(bundle, evil.subset(range(3)), record_ids=evil.record_ids[:3])
    write_explanations(expls, tmp_path, progress=False, predictions=preds)
    with open(tmp_path / "predictions.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    ids = [r[0] for r in rows[1:]]
    assert ids == ['\'=HYPERLINK("http://x")', "'+1+1", "'@SUM(A1)"]
    assert all(float(x) >= 0 for r in rows[1:] for x in r[2:-1])  # numbers stay numbers


# --- a full disk under the CLI -----------------------------------------------------------------
def test_cli_full_disk_exits_2_with_one_line_and_no_partial_files(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real_fsync, calls = io_utils.os.fsync, {"n": 0}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] > 3:  # a few files written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(io_utils.os, "fsync", fsync)
    rc = main(["explain", "--data", "synthetic:4", "--k", "3", "--out", str(out), "--json"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and calls["n"] > 3
    assert len(err) == 1 and err[0].startswith("error: cannot write") and "disk is full" in err[0]
    assert not out.exists() or not any(out.iterdir())


def test_cli_train_full_disk_leaves_no_checkpoint(tmp_path, capsys, monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io_utils.os, "fsync", no_space)
    target = tmp_path / "m.pt"
    rc = main(["train", "--data", "synthetic:16", "--epochs", "1", "--out", str(target)])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error")]
    assert rc == 2 and len(err) == 1 and "disk is full" in err[0]
    assert list(tmp_path.iterdir()) == []


# --- a closed Dask client ----------------------------------------------------------------------
def test_a_closed_dask_client_is_a_clear_error(ds, bundle):
    distributed = pytest.importorskip("dask.distributed")
    from ecg_cluster_widget.explain.distributed import DaskRunner

    cluster = distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None)
    client = distributed.Client(cluster)
    client.close()
    cluster.close()
    with pytest.raises(DataError, match="Dask client is closed.*Create a new one"):
        DaskRunner(client)
    tlc = TLCExplainer(bundle, n_clusters=3, n_components=4, progress=False)
    with pytest.raises(DataError, match="Dask client is closed"):
        tlc.fit(ds, client=client, chunk_records=4)


# --- concurrent calls --------------------------------------------------------------------------
def test_explainer_is_consistent_under_concurrent_set_k_and_explain(ds, bundle):
    """The widget's worker explains while the user's cell changes K."""
    tlc = TLCExplainer(bundle, n_clusters=4, n_components=4, progress=False).fit(ds)
    errors: list[BaseException] = []
    seen: list[tuple] = []
    stop = threading.Event()

    def switch():
        try:
            for k in [3, 5, 4, 6] * 15:
                tlc.set_n_clusters(k)
                ids = tlc.cluster_ids_
                assert tlc.n_clusters_ == len(ids), (tlc.n_clusters_, ids)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            stop.set()

    def explain():
        try:
            while not stop.is_set():
                e = tlc.explain(ds, 1)
                ids = [int(c) for c in e.cluster_ids]
                used = set(np.unique(e.label_ids).tolist())
                assert used <= set(ids), (used, ids)
                assert len(e.proportions) == len(ids)
                seen.append((len(ids), tuple(ids)))
        except BaseException as exc:
            errors.append(exc)

    # New Ks are fitted while the explanations run (the first pass), then only switched.
    threads = [threading.Thread(target=f) for f in (switch, explain, explain)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    assert not errors, repr(errors[0])
    # Every explanation was made at one K, with that K's ids (never a mix of two).
    for k, ids in seen:
        assert list(ids) == tlc.cluster_ids_for(k).tolist()
    assert tlc.n_clusters_ == len(tlc.cluster_ids_)
    fresh = tlc.explain(ds, 1)
    assert list(fresh.cluster_ids) == tlc.cluster_ids_.tolist()
