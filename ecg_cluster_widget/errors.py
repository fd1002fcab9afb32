"""Exceptions raised for bad input.

Every check in the package raises one of these with a message that names the
problem and what to do, so users never see a traceback from deep inside numpy
or torch.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class ECGClusterError(Exception):
    """Base class for all errors raised by ecg_cluster_widget.

    Catch it to handle any bad-input error of the package in one place.

    Examples
    --------
    >>> try:
    ...     raise DataError("signals contain NaN")
    ... except ECGClusterError as exc:
    ...     print(f"error: {exc}")
    error: signals contain NaN
    """


class DataError(ECGClusterError, ValueError):
    """Signals, labels or metadata are malformed (NaN, wrong shape, empty, ...).

    Also a :class:`ValueError`, so generic ``except ValueError`` handlers catch it.

    Examples
    --------
    >>> from ecg_cluster_widget.data import from_numpy
    >>> from_numpy([[1.0, float("nan")]], fs=100, lead_names=["II"])
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: ...
    """


class ModelError(ECGClusterError, ValueError):
    """The model does not fit the data or lacks the requested layers.

    Also a :class:`ValueError`.

    Examples
    --------
    >>> issubclass(ModelError, ValueError)
    True
    """


class FileFormatError(ECGClusterError, OSError):
    """A file is missing, unreadable or corrupt.

    Also an :class:`OSError`.

    Examples
    --------
    >>> from ecg_cluster_widget.model import load_checkpoint
    >>> load_checkpoint("no/such/model.pt")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.FileFormatError: ...
    """


class NotFittedError(ECGClusterError, RuntimeError, _SklearnNotFittedError):
    """A method that needs a fitted estimator was called before ``fit``.

    Also a :class:`RuntimeError` and a :class:`sklearn.exceptions.NotFittedError` (hence
    a :class:`ValueError` and an :class:`AttributeError`), so scikit-learn's tools
    recognise it.

    Examples
    --------
    >>> from ecg_cluster_widget.data import Standardizer
    >>> Standardizer().to_dict()
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.NotFittedError: Standardizer is not fitted.
    """
