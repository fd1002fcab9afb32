"""Where the time axis of a hooked output is, found from the network's structure.

TLC clusters every time step of a layer's output, so it must know which axis is time. A
convolution outputs (batch, channels, time), a transformer block (batch, tokens,
channels); a 3-D tensor alone does not say which. Taking every 3-D output as
(batch, channels, time) turned a transformer's 128-wide model dimension into a "time"
axis and gave confident nonsense (NMI 0.003 against the cardiologists' waves).

The rule here is structural: run the network on the same records at two lengths; the
axis whose size follows the input length is time. A network that refuses the shorter
input before reaching a layer (a fixed positional embedding) falls back on the ratio of
the input length to each axis; an output whose time axis is still not unique is refused
with its name and shape, and ``time_axis=`` settles it.

Tuple and dict outputs are never reduced to their first element silently: a selector
(``output=``, or a ``hook_output`` attribute on the module's class) picks the element, and
without one the layer is refused with the choices listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import ModelError
from .hooks import Selector, _refuse_selector, probe_lengths

__all__ = ["LayerLayout", "resolve_layouts", "time_axis_of"]

#: Records per probe pass: two, so that the batch axis is told apart from a size-1 axis.
PROBE_RECORDS = 2


@dataclass(frozen=True)
class LayerLayout:
    """How one hooked output becomes (batch, channels, time).

    Attributes
    ----------
    name : str
        The layer.
    selector : int, str or None
        Element of a tuple/dict output (``None``: a tensor output).
    shape : tuple of int
        The selected output's shape on the probe (batch included).
    time_axis : int
        Axis of that tensor that is time (>= 1).
    how : str
        How the axis was found: ``"given"``, ``"length probe"`` or ``"length ratio"``.

    Examples
    --------
    >>> lay = LayerLayout("enc", None, (2, 50, 8), 1, "length probe")
    >>> tuple(lay.to_bct(torch.zeros(2, 50, 8)).shape)
    (2, 8, 50)
    """

    name: str
    selector: Selector
    shape: tuple[int, ...]
    time_axis: int
    how: str

    def to_bct(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` as (batch, channels, time); extra non-time axes are folded into channels."""
        if t.ndim == 2:
            return t[:, None, :]
        t = t.movedim(self.time_axis, -1)
        return t.reshape(t.shape[0], -1, t.shape[-1])

    def describe(self) -> str:
        """One line: the layer, its output shape, the time axis and how it was found."""
        pick = "" if self.selector is None else f"[{self.selector!r}]"
        return f"{self.name}{pick}: output {self.shape}, time axis {self.time_axis} ({self.how})"


def _axis_by_length(full: tuple[int, ...], short: tuple[int, ...]) -> list[int]:
    """Axes (batch excluded) whose size changed with the input length."""
    if len(full) != len(short):
        return [-1, -1]  # the rank changed: no single time axis
    return [a for a in range(1, len(full)) if full[a] != short[a]]


