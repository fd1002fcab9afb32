"""A trained model plus everything needed to feed it data (:class:`ModelBundle`).

Its file format is in :mod:`.serialization`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.special import expit, softmax
from torch import nn

from ..data.dataset import ECGDataset, check_choice, check_dataset
from ..data.filtering import SignalFilter
from ..data.leads import STANDARD_LEADS, canonical_lead_name
from ..data.standardize import Standardizer
from ..errors import DataError, ModelError
from .contract import (
    ForwardFn,
    call_network,
    forward_failure_message,
    make_forward,
    set_forward,
)

#: What a model trained here predicts: independent sigmoid classes, or real-valued targets.
TASKS = ("multilabel", "regression")
#: What a bundle's model may predict: also one softmax class, or a softmax class per sample
#: (segmentation: outputs (batch, classes, time)), for models trained elsewhere.
MODEL_TASKS = TASKS + ("multiclass", "segmentation")
#: The task of a model that does not say (every classifier this package trains).
DEFAULT_TASK = "multilabel"


class ModelBundle:
    """A trained network with the metadata that defines its valid input.

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is put in eval mode.
    class_names : sequence of str
        One name per output (for regression, the target name(s)).
    lead_names : sequence of str
        Lead order the model expects.
    fs : float
        Sampling rate in Hz the model was trained at.
    n_samples : int
        Samples per lead the model expects.
    standardizer : Standardizer or None
        Per-lead z-scoring fitted on the training data; ``None`` feeds signals as given.
    task : {"multilabel", "regression", "multiclass", "segmentation"}
        Multilabel outputs go through a sigmoid; regression outputs are mapped back to
        target units with ``meta["target_mean"]`` / ``meta["target_std"]`` when present;
        multiclass outputs through a softmax; segmentation outputs (batch, classes, time)
        (or (batch, time, classes)) through a softmax per sample.
    history : list of dict, optional
        Per-epoch training record (``train_loss``, ``val_loss``, ``val_auroc``, ...).
    meta : dict, optional
        Free-form metadata: seed, data description, metrics.
    signal_filter : SignalFilter or None
        Filter the model was trained behind (e.g. 0.5-40 Hz band-pass); :meth:`prepare`
        applies it to every input before standardising, so explanations see what the
        network saw in training. ``None`` (old checkpoints, the demo model) feeds
        signals unfiltered.
    forward : callable, optional
        ``forward(network, x)``: how to call a network that is not called as
        ``network(x)``, e.g. ``lambda net, x: net(x, lead_id)`` for an extra argument or
        ``lambda net, x: net(x)[0]`` for a tuple output. Recorded for the network
        (:mod:`.contract`), so the hooks and Grad-CAM call it the same way.
    preprocess : callable, optional
        ``preprocess(x) -> x`` on the (N, leads, samples) array after the filter and the
        standardiser: the model's own normalisation (e.g. per-window scaling). Not saved
        in checkpoints; pass it again after loading.
    input_layout : {"leads", "samples"}
        ``"samples"``: a single-lead network taking (batch, samples); the one lead of
        ``lead_names`` is squeezed out before the network is called.

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_cluster_widget.data import ECGDataset
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 2, filters=(8, 8, 8), seq_lengths=(100, 50, 25))
    >>> bundle = ModelBundle(net, ["A", "B"], lead_names=None, fs=100, n_samples=100)
    >>> ds = ECGDataset(np.zeros((3, 12, 100)), fs=100)
    >>> bundle.predict_proba(ds).shape
    (3, 2)
    """

    # Defaults for bundles pickled before the input contract existed.
    forward_fn: ForwardFn | None = None
    preprocess: Any = None
    input_layout: str = "leads"

    def __init__(
        self,
        model: nn.Module,
        class_names: Sequence[str],
        lead_names: Sequence[str] | None,
        fs: float,
        n_samples: int,
        standardizer: Standardizer | None = None,
        task: str = DEFAULT_TASK,
        history: list[dict] | None = None,
        meta: dict | None = None,
        signal_filter: SignalFilter | None = None,
        forward: ForwardFn | None = None,
        preprocess: Any = None,
        input_layout: str = "leads",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ModelError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        if preprocess is not None and not callable(preprocess):
            raise ModelError(f"preprocess must be callable, got {type(preprocess).__name__}.")
        check_choice(task, MODEL_TASKS, "task", ModelError)
        if lead_names is None:
            lead_names = STANDARD_LEADS
        self.model = model.eval()
        self.class_names = tuple(str(c) for c in class_names)
        self.lead_names = tuple(canonical_lead_name(str(x)) for x in lead_names)
        self.fs = float(fs)
        self.n_samples = int(n_samples)
        self.standardizer = standardizer
        self.task = task
        self.history = list(history or [])
        self.meta = dict(meta or {})
        if signal_filter is not None and not isinstance(signal_filter, SignalFilter):
            raise ModelError(
                f"signal_filter must be a SignalFilter or None, got {type(signal_filter).__name__}."
            )
        self.signal_filter = (
            None if signal_filter is None or signal_filter.is_identity else signal_filter
        )
        if input_layout == "samples" and len(self.lead_names) != 1:
            raise ModelError(
                f"input_layout='samples' is a single-lead network; name its one lead "
                f"(lead_names=['II']), not {len(self.lead_names)}."
            )
        self.forward_fn, self.preprocess, self.input_layout = forward, preprocess, input_layout
        set_forward(self.model, make_forward(forward, input_layout))

    def __setstate__(self, state: dict) -> None:
        # A copy (deepcopy, pickle) has a new network object: record its contract again.
        self.__dict__.update(state)
        if "input_layout" in state:
            set_forward(self.model, make_forward(self.forward_fn, self.input_layout))

    # -- properties -----------------------------------------------------
    @property
    def n_classes(self) -> int:
        """Number of model outputs (``len(class_names)``)."""
        return len(self.class_names)

    @property
    def n_leads(self) -> int:
        """Number of input leads (``len(lead_names)``)."""
        return len(self.lead_names)

    def __repr__(self) -> str:
        return (
            f"ModelBundle({type(self.model).__name__}, task={self.task}, classes={list(self.class_names)}, "
            f"leads={self.n_leads}, fs={self.fs:g} Hz, n_samples={self.n_samples}"
            + ("" if self.signal_filter is None else f", filter={self.signal_filter.describe()!r}")
            + ")"
        )

    @property
    def preprocessing_description(self) -> str:
        """What :meth:`prepare` does to a record, in words (shown in reports and the CLI)."""
        steps = [] if self.signal_filter is None else [self.signal_filter.describe()]
        steps.append("per-lead z-score" if self.standardizer is not None else "no standardisation")
        if self.preprocess is not None:
            steps.append(f"then {getattr(self.preprocess, '__name__', 'custom preprocessing')}")
        return "; ".join(steps)

    # -- input checks ---------------------------------------------------
    def check_dataset(self, ds: ECGDataset) -> None:
        """Raise a clear error if ``ds`` cannot be fed to this model.

        Checks the sampling rate, lead names and count, record length and NaN/inf.

        Examples
        --------
        >>> import numpy as np
        >>> from ecg_cluster_widget.data import ECGDataset
        >>> from ecg_cluster_widget.model import ResNet1d
        >>> net = ResNet1d(12, 1, filters=(8, 8), seq_lengths=(100, 50))
        >>> b = ModelBundle(net, ["y"], None, fs=100, n_samples=100)
        >>> b.check_dataset(ECGDataset(np.zeros((1, 12, 200)), fs=200))
        Traceback (most recent call last):
        ...
        ecg_cluster_widget.errors.DataError: the data is sampled at 200 Hz but the model expects 100 Hz; resample with ecg_cluster_widget.data.resample(ds, 100).
        """
        check_dataset(ds)
        if not math.isclose(ds.fs, self.fs, rel_tol=1e-6):
            raise DataError(
                f"the data is sampled at {ds.fs:g} Hz but the model expects {self.fs:g} Hz; "
                f"resample with ecg_cluster_widget.data.resample(ds, {self.fs:g})."
            )
        self.check_leads(ds.lead_names)
        if ds.n_samples != self.n_samples:
            raise DataError(
                f"records have {ds.n_samples} samples ({ds.duration:g} s) but the model expects "
                f"{self.n_samples} ({self.n_samples / self.fs:g} s); use "
                f"ecg_cluster_widget.data.crop_or_pad(ds, {self.n_samples})."
            )
        ds.check_finite()

    def check_leads(self, lead_names: Sequence[str]) -> None:
        """Raise a :class:`DataError` saying how to fix leads that differ from the model's.

        Names only, so it is cheap enough to run before any resampling. Leads are never
        invented: a model whose leads the data lacks is refused, not fed zeros.

        Examples
        --------
        >>> from ecg_cluster_widget.model import load_demo_model
        >>> load_demo_model().check_leads(["V1"])
        Traceback (most recent call last):
        ...
        ecg_cluster_widget.errors.DataError: the data has 1 leads but the model expects 12 (data leads: V1; model leads: I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6); the data lacks I, II, III, aVR, aVL, aVF, V2, V3, V4, V5, V6 and a model is never fed invented leads: train one on the leads the data has (ecg-cluster-widget train --data ... --leads V1).
        """
        data = tuple(lead_names)
        if data == self.lead_names:
            return
        if len(data) != self.n_leads:
            what = f"{len(data)} leads but the model expects {self.n_leads}"
        else:
            what = (
                "the same leads in a different order"
                if set(data) == set(self.lead_names)
                else "different leads"
            )
        missing = [n for n in self.lead_names if n not in data]
        fix = (
            f"the data lacks {', '.join(missing)} and a model is never fed invented leads: "
            f"train one on the leads the data has (ecg-cluster-widget train --data ... "
            f"--leads {','.join(data)})."
            if missing
            else f"select and order them with --leads {','.join(self.lead_names)} "
            f"(ecg_cluster_widget.data.select_leads(ds, {list(self.lead_names)}))."
        )
        raise DataError(
            f"the data has {what} (data leads: {', '.join(data)}; model leads: "
            f"{', '.join(self.lead_names)}); {fix}"
        )

    def prepare(self, ds: ECGDataset) -> np.ndarray:
        """Checked, standardised model input of shape (N, leads, samples), float32.

        Examples
        --------
        >>> import numpy as np
        >>> from ecg_cluster_widget.data import ECGDataset
        >>> from ecg_cluster_widget.model import ResNet1d
        >>> net = ResNet1d(12, 1, filters=(8, 8), seq_lengths=(100, 50))
        >>> b = ModelBundle(net, ["y"], None, fs=100, n_samples=100)
        >>> b.prepare(ECGDataset(np.ones((2, 12, 100)), fs=100)).dtype
        dtype('float32')
        """
        self.check_dataset(ds)
        x = ds.signals
        if self.signal_filter is not None:
            x = self.signal_filter.apply(x, self.fs)
        if self.standardizer is not None:
            x = self.standardizer.transform(x)
        if self.preprocess is not None:
            shape = x.shape
            x = np.asarray(self.preprocess(np.array(x, dtype=np.float32)))
            if x.shape != shape or not np.isfinite(x).all():
                raise ModelError(
                    f"preprocess returned shape {x.shape} (or non-finite values) for input "
                    f"{shape}; it must keep the (N, leads, samples) shape and give finite values."
                )
        return np.ascontiguousarray(x, dtype=np.float32)

    # -- inference ------------------------------------------------------
    def predict_proba(
        self, ds: ECGDataset, batch_size: int = 128, progress: bool = False
    ) -> np.ndarray:
        """Per-class probabilities, predicted targets (regression) or class fractions.

        Sigmoid per class (multilabel), softmax (multiclass), targets in their units
        (regression); for segmentation the fraction of each record's samples per class
        (the mean of the per-sample softmax, :meth:`predict_per_sample`).

        Returns
        -------
        ndarray of shape (N, n_classes), float32

        Examples
        --------
        >>> import numpy as np
        >>> from ecg_cluster_widget.data import ECGDataset
        >>> from ecg_cluster_widget.model import ResNet1d
        >>> net = ResNet1d(12, 2, filters=(8, 8), seq_lengths=(100, 50))
        >>> b = ModelBundle(net, ["A", "B"], None, fs=100, n_samples=100)
        >>> p = b.predict_proba(ECGDataset(np.zeros((4, 12, 100)), fs=100))
        >>> bool(((p >= 0) & (p <= 1)).all())
        True
        """
        # Prepared in blocks of records: a PTB-XL-size set prepared at once takes ~20 GB.
        block = 2048
        out = np.concatenate(
            [
                self.forward_array(self.prepare(part), batch_size=batch_size, progress=progress)
                for part in (
                    [ds]
                    if len(ds) <= block
                    else [ds.subset(slice(s, s + block)) for s in range(0, len(ds), block)]
                )
            ]
        )
        if self.task == "multilabel":
            return expit(out.astype(np.float64)).astype(np.float32)
        if self.task in ("multiclass", "segmentation"):
            p = softmax(out.astype(np.float64), axis=1)
            return (p if p.ndim == 2 else p.mean(axis=2)).astype(np.float32)
        mean = np.asarray(self.meta.get("target_mean", 0.0), dtype=np.float32)
        std = np.asarray(self.meta.get("target_std", 1.0), dtype=np.float32)
        return (out * std + mean).astype(np.float32)

    def predict(self, ds: ECGDataset, threshold: float = 0.5, batch_size: int = 128) -> np.ndarray:
        """0/1 labels (int64) at ``threshold`` for multilabel; predicted targets for regression.

        Multiclass: one-hot (N, n_classes) of the most probable class; segmentation: the
        most probable class of every output sample, (N, T_out) int64.

        Examples
        --------
        >>> import numpy as np
        >>> from ecg_cluster_widget.data import ECGDataset
        >>> from ecg_cluster_widget.model import ResNet1d
        >>> net = ResNet1d(12, 2, filters=(8, 8), seq_lengths=(100, 50))
        >>> b = ModelBundle(net, ["A", "B"], None, fs=100, n_samples=100)
        >>> sorted(set(b.predict(ECGDataset(np.zeros((4, 12, 100)), fs=100)).ravel()) - {0, 1})
        []
        """
        if self.task == "segmentation":
            out = self.forward_array(self.prepare(ds), batch_size=batch_size)
            return out.argmax(axis=1).astype(np.int64)
        p = self.predict_proba(ds, batch_size=batch_size)
        if self.task == "regression":
            return p
        if self.task == "multiclass":
            return (p == p.max(axis=1, keepdims=True)).astype(np.int64)
        return (p >= threshold).astype(np.int64)

    def forward_array(
        self, x: np.ndarray, batch_size: int = 128, progress: bool = False
    ) -> np.ndarray:
        """Raw network outputs (logits) for an already prepared array (N, C, T).

        (N, n_classes), or for segmentation (N, n_classes, T_out). The network is called
        through its contract (``forward``, ``input_layout``).
        """
        from tqdm.auto import tqdm

        if batch_size < 1:
            raise ModelError(f"batch_size must be >= 1, got {batch_size}.")
        self.model.eval()
        outs = []
        starts = range(0, len(x), int(batch_size))
        with torch.no_grad():
            for s in tqdm(starts, desc="predict", disable=not progress, leave=False):
                xb = torch.from_numpy(np.require(x[s : s + batch_size], None, ["C", "W"]))
                try:
                    out = call_network(self.model, xb)
                except ModelError:
                    raise
                except Exception as exc:
                    raise ModelError(
                        forward_failure_message(self.model, tuple(xb.shape), exc)
                    ) from exc
                outs.append(_logits(out, len(xb), self.n_classes, self.task))
        res = np.concatenate(outs, axis=0)
        if res.shape[1] != self.n_classes:
            raise ModelError(
                f"the model returns {res.shape[1]} outputs but the bundle names "
                f"{self.n_classes} classes ({', '.join(self.class_names)})."
            )
        return res


def _logits(out: Any, n: int, n_classes: int, task: str) -> np.ndarray:
    """A batch of network outputs as (n, n_classes) or, per sample, (n, n_classes, T)."""
    if not isinstance(out, torch.Tensor):
        raise ModelError(
            f"the model returns a {type(out).__name__}, not a tensor of outputs; give its call "
            "as ModelBundle(net, ..., forward=lambda net, x: net(x)[0])."
        )
    out = out.detach().float()
    if task != "segmentation":
        return out.reshape(n, -1).numpy()
    if out.ndim != 3:
        raise ModelError(
            f"task='segmentation' needs per-sample outputs (batch, classes, time); the model "
            f"returns shape {tuple(out.shape)}."
        )
    if out.shape[1] != n_classes and out.shape[2] == n_classes:
        out = out.transpose(1, 2)  # (batch, time, classes)
    return out.numpy()


def is_bundle(obj: object) -> bool:
    """Whether ``obj`` is a model bundle: a network with its input contract.

    The one test the package uses to tell a bundle from a bare ``torch.nn.Module``. A
    :class:`ModelBundle`, or any object following its protocol for feeding data (a
    ``model`` attribute holding the ``torch.nn.Module`` and a callable ``prepare(ds)``),
    so a user's own wrapper works where a bundle's network and input are all that is
    needed (Grad-CAM, hooks); code that needs more (``fs``, classes) asks for it by name.

    Parameters
    ----------
    obj : object

    Returns
    -------
    bool

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 1, filters=(8, 8), seq_lengths=(100, 50))
    >>> is_bundle(ModelBundle(net, ["y"], None, fs=100, n_samples=100)), is_bundle(net)
    (True, False)
    >>> class Wrapper:
    ...     model = net
    ...     def prepare(self, ds):
    ...         return ds.signals
    >>> is_bundle(Wrapper())
    True
    """
    if isinstance(obj, ModelBundle):
        return True
    return (
        not isinstance(obj, nn.Module)
        and isinstance(getattr(obj, "model", None), nn.Module)
        and callable(getattr(obj, "prepare", None))
    )


def as_bundle(obj: object, *, required: bool = False) -> ModelBundle | None:
    """``obj`` as a :class:`ModelBundle`, ``None`` for a bare module (unless ``required``).

    Parameters
    ----------
    obj : ModelBundle or torch.nn.Module
        A model as users pass it to the explainer, Grad-CAM or the evaluations.
    required : bool
        Raise instead of returning ``None`` when ``obj`` is a bare module (for code
        that needs the sampling rate, leads or class names).

    Returns
    -------
    ModelBundle or None

    Raises
    ------
    ModelError
        If ``obj`` is neither, or is a bare module and ``required``; the message says how
        to wrap it.

    Examples
    --------
    >>> from ecg_cluster_widget.model import ResNet1d
    >>> net = ResNet1d(12, 1, filters=(8, 8), seq_lengths=(100, 50))
    >>> as_bundle(net) is None
    True
    >>> as_bundle(net, required=True)
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.ModelError: this needs a ModelBundle, got a bare ResNet1d; wrap it: ModelBundle(module, class_names, lead_names, fs, n_samples).
    """
    if isinstance(obj, ModelBundle):
        return obj
    if isinstance(obj, nn.Module) and not required:
        return None
    what = f"a bare {type(obj).__name__}" if isinstance(obj, nn.Module) else type(obj).__name__
    raise ModelError(
        f"this needs a ModelBundle, got {what}; wrap it: "
        "ModelBundle(module, class_names, lead_names, fs, n_samples)."
    )
