"""Exceptions raised for bad input.

Every check in the package raises one of these with a message that names the
problem and what to do, so users never see a traceback from deep inside numpy
or torch.
"""

from __future__ import annotations


class ECGClusterError(Exception):
    """Base class for all errors raised by ecg_cluster_widget."""


class DataError(ECGClusterError, ValueError):
    """Signals, labels or metadata are malformed (NaN, wrong shape, empty, ...)."""


class ModelError(ECGClusterError, ValueError):
    """The model does not fit the data or lacks the requested layers."""


class FileFormatError(ECGClusterError, OSError):
    """A file is missing, unreadable or corrupt."""


class NotFittedError(ECGClusterError, RuntimeError):
    """A method that needs a fitted estimator was called before ``fit``."""
