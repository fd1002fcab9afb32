"""How a network is called: its forward contract, shared by the hooks, Grad-CAM and bundles.

TLC feeds a network one tensor ``(batch, leads, samples)``. Many third-party models want
something else: an extra argument (``forward(x, lead_id)``), a single-lead
``(batch, samples)`` tensor, or they return a tuple. A :class:`~.checkpoint.ModelBundle`
built with ``forward=`` or ``input_layout="samples"`` records that contract here, keyed by
the network, so every part of the package that runs the network (the activation hooks,
Grad-CAM, predictions) calls it the same way, also where it is handed the bare module.

Why a registry keyed by the module rather than a wrapper module: a wrapper would rename
every layer (``net.blocks.0``) and change the weights' names in checkpoints.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..data.dataset import check_choice
from ..errors import ModelError

__all__ = [
    "INPUT_LAYOUTS",
    "ForwardFn",
    "call_network",
    "forward_failure_message",
    "make_forward",
    "set_forward",
]

#: ``"leads"``: the network takes (batch, leads, samples); ``"samples"``: a single-lead
#: network that takes (batch, samples).
INPUT_LAYOUTS = ("leads", "samples")

#: ``forward(network, x) -> output``: how to call a network on the prepared input tensor.
ForwardFn = Callable[[nn.Module, torch.Tensor], Any]

_FORWARDS: weakref.WeakKeyDictionary[nn.Module, ForwardFn] = weakref.WeakKeyDictionary()


def make_forward(forward: ForwardFn | None, input_layout: str) -> ForwardFn | None:
    """The forward of a contract: the user's callable behind the input-layout conversion.

    Parameters
    ----------
    forward : callable or None
        ``forward(network, x)``; ``None`` calls ``network(x)``.
    input_layout : {"leads", "samples"}
        For ``"samples"`` the (batch, 1, samples) input is squeezed to (batch, samples)
        before ``forward`` sees it.

    Returns
    -------
    callable or None
        ``None`` when the network is called plainly (no contract to record).

    Examples
    --------
    >>> f = make_forward(None, "samples")
    >>> tuple(f(nn.Identity(), torch.zeros(2, 1, 5)).shape)
    (2, 5)
    """
    check_choice(input_layout, INPUT_LAYOUTS, "input_layout", ModelError)
    if forward is not None and not callable(forward):
        raise ModelError(
            f"forward must be a callable forward(network, x), got {type(forward).__name__}."
        )
    if input_layout == "leads":
        return forward
    inner = forward

    def single_lead(net: nn.Module, x: torch.Tensor) -> Any:
        if x.ndim != 3 or x.shape[1] != 1:
            raise ModelError(
                f"input_layout='samples' feeds a single-lead (batch, samples) network, but the "
                f"input has shape {tuple(x.shape)}; select one lead (lead_names=['II'])."
            )
        x = x[:, 0]
        return net(x) if inner is None else inner(net, x)

    return single_lead


def set_forward(module: nn.Module, forward: ForwardFn | None) -> None:
    """Record (or with ``None`` forget) how ``module`` must be called.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    forward : callable or None
        ``forward(network, x)``; ``None`` calls ``network(x)``.

    Examples
    --------
    >>> net = nn.Identity()
    >>> set_forward(net, lambda m, x: m(x) * 2)
    >>> float(call_network(net, torch.ones(1)))
    2.0
    >>> set_forward(net, None); float(call_network(net, torch.ones(1)))
    1.0
    """
    if forward is None:
        _FORWARDS.pop(module, None)
    else:
        _FORWARDS[module] = forward


def call_network(module: nn.Module, x: torch.Tensor) -> Any:
    """Run ``module`` on the prepared input ``x`` through its recorded contract.

    Parameters
    ----------
    module : torch.nn.Module
    x : torch.Tensor of shape (batch, leads, samples)

    Returns
    -------
    object
        What the network (or the recorded forward) returns.

    Examples
    --------
    >>> call_network(nn.Identity(), torch.zeros(1, 2, 3)).shape
    torch.Size([1, 2, 3])
    """
    forward = _FORWARDS.get(module)
    return module(x) if forward is None else forward(module, x)


def _forward_signature(module: nn.Module) -> tuple[str, int]:
    """``ClassName.forward(self, x, ...)`` of ``module``, for error messages, and how many
    inputs it requires (1 when its signature cannot be read)."""
    try:
        sig = inspect.signature(module.forward)
    except (TypeError, ValueError):
        return f"{type(module).__name__}.forward(...)", 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    n = sum(1 for p in sig.parameters.values() if p.kind in kinds and p.default is p.empty)
    return f"{type(module).__name__}.forward{sig}", n


def forward_failure_message(module: nn.Module, shape: tuple[int, ...], exc: BaseException) -> str:
    """Why running ``module`` on input of ``shape`` failed, and the adapter that fixes it.

    Parameters
    ----------
    module : torch.nn.Module
    shape : tuple of int
        Shape of the (batch, leads, samples) input that was fed.
    exc : BaseException
        What the forward raised.

    Returns
    -------
    str

    Examples
    --------
    >>> class Net(nn.Module):
    ...     def forward(self, x, lead_id):
    ...         return x
    >>> msg = forward_failure_message(Net(), (2, 1, 100), TypeError("missing lead_id"))
    >>> print(msg)  # doctest: +ELLIPSIS
    the model cannot process this input: its forward failed on input of shape (2, 1, 100) ... Net.forward(x, lead_id) needs 2 inputs ...
    """
    sig, n_inputs = _forward_signature(module)
    head = (
        f"the model cannot process this input: its forward failed on input of shape {shape} (batch, leads, samples): "
        f"{type(exc).__name__}: {exc}. Its signature is {sig}."
    )
    custom = module in _FORWARDS
    hints = []
    if n_inputs > 1 and not custom:
        hints.append(
            f"{sig} needs {n_inputs} inputs but TLC passes one tensor: give "
            "the call as ModelBundle(net, ..., forward=lambda net, x: net(x, lead_id)) "
            "(or ActivationExtractor(net, forward=...))"
        )
    if len(shape) == 3 and shape[1] == 1 and not custom:
        hints.append(
            "a single-lead network that takes (batch, samples) needs "
            "ModelBundle(net, ..., input_layout='samples')"
        )
    hints.append(
        "check that the number of leads, the length and the sampling rate match what the "
        "model was trained on (declare them: ModelBundle(net, class_names, lead_names, fs, "
        "n_samples))"
    )
    return head + " Fixes: " + "; ".join(hints) + "."


def _probe_output(module: nn.Module, n_leads: int, n_samples: int) -> torch.Tensor:
    """The network's output for two all-zero records, in eval mode without gradients (its
    training mode is restored); a failure or an output that is not a tensor says the fix."""
    x = torch.zeros(2, n_leads, n_samples)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = call_network(module, x)
    except Exception as exc:  # a user's network: diagnose the failure
        raise ModelError(forward_failure_message(module, tuple(x.shape), exc)) from exc
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ModelError(
            f"the model returns a {type(out).__name__}, not a tensor; pass "
            "forward=lambda net, x: net(x)[0] (or the element holding the outputs)."
        )
    return out
