"""Exceptions raised for bad input.

Every check in the package raises one of these with a message that names the
problem and what to do, so users never see a traceback from deep inside numpy
or torch.
"""

from __future__ import annotations

import traitlets
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


class TraitValueError(DataError, traitlets.TraitError):
    """A widget trait refused a value (from Python or from the browser).

    Both a :class:`~ecg_cluster_widget.errors.DataError` (the project's bad-input error)
    and a :class:`traitlets.TraitError`: traitlets and ipywidgets roll a held change back
    only for a ``TraitError``, so a refused value never stays in the trait.

    Examples
    --------
    >>> issubclass(TraitValueError, traitlets.TraitError) and issubclass(TraitValueError, ValueError)
    True
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


class StorageError(FileFormatError):
    """A file or folder could not be written: full disk, no permission, read-only disk.

    Nothing partial is left behind: every file of the package is written to a temp file
    and moved into place only when complete. The message names the path, the cause and
    the fix (free space, pick a folder you can write to). Also an :class:`OSError`; its
    ``errno`` is the cause's (e.g. ``errno.ENOSPC``).

    Examples
    --------
    >>> import errno
    >>> exc = StorageError(errno.ENOSPC, "cannot write x.json: the disk is full")
    >>> exc.errno == errno.ENOSPC and isinstance(exc, OSError)
    True
    """

    def __str__(self) -> str:
        # OSError(errno, text) would print "[Errno 28] text"; the text already says it.
        return self.strerror if self.strerror else super().__str__()


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


class ReadOnlyDataError(DataError):
    """A field of an :class:`~ecg_cluster_widget.data.ECGDataset` was reassigned.

    Datasets are immutable (their arrays are read-only too, so an in-place edit raises
    numpy's ``ValueError``), so nothing computed from one (an explanation, cached
    features, a fit) can silently go stale. Edit a copy and build a new dataset with
    ``ds.with_signals(x)`` or ``ds.copy(labels=..., wave_masks=...)``.

    Also a :class:`DataError` and a :class:`ValueError`.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_cluster_widget.data import ECGDataset
    >>> ds = ECGDataset(np.ones((1, 1, 100)), fs=100, lead_names=["II"], amplitude_check="ignore")
    >>> ds.fs = 200
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.ReadOnlyDataError: ECGDataset.fs cannot be reassigned...
    >>> x = ds.signals.copy(); x[0, 0, 0] = 5.0
    >>> float(ds.with_signals(x).signals[0, 0, 0])
    5.0
    """


class LabelsMismatchError(FileFormatError):
    """A cluster-labels file belongs to another model or dataset than the current fit.

    Raised by ``labels.attach_labels(path, tlc)`` (and the exports and saves that use
    it) when the file's fit identity (model checksum, data fingerprint) differs from the
    current fit's, so labels are never attached to clusters they were not given to. The
    ``report`` attribute holds the :class:`~ecg_cluster_widget.labels.LabelsReport`.

    Parameters
    ----------
    message : str
        What differs and what to do.
    report : LabelsReport, optional
        The comparison of the file's fit identity with the current fit.

    Examples
    --------
    >>> issubclass(LabelsMismatchError, FileFormatError)
    True
    """

    def __init__(self, message: str, report=None) -> None:
        super().__init__(message)
        self.report = report


class ECGClusterWarning(UserWarning):
    """Base class of the warnings issued by ecg_cluster_widget.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", ECGClusterWarning)  # turn them into errors
    ...     pass
    """


class DataWarning(ECGClusterWarning):
    """The data look wrong but can still be used: implausible amplitudes (wrong units),
    flat or all-zero leads and records, a labels file that cannot be checked.

    The message names the records and leads and says what to do (for example
    "values look like microvolts: divide by 1000 or pass units='uV'"). Turn it into
    an error with ``warnings.simplefilter("error", DataWarning)`` or pass
    ``amplitude_check="raise"`` to :class:`~ecg_cluster_widget.data.ECGDataset`.

    Examples
    --------
    >>> import warnings, numpy as np
    >>> from ecg_cluster_widget.data import ECGDataset
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = ECGDataset(np.zeros((1, 12, 100)), fs=100)
    >>> "all zeros" in str(caught[0].message)
    True
    """
