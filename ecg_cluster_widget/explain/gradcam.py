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

from ..activations.hooks import capture_outputs
from ..data.dataset import ECGDataset
from ..errors import DataError, ModelError
from ..model.checkpoint import is_bundle

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
#: first residual block (for the shipped real-ECG model 8 ms steps instead of 400 ms),
#: fine enough that a per-wave comparison with the clusters can see P, QRS and T.
LAYER_PRESETS = ("coarse", "fine")


def _fine_layer(net: nn.Module) -> str:
    if hasattr(net, "block_names"):
        blocks = list(net.block_names())
        if blocks:
            return blocks[0]
    convs = [name for name, m in net.named_modules() if isinstance(m, nn.Conv1d)]
    if not convs:
        raise ModelError(
            "the model has no Conv1d layer, so Grad-CAM has no fine layer; pass layer=<name>."
        )
    return convs[0]


def _default_layer(net: nn.Module) -> str:
    if hasattr(net, "default_layers"):
        layers = list(net.default_layers())
        if layers:
            return layers[-1]
    # A generic CNN: the last 1D convolution is the conventional Grad-CAM layer.
    convs = [name for name, m in net.named_modules() if isinstance(m, nn.Conv1d)]
    if not convs:
        raise ModelError(
            "the model has no Conv1d layer, so Grad-CAM has no default layer; pass layer=<name> "
            "of a module whose output is (batch, channels, time)."
        )
    return convs[-1]


class GradCAM:
    """Grad-CAM attributions over time for a 1D ECG CNN.

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
        A bundle (anything with ``.model`` and ``.prepare``) or a bare network.
    layer : str, optional
        Qualified module name (as in ``model.named_modules()``) whose output is
        ``(batch, channels, time)``. Blocks returning tuples are supported: the first
        tensor is used. Defaults to the last residual block
        (``net.default_layers()[-1]``) or, for other networks, the last ``Conv1d``.
        ``"coarse"`` names that default; ``"fine"`` the first residual block (or the first
        ``Conv1d``), whose time steps are short enough to resolve single waves.
    batch_size : int
        Records per forward/backward pass.

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(2, 3, filters=(8, 8, 8), seq_lengths=(64, 32, 16), kernel_size=5)
    >>> cam = GradCAM(net).attribute(np.random.default_rng(0).normal(size=(2, 2, 64)), target=1)
    >>> cam.shape, float(cam.min()) >= 0, float(cam.max()) <= 1
    ((2, 64), True, True)
    """

    def __init__(self, model: Any, layer: str | None = None, batch_size: int = 64) -> None:
        self.net, self.bundle = _unwrap(model)
        if layer in (None, "coarse"):
            self.layer = _default_layer(self.net)
        elif layer == "fine":
            self.layer = _fine_layer(self.net)
        else:
            self.layer = str(layer)
        modules = dict(self.net.named_modules())
        if self.layer not in modules:
            names = [n for n in modules if n]
            shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
            raise ModelError(
                f"layer {self.layer!r} is not in the model. Available layers: {shown}."
            )
        self.module = modules[self.layer]
        self.batch_size = int(batch_size)

    # -- input handling ---------------------------------------------------------
    def _as_array(self, inputs: Any) -> np.ndarray:
        if isinstance(inputs, ECGDataset):
            if self.bundle is not None:
                return np.asarray(self.bundle.prepare(inputs), dtype=np.float32)
            inputs.check_finite()
            return inputs.signals
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
        # The one forward-hook helper of the package (activations.hooks.capture_outputs).
        with capture_outputs([self.module]) as captured:
            out = self.net(xb)
        act = captured[0]
        if act is None:
            raise ModelError(
                f"layer {self.layer!r} did not output a tensor during the forward pass."
            )
        if act.requires_grad:
            # A tensor hook catches the gradient of exactly this activation, also for
            # blocks that return tuples (module backward hooks do not).
            act.register_hook(lambda g: store.__setitem__("grad", g))
        store["act"] = act
        if act.ndim != 3:
            raise ModelError(
                f"layer {self.layer!r} outputs shape {tuple(act.shape)}; Grad-CAM needs "
                "(batch, channels, time). Choose a convolutional layer or block."
            )
        if out.ndim == 1:
            out = out[:, None]
        return out, act, store

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
                    except RuntimeError as exc:
                        raise ModelError(
                            f"the model failed on inputs of shape {tuple(xb.shape)}: {exc}. "
                            "Check n_leads / n_samples against the model."
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
        Layer to explain (default: as in :class:`GradCAM`, the last residual block).
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
