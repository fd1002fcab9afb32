"""Training loop and evaluation for ECG networks (multilabel or regression)."""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.dataset import ECGDataset, check_choice
from ..data.filtering import SignalFilter
from ..data.standardize import Standardizer
from ..errors import DataError, ModelError
from .checkpoint import DEFAULT_TASK, TASKS, ModelBundle
from .contract import _probe_output
from .resnet1d import ResNet1d


def _check_labels(ds: ECGDataset, name: str, task: str) -> np.ndarray:
    if not isinstance(ds, ECGDataset):
        raise DataError(
            f"{name} must be an ECGDataset, got {type(ds).__name__}; wrap arrays with "
            "ecg_cluster_widget.data.from_numpy(signals, fs, labels=...)."
        )
    if ds.labels is None:
        raise DataError(
            f"{name} has no labels; training needs ds.labels of shape (n_records, n_classes)."
        )
    ds.check_finite()
    y = ds.labels
    if not np.isfinite(y).all():
        raise DataError(f"{name} labels contain NaN or inf; drop or fix those records first.")
    if task == "multilabel" and ((y < 0) | (y > 1)).any():
        raise DataError(
            f"{name} labels must be 0/1 (or probabilities in [0, 1]) for task='multilabel'; "
            f"found values in [{y.min():g}, {y.max():g}]. Use task='regression' for continuous targets."
        )
    return y


def _model_outputs(model: nn.Module, ds: ECGDataset) -> int:
    """Number of outputs, checking the model accepts records shaped like ``ds``."""
    if isinstance(model, ResNet1d):
        cfg = model.config
        if cfg["n_leads"] != ds.n_leads or cfg["seq_lengths"][0] != ds.n_samples:
            raise ModelError(
                f"the model expects input ({cfg['n_leads']} leads, {cfg['seq_lengths'][0]} samples) "
                f"but the data has ({ds.n_leads} leads, {ds.n_samples} samples); build a matching "
                f"model with ResNet1d.for_input(fs={ds.fs:g}, n_samples={ds.n_samples}, "
                f"n_leads={ds.n_leads}) or crop_or_pad the data."
            )
        return int(cfg["n_classes"])
    out = _probe_output(model, ds.n_leads, ds.n_samples)
    if out.ndim != 2:
        raise ModelError("the model must return a tensor of shape (batch, n_outputs).")
    return int(out.shape[1])


def _macro_auroc(y: np.ndarray, p: np.ndarray) -> tuple[float, list[float]]:
    """Macro AUROC over the classes that have both positives and negatives (NaN if none)."""
    from sklearn.metrics import roc_auc_score

    per = []
    for j in range(y.shape[1]):
        yj = y[:, j] >= 0.5
        per.append(float(roc_auc_score(yj, p[:, j])) if 0 < yj.sum() < len(yj) else float("nan"))
    valid = [a for a in per if not np.isnan(a)]
    return (float(np.mean(valid)) if valid else float("nan")), per


def _batches(n: int, batch_size: int, gen: torch.Generator | None) -> list[torch.Tensor]:
    idx = torch.randperm(n, generator=gen) if gen is not None else torch.arange(n)
    out = list(torch.split(idx, batch_size))
    # BatchNorm cannot train on a batch of one: fold a lone leftover into the previous batch.
    if len(out) > 1 and len(out[-1]) == 1:
        out[-2] = torch.cat([out[-2], out.pop()])
    return out