def _axis_by_ratio(shape: tuple[int, ...], n_samples: int) -> list[int]:
    """Axes whose size is the input length over a whole stride (the fallback).

    Only exact strides count (``n % size == 0``, or ``ceil(n / 2**k)`` of padded strided
    convolutions): a looser rule would call most channel counts a time axis.
    """
    out = []
    for a in range(1, len(shape)):
        size = shape[a]
        if size < 2 or size > n_samples:
            continue
        pow2 = any(-(-n_samples // (1 << k)) == size for k in range(1, 16))
        if n_samples % size == 0 or pow2:
            out.append(a)
    return out


def time_axis_of(
    name: str, full: tuple[int, ...], short: tuple[int, ...] | None, n_samples: int
) -> tuple[int | None, str]:
    """The time axis of an output of shape ``full`` (``short`` on the shorter probe).

    Parameters
    ----------
    name : str
        The layer (unused in the result; kept for callers' messages).
    full : tuple of int
        Output shape on the full-length probe (batch first).
    short : tuple of int or None
        Output shape on a shorter probe; ``None`` when the layer did not run on it.
    n_samples : int
        Input length of the full probe.

    Returns
    -------
    axis : int or None
        ``None`` when it cannot be found.
    how : str
        ``"length probe"``/``"length ratio"``, or why it failed.

    Examples
    --------
    >>> time_axis_of("enc", (2, 250, 64), (2, 125, 64), 1000)
    (1, 'length probe')
    >>> time_axis_of("enc", (2, 100, 250), None, 1000)[0] is None
    True
    """
    if full[0] != PROBE_RECORDS:
        return None, f"its first axis is not the batch ({full[0]} for {PROBE_RECORDS} records)"
    if short is not None:
        changed = _axis_by_length(full, short)
        if len(changed) == 1:
            return changed[0], "length probe"
        if not changed:
            return None, "no axis follows the input length (the output is not temporal)"
        return None, "several axes follow the input length"
    cands = _axis_by_ratio(full, n_samples)
    if len(cands) == 1:
        return cands[0], "length ratio"
    return None, (
        "the network refused a shorter input, and "
        + ("no axis" if not cands else "more than one axis")
        + f" divides the {n_samples} input samples evenly"
    )


def _per_layer(value: Any, name: str) -> Any:
    """``value[name]`` for a per-layer dict, else the one value for every layer."""
    if isinstance(value, Mapping):
        return value.get(name)
    return value


def _check_axis(name: str, axis: Any, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int) or not -ndim < axis < ndim:
        raise ModelError(
            f"time_axis={axis!r} for layer {name!r} is not an axis of its {ndim}-D output."
        )
    axis = axis % ndim
    if axis == 0:
        raise ModelError(f"time_axis=0 for layer {name!r} is the batch axis; name another.")
    return axis


def resolve_layouts(
    model: nn.Module,
    x: torch.Tensor,
    names: Sequence[str],
    modules: Sequence[nn.Module],
    output: Any = None,
    time_axis: Any = None,
) -> list[LayerLayout]:
    """Find each hooked layer's output element and time axis by probing ``model``.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor of shape (PROBE_RECORDS, leads, samples)
        Prepared input as the network expects it.
    names, modules : sequences
        The layers.
    output : int, str, dict or None
        Selector of tuple/dict outputs (one for all, or ``{layer: selector}``); a layer
        without one uses its class's ``hook_output`` attribute.
    time_axis : int, dict or None
        The time axis (one for all, or ``{layer: axis}``); a layer without one uses its
        class's ``hook_time_axis`` attribute, else the axis is probed.

    Returns
    -------
    list of LayerLayout

    Raises
    ------
    ModelError
        The forward fails (with the forward's signature and the adapter to use), a layer
        does not run, a tuple output has no selector, or no unique time axis is found.

    Examples
    --------
    >>> class Tokens(nn.Module):  # a transformer-style (batch, tokens, channels) output
    ...     def forward(self, x):
    ...         return x.transpose(1, 2)
    >>> net = nn.Sequential(nn.Conv1d(2, 8, 4, stride=4), Tokens())
    >>> [lay.time_axis for lay in resolve_layouts(net, torch.zeros(2, 2, 64), ["0", "1"], net)]
    [2, 1]
    """
    given_all = all(
        _per_layer(time_axis, n) is not None or getattr(m, "hook_time_axis", None) is not None
        for n, m in zip(names, modules)
    )
    # No length probe when every axis is given; layers that did not run at a shorter
    # length fall back on the length ratio.
    full, short = probe_lengths(model, x, modules, stop_early=True, short=not given_all)
    layouts = []
    for i, (name, mod) in enumerate(zip(names, modules)):
        if i not in full:
            raise ModelError(
                f"layer {name!r} was not called during the forward pass; hook a layer that "
                "the model's forward actually uses."
            )
        sel = _per_layer(output, name)
        if sel is None:
            sel = getattr(mod, "hook_output", None)
        shapes = full[i].shapes
        if sel not in shapes:
            _refuse_selector(name, sel, shapes)
        shape = shapes[sel]
        given = _per_layer(time_axis, name)
        if given is None:
            given = getattr(mod, "hook_time_axis", None)
        if given is not None:
            axis = _check_axis(name, given, len(shape))
            layouts.append(LayerLayout(name, sel, shape, axis, "given"))
            continue
        if len(shape) < 2:
            raise ModelError(
                f"layer {name!r} outputs shape {shape}; TLC needs (batch, channels, time). "
                "Hook a layer that keeps a time axis."
            )
        other = short[i].shapes.get(sel) if i in short else None
        axis, how = time_axis_of(name, shape, other, int(x.shape[-1]))
        if axis is None:
            raise ModelError(
                f"cannot find the time axis of layer {name!r}, output shape {shape}: {how}. "
                "TLC needs (batch, channels, time); pass time_axis={"
                f"{name!r}: <axis>}} if it has one, or hook another layer."
            )
        layouts.append(LayerLayout(name, sel, shape, axis, how))
    return layouts
