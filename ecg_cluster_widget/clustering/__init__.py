"""Clustering: soft clustering of time steps and stable cluster identities.

:class:`SoftClusterer` offers an isotropic GMM (``"gmm"``), k-means with a softmax
(``"soft_kmeans"``) and the clustering module of Boubekki et al. (``"cm"``, a streaming
torch implementation in :mod:`ecg_cluster_widget.clustering.cm`). Stable, path-independent
cluster ids per K come from :class:`ClusterRegistry` (:mod:`.identity`).
"""

from .identity import ClusterRegistry, check_n_clusters
from .matching import match_by_overlap, match_clusters
from .soft_clustering import SoftClusterer

__all__ = [
    "SoftClusterer",
    "ClusterRegistry",
    "check_n_clusters",
    "match_clusters",
    "match_by_overlap",
]
