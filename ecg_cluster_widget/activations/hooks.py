"""The one home of forward hooks: recording what named modules output.

:func:`capture_outputs` records the outputs of modules during a forward pass (the
activation extractor and Grad-CAM use it); :func:`probe_modules` and
:func:`probe_lengths` run a network once per input length and record the shapes its
modules output, from which :mod:`.layout` finds each output's time axis and
:mod:`.discover` the blocks to hook. Tuple and dict outputs are never reduced to their
first element silently: a selector picks the element (:func:`select_output`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import ModelError
from ..model.contract import call_network, forward_failure_message

__all__ = [
    "ModuleProbe",
    "capture_outputs",
    "output_choices",
    "probe_lengths",
    "probe_modules",
    "select_output",
]

Selector = int | str | None


def output_choices(output: Any) -> list[tuple[Selector, torch.Tensor]]:
    """The tensors a module's output offers: ``[(None, t)]`` for a tensor, else keyed.

    Parameters
    ----------
    output : object
        What a module's forward returned.

    Returns
    -------
    list of (selector, Tensor)
        Index for tuple/list elements, key for dict (and ``ModelOutput``) entries.

    Examples
    --------
    >>> t = torch.zeros(1, 2)
    >>> [k for k, _ in output_choices((t, None, t))], [k for k, _ in output_choices({"a": t})]
    ([0, 2], ['a'])
    """
    if isinstance(output, torch.Tensor):
        return [(None, output)]
    if isinstance(output, Mapping):
        return [(k, v) for k, v in output.items() if isinstance(v, torch.Tensor)]
    if isinstance(output, (tuple, list)):
        return [(i, v) for i, v in enumerate(output) if isinstance(v, torch.Tensor)]
    return []


def select_output(output: Any, selector: Selector, layer: str) -> torch.Tensor:
    """The tensor of ``output`` named by ``selector``; refuse rather than guess.

    Parameters
    ----------
    output : object
        A module's output: a tensor, tuple/list or dict.
    selector : int, str or None
        Index (tuple/list) or key (dict); ``None`` only for a tensor output.
    layer : str
        The layer's name, for the message.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ModelError
        For a tuple/dict without a selector, or a selector that names no tensor; the
        message lists the choices.

    Examples
    --------
    >>> t = torch.zeros(1, 4, 8)
    >>> select_output((t, t * 2), 1, "b").sum().item()
    0.0
    >>> select_output((t, t), None, "blocks.3")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.ModelError: layer 'blocks.3' returns a tuple or dict ...
    """
    if isinstance(output, torch.Tensor):
        return output
    choices = dict(output_choices(output))
    if selector is None or selector not in choices:
        _refuse_selector(layer, selector, {k: tuple(t.shape) for k, t in choices.items()})
    return choices[selector]


def _refuse_selector(name: str, sel: Selector, shapes: dict) -> None:
    listed = ", ".join(f"[{k!r}] {s}" for k, s in shapes.items()) or "no tensors"
    if sel is None:
        raise ModelError(
            f"layer {name!r} returns a tuple or dict ({listed}), not one tensor; pick the "
            f"element to cluster with output={{{name!r}: <index or key>}} (or output=<index> "
            "for every layer, or a hook_output attribute on its class). TLC never takes the "
            "first element silently."
        )
    raise ModelError(
        f"output selector {sel!r} names no tensor of layer {name!r}, whose output offers "
        f"{listed}; pass one of those indices or keys."
    )


@contextlib.contextmanager
def capture_outputs(
    modules: Sequence[nn.Module],
    selectors: Sequence[int | str | None] | None = None,
    names: Sequence[str] | None = None,
) -> Iterator[list[torch.Tensor | None]]:
    """Forward hooks that record each module's output tensor while in the block.

    Parameters
    ----------
    modules : sequence of torch.nn.Module
        Modules to observe.
    selectors : sequence of int, str or None, optional
        For tuple/dict outputs, the element to keep per module (default: the module's
        ``hook_output`` attribute). A tuple output without one is refused, never reduced
        to its first element silently.
    names : sequence of str, optional
        The modules' names, for error messages.

    Yields
    ------
    list
        ``captured[i]`` is the latest output of ``modules[i]`` (``None`` until it runs),
        in the module's own layout (see :class:`~.layout.LayerLayout` to get
        (batch, channels, time)). The tensors keep their autograd graph when gradients
        are enabled, so a caller can register tensor hooks on them (Grad-CAM does).

    Examples
    --------
    >>> lin = nn.Linear(2, 3)
    >>> with capture_outputs([lin]) as cap:
    ...     _ = lin(torch.zeros(1, 2))
    >>> tuple(cap[0].shape), len(lin._forward_hooks)
    ((1, 3), 0)
    """
    captured: list[torch.Tensor | None] = [None] * len(modules)
    names = list(names) if names is not None else [type(m).__name__ for m in modules]
    sels = (
        list(selectors)
        if selectors is not None
        else [getattr(m, "hook_output", None) for m in modules]
    )

    def make_hook(i: int):
        def hook(_mod, _inp, output):
            captured[i] = select_output(output, sels[i], names[i])

        return hook

    handles = [m.register_forward_hook(make_hook(i)) for i, m in enumerate(modules)]
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()


@dataclass
class ModuleProbe:
    """What one module output during a probe pass.

    Parameters
    ----------
    shapes : dict
        Output shape per choice (``None`` for a tensor output, index or key otherwise).
    order : int
        Position of the module's first call among the watched modules.
    calls : int
        How many times it ran in the pass.

    Examples
    --------
    >>> ModuleProbe({None: (2, 4, 8)}, 0, 1).shapes[None]
    (2, 4, 8)
    """

    shapes: dict
    order: int
    calls: int


class _Stop(Exception):
    """Raised from a hook to end a probe pass once every watched module has run."""


def probe_modules(
    model: nn.Module,
    x: torch.Tensor,
    modules: Sequence[nn.Module],
    stop_early: bool,
    tolerant: bool = False,
) -> dict[int, ModuleProbe]:
    """Run ``model`` on ``x`` once and record each module's output shapes.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor of shape (batch, leads, samples)
    modules : sequence of torch.nn.Module
        The modules to watch.
    stop_early : bool
        End the pass as soon as every module has run (the head need not accept ``x``).
    tolerant : bool
        Return what ran when the network raises (a shorter probe may fail in the head);
        otherwise the network's exception propagates.

    Returns
    -------
    dict
        ``{index into modules: ModuleProbe}`` for those that ran.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1))
    >>> probe_modules(net, torch.zeros(2, 1, 10), [net[0]], True)[0].shapes
    {None: (2, 2, 8)}
    """
    seen: dict[int, ModuleProbe] = {}

    def make_hook(i: int):
        def hook(_mod, _inp, output):
            shapes = {k: tuple(t.shape) for k, t in output_choices(output)}
            if i in seen:
                seen[i].calls += 1
                return
            seen[i] = ModuleProbe(shapes, len(seen), 1)
            if stop_early and len(seen) == len(modules):
                raise _Stop

        return hook

    handles = [m.register_forward_hook(make_hook(i)) for i, m in enumerate(modules)]
    try:
        with torch.inference_mode():
            call_network(model, x)
    except _Stop:
        pass
    except Exception:
        if not tolerant:
            raise
    finally:
        for h in handles:
            h.remove()
    return seen


def probe_inputs(x: torch.Tensor) -> Iterator[torch.Tensor]:
    """Shorter copies of ``x`` for the length probe: half, then three quarters.

    Halving keeps a length divisible by the patch sizes a round length is divisible by.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, leads, samples)

    Yields
    ------
    torch.Tensor
        ``x`` cropped to half, then three quarters of its length.

    Examples
    --------
    >>> [t.shape[-1] for t in probe_inputs(torch.zeros(2, 1, 1000))]
    [500, 750]
    """
    n = x.shape[-1]
    for m in (n // 2, (3 * n) // 4):
        if 1 <= m < n:
            yield x[..., :m].contiguous()


def probe_lengths(
    model: nn.Module,
    x: torch.Tensor,
    modules: Sequence[nn.Module],
    stop_early: bool,
    short: bool = True,
) -> tuple[dict, dict]:
    """Probes of ``modules`` at the input's length and at the shorter probe lengths.

    Parameters
    ----------
    model : nn.Module
    x : torch.Tensor
        Prepared input as the network expects it.
    modules : sequence of nn.Module
        The modules probed.
    stop_early : bool
        Stop each forward once every module has run (``hooks.probe_modules``).
    short : bool
        Also probe the shorter lengths of :func:`probe_inputs`.

    Returns
    -------
    full, short : dict
        ``{module position: probe}`` at the input's length, and at the first shorter
        length each module ran at (a network may refuse other lengths, e.g. a flatten +
        linear head or a fixed positional embedding: what did not run is left out).

    Raises
    ------
    ModelError
        The forward at the input's length fails (with the forward's signature).

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), nn.ReLU())
    >>> full, short = probe_lengths(net, torch.zeros(2, 1, 32), list(net), stop_early=True)
    >>> full[0].shapes[None], short[0].shapes[None]
    ((2, 2, 32), (2, 2, 16))
    """
    try:
        full = probe_modules(model, x, modules, stop_early=stop_early)
    except ModelError:
        raise
    except Exception as exc:  # any failure of a user's network: diagnose it
        raise ModelError(forward_failure_message(model, tuple(x.shape), exc)) from exc
    got_short: dict = {}
    for xs in probe_inputs(x) if short else ():
        got = probe_modules(model, xs, modules, stop_early=stop_early, tolerant=True)
        got_short.update({i: p for i, p in got.items() if i not in got_short})
        if len(got_short) >= len(full):
            break
    return full, got_short
