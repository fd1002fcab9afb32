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
