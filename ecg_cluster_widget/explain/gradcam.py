"""Grad-CAM for 1D CNNs (Selvaraju et al. 2017), the baseline TLC is compared with.

The class activation map of layer ``A`` (channels ``c``, time ``t``) for output ``y`` is
``ReLU(sum_c w_c A_c(t))`` with ``w_c = mean_t dy/dA_c(t)``, upsampled linearly to the
input length and scaled to [0, 1] per record. The API follows Captum's
``LayerGradCam(model, layer).attribute(inputs, target)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..activations.discover import structural_layers
from ..activations.hooks import capture_outputs
from ..activations.layout import PROBE_RECORDS, LayerLayout, resolve_layouts
from ..data.dataset import ECGDataset
from ..errors import DataError, ModelError
from ..model.checkpoint import is_bundle
from ..model.contract import call_network, forward_failure_message
from .sources import model_input

__all__ = ["GradCAM", "gradcam_per_class"]


def _unwrap(model: Any) -> tuple[nn.Module, Any]:
    """Return ``(network, bundle_or_None)`` for a ModelBundle or a module."""
    if isinstance(model, nn.Module):
        return model, None
    if is_bundle(model) and isinstance(model.model, nn.Module):
        return model.model, model
    raise ModelError(
        f"GradCAM needs a torch.nn.Module or a ModelBundle, got {type(model).__name__}. "
        "Load a model with load_checkpoint() / load_demo_model() or pass the network itself."
    )


#: Named layer choices: "coarse" is the conventional last block (the default); "fine" the
#: first block (for the shipped real-ECG model 8 ms steps instead of 400 ms), fine enough
#: that a per-wave comparison with the clusters can see P, QRS and T.
LAYER_PRESETS = ("coarse", "fine")


def _named_layer(net: nn.Module, layer: str | None) -> str | None:
    """The layer a model names for a preset, ``None`` when it must be found by structure."""
    if layer == "fine" and hasattr(net, "block_names"):
        blocks = list(net.block_names())
        return blocks[0] if blocks else None
    if layer in (None, "coarse") and hasattr(net, "default_layers"):
        layers = list(net.default_layers())
        return layers[-1] if layers else None
    return None if layer in (None, *LAYER_PRESETS) else str(layer)


class GradCAM:
    """Grad-CAM attributions over time for a 1D ECG network.

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
        A bundle (anything with ``.model`` and ``.prepare``) or a bare network. It is run
        through its recorded forward contract (a bundle's ``forward=``, single-lead input).
    layer : str, optional
        Qualified module name (as in ``model.named_modules()``). Defaults to the last
        block in execution order: ``net.default_layers()[-1]`` when the model names its
        blocks, else the last block found by structure (the last of TLC's default layers,
        see :func:`~ecg_cluster_widget.activations.default_layers`) on the first input.
        ``"coarse"`` names that default; ``"fine"`` the first block, whose time steps are
        short enough to resolve single waves. The layer used is :attr:`layer` (after the
        first call for a model that does not name its blocks) and :meth:`describe`.
    batch_size : int
        Records per forward/backward pass.
    output : int or str, optional
        Element of a tuple/dict layer output (default: the module's ``hook_output``;
        without one a tuple output is refused with its choices listed).
    time_axis : int, optional
        Time axis of the layer's output (default: found by probing two input lengths, so
        (batch, tokens, channels) transformer blocks work).

    Notes
    -----
    The score differentiated per class is the class logit; for per-sample (segmentation)
    outputs (batch, classes, time) it is the class logit summed over the samples
    predicted as that class (all samples when none is), as in Vinogradova et al. 2020.

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(2, 3, filters=(8, 8, 8), seq_lengths=(64, 32, 16), kernel_size=5)
    >>> cam = GradCAM(net).attribute(np.random.default_rng(0).normal(size=(2, 2, 64)), target=1)
    >>> cam.shape, float(cam.min()) >= 0, float(cam.max()) <= 1
    ((2, 64), True, True)
    """

    def __init__(
        self,
        model: Any,
        layer: str | None = None,
        batch_size: int = 64,
        output: int | str | None = None,
        time_axis: int | None = None,
    ) -> None:
        self.net, self.bundle = _unwrap(model)
        self._preset = layer if layer in (None, *LAYER_PRESETS) else None
        self.layer: str | None = _named_layer(self.net, layer)
        self.output = output
        self.time_axis = time_axis
        self.layout_: LayerLayout | None = None
        if self.layer is not None:
            self.module = self._module(self.layer)
        self.batch_size = int(batch_size)

    def _module(self, name: str) -> nn.Module:
        modules = dict(self.net.named_modules())
        if name not in modules:
            names = [n for n in modules if n]
            shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
            raise ModelError(f"layer {name!r} is not in the model. Available layers: {shown}.")
        return modules[name]

    def _resolve(self, x: np.ndarray) -> LayerLayout:
        """Pick the layer (when found by structure) and its layout, on the first input."""
        if self.layout_ is not None:
            return self.layout_
        probe = torch.from_numpy(np.repeat(x[:1], PROBE_RECORDS, axis=0).astype(np.float32))
        if self.layer is None:
            blocks = structural_layers(self.net, probe, n=None)
            self.layer = blocks[0] if self._preset == "fine" else blocks[-1]
            self.module = self._module(self.layer)
        was_training = self.net.training
        self.net.eval()
        try:
            (self.layout_,) = resolve_layouts(
                self.net, probe, [self.layer], [self.module], self.output, self.time_axis
            )
        finally:
            self.net.train(was_training)
        return self.layout_

    def describe(self) -> str:
        """Which layer the maps come from, in words (for reports and the widget).

        Examples
        --------
        >>> from ecg_cluster_widget.model import ResNet1d
        >>> GradCAM(ResNet1d(1, 2, filters=(4, 4), seq_lengths=(32, 16))).describe()
        "Grad-CAM of layer 'blocks.0'"
        """
        if self.layer is None:
            return "Grad-CAM of the last block (chosen on the first input)"
        extra = "" if self.layout_ is None else f" ({self.layout_.describe()})"
        return f"Grad-CAM of layer {self.layer!r}{extra}"

    # -- input handling ---------------------------------------------------------
    def _as_array(self, inputs: Any) -> np.ndarray:
        if isinstance(inputs, ECGDataset):
            return model_input(self.bundle if self.bundle is not None else self.net, inputs)
        if isinstance(inputs, torch.Tensor):
            inputs = inputs.detach().cpu().numpy()
        try:
            x = np.asarray(inputs, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"inputs must be a numeric array (N, C, T) or an ECGDataset: {exc}"
            ) from None
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[0] == 0:
            raise DataError(
                f"inputs must have shape (n_records, n_leads, n_samples); got {x.shape}."
            )
        if not np.isfinite(x).all():
            raise DataError("inputs contain NaN or inf; clean or drop those records first.")
        return x

    @staticmethod
    def _targets(target: Any, n: int, n_out: int) -> np.ndarray:
        t = (
            np.broadcast_to(np.asarray(target), (n,))
            if np.ndim(target) == 0
            else np.asarray(target)
        )
        if t.shape != (n,) or not np.issubdtype(t.dtype, np.integer):
            raise ModelError(f"target must be an int, None or {n} ints; got {target!r}.")
        if (t < 0).any() or (t >= n_out).any():
            raise ModelError(
                f"target {target!r} is out of range: the model has {n_out} outputs "
                f"(valid targets 0..{n_out - 1})."
            )
        return t.astype(np.int64)

    # -- core ------------------------------------------------------------------
    def _forward_with_grads(self, xb: torch.Tensor):
        store: dict[str, torch.Tensor] = {}
        lay = self.layout_
        assert lay is not None
        # The one forward-hook helper of the package (activations.hooks.capture_outputs).
        with capture_outputs([self.module], [lay.selector], [self.layer]) as captured:
            out = call_network(self.net, xb)
        act = captured[0]
        if act is None:
            raise ModelError(
                f"layer {self.layer!r} did not output a tensor during the forward pass."
            )
        if act.requires_grad:
            # A tensor hook catches the gradient of exactly this activation, also for
            # blocks that return tuples (module backward hooks do not).
            act.register_hook(lambda g: store.__setitem__("grad", lay.to_bct(g)))
        store["act"] = lay.to_bct(act)
        return self._scores(out), store["act"], store

    def _scores(self, out: Any) -> torch.Tensor:
        """(batch, classes) scores to differentiate, from what the network returned."""
        if not isinstance(out, torch.Tensor):
            raise ModelError(
                f"the model returns a {type(out).__name__}, not a tensor of scores; give its "
                "call as ModelBundle(net, ..., forward=lambda net, x: net(x)[0])."
            )
        if out.ndim == 1:
            return out[:, None]
        if out.ndim == 2:
            return out
        if out.ndim != 3:
            raise ModelError(
                f"the model's output has shape {tuple(out.shape)}; Grad-CAM needs "
                "(batch, classes) or per-sample (batch, classes, time)."
            )
        n_cls = getattr(self.bundle, "n_classes", None)
        if n_cls is not None and out.shape[1] != n_cls and out.shape[2] == n_cls:
            out = out.transpose(1, 2)  # (batch, time, classes) per-sample output
        # Per-sample output: each class's logit summed where that class is predicted.
        pred = out.detach().argmax(dim=1)
        masks = torch.stack([pred == k for k in range(out.shape[1])], dim=1).to(out.dtype)
        empty = masks.sum(dim=2, keepdim=True) == 0
        masks = torch.where(empty, torch.ones_like(masks), masks)
        return (out * masks).sum(dim=2)

    @staticmethod
    def _cam(
        act: torch.Tensor, grad: torch.Tensor, relu: bool, upsample: bool, n_t: int
    ) -> np.ndarray:
        weights = grad.mean(dim=2, keepdim=True)
        cam = (weights * act).sum(dim=1, keepdim=True)
        if relu:
            cam = F.relu(cam)
        if upsample and cam.shape[-1] != n_t:
            cam = F.interpolate(cam, size=n_t, mode="linear", align_corners=False)
        cam = cam[:, 0].detach().cpu().numpy().astype(np.float64)
        lo = cam.min(axis=1, keepdims=True) if not relu else np.zeros((cam.shape[0], 1))
        span = cam.max(axis=1, keepdims=True) - lo
        # A flat map carries no localisation; report zeros rather than dividing by 0.
        out = np.where(span > 1e-12, (cam - lo) / np.where(span > 1e-12, span, 1.0), 0.0)
        return np.clip(out, 0.0, 1.0).astype(np.float32)

    def _run(self, x: np.ndarray, per_batch, progress: bool) -> list:
        self._resolve(x)
        was_training = self.net.training
        self.net.eval()
        results = []
        starts = range(0, len(x), self.batch_size)
        try:
            with torch.enable_grad():
                for s in tqdm(starts, desc="Grad-CAM", disable=not progress, leave=False):
                    xb = torch.from_numpy(np.require(x[s : s + self.batch_size], None, ["C", "W"]))
                    xb.requires_grad_(True)  # keeps a graph even when weights are frozen
                    try:
                        out, act, store = self._forward_with_grads(xb)
                    except ModelError:
                        raise
                    except Exception as exc:  # a user's network failed: diagnose it
                        raise ModelError(
                            forward_failure_message(self.net, tuple(xb.shape), exc)
                        ) from None
                    results.append(per_batch(out, act, store, s))
        finally:
            self.net.train(was_training)
        return results

    def attribute(
        self,
        inputs: Any,
        target: int | Sequence[int] | None = None,
        relu: bool = True,
        upsample: bool = True,
        progress: bool = False,
    ) -> np.ndarray:
        """Grad-CAM map per record.

        Parameters
        ----------
        inputs : ndarray or Tensor (N, C, T), or ECGDataset
            A dataset is passed through ``bundle.prepare`` (standardisation, checks)
            when the model is a bundle.
        target : int, sequence of N ints, or None
            Output index to explain; ``None`` uses each record's highest-scoring output.
        relu : bool
            Keep only evidence for the target (standard Grad-CAM). With ``False`` the map
            is min-max scaled instead.
        upsample : bool
            Interpolate linearly to the input length; otherwise the layer's time grid.
        progress : bool
            Show a tqdm bar over batches.

        Returns
        -------
        ndarray of shape (N, T) float32 in [0, 1]

        Examples
        --------
        >>> from ecg_cluster_widget.model import ResNet1d
        >>> net = ResNet1d(1, 2, filters=(4, 4), seq_lengths=(32, 16), kernel_size=3)
        >>> GradCAM(net).attribute(np.ones((1, 1, 32)), upsample=False).shape
        (1, 16)
        """
        x = self._as_array(inputs)
        n_t = x.shape[-1]

        def per_batch(out, act, store, s):
            if target is None:
                tb = out.detach().argmax(dim=1).cpu().numpy()
            else:
                tb = self._targets(target, len(x), out.shape[1])[s : s + out.shape[0]]
            sel = out.gather(1, torch.as_tensor(tb, dtype=torch.long)[:, None]).sum()
            self.net.zero_grad(set_to_none=True)
            sel.backward()
            return self._cam(act, store["grad"], relu, upsample, n_t)

        return np.concatenate(self._run(x, per_batch, progress), axis=0)

    def attribute_all(
        self, inputs: Any, relu: bool = True, upsample: bool = True, progress: bool = False
    ) -> np.ndarray:
        """Grad-CAM for every output at once: ndarray (N, n_outputs, T) in [0, 1].

        One forward pass per batch and one backward pass per output.

        Examples
        --------
        >>> from ecg_cluster_widget.model import ResNet1d
        >>> net = ResNet1d(1, 3, filters=(4, 4), seq_lengths=(32, 16), kernel_size=3)
        >>> GradCAM(net).attribute_all(np.ones((2, 1, 32))).shape
        (2, 3, 32)
        """
        x = self._as_array(inputs)
        n_t = x.shape[-1]

        def per_batch(out, act, store, s):
            maps = []
            for k in range(out.shape[1]):
                store.pop("grad", None)
                self.net.zero_grad(set_to_none=True)
                out[:, k].sum().backward(retain_graph=k < out.shape[1] - 1)
                maps.append(self._cam(act, store["grad"], relu, upsample, n_t))
            return np.stack(maps, axis=1)

        return np.concatenate(self._run(x, per_batch, progress), axis=0)


def gradcam_per_class(
    model: Any,
    x: Any,
    layer: str | None = None,
    relu: bool = True,
    upsample: bool = True,
    batch_size: int = 64,
    progress: bool = False,
) -> np.ndarray:
    """Grad-CAM maps for every class: ndarray (N, n_classes, T) in [0, 1].

    Shortcut for ``GradCAM(model, layer, batch_size).attribute_all(x, ...)``.

    Parameters
    ----------
    model : torch.nn.Module or ModelBundle
        The network.
    x : array (N, n_leads, T) or ECGDataset
        Inputs, as accepted by :meth:`GradCAM.attribute_all`.
    layer : str, optional
        Layer to explain (default: as in :class:`GradCAM`, the last block in execution
        order).
    relu : bool
        Keep only positive evidence.
    upsample : bool
        Interpolate the maps to the input length ``T`` (else the layer's length).
    batch_size : int
        Records per forward/backward pass.
    progress : bool
        Show a progress bar.

    Returns
    -------
    numpy.ndarray
        ``(N, n_classes, T)`` maps, each scaled to [0, 1].

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(1, 2, filters=(4, 4), seq_lengths=(32, 16), kernel_size=3)
    >>> gradcam_per_class(net, np.ones((3, 1, 32))).shape
    (3, 2, 32)
    """
    return GradCAM(model, layer=layer, batch_size=batch_size).attribute_all(
        x, relu=relu, upsample=upsample, progress=progress
    )
