"""Symptoms of a network read wrongly: clusters that follow position, not the ECG.

When a layer's time axis is wrong (a transformer's model dimension read as time), every
"time step" is really a channel, and a channel means the same in every record: most time
steps then get the same cluster in every record. On the issue's transformer 76 % did,
while the clustering looked confident (mean entropy 0.03). Real ECGs are not aligned in
time (beats fall anywhere), so a correctly read network gives each time step different
clusters across records. :func:`positional_share` measures this; :func:`warn_if_positional`
turns it into a warning that names the likely cause and the fix.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import DataError, ECGClusterWarning
from . import outputs as out

__all__ = ["POSITIONAL_SHARE_LIMIT", "positional_share", "warn_if_positional"]

#: Warn when more than this share of time steps get the same cluster in (almost) every
#: record.
POSITIONAL_SHARE_LIMIT = 0.5
#: "Almost every record": the most frequent cluster of a time step covers this share.
_AGREEMENT = 0.9


def positional_share(labels: Any, agreement: float = _AGREEMENT) -> float:
    """Share of time steps whose most frequent cluster covers ``agreement`` of the records.

    Parameters
    ----------
    labels : int array of shape (n_records, n_steps)
        Hard cluster labels on one time grid (e.g. ``tlc.transform(ds).argmax(-1)``).
    agreement : float
        Share of records that must agree at a time step.

    Returns
    -------
    float
        In [0, 1]; near 0 for ECGs read correctly, near 1 for a wrong time axis.

    Examples
    --------
    >>> positional_share(np.tile(np.arange(5), (8, 1)))  # cluster = position
    1.0
    >>> positional_share(np.random.default_rng(0).integers(0, 4, (50, 100)))
    0.0
    """
    lab = np.asarray(labels)
    if lab.ndim != 2 or lab.shape[0] < 2 or lab.shape[1] == 0:
        raise DataError(
            f"labels must be (n_records >= 2, n_steps) cluster labels, got shape {lab.shape}."
        )
    lab = lab.astype(np.int64) - lab.min()
    k = int(lab.max()) + 1
    counts = np.zeros((k, lab.shape[1]), dtype=np.int64)
    for c in range(k):
        counts[c] = (lab == c).sum(axis=0)
    top = counts.max(axis=0) / lab.shape[0]
    return float((top >= agreement).mean())


def warn_if_positional(
    labels: Any, layers_note: str = "", limit: float = POSITIONAL_SHARE_LIMIT
) -> float:
    """Warn when most time steps get the same cluster in every record; return the share.

    Parameters
    ----------
    labels : int array of shape (n_records, n_steps)
        Hard cluster labels of the fitting records.
    layers_note : str
        How the hooked layers were read (e.g. the extractor's layouts), for the message.
    limit : float
        Warn above this share.

    Returns
    -------
    float
        :func:`positional_share` of ``labels``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     share = warn_if_positional(np.tile(np.arange(5), (8, 1)))
    >>> share, "wrong time axis" in str(w[0].message)
    (1.0, True)
    """
    share = positional_share(labels)
    if share > limit:
        warnings.warn(
            f"{share:.0%} of time steps get the same cluster in (almost) every record: the "
            "clusters follow the position in the record, not the ECG. The usual cause is a "
            "wrong time axis (a (batch, time, channels) layer read as (batch, channels, time)) "
            "or hooked layers without a time axis; check the layers' layouts"
            + (f" ({layers_note})" if layers_note else "")
            + " and pass time_axis= / layers= to fix them.",
            ECGClusterWarning,
            stacklevel=2,
        )
    return share


def check_not_positional(state: Any) -> None:
    """Warn when the clusters of a fit follow the position in the record (a wrong time
    axis): :func:`warn_if_positional` on a few fitting records.

    Parameters
    ----------
    state : FitState
        A fit (``explain.pipeline``): its smoothing features, registry and extractor.

    Examples
    --------
    >>> check_not_positional(tlc._state)  # doctest: +SKIP
    """
    # A few fitting records suffice: the symptom is the same cluster at the same step in
    # (almost) every record.
    feats = state.smooth_feats[:32]
    if feats.shape[0] < 8:  # too few records to tell position from content
        return
    labels = out.grid_gamma(feats, state.registry.get(state.n_clusters)).argmax(axis=2)
    layouts = getattr(state.extractor, "layouts_", None) or []
    warn_if_positional(labels, "; ".join(str(lay.describe()) for lay in layouts))
