"""Standard ECG lead names and their other spellings."""

from __future__ import annotations

STANDARD_LEADS: tuple[str, ...] = tuple("I II III aVR aVL aVF V1 V2 V3 V4 V5 V6".split())


#: Other spellings of standard leads (keys upper case, spaces and dashes removed): the
#: modified limb leads of Holter and MIT-BIH records (MLII, ML2) are lead II's axis.
LEAD_ALIASES: dict[str, str] = {
    "MLII": "II",
    "ML2": "II",
    "MLI": "I",
    "ML1": "I",
    "MLIII": "III",
    "ML3": "III",
    "DI": "I",
    "DII": "II",
    "DIII": "III",
    "LEADI": "I",
    "LEADII": "II",
    "LEADIII": "III",
}


#: Standard spelling per key (upper case, no spaces or dashes), aliases included.
_BY_KEY: dict[str, str] = {**{lead.upper(): lead for lead in STANDARD_LEADS}, **LEAD_ALIASES}


def canonical_lead_name(name: str) -> str:
    """Map spellings such as ``'avr'``, ``'v 1'`` or ``'MLII'`` to ``'aVR'`` / ``'V1'`` / ``'II'``.

    Case, spaces, dashes and underscores are ignored, and the aliases of
    :data:`LEAD_ALIASES` (modified limb leads MLII/ML2 -> II, ...) are applied.

    Parameters
    ----------
    name : str
        A lead name in any case, possibly with spaces (``"V 1"``, ``"lead-II"``).

    Returns
    -------
    str
        The standard spelling, or ``name`` stripped when it is not a standard lead.

    Examples
    --------
    >>> canonical_lead_name(" avr"), canonical_lead_name("V 1"), canonical_lead_name("MLII")
    ('aVR', 'V1', 'II')
    >>> canonical_lead_name("ml2"), canonical_lead_name("CM5")
    ('II', 'CM5')
    """
    key = "".join(name.split()).upper().replace("-", "").replace("_", "")
    return _BY_KEY.get(key, name.strip())
