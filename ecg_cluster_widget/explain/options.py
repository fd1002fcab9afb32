"""The explainer's options: presets, ``"auto"`` resolved at fit, and their validation.

``TLCExplainer`` stores its parameters as given (scikit-learn's contract); the options that
default to ``"auto"`` (:data:`TUNABLE`) are resolved when it is fitted, from the model's
recommendation (``bundle.meta["tlc_options"]``) or a named preset, and the fit records
what it used (``options_``).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..activations.features import BLOCK_WEIGHTINGS, RECORD_SCALINGS
from ..errors import DataError, ModelError

__all__ = [
    "PRESETS",
    "TEMPORAL_PRIORS",
    "TUNABLE",
    "check_options",
    "describe_options",
    "resolve_options",
    "resolved",
]

TEMPORAL_PRIORS = (None, "hmm")
#: The options a preset sets; each defaults to ``"auto"`` (take it from the preset).
TUNABLE = ("layers", "method", "detrend_s", "scale_per_record", "temporal")
#: Named configurations. ``"paper"``: the TLC paper's (last three residual blocks,
#: isotropic GMM, nothing else). ``"generic"``: what a model without a recommendation gets,
#: chosen across networks of six architectures on synthetic and real ECGs by
#: experiments/generic_default.py (docs/results.md, section 00b): the first three blocks
#: (finest time steps), a full-covariance GMM, the HMM prior and a 0.6 s detrend. Options
#: tuned for one model do not transfer to another, so no model's own tuning is used here.
#: ``"auto"`` (the default) is the model's own recommendation
#: (``bundle.meta["tlc_options"]``, e.g. the shipped models') over ``"generic"``.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "layers": None,
        "method": "gmm",
        "detrend_s": None,
        "scale_per_record": None,
        "temporal": None,
    },
    "generic": {
        "layers": "early",
        "method": "gmm_full",
        "detrend_s": 0.6,
        "scale_per_record": None,
        "temporal": "hmm",
    },
}


_SOURCES = {
    "model": "the model's recommended options",
    "generic": "the generic preset (the model recommends none)",
    "paper": "the paper preset",
}
_METHODS = {
    "gmm": "isotropic GMM",
    "gmm_full": "full-covariance GMM",
    "soft_kmeans": "soft k-means",
    "cm": "clustering module",
}


def describe_options(options: dict[str, Any], layers: list[str]) -> str:
    """One line for a person: where a fit's options came from and what they are.

    Shown in the widget's header and in reports, so a reader knows which configuration
    the clusters come from (a model's recommendation, or a preset it fell back to).

    Parameters
    ----------
    options : dict
        A fitted explainer's ``options_``.
    layers : list of str
        Its hooked layers (``layers_``).

    Returns
    -------
    str

    Examples
    --------
    >>> o = {"preset": "generic", "layers": "early", "method": "gmm_full", "detrend_s": 0.6,
    ...      "scale_per_record": None, "temporal": "hmm"}
    >>> describe_options(o, ["blocks.0", "blocks.1", "blocks.2"])
    'the generic preset (the model recommends none): blocks.0, blocks.1, blocks.2; full-covariance GMM; HMM prior; 0.6 s detrend'
    """
    parts = [", ".join(layers), _METHODS.get(options["method"], str(options["method"]))]
    if options.get("temporal") == "hmm":
        parts.append("HMM prior")
    if options.get("detrend_s"):
        parts.append(f"{options['detrend_s']:g} s detrend")
    if options.get("scale_per_record"):
        parts.append(f"scaled per {options['scale_per_record']}")
    source = _SOURCES.get(options.get("preset"), str(options.get("preset")))
    return f"{source}: " + "; ".join(parts)


def resolve_options(opts: Any) -> tuple[str, dict[str, Any]]:
    """The preset an explainer's options come from, and every ``"auto"`` option resolved.

    Parameters
    ----------
    opts : TLCExplainer
        Read: ``preset``, ``model`` (its ``meta["tlc_options"]``) and :data:`TUNABLE`.

    Returns
    -------
    source : str
        ``"model"`` (the model's recommendation), ``"generic"`` or ``"paper"``.
    options : dict
        Every option of :data:`TUNABLE`, resolved; options set explicitly win.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> o = NS(preset="auto", model=None, layers="auto", method="gmm_full", detrend_s="auto",
    ...        scale_per_record="auto", temporal="auto")
    >>> resolve_options(o)[0], resolve_options(o)[1]["method"]
    ('generic', 'gmm_full')
    """
    preset = opts.preset
    if preset == "auto":
        meta = getattr(opts.model, "meta", None)
        recommended = dict(meta.get("tlc_options") or {}) if isinstance(meta, dict) else {}
        unknown = sorted(set(recommended) - set(TUNABLE))
        if unknown:
            raise ModelError(
                f"the model's meta['tlc_options'] names unknown options {unknown}; "
                f"known: {list(TUNABLE)}."
            )
        source = "model" if recommended else "generic"
        base = {**PRESETS["generic"], **recommended}
    elif preset in PRESETS:
        source, base = preset, PRESETS[preset]
    else:
        raise DataError(f"preset must be 'auto' or one of {sorted(PRESETS)}, got {preset!r}.")
    resolved = {}
    for name in TUNABLE:
        value = getattr(opts, name)
        if isinstance(value, str) and value == "auto":
            value = base[name]
        resolved[name] = list(value) if isinstance(value, (list, tuple)) else value
    return source, resolved


def resolved(opts: Any) -> Any:
    """A shallow copy of the explainer ``opts`` with its ``"auto"`` options resolved.

    The pipeline reads options as attributes; the copy shares the model and the state,
    so nothing is duplicated, and the user's explainer keeps its parameters as given
    (scikit-learn's contract).

    Parameters
    ----------
    opts : TLCExplainer

    Returns
    -------
    TLCExplainer
        The copy, every option of :data:`TUNABLE` resolved.

    Examples
    --------
    >>> r = resolved(tlc)  # doctest: +SKIP
    >>> r.method  # doctest: +SKIP
    'gmm_full'
    """
    view = copy.copy(opts)
    view.__dict__.update(resolve_options(opts)[1])
    return view


def check_options(opts: Any) -> None:
    """Validate an explainer's options before any expensive work.

    Parameters
    ----------
    opts : TLCExplainer
        Read: ``block_weighting``, ``scale_per_record``, ``temporal``, ``detrend_s``,
        ``max_fit_points``, ``device``.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> check_options(NS(block_weighting="equal", scale_per_record=None, temporal="crf",
    ...                  detrend_s=None, max_fit_points=10, device="cpu"))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: temporal must be one of (None, 'hmm'), got 'crf'.
    """
    for name, allowed in (
        ("block_weighting", BLOCK_WEIGHTINGS),
        ("scale_per_record", RECORD_SCALINGS),
        ("temporal", TEMPORAL_PRIORS),
    ):
        if getattr(opts, name) not in allowed:
            raise DataError(f"{name} must be one of {allowed}, got {getattr(opts, name)!r}.")
    from ..clustering.soft_clustering import METHODS

    if opts.method not in METHODS:
        raise DataError(f"method must be one of {tuple(METHODS)} or 'auto', got {opts.method!r}.")
    mc = opts.max_clusters
    if isinstance(mc, bool) or not isinstance(mc, (int, np.integer)) or mc < 2:
        raise DataError(f"max_clusters must be an integer >= 2, got {mc!r}.")
    d = opts.detrend_s
    if d is not None and not (np.isfinite(d) and d > 0):
        raise DataError(f"detrend_s must be a positive number of seconds or None, got {d!r}.")
    mfp = opts.max_fit_points
    if isinstance(mfp, bool) or not isinstance(mfp, (int, np.integer)) or mfp < 1:
        raise DataError(f"max_fit_points must be a positive integer, got {mfp!r}.")
    import torch

    try:
        torch.device(opts.device)
    except (RuntimeError, TypeError) as exc:
        raise ModelError(
            f"device={opts.device!r} is not a torch device name; use 'cpu', 'cuda' or "
            f"'cuda:N' ({exc})."
        ) from None
    if str(opts.device).startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError(
                f"device={opts.device!r} was requested but this torch has no usable CUDA GPU; "
                "use device='cpu' (or install a CUDA build of torch on a GPU machine)."
            )
