import json
import os
import stat

import numpy as np
import pytest

from ecg_cluster_widget.data.io_utils import atomic_write_bytes, atomic_write_json


def test_atomic_write_replaces_content_and_leaves_no_temp(tmp_path):
    p = tmp_path / "labels.json"
    atomic_write_json(p, {"a": np.int64(3), "b": np.arange(2)})
    atomic_write_json(p, {"a": 4})
    assert json.loads(p.read_text()) == {"a": 4}
    assert [f.name for f in tmp_path.iterdir()] == ["labels.json"]


def test_atomic_write_uses_normal_permissions(tmp_path):
    p = tmp_path / "x.bin"
    atomic_write_bytes(p, b"1")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask
    os.chmod(p, 0o640)
    atomic_write_bytes(p, b"2")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


def test_failed_write_keeps_old_file(tmp_path):
    p = tmp_path / "labels.json"
    atomic_write_json(p, {"keep": True})
    with pytest.raises(TypeError):
        atomic_write_json(p, {"bad": object()})
    assert json.loads(p.read_text()) == {"keep": True}
    assert [f.name for f in tmp_path.iterdir()] == ["labels.json"]


# --- issue 9 §7: a write killed mid-way leaves a temp file; the next write removes it --------
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from ecg_cluster_widget.data.io_utils import STALE_TEMP_AGE_S, clean_stale_temps  # noqa: E402

_KILLED_WRITER = """
import os, signal, sys
from ecg_cluster_widget.data import io_utils
def die(fd):  # the data are written, the rename has not happened: SIGKILL now
    os.kill(os.getpid(), signal.SIGKILL)
io_utils.os.fsync = die
io_utils.atomic_write_bytes(sys.argv[1], b"x" * 3_000_000)
"""


def _temps(folder):
    return sorted(f.name for f in folder.iterdir() if f.name.endswith(".tmp"))


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_temp_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    p = tmp_path / "labels.json"
    atomic_write_json(p, {"v": 1})
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(p)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    orphans = _temps(tmp_path)
    assert len(orphans) == 1 and (tmp_path / orphans[0]).stat().st_size == 3_000_000
    assert json.loads(p.read_text()) == {"v": 1}  # the old content held
    atomic_write_json(p, {"v": 2})
    assert _temps(tmp_path) == [] and json.loads(p.read_text()) == {"v": 2}
    assert [f.name for f in tmp_path.iterdir()] == ["labels.json"]


def test_clean_stale_temps_keeps_live_writers_and_other_files(tmp_path):
    p = tmp_path / "data.json"
    live = tmp_path / f".data.json.{os.getpid()}.abc.tmp"  # a write in progress here
    dead = tmp_path / ".data.json.999999999.def.tmp"  # writer gone
    legacy_new = tmp_path / ".data.json.k2j3h4.tmp"  # older naming, recent
    legacy_old = tmp_path / ".data.json.zz91x.tmp"  # older naming, stale by age
    other = tmp_path / ".other.json.999999999.x.tmp"  # another destination
    for f in (live, dead, legacy_new, legacy_old, other):
        f.write_bytes(b"partial")
    old = time.time() - STALE_TEMP_AGE_S - 10
    os.utime(legacy_old, (old, old))
    removed = {f.name for f in clean_stale_temps(p)}
    assert removed == {dead.name, legacy_old.name}
    assert live.exists() and legacy_new.exists() and other.exists()
    os.utime(live, (old, old))  # even a live pid's temp goes once it is an hour old
    assert {f.name for f in clean_stale_temps(p)} == {live.name}
    assert clean_stale_temps(tmp_path / "missing" / "x.json") == []


def test_temp_name_carries_the_writer_pid(tmp_path, monkeypatch):
    import ecg_cluster_widget.data.io_utils as io_utils

    seen = []
    real_replace = io_utils.os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        return real_replace(src, dst)

    monkeypatch.setattr(io_utils.os, "replace", spy)
    atomic_write_bytes(tmp_path / "f.bin", b"1")
    assert seen and seen[0].startswith(f".f.bin.{os.getpid()}.") and seen[0].endswith(".tmp")


# --- one JSON conversion (issue 11) ------------------------------------------------------------
def test_to_jsonable_converts_numpy_nan_paths_and_objects(tmp_path):
    import dataclasses
    from pathlib import Path

    from ecg_cluster_widget.data.io_utils import to_jsonable

    @dataclasses.dataclass
    class Pair:
        a: int
        b: np.ndarray

    class WithDict:
        def to_dict(self):
            return {"x": np.float32(0.5)}

    obj = {
        1: np.array([[1.0, np.nan], [np.inf, 2.0]]),
        "i": np.arange(3, dtype=np.int16),
        "t": (np.int64(7), np.bool_(False), float("-inf")),
        "p": Path("a/b"),
        "d": Pair(1, np.array([3])),
        "w": WithDict(),
        "s": {2, 1},
    }
    out = to_jsonable(obj)
    assert out == {
        "1": [[1.0, None], [None, 2.0]],
        "i": [0, 1, 2],
        "t": [7, False, None],
        "p": "a/b",
        "d": {"a": 1, "b": [3]},
        "w": {"x": 0.5},
        "s": [1, 2],
    }
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    with pytest.raises(TypeError, match="not JSON serialisable"):
        to_jsonable({"x": object()})
    assert to_jsonable([object()], default=lambda o: "obj") == ["obj"]
    # Files are strict JSON: NaN is written as null.
    p = atomic_write_json(tmp_path / "n.json", {"v": np.float64("nan"), "u": "Ü"})
    assert "NaN" not in p.read_text() and json.loads(p.read_text()) == {"v": None, "u": "Ü"}
