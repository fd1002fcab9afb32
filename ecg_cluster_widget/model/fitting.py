"""Model policy shared by the command line, notebooks and experiments.

:func:`load_model` resolves a model name or checkpoint path, :func:`fit_classifier`
trains the network the ``train`` command trains (sized by
:func:`~ecg_cluster_widget.model.resnet1d.network_layout`, split by
:func:`~ecg_cluster_widget.data.loading.split_dataset`), and :func:`record_predictions`
gives every record's predicted classes and probabilities.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.dataset import ECGDataset
from ..data.filtering import SignalFilter
from ..errors import DataError, FileFormatError
from .checkpoint import ModelBundle

__all__ = ["load_model", "fit_classifier", "record_predictions"]


def load_model(spec: str | os.PathLike) -> ModelBundle:
    """A shipped model by name, otherwise the checkpoint at a path.

    Parameters
    ----------
    spec : str or os.PathLike
        ``"demo"`` (synthetic ECGs, 100 Hz), ``"ptbxl250"`` (real PTB-XL ECGs, 250 Hz) or
        the path of a checkpoint written by ``train`` / ``save_checkpoint``.

    Returns
    -------
    ModelBundle

    Raises
    ------
    FileFormatError
        If the checkpoint file does not exist.

    Examples
    --------
    >>> load_model("demo").fs
    100.0
    """
    from .pretrained import PRETRAINED, load_pretrained

    if str(spec) in PRETRAINED:
        return load_pretrained(str(spec))
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileFormatError(
            f"model checkpoint {str(path)!r} not found (or use a shipped model: "
            f"{', '.join(PRETRAINED)})."
        )
    from .serialization import load_checkpoint

    return load_checkpoint(path)


def fit_classifier(
    ds: ECGDataset,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    signal_filter: SignalFilter | None = None,
    size: str = "small",
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> tuple[ModelBundle, ECGDataset, ECGDataset]:
    """Train a multi-label ResNet1d sized for the records, as ``train`` does.

    Parameters
    ----------
    ds : ECGDataset
        Labelled records, all of one length.
    epochs, batch_size, lr, seed
        Training settings (early stopping on the held-out validation loss).
    signal_filter : SignalFilter, optional
        Applied in training and stored in the bundle.
    size : {"tiny", "small", "ribeiro"}
        Network widths (:data:`~ecg_cluster_widget.model.resnet1d.WIDTHS`).
    progress : bool
    log : callable, optional
        Called with a one-line summary of the split before training.

    Returns
    -------
    bundle, train_ds, val_ds
        The trained model and the split used (PTB-XL folds 1-8 / 9, else random 80/20).

    Raises
    ------
    DataError
        If the records have no labels or are not finite.

    Examples
    --------
    >>> from ecg_cluster_widget.data.loading import load_data
    >>> bundle, tr, va = fit_classifier(load_data("synthetic:10", progress=False), epochs=1,
    ...                                 progress=False)
    >>> bundle.model.config["seq_lengths"], len(tr), len(va)
    ((1000, 500, 250, 125, 25), 8, 2)
    """
    from ..data.loading import split_dataset
    from .resnet1d import ResNet1d
    from .train import train_model

    if ds.labels is None:
        raise DataError("the records have no labels; training needs labelled records.")
    ds.check_finite()
    train_ds, val_ds = split_dataset(ds, seed=seed)
    model = ResNet1d.for_input(ds.fs, ds.n_samples, ds.n_leads, ds.labels.shape[1], size=size)
    if log:
        log(
            f"training on {len(train_ds)} records, validating on {len(val_ds)} ({ds!r}); "
            f"filter: {'none' if signal_filter is None else signal_filter.describe()}"
        )
    bundle = train_model(
        model,
        train_ds,
        val_ds,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        progress=progress,
        signal_filter=signal_filter,
    )
    return bundle, train_ds, val_ds


def record_predictions(
    bundle: ModelBundle,
    ds: ECGDataset,
    threshold: float = 0.5,
    *,
    windows=None,
    record_ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The model's prediction for every record: predicted classes and probabilities.

    Parameters
    ----------
    bundle : ModelBundle
        The explained model.
    ds : ECGDataset
        Records that fit the model (or, with ``windows``, the windows' dataset).
    threshold : float
        Probability at or above which a class counts as predicted (multi-label).
    windows : Windows, optional
        :func:`~ecg_cluster_widget.explain.windowing.fit_windows` of records longer
        (or shorter) than the model's input: each record's output is then the mean over
        its windows, and ``n_windows`` says over how many.
    record_ids : sequence of str, optional
        The records' ids with ``windows`` (default: the windows' ids).

    Returns
    -------
    list of dict
        Per record ``record_id``, ``predicted`` (class names at or above ``threshold``,
        most probable first; for a regression model the predicted value per target),
        ``probabilities`` (class name -> probability; regression: ``{}``) and, with
        ``windows``, ``n_windows``.

    Examples
    --------
    >>> from ecg_cluster_widget.data.loading import load_data
    >>> ds = load_data("synthetic:2", progress=False)
    >>> pred = record_predictions(load_model("demo"), ds)
    >>> sorted(pred[0]), sorted(pred[0]["probabilities"]) == sorted(ds.class_names)
    (['predicted', 'probabilities', 'record_id'], True)
    """
    out = np.asarray(bundle.predict_proba(ds), dtype=np.float64)
    ids = [str(r) for r in ds.record_ids]
    n_windows: list[int | None] = [None] * len(ids)
    if windows is not None:
        n_rec = int(windows.record.max()) + 1
        out = np.stack([out[windows.record == r].mean(axis=0) for r in range(n_rec)])
        n_windows = [int((windows.record == r).sum()) for r in range(n_rec)]
        ids = [str(r) for r in record_ids] if record_ids is not None else ids[:n_rec]
    names = [str(n) for n in bundle.class_names]
    rows: list[dict[str, Any]] = []
    for rid, row, n_w in zip(ids, out, n_windows):
        if bundle.task == "regression":
            predicted: Any = {n: float(v) for n, v in zip(names, row)}
            probabilities = {}
        else:
            predicted = [names[j] for j in np.argsort(-row, kind="stable") if row[j] >= threshold]
            probabilities = {n: round(float(v), 4) for n, v in zip(names, row)}
        rows.append({"record_id": rid, "predicted": predicted, "probabilities": probabilities})
        if n_w is not None:
            rows[-1]["n_windows"] = n_w
    return rows
