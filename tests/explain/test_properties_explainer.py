"""Property-based tests (Hypothesis) of the explainer's outputs, ids and labels files.

Small synthetic data and few examples keep them fast; every example is seeded.
"""

from __future__ import annotations

from datetime import timezone

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecg_cluster_widget import TLCExplainer
from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.labels import normalize_labels, read_labels_file, save_labels
from ecg_cluster_widget.model import ResNet1d

KW = dict(n_components=6, progress=False, max_fit_points=4000)
FAST = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def ds():
    return make_synthetic(6, seed=3)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return ResNet1d(12, 5, filters=(8, 8, 8, 8, 8)).eval()


@pytest.fixture(scope="module")
def tlc(net, ds):
    return TLCExplainer(net, n_clusters=4, **KW).fit(ds)


@FAST
@given(k=st.integers(2, 7), index=st.integers(0, 5))
def test_outputs_are_distributions_and_labels_are_argmax(tlc, ds, k, index):
    gamma = tlc.transform(ds, n_clusters=k)
    np.testing.assert_allclose(gamma.sum(axis=2), 1.0, atol=1e-5)
    es = tlc.explain_all(ds, n_clusters=k)
    np.testing.assert_allclose(es.proportions.sum(axis=1), 1.0)
    assert ((es.entropy >= 0) & (es.entropy <= 1)).all()
    np.testing.assert_array_equal(es.labels, gamma.argmax(axis=2))
    ex = tlc.explain(ds, index, n_clusters=k)
    np.testing.assert_array_equal(ex.labels, ex.gamma.argmax(axis=1))
    assert ex.proportions.sum() == pytest.approx(1.0)
    assert 0.0 <= ex.mean_entropy <= 1.0
    assert tlc.n_clusters_ == 4  # asking for a K never switches the explainer


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.lists(st.integers(2, 7), min_size=1, max_size=4), refit=st.booleans())
def test_ids_stable_under_any_k_path_and_refit(tlc, net, ds, path, refit):
    other = TLCExplainer(net, n_clusters=4, **KW).fit(ds)
    for k in path:
        other.set_n_clusters(k)
    if refit:
        other.fit(ds)
        assert other.n_clusters_ == 4
    for k in set(path):
        np.testing.assert_array_equal(other.cluster_ids_for(k), tlc.cluster_ids_for(k))
        np.testing.assert_array_equal(
            other.predict(ds, n_clusters=k), tlc.predict(ds, n_clusters=k)
        )
    assert other.fit_id_ == tlc.fit_id_


_text = st.text(max_size=30).map(str.strip)
_entry = st.fixed_dictionaries(
    {"name": _text.filter(bool), "notes": _text},
    optional={
        "annotator": _text.filter(bool),
        "updated": st.datetimes(timezones=st.just(timezone.utc)).map(
            lambda d: d.isoformat().replace("+00:00", "Z")
        ),
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(labels=st.dictionaries(st.integers(0, 50), _entry, max_size=6))
def test_save_load_round_trips_labels_exactly(tmp_path, labels):
    path = save_labels(tmp_path / "labels.json", labels)
    loaded = read_labels_file(path).labels
    assert loaded == normalize_labels(labels)
    expected = {str(k): v for k, v in sorted(labels.items())}
    assert loaded == expected  # canonical input comes back unchanged, unicode included
