"""The checkpoint file format of a :class:`~.checkpoint.ModelBundle`.

A checkpoint is a plain ``torch.save`` dict (tensors, lists, dicts, strings and
numbers only) so that it loads with ``torch.load(..., weights_only=True)`` and never
unpickles arbitrary classes.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.filtering import SignalFilter
from ..data.io_utils import atomic_write_bytes
from ..data.standardize import Standardizer
from ..errors import DataError, FileFormatError, ModelError
from .checkpoint import ModelBundle, is_bundle
from .resnet1d import ResNet1d

#: Value of the ``"format"`` key that marks a file as one of our checkpoints.
CHECKPOINT_FORMAT = "ecg_cluster_widget.checkpoint"
CHECKPOINT_VERSION = 1
_REQUIRED_KEYS = (
    "format",
    "version",
    "arch",
    "state_dict",
    "class_names",
    "lead_names",
    "fs",
    "n_samples",
    "task",
)


def _plain(obj: Any) -> Any:
    """Recursively convert numpy values, tuples and objects with ``to_dict()`` to types
    ``weights_only`` accepts."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, torch.Tensor):
        return obj
    if callable(getattr(obj, "to_dict", None)):  # Standardizer, SignalFilter
        return _plain(obj.to_dict())
    # exact builtin types: subclasses (e.g. torch.__version__) are pickled as globals
    # that weights_only loading refuses
    for t in (bool, int, float, str):
        if isinstance(obj, t):
            return t(obj)
    return repr(obj)


def save_checkpoint(path: str | os.PathLike, bundle: ModelBundle) -> Path:
    """Write ``bundle`` to ``path`` (with :func:`~ecg_cluster_widget.data.io_utils.atomic_write_bytes`).

    For a :class:`ResNet1d` the architecture ``config`` is stored, so
    :func:`load_checkpoint` rebuilds it; for any other module only the weights are
    stored and ``load_checkpoint(path, model=...)`` must be given the module.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.pt`` file; missing folders are created.
    bundle : ModelBundle
        Model, class and lead names, sampling rate, length, standardiser, history.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ModelError
        If ``bundle`` is not a :class:`ModelBundle`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> net = ResNet1d(12, 2, filters=(8, 8), seq_lengths=(100, 50))
    >>> b = ModelBundle(net, ["A", "B"], None, fs=100, n_samples=100)
    >>> p = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "m.pt", b)
    >>> load_checkpoint(p).class_names
    ('A', 'B')
    """
    if not is_bundle(bundle):
        raise ModelError(f"save_checkpoint needs a ModelBundle, got {type(bundle).__name__}.")
    model = bundle.model
    is_resnet = isinstance(model, ResNet1d)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "arch": "ResNet1d" if is_resnet else "custom",
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "config": _plain(model.config) if is_resnet else None,
        "state_dict": state,
        "class_names": list(bundle.class_names),
        "lead_names": list(bundle.lead_names),
        "fs": float(bundle.fs),
        "n_samples": int(bundle.n_samples),
        "standardizer": _plain(bundle.standardizer),
        "task": bundle.task,
        "signal_filter": _plain(bundle.signal_filter),
        "history": _plain(bundle.history),
        "meta": _plain(bundle.meta),
        "input_layout": getattr(bundle, "input_layout", "leads"),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write_bytes(path, buf.getvalue())


