"""CompareView refuses bad trait values with the explorer's rolled-back TraitValueError."""

from __future__ import annotations

import pytest
import torch
import traitlets

from ecg_cluster_widget.data.synthetic import make_synthetic
from ecg_cluster_widget.errors import DataError, TraitValueError
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.model import ResNet1d
from ecg_cluster_widget.views.compare_view import CompareView


@pytest.fixture(scope="module")
def view():
    torch.manual_seed(0)
    ds = make_synthetic(6, seed=6)
    net = ResNet1d(12, 5, filters=(8, 12, 16, 16, 16)).eval()
    tlc = TLCExplainer(net, n_clusters=3, n_components=8, progress=False).fit(ds)
    return CompareView(tlc, ds, a=0, b=1)


@pytest.mark.parametrize(
    "name, value",
    [
        ("view_range", [float("nan"), 1.0]),
        ("view_range", [2.0, 1.0]),
        ("view_range", [0.0, 1e6]),
        ("cluster_labels", {"3": "P", "03": "T"}),
        ("cluster_labels", {"x": "P"}),
    ],
)
def test_bad_values_raise_the_rolled_back_trait_error(view, name, value):
    before = getattr(view, name)
    with pytest.raises(TraitValueError) as info:
        setattr(view, name, value)
    assert isinstance(info.value, traitlets.TraitError) and isinstance(info.value, DataError)
    assert getattr(view, name) == before
    with pytest.raises(TraitValueError):
        view.set_state({name: value})  # from the browser: rolled back, not kept
    assert getattr(view, name) == before


def test_good_values_are_kept(view):
    view.view_range = [0.5, 1.5]
    view.cluster_labels = {"1": "P wave"}
    assert view.view_range == [0.5, 1.5] and view.cluster_labels["1"]["name"] == "P wave"