def train_model(
    model: nn.Module,
    train_ds: ECGDataset,
    val_ds: ECGDataset | None = None,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    patience: int = 5,
    seed: int = 0,
    progress: bool = True,
    standardizer: Standardizer | None = None,
    task: str = DEFAULT_TASK,
    signal_filter: SignalFilter | None = None,
    augment: bool = False,
    monitor: str = "val_loss",
    lr_schedule: str | None = None,
    ema_decay: float | None = None,
) -> ModelBundle:
    """Train ``model`` on ``train_ds`` with Adam and early stopping on validation loss.

    Parameters
    ----------
    model : torch.nn.Module
        Network mapping (batch, leads, samples) to (batch, n_outputs); trained in place.
    train_ds, val_ds : ECGDataset
        Labelled data; ``val_ds`` (same fs, leads, length, classes) drives early
        stopping and best-weight restore. Without it the training loss is monitored.
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Optimisation settings (Adam with L2 ``weight_decay``).
    patience : int
        Stop after this many epochs without a lower monitored loss; the best weights
        are restored.
    seed : int
        Seeds batch order and dropout; the global torch RNG state is restored afterwards.
        Same seed, data and initial weights give the same model; bitwise identity across
        processes on CPU also needs a fixed thread count (``torch.set_num_threads(1)``
        is safest, since multi-threaded reductions may change their summation order).
    progress : bool
        Show a tqdm bar over epochs with loss and validation metrics.
    standardizer : Standardizer, optional
        Per-lead z-scoring; fitted on ``train_ds`` when ``None``.
    task : {"multilabel", "regression"}
        BCE-with-logits on 0/1 labels, or MSE on targets standardised with the
        training mean/std (stored as ``meta["target_mean"]`` / ``meta["target_std"]``).
    signal_filter : SignalFilter, optional
        Applied to training and validation signals before standardising, and stored in
        the bundle so every later input is filtered the same way.
    augment : bool
        Random, seeded training-time augmentation of each batch (standardised units):
        amplitude scaling x U(0.8, 1.2) per record, Gaussian noise (sd 0.05), a slow
        random baseline (one sinusoid < 0.5 Hz, amplitude up to 0.1) and a circular
        time shift of up to 1 s. With few hundred records this is what keeps a
        network from memorising them (measured in ``scripts/train_real_model.py``).
    monitor : {"val_loss", "val_auroc"}
        What early stopping and best-weight restore follow (``val_auroc`` needs
        ``val_ds`` and a multilabel task).
    lr_schedule : {None, "cosine"}
        ``"cosine"`` anneals the learning rate from ``lr`` to 0 over ``epochs``.
    ema_decay : float, optional
        Keep an exponential moving average of the weights (per optimiser step, e.g.
        0.99) and validate / return the averaged network. On a few hundred records the
        validation score of single weights jumps by several AUROC points from epoch to
        epoch; the average is steadier and usually better.

    Returns
    -------
    ModelBundle
        The model in eval mode with ``history`` (one dict per epoch: ``epoch``,
        ``train_loss``, ``val_loss``, ``val_auroc`` or ``val_mae``, ``seconds``) and
        ``meta`` (seed, data description, best epoch, final validation metrics).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_cluster_widget.data import ECGDataset
    >>> rng = np.random.default_rng(0)
    >>> ds = ECGDataset(rng.normal(size=(16, 12, 100)), fs=100,
    ...                 labels=rng.integers(0, 2, (16, 2)), class_names=("A", "B"))
    >>> net = ResNet1d(12, 2, filters=(8, 8), seq_lengths=(100, 50))
    >>> bundle = train_model(net, ds, epochs=2, batch_size=8, progress=False)
    >>> len(bundle.history)
    2
    """
    from tqdm.auto import tqdm

    check_choice(task, TASKS, "task", ModelError)
    if not isinstance(model, nn.Module):
        raise ModelError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    if int(epochs) < 1 or int(batch_size) < 1 or int(patience) < 1:
        raise ModelError(
            f"epochs, batch_size and patience must be >= 1 (got {epochs}, {batch_size}, {patience})."
        )
    if not lr > 0:
        raise ModelError(f"lr must be positive, got {lr}.")
    check_choice(lr_schedule, (None, "cosine"), "lr_schedule", ModelError)
    if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
        raise ModelError(f"ema_decay must lie in (0, 1), got {ema_decay!r}.")
    check_choice(monitor, ("val_loss", "val_auroc"), "monitor", ModelError)
    if monitor == "val_auroc" and (val_ds is None or task != "multilabel"):
        raise ModelError("monitor='val_auroc' needs val_ds and task='multilabel'.")
    if signal_filter is not None and not isinstance(signal_filter, SignalFilter):
        raise ModelError(
            f"signal_filter must be a SignalFilter or None, got {type(signal_filter).__name__}."
        )
    y_train = _check_labels(train_ds, "train_ds", task)
    if len(train_ds) < 2:
        raise DataError("train_ds needs at least 2 records (BatchNorm needs batches of 2+).")
    n_out = _model_outputs(model, train_ds)
    if y_train.shape[1] != n_out:
        raise ModelError(
            f"the model has {n_out} outputs but train_ds has {y_train.shape[1]} label columns "
            f"({', '.join(train_ds.class_names or ())}); build the model with n_classes={y_train.shape[1]}."
        )
    y_val = None
    if val_ds is not None:
        y_val = _check_labels(val_ds, "val_ds", task)
        for attr in ("lead_names", "n_samples", "class_names"):
            if getattr(val_ds, attr) != getattr(train_ds, attr):
                raise DataError(
                    f"val_ds and train_ds differ in {attr}: {getattr(val_ds, attr)} vs "
                    f"{getattr(train_ds, attr)}."
                )
        if abs(val_ds.fs - train_ds.fs) > 1e-6 * train_ds.fs:
            raise DataError(
                f"val_ds is sampled at {val_ds.fs:g} Hz but train_ds at {train_ds.fs:g} Hz; "
                f"resample with ecg_cluster_widget.data.resample(val_ds, {train_ds.fs:g})."
            )

    train_sig = train_ds.signals
    val_sig = None if val_ds is None else val_ds.signals
    if signal_filter is not None:
        train_sig = signal_filter.apply(train_sig, train_ds.fs)
        val_sig = None if val_sig is None else signal_filter.apply(val_sig, val_ds.fs)
    if standardizer is None:
        standardizer = Standardizer().fit(train_sig)
    x_train = torch.from_numpy(standardizer.transform(train_sig))
    x_val = None if val_sig is None else torch.from_numpy(standardizer.transform(val_sig))
    max_shift = int(round(train_ds.fs))
    meta: dict[str, Any] = {"seed": int(seed)}
    t_mean, t_std = np.float32(0.0), np.float32(1.0)
    loss_fn: nn.Module = nn.BCEWithLogitsLoss()
    if task == "regression":
        t_mean = y_train.mean(axis=0).astype(np.float32)
        t_std = np.maximum(y_train.std(axis=0), 1e-6).astype(np.float32)
        meta["target_mean"], meta["target_std"] = t_mean.tolist(), t_std.tolist()
        loss_fn = nn.MSELoss()
    yt, yv = (
        None if y is None else torch.from_numpy(((y - t_mean) / t_std).astype(np.float32))
        for y in (y_train, y_val)
    )

    history: list[dict] = []
    best_loss, best_epoch, best_state, bad_epochs = float("inf"), 0, None, 0
    stopped_early = False
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        gen = torch.Generator().manual_seed(int(seed))
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        sched = (
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(epochs))
            if lr_schedule == "cosine"
            else None
        )
        ema = None if ema_decay is None else copy.deepcopy(model).eval()
        bar = tqdm(range(1, int(epochs) + 1), desc="train", unit="epoch", disable=not progress)
        for epoch in bar:
            t0 = time.perf_counter()
            model.train()
            total, count = 0.0, 0
            for idx in _batches(len(x_train), int(batch_size), gen):
                opt.zero_grad(set_to_none=True)
                xb = x_train[idx]
                if augment:
                    xb = _augment(xb, gen, train_ds.fs, max_shift)
                loss = loss_fn(model(xb), yt[idx])
                if not torch.isfinite(loss):
                    raise ModelError(
                        f"training diverged at epoch {epoch} (loss is {loss.item()}); lower lr "
                        f"(now {lr:g}) or check the data scaling."
                    )
                loss.backward()
                opt.step()
                if ema is not None:
                    _ema_update(ema, model, float(ema_decay))
                total += float(loss.item()) * len(idx)
                count += len(idx)
            if sched is not None:
                sched.step()
            rec: dict[str, Any] = {"epoch": epoch, "train_loss": total / count}
            scored = model if ema is None else ema
            if x_val is not None:
                rec.update(_validate(scored, x_val, yv, loss_fn, task, int(batch_size) * 2))
                # Lower is better for the monitored value: AUROC enters negated.
                monitored = rec["val_loss"] if monitor == "val_loss" else -rec["val_auroc"]
            else:
                monitored = rec["train_loss"]
            rec["seconds"] = time.perf_counter() - t0
            history.append(rec)
            bar.set_postfix(
                {k: f"{v:.4f}" for k, v in rec.items() if k not in ("epoch", "seconds")}
            )
            if monitored < best_loss - 1e-6:
                best_loss, best_epoch, bad_epochs = monitored, epoch, 0
                best_state = copy.deepcopy(scored.state_dict())
            else:
                bad_epochs += 1
                if bad_epochs >= patience:
                    stopped_early = True
                    break
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    elif ema is not None:
        model.load_state_dict(ema.state_dict())
    model.eval()
    best = history[best_epoch - 1] if best_epoch else history[-1]
    meta.update(
        best_epoch=best_epoch,
        epochs_run=len(history),
        stopped_early=stopped_early,
        monitored=monitor if val_ds is not None else "train_loss",
        augment=bool(augment),
        data={
            "n_train": len(train_ds),
            "n_val": 0 if val_ds is None else len(val_ds),
            "fs": train_ds.fs,
            "n_samples": train_ds.n_samples,
            "source": train_ds.meta.get("source", "unknown"),
        },
        metrics={k: v for k, v in best.items() if k.startswith("val_")},
        hyperparameters=dict(
            epochs=int(epochs),
            batch_size=int(batch_size),
            lr=float(lr),
            weight_decay=float(weight_decay),
            patience=int(patience),
            lr_schedule=lr_schedule,
            ema_decay=None if ema_decay is None else float(ema_decay),
        ),
    )
    return ModelBundle(
        model,
        class_names=train_ds.class_names,
        lead_names=train_ds.lead_names,
        fs=train_ds.fs,
        n_samples=train_ds.n_samples,
        standardizer=standardizer,
        task=task,
        history=history,
        meta=meta,
        signal_filter=signal_filter,
    )


