"""Data: the ECGDataset type, loaders, the synthetic generator and preprocessing."""

from .dataset import STANDARD_LEADS, WAVE_NAMES, ECGDataset, canonical_lead_name
from .io_utils import atomic_write_bytes, atomic_write_json, atomic_write_text
from .standardize import Standardizer
from .synthetic import SYNTHETIC_CLASSES, make_synthetic

__all__ = [
    "ECGDataset",
    "STANDARD_LEADS",
    "WAVE_NAMES",
    "canonical_lead_name",
    "Standardizer",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "SYNTHETIC_CLASSES",
    "make_synthetic",
]
