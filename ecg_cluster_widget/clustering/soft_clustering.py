"""Soft clustering of (ECG, time step) feature vectors: the family and its factory.

Four soft clusterers share one base class
(:class:`~ecg_cluster_widget.clustering.base.BaseSoftClusterer`, scikit-learn's estimator
contract; ``tests/clustering/test_cm.py`` runs ``check_estimator`` on each) and are named by a
``method`` string in the explainer's options:

* ``"gmm"``: :class:`~.mixture.SphericalGMM`, the isotropic Gaussian mixture (default);
* ``"soft_kmeans"``: :class:`~.mixture.SoftKMeans`, k-means with a temperature softmax;
* ``"gmm_full"``: :class:`~.mixture.FullGMM`, full covariances refined from the isotropic fit;
* ``"cm"``: :class:`~.cm.ClusteringModule`, the clustering module (streaming, torch).

For all of them ``temperature`` divides the log-posteriors in ``predict_proba``.
"""

from __future__ import annotations

from typing import Any

from ..data.dataset import check_choice
from ..errors import DataError
from .base import BaseSoftClusterer
from .cm import ClusteringModule
from .mixture import FullGMM, SoftKMeans, SphericalGMM

__all__ = ["METHODS", "SoftClusterer"]

#: The soft clusterer of each ``method`` name.
METHODS = {cls.method: cls for cls in (SphericalGMM, SoftKMeans, ClusteringModule, FullGMM)}


def SoftClusterer(n_clusters: int = 6, method: str = "gmm", **params: Any) -> BaseSoftClusterer:
    """The soft clusterer of ``method`` with ``n_clusters`` clusters (unfitted).

    Parameters
    ----------
    n_clusters : int
        Number of clusters K (an integer >= 2).
    method : {"gmm", "soft_kmeans", "gmm_full", "cm"}
        Which clusterer (see :data:`METHODS`).
    **params
        Its other parameters (``random_state``, ``tol``, ``temperature``, ...).

    Returns
    -------
    BaseSoftClusterer

    Raises
    ------
    DataError
        An unknown method, or a parameter that method does not take.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(3, 0.1, (50, 2))])
    >>> sc = SoftClusterer(n_clusters=2).fit(X)
    >>> type(sc).__name__, sc.predict_proba(X).shape
    ('SphericalGMM', (100, 2))
    >>> SoftClusterer(2, method="cm", epochs=200).fit(X).weights_.round(2).tolist()
    [0.5, 0.5]
    """
    check_choice(method, tuple(METHODS), "method")
    try:
        return METHODS[method](n_clusters, **params)
    except TypeError as exc:
        names = ", ".join(METHODS[method]._get_param_names())
        raise DataError(f"{exc}; the parameters of method={method!r} are {names}.") from None
