"""Streaming fits under faults: a failed refit leaves the previous fit intact, a reused
store never kills a live fit, every chunk is checked, fingerprints come from content,
full disks and damaged stores give clear errors."""

from __future__ import annotations

import errno
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from ecg_cluster_widget.activations import store as store_mod
from ecg_cluster_widget.activations.store import FeatureStore
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, FileFormatError, StorageError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.sources import SyntheticChunks
from ecg_cluster_widget.explain.streaming import fit_chunks
from ecg_cluster_widget.model import ResNet1d


@pytest.fixture(scope="module")
def net() -> ResNet1d:
    torch.manual_seed(0)
    return ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))


def _tlc(net, **kw) -> TLCExplainer:
    return TLCExplainer(net, n_clusters=3, n_components=4, progress=False, **kw)


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class FailingChunks:
    """Delegates to a source and raises on one chunk, after the ones before it were fitted."""

    def __init__(self, src, fail_at: int) -> None:
        self.src, self.fail_at, self.calls = src, fail_at, 0

    @property
    def sizes(self):
        return self.src.sizes

    def chunk(self, i):
        self.calls += 1
        if i == self.fail_at and self.calls > len(self.src.sizes):  # fail in stage 2
            raise RuntimeError("the chunk source failed (network share gone)")
        return self.src.chunk(i)


# --- a failed refit leaves the previous fit intact -----------------------------------------
def test_failed_refit_leaves_the_previous_fit_bit_for_bit_intact(net, tmp_path):
    st = tmp_path / "st"
    first = fit_chunks(_tlc(net), SyntheticChunks(12, chunk_records=4, fs=100, duration=2), st)
    labels = np.array(first.explanations.labels)
    proportions = np.array(first.explanations.proportions)
    on_disk = _snapshot(st)
    src = FailingChunks(SyntheticChunks(12, chunk_records=4, fs=100, duration=2, seed=9), 2)
    with pytest.raises(RuntimeError, match="chunk source failed"):
        fit_chunks(_tlc(net), src, st, align_records=4)
    # The live fit reads what it read before, and the folder is exactly as it was.
    np.testing.assert_array_equal(first.explanations.labels, labels)
    np.testing.assert_array_equal(first.explanations.proportions, proportions)
    assert _snapshot(st) == on_disk
    reopened = FeatureStore(st)
    np.testing.assert_array_equal(reopened.open("labels"), labels)


def test_a_failure_while_writing_outputs_also_rolls_back(net, tmp_path, monkeypatch):
    st = tmp_path / "st"
    first = fit_chunks(_tlc(net), SyntheticChunks(8, chunk_records=4, fs=100, duration=2), st)
    labels = np.array(first.explanations.labels)
    on_disk = _snapshot(st)
    real_write, n = FeatureStore.write, {"calls": 0}

    def write(self, name, start, rows):
        n["calls"] += 1
        if name == "entropy":
            raise OSError(errno.EIO, "Input/output error")
        return real_write(self, name, start, rows)

    monkeypatch.setattr(FeatureStore, "write", write)
    with pytest.raises(OSError):
        fit_chunks(_tlc(net), SyntheticChunks(8, chunk_records=4, fs=100, duration=2), st)
    assert _snapshot(st) == on_disk and n["calls"] > 2
    np.testing.assert_array_equal(first.explanations.labels, labels)


def test_a_successful_refit_swaps_in_a_new_generation(net, tmp_path):
    st = tmp_path / "st"
    fit_chunks(_tlc(net), SyntheticChunks(8, chunk_records=4, fs=100, duration=2), st)
    second = fit_chunks(_tlc(net), SyntheticChunks(4, chunk_records=4, fs=100, duration=2), st)
    reopened = FeatureStore(st)
    assert reopened.open("labels").shape == (4, 200)
    np.testing.assert_array_equal(reopened.open("labels"), second.explanations.labels)
    # Only the new generation's files are left.
    assert len({p.parent for p in st.rglob("*.npy")}) == 1


