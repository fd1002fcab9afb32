"""Clustering: soft clustering of time steps and stable cluster identities."""

from .matching import match_clusters
from .soft_clustering import SoftClusterer

__all__ = ["SoftClusterer", "match_clusters"]
