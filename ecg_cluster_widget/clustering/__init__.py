"""Clustering: soft clustering of time steps and stable cluster identities."""

from .matching import match_by_overlap, match_clusters
from .soft_clustering import SoftClusterer

__all__ = ["SoftClusterer", "match_clusters", "match_by_overlap"]
