"""Which layers to hook in a network nobody described: chosen by structure, not by name.

Matching class names ("Block", "Res") hooked a whole model whose class name happened to
contain "Res", and found nothing in a model whose blocks were called "Layer". The rule
here reads the network as it runs:

1. Every module except the root runs once on the probe input (its outputs' shapes are
   recorded, at the full and at a shorter length). A module called more than once in a
   forward (a shared activation) is skipped: its last output would be ambiguous.
2. A module that holds every parameter of the network (a wrapper around it) is never a
   candidate, nor is the root.
3. Candidates keep a time axis (see :mod:`.layout`).
4. Blocks are what a network repeats: candidates of the same class under the same parent
   (a ResNet's residual blocks, a transformer's encoder layers, a U-Net's stages). The
   shallowest such groups win (a block's own repeated convolutions are deeper), groups
   with parameters before parameter-free ones; their members, in execution order, give
   the last three (``"late"``, the paper's choice) or the first three (``"early"``).
5. Without repeated blocks: the outermost candidates in execution order, last or first three.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch import nn

from ..errors import ModelError
from .hooks import probe_lengths
from .layout import PROBE_RECORDS, time_axis_of

__all__ = [
    "LAYER_CHOICES",
    "N_DEFAULT_LAYERS",
    "default_layers",
    "probe_tensor",
    "structural_layers",
]

#: How many blocks are hooked by default.
N_DEFAULT_LAYERS = 3
#: Which blocks, by position: ``"late"`` the last three (the TLC paper's, closest to the
#: decision), ``"early"`` the first three (finest time steps: waves; chosen for models
#: without a recommendation by experiments/generic_default.py).
LAYER_CHOICES = ("early", "late")


def _temporal(full: dict, short: dict | None, n_samples: int) -> bool:
    """Whether any tensor of a module's output has a unique time axis."""
    for key, shape in full.items():
        if len(shape) < 2:
            continue
        other = None if short is None else short.get(key)
        if time_axis_of("", shape, other, n_samples)[0] is not None:
            return True
    return False


def structural_layers(
    model: nn.Module, x: torch.Tensor, n: int | None = N_DEFAULT_LAYERS, which: str = "late"
) -> list[str]:
    """The last (or first) ``n`` blocks of ``model``, found by running it on ``x``.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor of shape (2, leads, samples)
        Prepared probe input.
    n : int or None
        How many; ``None``: every block found.
    which : {"late", "early"}
        The last ``n`` blocks or the first ``n``.

    Returns
    -------
    list of str
        Qualified module names in execution order; never ``""`` (the root) nor a module
        holding all of the network's parameters.

    Raises
    ------
    ModelError
        If the forward fails (diagnosed) or no module keeps a time axis.

    Examples
    --------
    >>> class Block(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv = nn.Conv1d(4, 4, 3, padding=1)
    ...     def forward(self, x):
    ...         return torch.relu(self.conv(x))
    >>> net = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), *[Block() for _ in range(4)])
    >>> structural_layers(net, torch.zeros(2, 1, 32))
    ['2', '3', '4']
    """
    named = [(n, m) for n, m in model.named_modules() if n]
    full, short = probe_lengths(model, x, [m for _, m in named], stop_early=False)
    all_params = {id(p) for p in model.parameters()}
    n_samples = int(x.shape[-1])
    cands: list[tuple[int, str, nn.Module]] = []
    for i, (name, mod) in enumerate(named):
        probe = full.get(i)
        if probe is None or probe.calls > 1:
            continue
        own = {id(p) for p in mod.parameters()}
        if all_params and own == all_params:
            continue  # a wrapper of the whole network
        if _temporal(probe.shapes, short[i].shapes if i in short else None, n_samples):
            cands.append((probe.order, name, mod))
    if not cands:
        shown = ", ".join(f"{n} {full[i].shapes}" for i, (n, _) in enumerate(named) if i in full)
        raise ModelError(
            f"no layer of {type(model).__name__} keeps a time axis that follows the input "
            f"length, so TLC cannot choose layers; pass layers=[...] and time_axis=. Modules "
            f"and output shapes: {shown[:1500]}"
        )
    chosen = _repeated_blocks(cands) or _outermost(cands)
    names = [name for _, name, _ in sorted(chosen, key=lambda c: c[0])]
    if n is None:
        return names
    return names[:n] if which == "early" else names[-n:]


