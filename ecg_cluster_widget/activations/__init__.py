"""Activations: forward hooks on a network's blocks and their alignment to one time grid."""

from .discover import default_layers
from .extractor import ActivationExtractor
from .features import FeatureAligner, resample_time
from .layout import LayerLayout

__all__ = [
    "ActivationExtractor",
    "FeatureAligner",
    "LayerLayout",
    "default_layers",
    "resample_time",
]
