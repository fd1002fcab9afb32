"""Declare the input contract of a network trained elsewhere, so TLC checks it at fit.

A bare ``torch.nn.Module`` says nothing about its input: TLC used to take the sampling
rate, leads and length of the first dataset it saw, and a 12-lead dataset went into a
single-lead model unnoticed. :func:`declare_model` wraps the network in a
:class:`~.checkpoint.ModelBundle` that states them (and how to call the network), so
every fit, prediction and Grad-CAM checks the data against them first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from torch import nn

from ..data.filtering import SignalFilter
from ..data.standardize import Standardizer
from ..errors import ModelError
from .checkpoint import DEFAULT_TASK, ModelBundle
from .contract import ForwardFn, _probe_output

__all__ = ["declare_model"]


def _count_outputs(bundle: ModelBundle) -> int:
    out = _probe_output(bundle.model, bundle.n_leads, bundle.n_samples)
    if bundle.task == "segmentation":
        if out.ndim != 3:
            raise ModelError(
                f"task='segmentation' needs outputs (batch, classes, time); got {tuple(out.shape)}."
            )
        # The class axis is the one that does not follow the input length.
        return int(out.shape[1] if out.shape[2] > out.shape[1] else out.shape[2])
    return int(np.prod(out.shape[1:]))


def declare_model(
    model: nn.Module,
    *,
    fs: float,
    lead_names: Sequence[str],
    n_samples: int,
    class_names: Sequence[str] | None = None,
    task: str = DEFAULT_TASK,
    forward: ForwardFn | None = None,
    preprocess: Callable[[np.ndarray], np.ndarray] | None = None,
    input_layout: str = "leads",
    standardizer: Standardizer | None = None,
    signal_filter: SignalFilter | None = None,
    meta: dict[str, Any] | None = None,
) -> ModelBundle:
    """A :class:`ModelBundle` for a network trained elsewhere, from its declared input.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    fs : float
        Sampling rate it was trained at (Hz).
    lead_names : sequence of str
        Its leads, in order (``["II"]`` for a single-lead network).
    n_samples : int
        Samples per lead it takes.
    class_names : sequence of str, optional
        Names of its outputs; default ``output 0``, ``output 1``, ... (counted by one
        forward pass on zeros).
    task : {"multilabel", "regression", "multiclass", "segmentation"}
        How its outputs are read (sigmoid, as is, softmax, softmax per sample).
    forward : callable, optional
        ``forward(network, x)`` for a network not called as ``network(x)``.
    preprocess : callable, optional
        Its own normalisation, ``preprocess(x) -> x`` on (N, leads, samples).
    input_layout : {"leads", "samples"}
        ``"samples"`` for a single-lead network taking (batch, samples).
    standardizer, signal_filter : optional
        Per-lead z-scoring and filter it was trained behind.
    meta : dict, optional
        Free-form metadata.

    Returns
    -------
    ModelBundle

    Raises
    ------
    ModelError
        The network fails on zeros of the declared shape (the message shows its forward
        signature and the adapter to use).

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv1d(1, 4, 5, padding=2), nn.AdaptiveAvgPool1d(1), nn.Flatten())
    >>> b = declare_model(net, fs=250, lead_names=["MLII"], n_samples=2500)
    >>> b.lead_names, b.class_names
    (('II',), ('output 0', 'output 1', 'output 2', 'output 3'))
    """
    bundle = ModelBundle(
        model,
        class_names=list(class_names) if class_names is not None else ["output"],
        lead_names=lead_names,
        fs=fs,
        n_samples=n_samples,
        standardizer=standardizer,
        task=task,
        meta=meta,
        signal_filter=signal_filter,
        forward=forward,
        preprocess=preprocess,
        input_layout=input_layout,
    )
    if class_names is None:
        bundle.class_names = tuple(f"output {i}" for i in range(_count_outputs(bundle)))
    return bundle