def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers (BN stats) copied."""
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.mul_(decay).add_(pm.detach(), alpha=1.0 - decay)
        for be, bm in zip(ema.buffers(), model.buffers()):
            be.copy_(bm)


def _augment(x: torch.Tensor, gen: torch.Generator, fs: float, max_shift: int) -> torch.Tensor:
    """Seeded batch augmentation: amplitude scale, noise, slow baseline, circular shift."""
    n, _, t = x.shape
    scale = 0.8 + 0.4 * torch.rand(n, 1, 1, generator=gen)
    noise = 0.05 * torch.randn(x.shape, generator=gen)
    freq = 0.5 * torch.rand(n, 1, 1, generator=gen)
    phase = 2 * torch.pi * torch.rand(n, 1, 1, generator=gen)
    amp = 0.1 * torch.rand(n, 1, 1, generator=gen)
    time_s = torch.arange(t, dtype=torch.float32)[None, None, :] / float(fs)
    out = x * scale + noise + amp * torch.sin(2 * torch.pi * freq * time_s + phase)
    shifts = torch.randint(-max_shift, max_shift + 1, (n,), generator=gen)
    if max_shift > 0:
        # Per-record circular shift by gathering with rolled indices.
        idx = (torch.arange(t)[None, :] - shifts[:, None]) % t
        out = torch.gather(out, 2, idx[:, None, :].expand_as(out))
    return out


def _validate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: nn.Module,
    task: str,
    batch_size: int,
) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(x[s : s + batch_size]) for s in range(0, len(x), batch_size)])
        rec = {"val_loss": float(loss_fn(out, y).item())}
    if task == "multilabel":
        rec["val_auroc"] = _macro_auroc(y.numpy(), torch.sigmoid(out).numpy())[0]
    else:
        # In standardised target units; evaluate_model reports original units.
        rec["val_mae"] = float((out - y).abs().mean().item())
    return rec


def evaluate_model(bundle: ModelBundle, ds: ECGDataset, threshold: float = 0.5) -> dict:
    """Score a trained bundle on labelled data.

    Parameters
    ----------
    bundle : ModelBundle
        The trained model.
    ds : ECGDataset
        Labelled records whose label columns match the model's outputs.
    threshold : float
        Cut-off turning probabilities into labels (multilabel models).

    Returns
    -------
    dict
        Multilabel: ``macro_auroc``, ``auroc`` (per class), ``accuracy`` (per class at
        ``threshold``), ``mean_accuracy``, ``exact_match``, ``macro_f1``, ``f1`` (per
        class), ``n``. Regression: ``r2``, ``mae``, ``rmse``, ``n`` (target units).

    Examples
    --------
    >>> import numpy as np
    >>> from ecg_cluster_widget.data import ECGDataset
    >>> rng = np.random.default_rng(0)
    >>> ds = ECGDataset(rng.normal(size=(8, 12, 100)), fs=100,
    ...                 labels=rng.integers(0, 2, (8, 2)), class_names=("A", "B"))
    >>> b = ModelBundle(ResNet1d(12, 2, filters=(8, 8), seq_lengths=(100, 50)), ("A", "B"),
    ...                 None, fs=100, n_samples=100)
    >>> sorted(evaluate_model(b, ds)["accuracy"])
    ['A', 'B']
    """
    from sklearn.metrics import f1_score, mean_absolute_error, r2_score

    if ds.labels is None:
        raise DataError("evaluate_model needs labelled data (ds.labels is None).")
    if ds.labels.shape[1] != bundle.n_classes:
        raise DataError(
            f"ds has {ds.labels.shape[1]} label columns but the model has {bundle.n_classes} outputs "
            f"({', '.join(bundle.class_names)})."
        )
    if (
        ds.class_names is not None
        and tuple(ds.class_names) != bundle.class_names
        and not all(c.startswith("class_") for c in ds.class_names)
    ):
        raise DataError(
            f"class names differ: data {list(ds.class_names)} vs model {list(bundle.class_names)}."
        )
    p = bundle.predict_proba(ds)
    y = ds.labels
    names = bundle.class_names
    if bundle.task == "regression":
        return {
            "r2": float(r2_score(y, p)) if len(y) > 1 else float("nan"),
            "mae": float(mean_absolute_error(y, p)),
            "rmse": float(np.sqrt(np.mean((y - p) ** 2))),
            "n": len(ds),
        }
    yb = (y >= 0.5).astype(int)
    pb = (p >= threshold).astype(int)
    macro, per = _macro_auroc(y, p)
    f1 = f1_score(yb, pb, average=None, zero_division=0)
    acc = (yb == pb).mean(axis=0)
    return {
        "macro_auroc": macro,
        "auroc": dict(zip(names, per)),
        "accuracy": dict(zip(names, acc.astype(float).tolist())),
        "mean_accuracy": float(acc.mean()),
        "exact_match": float((yb == pb).all(axis=1).mean()),
        "macro_f1": float(np.mean(f1)),
        "f1": dict(zip(names, np.asarray(f1, dtype=float).tolist())),
        "n": len(ds),
    }
