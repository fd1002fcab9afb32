"""Tests for the soft clusterers (the family and its factory) and Hungarian matching."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from ecg_cluster_widget.clustering import METHODS, SoftClusterer, match_by_overlap
from ecg_cluster_widget.errors import DataError, NotFittedError
from ecg_cluster_widget.explain.uncertainty import normalized_entropy


def _blobs(n_per=(400, 300, 200), scales=(0.3, 0.3, 0.3), seed=0, dim=4):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * dim, [6.0] + [0.0] * (dim - 1), [0.0, 6.0] + [0.0] * (dim - 2)])
    X = np.vstack([rng.normal(c, s, size=(n, dim)) for c, n, s in zip(centres, n_per, scales)])
    y = np.repeat(np.arange(3), n_per)
    return X, y, centres


@pytest.mark.parametrize("method", ["gmm", "soft_kmeans"])
def test_recovers_blobs_deterministically(method):
    X, y, centres = _blobs()
    a = SoftClusterer(3, method=method, random_state=0).fit(X)
    b = SoftClusterer(3, method=method, random_state=0).fit(X)
    np.testing.assert_array_equal(a.centroids_, b.centroids_)
    assert adjusted_rand_score(y, a.predict(X)) == 1.0
    # Clusters are ordered by decreasing weight: position 0 = the 400-point blob.
    np.testing.assert_allclose(a.weights_, [4 / 9, 3 / 9, 2 / 9], atol=0.01)
    np.testing.assert_allclose(a.centroids_, centres, atol=0.1)
    p = a.predict_proba(X)
    assert p.shape == (900, 3)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-9)
    assert a.n_iter_ >= 1 and isinstance(a.converged_, bool)


def test_gmm_learns_per_cluster_variance_and_matches_sklearn():
    from sklearn.mixture import GaussianMixture

    X, _, _ = _blobs(n_per=(500, 500, 500), scales=(0.2, 1.0, 0.5), seed=3)
    sc = SoftClusterer(3, method="gmm").fit(X)
    order = np.argsort(sc.centroids_[:, 0] + 2 * sc.centroids_[:, 1])
    np.testing.assert_allclose(sc.variances_[order], [0.04, 1.0, 0.25], rtol=0.15)
    gm = GaussianMixture(3, covariance_type="spherical", random_state=0).fit(X)
    ref = np.argsort(gm.means_[:, 0] + 2 * gm.means_[:, 1])
    np.testing.assert_allclose(sc.centroids_[order], gm.means_[ref], atol=0.05)
    np.testing.assert_allclose(sc.lower_bound_, gm.score(X), atol=0.01)


def test_soft_assignment_is_uncertain_between_clusters():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 0.5, size=(300, 4))
    mirror = a.copy()
    mirror[:, 0] = 6.0 - mirror[:, 0]  # exact mirror image: the midpoint is a tie
    X = np.vstack([a, mirror])
    sc = SoftClusterer(2).fit(X)
    p = sc.predict_proba(np.array([[3.0, 0.0, 0.0, 0.0]]))[0]
    np.testing.assert_allclose(p, [0.5, 0.5], atol=1e-3)
    centre = sc.predict_proba(sc.centroids_[:1])[0]
    assert centre.max() > 0.999


def test_temperature_softens():
    X, _, _ = _blobs(scales=(1.2, 1.2, 1.2))
    h = [
        normalized_entropy(SoftClusterer(3, temperature=t).fit(X).predict_proba(X)).mean()
        for t in (0.5, 1.0, 4.0)
    ]
    assert h[0] < h[1] < h[2]
    hk = [
        normalized_entropy(
            SoftClusterer(3, method="soft_kmeans", temperature=t).fit(X).predict_proba(X)
        ).mean()
        for t in (1.0, 4.0)
    ]
    assert hk[0] < hk[1]


def test_bad_input():
    X, _, _ = _blobs()
    with pytest.raises(DataError, match="n_clusters"):
        SoftClusterer(1).fit(X)
    with pytest.raises(DataError, match="larger than the number of points"):
        SoftClusterer(5).fit(X[:4])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        SoftClusterer(3).fit(bad)
    with pytest.raises(DataError, match="method"):
        SoftClusterer(3, method="dbscan").fit(X)
    with pytest.raises(NotFittedError):
        SoftClusterer(3).predict(X)
    sc = SoftClusterer(3).fit(X)
    with pytest.raises(DataError, match="features"):
        sc.predict(X[:, :2])
    with pytest.raises(DataError, match="'temperature' parameter"):
        sc.set_params(temperature=0.0).predict_proba(X)


def test_degenerate_duplicates_do_not_crash():
    X = np.r_[np.zeros((50, 2)), np.ones((50, 2))]
    sc = SoftClusterer(3).fit(X)  # more clusters than distinct points
    assert np.isfinite(sc.centroids_).all() and np.isfinite(sc.predict_proba(X)).all()


def test_reordered_copy():
    X, _, _ = _blobs()
    sc = SoftClusterer(3).fit(X)
    r = sc.reordered([2, 0, 1])
    np.testing.assert_array_equal(r.centroids_, sc.centroids_[[2, 0, 1]])
    np.testing.assert_allclose(r.predict_proba(X), sc.predict_proba(X)[:, [2, 0, 1]])
    with pytest.raises(DataError):
        sc.reordered([0, 0, 1])


def test_match_by_overlap_follows_the_shared_points():
    rng = np.random.default_rng(0)
    old = rng.dirichlet(np.ones(4) * 0.2, size=500)
    perm = rng.permutation(4)
    np.testing.assert_array_equal(match_by_overlap(old, old[:, perm]), perm)
    # A new cluster that shares nothing with the old ones stays unmatched (-1).
    more = np.c_[old[:, perm] * 0.99, np.zeros((500, 1))]
    more[:50] = np.eye(5)[4]
    assert match_by_overlap(old, more)[4] == -1
    with pytest.raises(DataError, match="same points"):
        match_by_overlap(old, old[:10])


@pytest.mark.parametrize("method", ["gmm", "soft_kmeans"])
def test_estimator_contract(method):
    X, _, _ = _blobs()
    sc = SoftClusterer(3, method=method)
    params = sc.get_params()
    assert not [k for k in vars(sc) if k.endswith("_")]  # the constructor only stores
    sc.fit(X)
    assert sc.get_params() == params and sc.n_features_in_ == 4
    np.testing.assert_array_equal(sc.labels_, sc.predict(X))
    assert not hasattr(SoftClusterer(3, method=method, compute_labels=False).fit(X), "labels_")
    for bad in (2.7, 3.0, True, "3"):
        with pytest.raises(DataError, match="'n_clusters' parameter .* must be an int"):
            SoftClusterer(bad, method=method).fit(X)
    # random_state=None: a fresh seed, still a valid fit.
    assert SoftClusterer(3, method=method, random_state=None).fit(X).centroids_.shape == (3, 4)
    r = sc.reordered([1, 2, 0])
    np.testing.assert_array_equal(np.array([1, 2, 0])[r.labels_], sc.labels_)


def _k_blobs(n_per: int = 300, k: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 8, size=(k, 5))
    x = np.vstack([c + rng.normal(0, 0.5, size=(n_per, 5)) for c in centres])
    return x, np.repeat(np.arange(k), n_per)


def test_init_centres_and_their_errors():
    # Start centres of the same K (how the explainer re-seeds near-empty components).
    x, truth = _k_blobs()
    cold = SoftClusterer(6, random_state=0).fit(x)
    seeded = SoftClusterer(6, random_state=0).fit(x, init=cold.centroids_)
    assert adjusted_rand_score(truth, seeded.predict(x)) > 0.99
    with pytest.raises(DataError, match="init must be 6 finite start centres"):
        SoftClusterer(6).fit(x, init=cold.centroids_[:4])
    with pytest.raises(DataError, match="init must be"):
        SoftClusterer(6).fit(x, init=np.full((6, 5), np.nan))
    with pytest.raises(DataError, match="not supported by ClusteringModule"):
        SoftClusterer(6, method="cm").fit(x, init=cold.centroids_)


def test_factory_builds_one_class_per_method():
    assert set(METHODS) == {"gmm", "soft_kmeans", "gmm_full", "cm"}
    for name, cls in METHODS.items():
        sc = SoftClusterer(3, method=name, random_state=1)
        assert type(sc) is cls and sc.method == name and sc.get_params()["random_state"] == 1
    with pytest.raises(DataError, match="argument 'device'; the parameters of method='gmm'"):
        SoftClusterer(3, device="cuda")
    with pytest.raises(DataError, match="argument 'max_iter'; the parameters of method='cm'"):
        SoftClusterer(3, method="cm", max_iter=5)


@pytest.mark.parametrize("method", ["gmm", "soft_kmeans", "gmm_full"])
def test_labels_are_the_hard_predictions_of_the_fitted_points(method):
    # gmm takes labels_ from its last E-step instead of a second pass: it must equal predict.
    x, _ = _k_blobs(n_per=400, k=5, seed=3)
    x = x + np.random.default_rng(0).normal(0, 3.0, size=x.shape)  # overlapping clusters
    sc = SoftClusterer(5, method=method, random_state=0).fit(x)
    np.testing.assert_array_equal(sc.labels_, sc.predict(x))
