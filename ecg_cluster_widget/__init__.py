"""ecg_cluster_widget: time-localized cluster explanations of ECG deep-learning models."""

from .data import ECGDataset
from .errors import DataError, ECGClusterError, FileFormatError, ModelError, NotFittedError

__version__ = "0.1.0"

__all__ = [
    "ECGDataset",
    "ECGClusterError",
    "DataError",
    "ModelError",
    "FileFormatError",
    "NotFittedError",
    "__version__",
]
