"""Forward hooks that collect the outputs of named layers (the residual blocks).

TLC explains a network through its own internal representation, so the first step
is to record what the last residual blocks output for every ECG. This module does
that without touching the model: hooks are registered for one call and always
removed again, and the model's train/eval mode is restored.

:func:`capture_outputs` is the one forward-hook helper of the package (Grad-CAM uses it
too). The forward passes run under ``torch.inference_mode`` (no autograd bookkeeping at
all, slightly cheaper than ``no_grad``) and, with ``batch_size="auto"``, in batches of
about :data:`AUTO_BATCH_VALUES` input values. On the demo model batches of 256 records
instead of 64 saved 4 % of the forward pass on a quiet 2-core machine and about half of
its CPU time when the machine was loaded (``benchmarks/bench_engine.py``,
``docs/performance.md``). On a GPU the batches are copied from pinned memory without
blocking.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import DataError, ModelError
from ..model.checkpoint import is_bundle

__all__ = [
    "AUTO_BATCH_VALUES",
    "ActivationExtractor",
    "auto_batch_size",
    "capture_outputs",
    "default_layers",
]

#: ``batch_size="auto"`` picks a power of two near this many input values per batch.
AUTO_BATCH_VALUES = 1 << 22
_AUTO_BATCH_RANGE = (8, 512)


def first_tensor(output: object) -> torch.Tensor | None:
    """Return ``output`` or, for (nested) tuple/list outputs, its first tensor element.

    Parameters
    ----------
    output : object
        What a module's forward returned.

    Returns
    -------
    torch.Tensor or None
        ``None`` when there is no tensor in it.

    Examples
    --------
    >>> t = torch.zeros(1)
    >>> first_tensor((None, [t, 2])) is t
    True
    """
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def default_layers(model: nn.Module) -> list[str]:
    """The layers TLC hooks when none are named: the last three residual blocks.

    Uses ``model.default_layers()`` when the model provides it (``ResNet1d`` does);
    otherwise the last three modules whose class name contains ``"Block"`` or
    ``"Res"`` (searched over all named sub-modules, not only direct children, so
    blocks inside an ``nn.ModuleList`` are found).

    Parameters
    ----------
    model : torch.nn.Module
        The network.

    Returns
    -------
    list of str
        Qualified module names, in forward (registration) order.

    Raises
    ------
    ModelError
        If no residual-looking blocks are found; pass ``layers=`` explicitly then.

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> default_layers(ResNet1d(filters=(8, 8, 8, 8), seq_lengths=(1000, 500, 250, 125)))
    ['blocks.0', 'blocks.1', 'blocks.2']
    """
    if hasattr(model, "default_layers") and callable(model.default_layers):
        return list(model.default_layers())
    found = [
        name
        for name, mod in model.named_modules()
        if name and ("Block" in type(mod).__name__ or "Res" in type(mod).__name__)
    ]
    # Keep only outermost matches so a block's own sub-modules are not counted.
    outer = [n for n in found if not any(n.startswith(o + ".") for o in found if o != n)]
    if not outer:
        names = [n for n, _ in model.named_modules() if n][:20]
        raise ModelError(
            f"cannot guess which layers to hook in {type(model).__name__}: no module whose class "
            "name contains 'Block' or 'Res'. Pass layers=[...] with the names of the last "
            f"residual blocks (available modules include: {', '.join(names)})."
        )
    return outer[-3:]


@contextlib.contextmanager
def capture_outputs(modules: Sequence[nn.Module]) -> Iterator[list[torch.Tensor | None]]:
    """Forward hooks that record each module's output (first tensor) while in the block.

    Parameters
    ----------
    modules : sequence of torch.nn.Module
        Modules to observe.

    Yields
    ------
    list
        ``captured[i]`` is the latest output of ``modules[i]`` (``None`` until it runs).
        The tensors keep their autograd graph when gradients are enabled, so a caller
        can register tensor hooks on them (Grad-CAM does).

    Examples
    --------
    >>> lin = nn.Linear(2, 3)
    >>> with capture_outputs([lin]) as cap:
    ...     _ = lin(torch.zeros(1, 2))
    >>> tuple(cap[0].shape), len(lin._forward_hooks)
    ((1, 3), 0)
    """
    captured: list[torch.Tensor | None] = [None] * len(modules)

    def make_hook(i: int):
        def hook(_mod, _inp, output):
            captured[i] = first_tensor(output)

        return hook

    handles = [m.register_forward_hook(make_hook(i)) for i, m in enumerate(modules)]
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()


def auto_batch_size(n_leads: int, n_samples: int) -> int:
    """Records per forward pass for ``batch_size="auto"``.

    A power of two near ``AUTO_BATCH_VALUES / (n_leads * n_samples)``, clipped to
    8..512: 256 for 12 leads x 1,000 samples, 64 for 12 x 5,000.

    Parameters
    ----------
    n_leads : int
    n_samples : int
        Shape of one record of the model input.

    Returns
    -------
    int
        Records per batch.

    Examples
    --------
    >>> auto_batch_size(12, 1000), auto_batch_size(12, 5000)
    (256, 64)
    """
    per = max(1, int(n_leads) * int(n_samples))
    b = 1 << max(0, int(round(np.log2(max(1.0, AUTO_BATCH_VALUES / per)))))
    return int(min(max(b, _AUTO_BATCH_RANGE[0]), _AUTO_BATCH_RANGE[1]))


def _check_batch_size(batch_size: object) -> int | str:
    if batch_size == "auto":
        return "auto"
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise DataError(f"batch_size must be a positive integer or 'auto', got {batch_size!r}.")
    if int(batch_size) < 1:
        raise DataError(f"batch_size must be >= 1 (or 'auto'), got {batch_size}.")
    return int(batch_size)


class ActivationExtractor:
    """Collect (batch, channels, time) activations of named layers via forward hooks.

    Parameters
    ----------
    model : torch.nn.Module or ModelBundle
        The network (a bundle's ``.model`` is used). It is run in eval mode under ``torch.no_grad``; its previous
        train/eval mode is restored afterwards and the hooks are always removed.
    layers : sequence of str, optional
        Qualified module names (as in ``dict(model.named_modules())``). Default:
        :func:`default_layers` (the last three residual blocks).
    batch_size : int or "auto"
        Records per forward pass; ``"auto"``: :func:`auto_batch_size` of the input.
    device : str or torch.device
        Where to run the forward passes. The model is moved there for the call and
        moved back to where it was.
    progress : bool
        Show a tqdm progress bar over batches.

    Attributes
    ----------
    layers : list of str
        The resolved layer names (set at construction, validated against the model).

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
        layers: Sequence[str] | None = None,
        batch_size: int | str = "auto",
        device: str | torch.device = "cpu",
        progress: bool = True,
    ) -> None:
        if is_bundle(model):
            model = model.model  # a ModelBundle: hook its network
        if not isinstance(model, nn.Module):
            raise ModelError(
                f"model must be a torch.nn.Module (or a ModelBundle), got {type(model).__name__}."
            )
        self.model = model
        self.batch_size = _check_batch_size(batch_size)
        self.device = device
        self.progress = progress
        if isinstance(layers, str):
            layers = [layers]
        self.layers = list(layers) if layers is not None else default_layers(model)
        if not self.layers:
            raise ModelError("layers is empty; name at least one layer to hook.")
        self._resolve_modules()

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

    def extract(self, x: np.ndarray) -> list[np.ndarray]:
        """Run the model on ``x`` and return each hooked layer's output.

        Parameters
        ----------
        x : ndarray of shape (n_records, n_leads, n_samples)
            Model input, already prepared (standardised) as the model expects.

        Returns
        -------
        list of ndarray of shape (n_records, channels_b, time_b), float32
            One array per layer, in the order of ``layers``.

        Raises
        ------
        DataError
            If ``x`` is not 3-D, is empty or contains NaN/inf.
        ModelError
            If the forward pass fails on this input or a layer does not output a
            (batch, channels, time) tensor.

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
        modules = self._resolve_modules()
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
            starts = range(0, n, bs)
            with capture_outputs(modules) as captured, torch.inference_mode():
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
                    if results is None:
                        results = self._allocate(captured, n)
                    for i, t in enumerate(captured):
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
            self.model(xb)
        except ModelError:
            raise
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            raise ModelError(
                f"the model's forward pass failed on input of shape "
                f"{tuple(xb.shape)} (batch, leads, samples): {exc}. Check that the "
                "number of leads, the length and the sampling rate match what the "
                "model was trained on."
            ) from exc

    def _allocate(self, captured: list[torch.Tensor | None], n: int) -> list[np.ndarray]:
        out = []
        for name, t in zip(self.layers, captured):
            if t is None:
                raise ModelError(
                    f"layer {name!r} was not called during the forward pass (or returned no "
                    "tensor); hook a layer that the model's forward actually uses."
                )
            if t.ndim != 3:
                raise ModelError(
                    f"layer {name!r} outputs shape {tuple(t.shape)}; TLC needs "
                    "(batch, channels, time). Hook a convolutional block instead."
                )
            out.append(np.empty((n,) + tuple(t.shape[1:]), dtype=np.float32))
        return out
