"""Clustering: soft clustering of time steps and stable cluster identities.

:func:`SoftClusterer` builds one of the soft clusterers (:data:`~.soft_clustering.METHODS`):
an isotropic GMM (``"gmm"``), k-means with a softmax (``"soft_kmeans"``), a full-covariance
GMM (``"gmm_full"``) and the clustering module of Boubekki et al. (``"cm"``, a streaming
torch implementation in :mod:`ecg_cluster_widget.clustering.cm`). Every K is a merge of one
fitted mixture (:mod:`.tree`); stable, path-independent cluster ids per K come from
:class:`ClusterRegistry` (:mod:`.identity`).
"""

from .identity import ClusterRegistry, check_n_clusters
from .matching import match_by_overlap
from .soft_clustering import METHODS, SoftClusterer

__all__ = ["SoftClusterer", "METHODS", "ClusterRegistry", "check_n_clusters", "match_by_overlap"]
