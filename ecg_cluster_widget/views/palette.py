"""Colour-blind-safe cluster colours keyed by *stable* cluster id.

Colours key on the stable id (``TLCExplainer.cluster_ids_``), never on the
position in ``gamma``: when the user changes K, matched clusters keep their id
and therefore their colour, so the picture does not reshuffle.

The palette mirrors ``js/palette.js`` (the widget) entry for entry, so a
cluster has the same colour in the widget and in the Bokeh reports: Okabe-Ito
(8 colours, designed to stay distinguishable under the common colour-vision
deficiencies) followed by four of Paul Tol's "muted" tones. Ids beyond 12 wrap
around (the widget adds a hatch pattern as a second cue).
"""

from __future__ import annotations

from collections.abc import Iterable

#: Okabe & Ito (2008).
OKABE_ITO: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
)
#: Paul Tol's muted qualitative scheme (the four tones the widget uses).
TOL_MUTED: tuple[str, ...] = ("#332288", "#88CCEE", "#882255", "#999933")
#: The cluster palette: ``PALETTE[cluster_id % len(PALETTE)]``; same order as js/palette.js.
PALETTE: tuple[str, ...] = OKABE_ITO + TOL_MUTED
#: Colour for "no cluster" / unannotated samples.
MISSING_COLOR = "#DDDDDD"


def cluster_color(cluster_id: int) -> str:
    """Hex colour of one stable cluster id.

    Parameters
    ----------
    cluster_id : int
        Stable id (``tlc.cluster_ids_[k]``); negative means "none".

    Returns
    -------
    str
        ``"#RRGGBB"``.

    Examples
    --------
    >>> cluster_color(0), cluster_color(12) == cluster_color(0), cluster_color(-1)
    ('#0072B2', True, '#DDDDDD')
    """
    cid = int(cluster_id)
    if cid < 0:
        return MISSING_COLOR
    return PALETTE[cid % len(PALETTE)]


def cluster_colors(cluster_ids: Iterable[int]) -> list[str]:
    """Colours of several stable ids, in the same order.

    Parameters
    ----------
    cluster_ids : iterable of int
        Stable cluster ids.

    Returns
    -------
    list of str
        Hex colours, as :func:`cluster_color` gives them.

    Examples
    --------
    >>> cluster_colors([2, 0])
    ['#009E73', '#0072B2']
    """
    return [cluster_color(c) for c in cluster_ids]


def palette_dict(cluster_ids: Iterable[int]) -> dict[int, str]:
    """Mapping ``{cluster_id: colour}`` (JSON-friendly keys are ints).

    Parameters
    ----------
    cluster_ids : iterable of int
        Stable cluster ids.

    Returns
    -------
    dict of int to str
        Hex colour per id.

    Examples
    --------
    >>> palette_dict([1, 3])
    {1: '#E69F00', 3: '#CC79A7'}
    """
    return {int(c): cluster_color(c) for c in cluster_ids}
