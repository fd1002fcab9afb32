"""Per-lead standardisation with statistics from the training set."""

from __future__ import annotations

import numpy as np

from ..errors import DataError, NotFittedError
from .dataset import ECGDataset


class Standardizer:
    """Z-score each lead with a mean and standard deviation learned on training data.

    Parameters
    ----------
    eps : float
        Floor on the standard deviation, so flat leads do not blow up.

    Examples
    --------
    >>> import numpy as np
    >>> ds = ECGDataset(np.random.default_rng(0).normal(2, 3, (4, 12, 100)), fs=100)
    >>> z = Standardizer().fit(ds).transform(ds.signals)
    >>> bool(abs(z.mean()) < 1e-5)
    True
    """

    def __init__(self, eps: float = 1e-6) -> None:
        self.eps = eps

    def fit(self, data: ECGDataset | np.ndarray) -> Standardizer:
        """Learn each lead's mean and standard deviation; returns ``self``.

        Raises
        ------
        DataError
            If the signals contain NaN or inf.
        """
        x = _signals(data)
        if not np.isfinite(x).all():
            raise DataError("cannot fit a Standardizer on signals that contain NaN or inf.")
        self.mean_ = x.mean(axis=(0, 2)).astype(np.float32)
        self.std_ = np.maximum(x.std(axis=(0, 2)), self.eps).astype(np.float32)
        return self

    def transform(self, data: ECGDataset | np.ndarray) -> np.ndarray:
        """Standardised signals as a new float32 array (N, leads, samples)."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("Standardizer is not fitted; call fit(training_data) first.")
        x = _signals(data)
        if x.shape[1] != self.mean_.shape[0]:
            raise DataError(
                f"data has {x.shape[1]} leads but the Standardizer was fitted on {self.mean_.shape[0]}."
            )
        return ((x - self.mean_[None, :, None]) / self.std_[None, :, None]).astype(np.float32)

    def to_dict(self) -> dict:
        """The fitted statistics as plain lists (for checkpoints); see :meth:`from_dict`."""
        if not hasattr(self, "mean_"):
            raise NotFittedError("Standardizer is not fitted.")
        return {"mean": self.mean_.tolist(), "std": self.std_.tolist(), "eps": self.eps}

    @classmethod
    def from_dict(cls, d: dict) -> Standardizer:
        """Rebuild a fitted standardizer from :meth:`to_dict` output.

        Examples
        --------
        >>> s = Standardizer().fit(np.ones((2, 3, 10)))
        >>> Standardizer.from_dict(s.to_dict()).mean_.tolist()
        [1.0, 1.0, 1.0]
        """
        s = cls(eps=float(d.get("eps", 1e-6)))
        s.mean_ = np.asarray(d["mean"], dtype=np.float32)
        s.std_ = np.asarray(d["std"], dtype=np.float32)
        return s


def _signals(data: ECGDataset | np.ndarray) -> np.ndarray:
    x = data.signals if isinstance(data, ECGDataset) else np.asarray(data, dtype=np.float32)
    if x.ndim != 3:
        raise DataError(
            f"expected signals of shape (n_records, n_leads, n_samples), got {x.shape}."
        )
    return x
