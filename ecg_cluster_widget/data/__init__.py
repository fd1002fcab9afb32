"""Data: the ECGDataset type, loaders, the synthetic generator and preprocessing."""

from .dataset import STANDARD_LEADS, WAVE_NAMES, ECGDataset, canonical_lead_name

__all__ = ["ECGDataset", "STANDARD_LEADS", "WAVE_NAMES", "canonical_lead_name"]
