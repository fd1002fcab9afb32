"""Record rankings: "most uncertain" and "least typical" ECGs of a fitted explanation set.

Used by the widget's ranking buttons (and its ``show(rank=...)``); one home so the
notebook, the widget and any report rank records the same way.
"""

from __future__ import annotations

import numpy as np

from ..data.dataset import check_choice
from .explanation import ExplanationSet

#: Ranking keys, best first: mean assignment entropy, and distance from the typical mix.
RANKS = ("uncertain", "atypical")
#: What each ranking is called on screen.
RANK_TITLES = {"uncertain": "most uncertain", "atypical": "least typical"}


def rank_scores(es: ExplanationSet, rank: str) -> np.ndarray:
    """Score per record for ``rank`` (higher = earlier in the ranking).

    ``"uncertain"``: the record's mean normalised assignment entropy. ``"atypical"``: the
    L1 distance of the record's cluster proportions from their dataset median, i.e. how
    far its mix of waveform clusters is from the typical record's.

    Parameters
    ----------
    es : ExplanationSet
        From ``tlc.explain_all(ds)``.
    rank : {"uncertain", "atypical"}

    Returns
    -------
    ndarray of shape (n_records,), float64

    Raises
    ------
    DataError
        If ``rank`` is not one of :data:`RANKS`.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> es = NS(mean_entropy=np.array([0.1, 0.5]), proportions=np.array([[1.0, 0], [0.5, 0.5]]))
    >>> rank_scores(es, "uncertain").tolist()
    [0.1, 0.5]
    """
    check_choice(rank, RANKS, "rank")
    if rank == "uncertain":
        return np.asarray(es.mean_entropy, dtype=np.float64)
    prop = np.asarray(es.proportions, dtype=np.float64)
    return np.abs(prop - np.median(prop, axis=0)).sum(axis=1)


def rank_order(es: ExplanationSet, rank: str) -> np.ndarray:
    """Record indices from the highest to the lowest :func:`rank_scores` (ties: by index).

    Parameters
    ----------
    es : ExplanationSet
    rank : {"uncertain", "atypical"}

    Returns
    -------
    ndarray of int

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> rank_order(NS(mean_entropy=np.array([0.1, 0.5, 0.5])), "uncertain").tolist()
    [1, 2, 0]
    """
    return np.argsort(-rank_scores(es, rank), kind="stable")
