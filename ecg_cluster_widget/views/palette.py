"""Cluster colours keyed by *stable* cluster id, mirrored from ``js/palette.js``.

Colours key on the stable id (``TLCExplainer.cluster_ids_``), never on the
position in ``gamma``: when the user changes K, matched clusters keep their id
and therefore their colour, so the picture does not reshuffle.

The 16 colours were chosen (greedy farthest-point selection in CIELAB) to stay
apart from each other and from the pink ECG paper, both as solid colours and as
the tints drawn behind the leads, in a light and a dark variant of the same hues.
A cluster prefers slot ``id % 16``; :func:`assign_colors` moves a colliding id to
the next free slot, so up to 16 clusters shown together never share a colour. The
widget adds a hatch pattern and a display number as colour-free cues.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The cluster palette for light paper: ``PALETTE[cluster_id % 16]``; same order as js/palette.js.
PALETTE: tuple[str, ...] = (
    "#4075AD",
    "#A7811E",
    "#1F986D",
    "#A8390A",
    "#8D0476",
    "#3C990F",
    "#A05C85",
    "#5033AD",
    "#38531C",
    "#94182B",
    "#78A85D",
    "#97683C",
    "#97A31B",
    "#543E85",
    "#3A6A04",
    "#24ACAD",
)
#: The same hues, lighter, for dark paper (``PALETTE_DARK`` in js/palette.js).
PALETTE_DARK: tuple[str, ...] = (
    "#90BEFB",
    "#FACB68",
    "#78E6B6",
    "#FF8350",
    "#DE62C0",
    "#8EE862",
    "#EFA5D0",
    "#A178FD",
    "#7E995E",
    "#E8686C",
    "#C4F7A6",
    "#E8B081",
    "#E8F06C",
    "#9E83D1",
    "#84B451",
    "#84FBFC",
)
#: Colour for "no cluster" / unannotated samples.
MISSING_COLOR = "#DDDDDD"


def assign_slots(cluster_ids: Iterable[int]) -> dict[int, int]:
    """Palette slot per id: ``id % 16`` when free, else the next free slot.

    Smaller ids choose first, so the slots are distinct for up to 16 ids (as in
    ``assignSlots`` of js/palette.js).

    Parameters
    ----------
    cluster_ids : iterable of int
        Stable ids of the clusters shown together (negative ids are ignored).

    Returns
    -------
    dict of int to int
        Slot (index into :data:`PALETTE`) per id, in increasing id order.

    Examples
    --------
    >>> assign_slots([0, 16, 1])
    {0: 0, 1: 1, 16: 2}
    """
    n = len(PALETTE)
    ids = sorted({int(c) for c in cluster_ids if int(c) >= 0})
    out: dict[int, int] = {}
    used: set[int] = set()
    for c in ids:
        if c % n not in used:
            used.add(c % n)
            out[c] = c % n
    for c in ids:
        if c in out:
            continue
        s = c % n
        for _ in range(n):
            if s not in used:
                break
            s = (s + 1) % n
        used.add(s)
        out[c] = s
    return {c: out[c] for c in ids}


def assign_colors(cluster_ids: Iterable[int], dark: bool = False) -> dict[int, str]:
    """Colour per id for clusters shown together (no colour reused for up to 16).

    Parameters
    ----------
    cluster_ids : iterable of int
        Stable ids of the clusters shown together.
    dark : bool
        Use the variants for dark paper (:data:`PALETTE_DARK`).

    Returns
    -------
    dict of int to str
        ``"#RRGGBB"`` per id.

    Examples
    --------
    >>> assign_colors([0, 16]) == {0: PALETTE[0], 16: PALETTE[1]}
    True
    """
    pal = PALETTE_DARK if dark else PALETTE
    return {c: pal[s] for c, s in assign_slots(cluster_ids).items()}


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
    >>> cluster_color(0), cluster_color(16) == cluster_color(0), cluster_color(-1)
    ('#4075AD', True, '#DDDDDD')
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
    ['#1F986D', '#4075AD']
    """
    return [cluster_color(c) for c in cluster_ids]


def display_numbers(cluster_ids: Iterable[int]) -> dict[int, int]:
    """The number a person reads for each cluster: 1..K in stable-id order.

    One numbering for every view (widget, CompareView, DatasetView, HTML report, command
    line, ``to_frame()``'s ``number`` column). It equals the cluster's position + 1, as
    positions are sorted by id; stable ids and 0-based positions stay internal (arrays and
    file fields named ``cluster_id`` / ``cluster``). Mirrors ``num`` in js/palette.js.

    Parameters
    ----------
    cluster_ids : iterable of int
        The stable ids of the K clusters shown.

    Returns
    -------
    dict
        ``{cluster_id: number}``.

    Examples
    --------
    >>> display_numbers([7, 2, 4])
    {2: 1, 4: 2, 7: 3}
    """
    return {cid: i + 1 for i, cid in enumerate(sorted({int(c) for c in cluster_ids}))}