def _check_preprocessing(payload: dict, path: Path) -> None:
    """Refuse stored input preparation that would make every prediction NaN or wrong.

    A standardiser with a zero, negative or non-finite std (or mean) divides the signals
    into NaN or inf, silently; a filter cut-off at or above Nyquist cannot be applied.
    """
    fs, n_leads = payload.get("fs"), len(payload.get("lead_names") or [])
    if isinstance(fs, bool) or not isinstance(fs, (int, float)) or not np.isfinite(fs) or fs <= 0:
        raise FileFormatError(f"checkpoint {path} has fs={fs!r}, not a positive number of Hz.")
    std = payload.get("standardizer")
    if std is not None:
        try:
            mean = np.asarray(std["mean"], dtype=np.float64)
            scale = np.asarray(std["std"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise FileFormatError(
                f"checkpoint {path} has a malformed standardizer (needs numeric 'mean' and "
                "'std' per lead); save the model again."
            ) from None
        bad = [
            what
            for what, ok in (
                ("mean and std must have one value per lead",
                 mean.shape == scale.shape == (n_leads,) or n_leads == 0),
                ("mean must be finite", bool(np.isfinite(mean).all())),
                ("std must be finite and > 0", bool(np.isfinite(scale).all() and (scale > 0).all())),
            )
            if not ok
        ]  # fmt: skip
        if bad:
            leads = payload.get("lead_names") or []
            zero = [str(leads[i]) if i < len(leads) else str(i)
                    for i in np.flatnonzero(~(np.isfinite(scale) & (scale > 0)))] if scale.ndim == 1 else []  # fmt: skip
            raise FileFormatError(
                f"checkpoint {path} has an invalid standardizer: {'; '.join(bad)}"
                + (f" (leads {', '.join(zero)})" if zero else "")
                + ". Predictions would be NaN: refit the standardizer on the training data "
                "(Standardizer().fit(train)) and save the model again."
            )
    try:
        sf = SignalFilter.from_dict(payload.get("signal_filter"))
        if sf is not None:
            sf._check_fs(float(fs))  # a cut-off at or above Nyquist cannot be applied
    except (DataError, TypeError, ValueError) as exc:
        raise FileFormatError(
            f"checkpoint {path} has an invalid signal filter for fs={fs} Hz: {exc}"
        ) from None


def load_checkpoint(path: str | os.PathLike, model: nn.Module | None = None) -> ModelBundle:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : path-like
        The ``.pt`` file.
    model : torch.nn.Module, optional
        Required for checkpoints of bring-your-own models (the weights are loaded into
        it); for ResNet1d checkpoints the network is rebuilt from the stored config
        unless a module is given.

    Returns
    -------
    ModelBundle
        The model in eval mode with the stored names, ``fs``, ``n_samples``,
        standardiser, task, history and meta.

    Raises
    ------
    FileFormatError
        The file is missing, truncated, not a checkpoint or lacks required entries.
    ModelError
        ``model`` is needed but missing, or does not match the stored weights.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> load_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "missing.pt")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.FileFormatError: ...missing.pt does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"checkpoint {path} does not exist.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for damaged archives
        raise FileFormatError(
            f"{path} is not a readable checkpoint (truncated, corrupt or not written by "
            f"save_checkpoint): {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise FileFormatError(
            f"{path} is a torch file but not an ecg_cluster_widget checkpoint (no "
            f"format={CHECKPOINT_FORMAT!r} entry); save models with save_checkpoint(path, bundle)."
        )
    missing = [k for k in _REQUIRED_KEYS if k not in payload]
    if missing:
        raise FileFormatError(f"checkpoint {path} lacks the entries {', '.join(missing)}.")
    version = payload["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FileFormatError(
            f"checkpoint {path} has format version {version!r}, not a positive integer; the "
            "file was damaged or not written by save_checkpoint: save the model again."
        )
    if version > CHECKPOINT_VERSION:
        raise FileFormatError(
            f"checkpoint {path} has format version {payload['version']}; this version of "
            f"ecg_cluster_widget reads up to {CHECKPOINT_VERSION}. Upgrade the package."
        )
    _check_preprocessing(payload, path)
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FileFormatError(f"checkpoint {path} has a malformed state_dict.")
    user_model = model is not None
    if model is None:
        if payload["arch"] != "ResNet1d":
            raise ModelError(
                f"checkpoint {path} holds weights of a custom model ({payload.get('model_class')}); "
                "pass the module: load_checkpoint(path, model=MyNet(...))."
            )
        cfg = payload.get("config")
        if not isinstance(cfg, dict):
            raise FileFormatError(f"checkpoint {path} lacks the ResNet1d config.")
        try:
            model = ResNet1d(**cfg)
        except (TypeError, ModelError) as exc:
            raise FileFormatError(
                f"checkpoint {path} has an invalid ResNet1d config {cfg}: {exc}"
            ) from exc
    elif not isinstance(model, nn.Module):
        raise ModelError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        where = "the given model" if user_model else "the stored config"
        raise (ModelError if user_model else FileFormatError)(
            f"the weights in {path} do not fit {where}: {str(exc).splitlines()[0]}"
        ) from exc
    std = payload.get("standardizer")
    try:
        standardizer = None if std is None else Standardizer.from_dict(std)
        # Absent in checkpoints written before filters were recorded: those models were
        # trained on unfiltered signals, so None is their correct behaviour.
        signal_filter = SignalFilter.from_dict(payload.get("signal_filter"))
        return ModelBundle(
            model,
            class_names=payload["class_names"],
            lead_names=payload["lead_names"],
            fs=payload["fs"],
            n_samples=payload["n_samples"],
            standardizer=standardizer,
            task=payload["task"],
            history=payload.get("history") or [],
            meta=payload.get("meta") or {},
            signal_filter=signal_filter,
            # Absent before single-lead (batch, samples) networks were supported.
            input_layout=payload.get("input_layout", "leads"),
        )
    except (KeyError, TypeError, ValueError, DataError) as exc:
        raise FileFormatError(f"checkpoint {path} has malformed metadata: {exc}") from exc