# --- a reused store never kills a live fit ------------------------------------------------
@pytest.mark.slow
def test_reusing_a_store_for_a_smaller_fit_does_not_kill_the_first(net, tmp_path):
    """Old code truncated the first fit's memory-mapped files: SIGBUS (return code -7)."""
    torch.save(net.state_dict(), tmp_path / "net.pt")
    code = textwrap.dedent(
        f"""
        import numpy as np, torch
        from ecg_cluster_widget.explain import TLCExplainer
        from ecg_cluster_widget.explain.sources import SyntheticChunks
        from ecg_cluster_widget.model import ResNet1d
        net = ResNet1d(12, 2, filters=(8, 8, 8, 8), seq_lengths=(200, 100, 50, 25))
        net.load_state_dict(torch.load({str(tmp_path / "net.pt")!r}))
        kw = dict(n_clusters=3, n_components=4, progress=False)
        big = TLCExplainer(net, **kw).fit(
            SyntheticChunks(64, chunk_records=16, fs=100, duration=2), store={str(tmp_path / "S")!r})
        keep = big.streaming_.explanations
        before = np.array(keep.entropy)
        small = TLCExplainer(net, **kw).fit(
            SyntheticChunks(4, chunk_records=4, fs=100, duration=2, seed=7),
            store={str(tmp_path / "S")!r})
        assert np.array_equal(np.asarray(keep.entropy), before)  # touches every page
        assert float(np.asarray(big.streaming_.features).sum()) == float(
            np.asarray(big.streaming_.features).sum())
        print("alive", small.streaming_.explanations.labels.shape[0])
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, (res.returncode, res.stderr[-2000:])
    assert res.stdout.split() == ["alive", "4"]


# --- every chunk is checked -----------------------------------------------------------------
class OddChunks:
    """Chunk ``bad`` differs from what ``sizes`` and the other chunks say."""

    def __init__(self, bad_kind: str, bad: int = 2) -> None:
        self.sizes, self.kind, self.bad = (10, 10, 10), bad_kind, bad

    def chunk(self, i):
        n, fs = self.sizes[i], 100
        if i == self.bad:
            if self.kind == "fs":
                fs = 50
            elif self.kind in ("more", "fewer"):
                n = 12 if self.kind == "more" else 8
        ds = make_synthetic(n, fs=fs, duration=2 if fs == 100 else 4, seed=i)
        if i == self.bad and self.kind == "nan":
            x = ds.signals.copy()
            x[0, 0, 5] = np.nan
            return ds.with_signals(x, amplitude_check="ignore")
        return ds


@pytest.mark.parametrize(
    "kind, match",
    [
        ("fs", r"chunk \d has sampling rate (50.0, chunk \d 100.0|100.0, chunk 2 50.0)"),
        ("more", "chunk 2 holds 12 records but the source's sizes say 10"),
        ("fewer", "chunk 2 holds 8 records but the source's sizes say 10"),
        ("nan", "NaN|finite"),
    ],
)
def test_every_chunk_is_checked(net, kind, match):
    with pytest.raises(DataError, match=match):
        fit_chunks(_tlc(net), OddChunks(kind), align_records=5)


# --- fingerprints from content ---------------------------------------------------------------
class SameRepr:
    def __init__(self, seed: int) -> None:
        self.seed, self.sizes = seed, (4, 4)

    def chunk(self, i):
        return make_synthetic(4, fs=100, duration=2, seed=self.seed * 10 + i)

    def __repr__(self) -> str:
        return "MyChunks(records='shared/folder')"


def test_fit_identity_comes_from_the_records_not_the_repr(net):
    a = _tlc(net).fit(SameRepr(1))
    b = _tlc(net).fit(SameRepr(2))
    c = _tlc(net).fit(SameRepr(1))
    assert repr(SameRepr(1)) == repr(SameRepr(2))
    assert a.fit_identity()["data_fingerprint"] != b.fit_identity()["data_fingerprint"]
    assert a.fit_id_ != b.fit_id_ and a.fit_id_ == c.fit_id_


# --- full disk, damaged store ----------------------------------------------------------------
def test_full_disk_during_a_streaming_fit_is_a_clear_error_and_leaves_nothing(
    net, tmp_path, monkeypatch
):
    st = tmp_path / "st"
    fit_chunks(_tlc(net), SyntheticChunks(4, chunk_records=4, fs=100, duration=2), st)
    on_disk = _snapshot(st)

    def no_space(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod.os, "pwrite", no_space)
    with pytest.raises(StorageError, match="disk is full.*Nothing was written"):
        fit_chunks(_tlc(net), SyntheticChunks(8, chunk_records=4, fs=100, duration=2), st)
    assert _snapshot(st) == on_disk  # no partial generation left behind


def test_truncated_store_file_is_a_clear_error(net, tmp_path):
    st = tmp_path / "st"
    fit_chunks(_tlc(net), SyntheticChunks(4, chunk_records=4, fs=100, duration=2), st)
    store = FeatureStore(st)
    f = next(st.rglob("labels.npy"))
    with open(f, "r+b") as fh:
        fh.truncate(f.stat().st_size // 2)
    with pytest.raises(FileFormatError, match="truncated.*fit again"):
        store.open("labels")
    with pytest.raises(FileFormatError, match="truncated"):
        store.read("labels", 0, 4)


def test_reuse_of_a_store_by_other_data_is_seen_from_content(net, tmp_path):
    import warnings

    from ecg_cluster_widget.errors import DataWarning

    st = tmp_path / "st"
    a = fit_chunks(_tlc(net), SyntheticChunks(4, chunk_records=4, fs=100, duration=2), st)
    assert FeatureStore(st).identity["data_fingerprint"] == a.data_fingerprint
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # the same data again: no warning
        fit_chunks(_tlc(net), SyntheticChunks(4, chunk_records=4, fs=100, duration=2), st)
    other = SameRepr(3)  # prints like any other SameRepr: only its records differ
    with pytest.warns(DataWarning, match="held a fit of other data"):
        b = fit_chunks(_tlc(net), other, st)
    assert FeatureStore(st).identity["data_fingerprint"] == b.data_fingerprint


def test_unwritable_store_folder_is_a_clear_error(tmp_path, monkeypatch):
    real_mkdir = Path.mkdir

    def denied(self, *args, **kwargs):
        if self.name == "st" or self.name.startswith("g-"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(StorageError, match="no permission to write in"):
        FeatureStore(tmp_path / "st")
    monkeypatch.setattr(Path, "mkdir", real_mkdir)
    store = FeatureStore(tmp_path / "ok")
    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(StorageError, match="no permission"):
        with store.generation():
            pass
