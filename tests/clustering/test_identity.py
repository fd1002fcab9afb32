"""Cluster identity: path-independent stable ids per K (clustering/identity.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecg_cluster_widget.clustering import ClusterRegistry, SoftClusterer, check_n_clusters
from ecg_cluster_widget.clustering.identity import ids_from_reference
from ecg_cluster_widget.errors import DataError


def _points(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [4, 0], [0, 4], [4, 4], [8, 8], [-4, 6]], dtype=float)
    sizes = [120, 90, 70, 50, 40, 30]
    return np.concatenate([rng.normal(c, 0.4, (s, 2)) for c, s in zip(centres, sizes)])


X = _points()


def _fit(k: int) -> SoftClusterer:
    return SoftClusterer(k, random_state=0).fit(X)


def _registry(k0: int = 4) -> ClusterRegistry:
    return ClusterRegistry(_fit(k0), X, _fit, n_points=len(X))


def test_reference_ids_by_decreasing_size():
    reg = _registry(4)
    fit = reg.get(4)
    assert fit.ids.tolist() == [0, 1, 2, 3]
    weights = fit.clusterer.weights_
    assert (np.diff(weights) <= 1e-12).all()  # id 0 is the largest cluster


def test_other_k_matched_against_the_reference_only():
    reg = _registry(4)
    ids6 = reg.get(6).ids
    assert sorted(ids6) == list(range(6))  # 4 matched + new ids 4, 5
    ids3 = reg.get(3).ids
    assert set(ids3) <= {0, 1, 2, 3}
    # Matched clusters label the same points as their reference cluster.
    ref = reg.get(4).clusterer.predict(X)
    six = reg.get(6).clusterer.predict(X)
    for pos, cid in enumerate(ids6):
        if cid < 4:
            assert np.mean(ref[six == pos] == cid) > 0.8


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(2, 8), min_size=1, max_size=5))
def test_ids_do_not_depend_on_the_path(path):
    fresh = {k: _registry(4).get(k).ids.tolist() for k in set(path)}
    reg = _registry(4)
    for k in path:
        reg.get(k)
    assert {k: reg.get(k).ids.tolist() for k in set(path)} == fresh
    assert reg.cached_k == sorted({4, *path})


def test_ids_from_reference_orders_new_ids_by_weight():
    ids = ids_from_reference(np.array([0.1, 0.4, 0.2, 0.3]), np.array([-1, 1, -1, 0]), [7, 9], 10)
    assert ids.tolist() == [11, 9, 10, 7]
    assert ids_from_reference(np.array([0.2, 0.5, 0.3]), None, None, 0).tolist() == [2, 0, 1]


@pytest.mark.parametrize("bad", [2.7, 3.0, True, False, "3", None, 1, -2, 1000])
def test_check_n_clusters_one_error_naming_the_range(bad):
    with pytest.raises(DataError, match=r"n_clusters must be an integer from 2 to 500"):
        check_n_clusters(bad, 500)
    with pytest.raises(DataError, match="from 2"):
        _registry(3).get(bad)


def test_check_n_clusters_accepts_numpy_integers():
    assert check_n_clusters(np.int64(5), 10) == 5 and type(check_n_clusters(np.int32(3))) is int
