"""Activations of a network's blocks for every ECG, collected with forward hooks.

TLC explains a network through its own internal representation, so the first step is to
record what its last blocks output for every ECG, without touching the model: hooks are
registered for one call and always removed, and the train/eval mode is restored. The
forward passes run under ``torch.inference_mode``, in batches sized by :mod:`.batching`;
on a GPU the batches are copied from pinned memory without blocking.

Every hooked output goes through its :class:`~.layout.LayerLayout`: the element of a
tuple/dict output named by a selector, and the time axis found by probing the network at
two input lengths, so a transformer's (batch, tokens, channels) blocks are transposed
rather than read as (batch, channels, time).
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import DataError, ModelError
from ..model.checkpoint import is_bundle
from ..model.contract import (
    ForwardFn,
    call_network,
    forward_failure_message,
    make_forward,
    set_forward,
)
from .batching import auto_batch_size, check_batch_size
from .discover import (
    LAYER_CHOICES,
    default_layers,
    names_layers,
    probe_tensor,
    structural_layers,
)
from .hooks import capture_outputs
from .layout import PROBE_RECORDS, LayerLayout, resolve_layouts

__all__ = ["ActivationExtractor"]


class ActivationExtractor:
    """Collect (batch, channels, time) activations of named layers via forward hooks.

    Parameters
    ----------
    model : torch.nn.Module or ModelBundle
        The network (a bundle's ``.model`` is used, called through the bundle's forward
        contract). It is run in eval mode under ``torch.inference_mode``; its previous
        train/eval mode is restored afterwards and the hooks are always removed.
    layers : sequence of str, "late", "early" or None
        Qualified module names (as in ``dict(model.named_modules())``), or which blocks
        :func:`default_layers` picks: ``"late"`` (``None``, the default) the last three,
        ``"early"`` the first three (the model's own names, else found by structure on
        the first input; printed once when ``progress``). A module literally named
        "early" or "late" is hooked with ``layers=["early"]``.
    batch_size : int or "auto"
        Records per forward pass; ``"auto"``: :func:`auto_batch_size` of the input.
    device : str or torch.device
        Where to run the forward passes. The model is moved there for the call and
        moved back to where it was.
    progress : bool
        Show a tqdm progress bar over batches.
    output : int, str or dict, optional
        For layers returning a tuple or dict: the element to cluster, one for all layers
        or ``{layer: index_or_key}``. Default: the module's ``hook_output`` attribute;
        without either a tuple output is refused with its choices listed.
    time_axis : int or dict, optional
        The time axis of the layers' outputs (``{layer: axis}`` per layer). Default:
        found by running the network at two input lengths (the axis that follows the
        length); (batch, time, channels) outputs are transposed.
    forward : callable, optional
        ``forward(network, x)`` for a network that is not called as ``network(x)`` (an
        extra argument, a tuple output). A :class:`~ecg_cluster_widget.model.ModelBundle`
        built with ``forward=`` records it for its network, so it needs no repeating here.

    Attributes
    ----------
    layers : list of str
        The hooked layers (for a model that does not name its own, known after the first
        :meth:`extract`).
    layouts_ : list of LayerLayout
        Per layer: output element, shape and time axis (after the first :meth:`extract`).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 5, filters=(8, 8, 8, 8), seq_lengths=(1000, 500, 250, 125))
    >>> ext = ActivationExtractor(net, progress=False)
    >>> blocks = ext.extract(np.zeros((2, 12, 1000), dtype=np.float32))
    >>> [b.shape for b in blocks]
    [(2, 8, 500), (2, 8, 250), (2, 8, 125)]
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[str] | str | None = None,
        batch_size: int | str = "auto",
        device: str | torch.device = "cpu",
        progress: bool = True,
        output: int | str | Mapping[str, int | str] | None = None,
        time_axis: int | Mapping[str, int] | None = None,
        forward: ForwardFn | None = None,
    ) -> None:
        declared = None
        if is_bundle(model):
            # A bundle declares its input shape, so layers can be chosen before any data.
            n_leads, n_samples = getattr(model, "n_leads", None), getattr(model, "n_samples", None)
            declared = (n_leads, n_samples) if n_leads and n_samples else None
            model = model.model  # a ModelBundle: hook its network (its contract is recorded)
        if not isinstance(model, nn.Module):
            raise ModelError(
                f"model must be a torch.nn.Module (or a ModelBundle), got {type(model).__name__}."
            )
        if forward is not None:
            set_forward(model, make_forward(forward, "leads"))
        self.model = model
        self.batch_size = check_batch_size(batch_size)
        self.device = device
        self.progress = progress
        self.output = output
        self.time_axis = time_axis
        self.layouts_: list[LayerLayout] | None = None
        self._which = "late"
        if isinstance(layers, str) and layers in LAYER_CHOICES:
            self._which, layers = layers, None
        elif isinstance(layers, str):
            layers = [layers]
        self._layers = list(layers) if layers is not None else None
        if self._layers is None and names_layers(model, self._which):
            self._layers = default_layers(model, which=self._which)
        elif self._layers is None and declared is not None:
            self._choose_layers(np.zeros((PROBE_RECORDS, *declared), np.float32))
        if self._layers is not None:
            if not self._layers:
                raise ModelError("layers is empty; name at least one layer to hook.")
            self._resolve_modules()

    @property
    def layers(self) -> list[str]:
        """The hooked layers' names."""
        if self._layers is None:
            raise ModelError(
                f"the layers of {type(self.model).__name__} are found by running it (it has "
                "no default_layers()); call extract(x) first, or pass layers=[...]."
            )
        return self._layers

    def _resolve_modules(self) -> list[nn.Module]:
        modules = dict(self.model.named_modules())
        out = []
        for name in self.layers:
            if name not in modules:
                available = [n for n in modules if n]
                close = difflib.get_close_matches(name, available, n=5, cutoff=0.4)
                hint = f" Similar names: {', '.join(close)}." if close else ""
                raise ModelError(
                    f"the model has no layer named {name!r}.{hint} Available layers "
                    f"include: {', '.join(available[:30])}"
                    f"{' ...' if len(available) > 30 else ''}. Pass layers=[...] with existing names."
                )
            out.append(modules[name])
        return out

    def _choose_layers(self, probe: np.ndarray | torch.Tensor) -> None:
        """Default layers by structure, printed once (with ``progress``)."""
        t = probe if isinstance(probe, torch.Tensor) else probe_tensor(probe)
        self._layers = structural_layers(self.model, t, which=self._which)
        if self.progress:
            print(
                f"TLC hooks {', '.join(self._layers)} of {type(self.model).__name__} "
                "(chosen by structure; pass layers=[...] to choose)",
                file=sys.stderr,
            )

    def _layouts(self, x: np.ndarray, device: torch.device) -> list[LayerLayout]:
        """Choose the layers (if not named) and probe their layouts, once per extractor."""
        probe = probe_tensor(x).to(device)
        if self._layers is None:
            self._choose_layers(probe)
        if self.layouts_ is None:
            self.layouts_ = resolve_layouts(
                self.model, probe, self.layers, self._resolve_modules(), self.output, self.time_axis
            )
        return self.layouts_

    def extract(self, x: np.ndarray) -> list[np.ndarray]:
        """Run the model on ``x`` and return each hooked layer's output.

        Parameters
        ----------
        x : ndarray of shape (n_records, n_leads, n_samples)
            Model input, already prepared (standardised) as the model expects.

        Returns
        -------
        list of ndarray of shape (n_records, channels_b, time_b), float32
            One array per layer, in the order of ``layers``; (batch, time, channels)
            outputs transposed, extra non-time axes folded into channels.

        Raises
        ------
        DataError
            If ``x`` is not 3-D, is empty or contains NaN/inf.
        ModelError
            If the forward pass fails on this input (the message shows the forward's
            signature and the adapter to use), a layer returns a tuple without a
            selector, or a layer's time axis cannot be found.

        Examples
        --------
        >>> import numpy as np
        >>> from ecg_cluster_widget.model import ResNet1d
        >>> net = ResNet1d(12, 5, filters=(8, 8, 8, 8), seq_lengths=(1000, 500, 250, 125))
        >>> out = ActivationExtractor(net, progress=False).extract(np.zeros((1, 12, 1000)))
        >>> out[-1].dtype
        dtype('float32')
        """
        x = np.asarray(x)
        if x.ndim != 3:
            raise DataError(
                f"model input must have shape (n_records, n_leads, n_samples); got shape {x.shape}."
            )
        if x.shape[0] == 0:
            raise DataError("model input is empty (0 records).")
        if not np.isfinite(x).all():
            raise DataError("model input contains NaN or inf; clean the signals first.")
        was_training = self.model.training
        params = list(self.model.parameters())
        home = params[0].device if params else torch.device("cpu")
        device = torch.device(self.device)
        pin = device.type == "cuda"
        results: list[np.ndarray] | None = None
        n = x.shape[0]
        bs = (
            auto_batch_size(x.shape[1], x.shape[2])
            if self.batch_size == "auto"
            else int(self.batch_size)
        )
        try:
            self.model.eval()
            if device != home:
                self.model.to(device)
            layouts = self._layouts(x, device)
            modules = self._resolve_modules()
            sels = [lay.selector for lay in layouts]
            starts = range(0, n, bs)
            with (
                capture_outputs(modules, sels, self.layers) as captured,
                torch.inference_mode(),
            ):
                for start in tqdm(
                    starts,
                    desc="activations",
                    disable=not self.progress,
                    total=len(starts),
                    leave=False,
                ):
                    # np.require copies only read-only input (dataset arrays are read-only).
                    xb = torch.from_numpy(np.require(x[start : start + bs], np.float32, ["C", "W"]))
                    if pin:
                        xb = xb.pin_memory().to(device, non_blocking=True)
                    elif device.type != "cpu":
                        xb = xb.to(device)
                    for i in range(len(captured)):
                        captured[i] = None
                    self._forward(xb)
                    outs = [
                        None if t is None else lay.to_bct(t) for t, lay in zip(captured, layouts)
                    ]
                    if results is None:
                        results = self._allocate(outs, n)
                    for i, t in enumerate(outs):
                        if t is None or tuple(t.shape[1:]) != results[i].shape[1:]:
                            got = "no tensor" if t is None else tuple(t.shape[1:])
                            raise ModelError(
                                f"layer {self.layers[i]!r} changed its output between batches "
                                f"({got} vs {results[i].shape[1:]})."
                            )
                        results[i][start : start + t.shape[0]] = t.to("cpu", torch.float32).numpy()
        finally:
            if device != home:
                self.model.to(home)
            self.model.train(was_training)
        assert results is not None
        return results

    def _forward(self, xb: torch.Tensor) -> None:
        try:
            call_network(self.model, xb)
        except ModelError:
            raise
        except Exception as exc:  # any failure of a user's network: diagnose it
            raise ModelError(forward_failure_message(self.model, tuple(xb.shape), exc)) from exc

    def _allocate(self, captured: list[torch.Tensor | None], n: int) -> list[np.ndarray]:
        out = []
        for name, t in zip(self.layers, captured):
            if t is None:
                raise ModelError(
                    f"layer {name!r} was not called during the forward pass (or returned no "
                    "tensor); hook a layer that the model's forward actually uses."
                )
            out.append(np.empty((n,) + tuple(t.shape[1:]), dtype=np.float32))
        return out