def _repeated_blocks(cands: list) -> list:
    groups: dict = defaultdict(list)
    for order, name, mod in cands:
        parent = name.rsplit(".", 1)[0] if "." in name else ""
        groups[(parent, type(mod))].append((order, name, mod))
    repeated = [g for g in groups.values() if len(g) >= 2]
    if not repeated:
        return []
    depth = min(g[0][1].count(".") for g in repeated)
    top = [g for g in repeated if g[0][1].count(".") == depth]
    with_params = [g for g in top if any(True for _ in g[0][2].parameters())]
    return [c for g in (with_params or top) for c in g]


def _outermost(cands: list) -> list:
    names = [n for _, n, _ in cands]
    return [c for c in cands if not any(c[1].startswith(o + ".") for o in names if o != c[1])]


def names_layers(model: nn.Module, which: str = "late") -> bool:
    """Whether ``model`` names the blocks ``which`` asks for, so no probe run is needed.

    Parameters
    ----------
    model : torch.nn.Module
    which : {"late", "early"}
        ``"late"`` needs ``model.default_layers()``, ``"early"`` ``model.block_names()``.

    Returns
    -------
    bool

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> names_layers(ResNet1d(filters=(8, 8), seq_lengths=(100, 50)), "early")
    True
    >>> names_layers(nn.Sequential(nn.Conv1d(1, 1, 3)))
    False
    """
    method = "default_layers" if which == "late" else "block_names"
    return callable(getattr(model, method, None))


def default_layers(
    model: nn.Module, example: np.ndarray | torch.Tensor | None = None, which: str = "late"
) -> list[str]:
    """The layers TLC hooks when none are named: three blocks, found by structure.

    For ``which="late"`` uses ``model.default_layers()`` and for ``"early"`` the first
    three of ``model.block_names()`` when the model provides them (``ResNet1d`` does);
    otherwise runs the network on ``example`` and picks by structure
    (:func:`~.discover.structural_layers`: modules that keep a time axis, repeated
    blocks first, in execution order; never the root or a wrapper of the whole model).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    example : array or Tensor of shape (n, leads, samples), optional
        Prepared input (two records are used). Needed unless the model names its layers.
    which : {"late", "early"}
        The last three blocks (the paper's) or the first three.

    Returns
    -------
    list of str
        Qualified module names, in execution order.

    Raises
    ------
    ModelError
        No example for a model that does not name its layers, a failing forward, or no
        module with a time axis; pass ``layers=`` explicitly then.

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> default_layers(ResNet1d(filters=(8, 8, 8, 8), seq_lengths=(1000, 500, 250, 125)))
    ['blocks.0', 'blocks.1', 'blocks.2']
    >>> net = nn.Sequential(*[nn.Conv1d(1, 1, 3, padding=1) for _ in range(5)], nn.Flatten())
    >>> default_layers(net, np.zeros((2, 1, 50)))
    ['2', '3', '4']
    >>> default_layers(net, np.zeros((2, 1, 50)), which="early")
    ['0', '1', '2']
    """
    if which not in LAYER_CHOICES:
        raise ModelError(f"which must be one of {LAYER_CHOICES}, got {which!r}.")
    if names_layers(model, which):
        if which == "late":
            return list(model.default_layers())
        return list(model.block_names())[:N_DEFAULT_LAYERS]
    if example is None:
        raise ModelError(
            f"{type(model).__name__} does not name its layers (no default_layers()); TLC "
            "finds them by running it, which needs an example input: "
            "default_layers(model, example=x), or pass layers=[...]."
        )
    return structural_layers(model, probe_tensor(example), which=which)


def probe_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Two records of ``x`` (the first repeated for a single record), float32.

    Parameters
    ----------
    x : array or Tensor of shape (n, leads, samples)
        Prepared model input.

    Returns
    -------
    torch.Tensor of shape (2, leads, samples)

    Examples
    --------
    >>> tuple(probe_tensor(np.zeros((1, 3, 8))).shape)
    (2, 3, 8)
    """
    t = torch.from_numpy(np.array(x[:PROBE_RECORDS], dtype=np.float32))
    if t.shape[0] < PROBE_RECORDS:
        t = t[:1].repeat(PROBE_RECORDS, *([1] * (t.ndim - 1)))
    return t
