"""Batch sizes of the forward passes that collect activations.

With ``batch_size="auto"`` the hooks run batches of about :data:`AUTO_BATCH_VALUES` input
values. On the demo model batches of 256 records instead of 64 saved 4 % of the forward
pass on a quiet 2-core machine and about half of its CPU time when the machine was loaded
(``benchmarks/bench_engine.py``, ``docs/performance.md``).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

__all__ = ["AUTO_BATCH_VALUES", "auto_batch_size", "check_batch_size"]

#: ``batch_size="auto"`` picks a power of two near this many input values per batch.
AUTO_BATCH_VALUES = 1 << 22
_AUTO_BATCH_RANGE = (8, 512)


def auto_batch_size(n_leads: int, n_samples: int) -> int:
    """Records per forward pass for ``batch_size="auto"``.

    A power of two near ``AUTO_BATCH_VALUES / (n_leads * n_samples)``, clipped to
    8..512: 256 for 12 leads x 1,000 samples, 64 for 12 x 5,000.

    Parameters
    ----------
    n_leads : int
    n_samples : int
        Shape of one record of the model input.

    Returns
    -------
    int
        Records per batch.

    Examples
    --------
    >>> auto_batch_size(12, 1000), auto_batch_size(12, 5000)
    (256, 64)
    """
    per = max(1, int(n_leads) * int(n_samples))
    b = 1 << max(0, int(round(np.log2(max(1.0, AUTO_BATCH_VALUES / per)))))
    return int(min(max(b, _AUTO_BATCH_RANGE[0]), _AUTO_BATCH_RANGE[1]))


def check_batch_size(batch_size: object) -> int | str:
    """``batch_size`` as a positive int or ``"auto"``; a DataError naming the fix otherwise.

    Parameters
    ----------
    batch_size : object
        What the user passed.

    Returns
    -------
    int or "auto"

    Examples
    --------
    >>> check_batch_size(np.int64(32)), check_batch_size("auto")
    (32, 'auto')
    """
    if batch_size == "auto":
        return "auto"
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise DataError(f"batch_size must be a positive integer or 'auto', got {batch_size!r}.")
    if int(batch_size) < 1:
        raise DataError(f"batch_size must be >= 1 (or 'auto'), got {batch_size}.")
    return int(batch_size)
