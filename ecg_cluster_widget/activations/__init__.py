"""Activations: forward hooks on residual blocks and their alignment to one time grid."""

from .features import FeatureAligner, resample_time
from .hooks import ActivationExtractor, default_layers

__all__ = ["ActivationExtractor", "FeatureAligner", "default_layers", "resample_time"]
