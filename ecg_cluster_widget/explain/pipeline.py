"""The fitting steps of the TLC pipeline that :class:`TLCExplainer` orchestrates.

Input checks, feature extraction and alignment (in bounded-memory chunks), the per-K
cluster registry, the points that define cluster signatures, and :func:`fit_state`, which
runs them all and returns the explainer's whole fitted state (:class:`FitState`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..activations import ActivationExtractor, FeatureAligner, resample_time
from ..clustering.identity import ClusterRegistry, build_registry, check_n_clusters
from ..data.dataset import ECGDataset
from ..errors import DataError
from ..model.checkpoint import is_bundle
from .cache import data_fingerprint, fit_id, model_checksum

__all__ = [
    "FitState",
    "aligned_features",
    "check_dataset",
    "check_layout",
    "fit_aligner",
    "fit_state",
    "model_input",
    "signature_points",
]

#: Records per chunk: raw activation blocks of a whole large dataset never coexist.
CHUNK_RECORDS = 256
#: Fitting records and points whose raw activations define the cluster signatures.
SIG_RECORDS, SIG_POINTS = 64, 8192
#: Fitting records kept (as grid features) to learn a new K's transition matrix.
SMOOTH_RECORDS = 256
#: Fitting points on which other K values are matched against the reference K.
MATCH_POINTS = 50_000


@dataclass
class FitState:
    """Everything a fit computes, replaced in one assignment (see :func:`fit_state`).

    Attributes
    ----------
    extractor : ActivationExtractor
    layers : list of str
    aligner : FeatureAligner
    grid_length, feature_dim : int
        Shape of one record's aligned features.
    fs : float
    n_samples : int
    lead_names : tuple of str
    n_leads : int
        The input layout the explainer was fitted on.
    n_fit_points : int
    timings : dict
        Seconds per stage.
    registry : ClusterRegistry
        The clusterings per K.
    smooth_feats : ndarray
        Fitting records' grid features (temporal prior, transition matrix).
    sig_feats, sig_raw : ndarray
        Aligned features and z-scored raw activations of the signature points.
    model_checksum, data_fingerprint, fit_id : str
        Identity of the fit.
    n_clusters : int
        The current K.

    Examples
    --------
    >>> state, feats = fit_state(tlc, ds, x)  # doctest: +SKIP
    >>> state.registry.reference_k  # doctest: +SKIP
    6
    """

    extractor: ActivationExtractor
    layers: list
    aligner: FeatureAligner
    grid_length: int
    feature_dim: int
    fs: float
    n_samples: int
    lead_names: tuple
    n_leads: int
    n_fit_points: int
    timings: dict
    registry: ClusterRegistry
    smooth_feats: np.ndarray
    sig_feats: np.ndarray
    sig_raw: np.ndarray
    model_checksum: str
    data_fingerprint: str
    fit_id: str
    n_clusters: int
    options: dict = field(default_factory=dict)
    preset: str = ""


def check_dataset(ds: object) -> None:
    """Raise a :class:`DataError` naming the fix unless ``ds`` is an ECGDataset.

    Parameters
    ----------
    ds : object

    Examples
    --------
    >>> check_dataset(np.zeros((1, 12, 100)))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: expected an ECGDataset, got ndarray; ...
    """
    if not isinstance(ds, ECGDataset):
        raise DataError(
            f"expected an ECGDataset, got {type(ds).__name__}; wrap arrays with "
            "ecg_cluster_widget.data.from_numpy(signals, fs)."
        )


def check_layout(ds: ECGDataset, fs: float, n_samples: int, lead_names: tuple) -> None:
    """Check that ``ds`` has the sampling rate, length and leads an explainer was fitted on.

    Parameters
    ----------
    ds : ECGDataset
    fs : float
    n_samples : int
    lead_names : tuple of str

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((1, 1, 100)), fs=100, lead_names=["II"], amplitude_check="ignore")
    >>> check_layout(ds, 250.0, 100, ("II",))
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: the data is sampled at 100 Hz but ...
    """
    if not np.isclose(ds.fs, fs):
        raise DataError(
            f"the data is sampled at {ds.fs:g} Hz but the explainer was fitted at "
            f"{fs:g} Hz; resample with ecg_cluster_widget.data.resample(ds, {fs:g})."
        )
    if ds.n_leads != len(lead_names) or ds.n_samples != n_samples:
        raise DataError(
            f"records are shaped ({ds.n_leads} leads, {ds.n_samples} samples) but the "
            f"explainer was fitted on ({len(lead_names)}, {n_samples}); select the "
            "same leads and crop/pad to the same length."
        )
    if tuple(ds.lead_names) != tuple(lead_names):
        raise DataError(
            f"the data's leads ({', '.join(ds.lead_names)}) differ from those the explainer "
            f"was fitted on ({', '.join(lead_names)}); select/reorder the leads to match."
        )


def model_input(model: Any, ds: ECGDataset, state: FitState | None) -> np.ndarray:
    """Model input of ``ds``: a bundle prepares it; bare-module input is checked as given.

    Parameters
    ----------
    model : ModelBundle or torch.nn.Module
    ds : ECGDataset
    state : FitState or None
        When given (a fitted explainer), bare-module input is checked against its layout.

    Returns
    -------
    ndarray of shape (N, leads, samples)

    Examples
    --------
    >>> ds = ECGDataset(np.zeros((1, 1, 100)), fs=100, lead_names=["II"], amplitude_check="ignore")
    >>> model_input(None, ds, None).shape
    (1, 1, 100)
    """
    check_dataset(ds)
    if is_bundle(model):
        return np.asarray(model.prepare(ds), dtype=np.float32)
    ds.check_finite()
    if state is not None:
        check_layout(ds, state.fs, state.n_samples, state.lead_names)
    return ds.signals


def aligned_features(
    extractor: ActivationExtractor,
    aligner: FeatureAligner,
    x: np.ndarray,
    grid_length: int,
    feature_dim: int,
    progress: bool = False,
) -> np.ndarray:
    """Aligned features (N, T_grid, D) of model input ``x``, in chunks of records.

    Parameters
    ----------
    extractor : ActivationExtractor
    aligner : FeatureAligner
        Fitted.
    x : ndarray of shape (N, leads, samples)
    grid_length, feature_dim : int
        The aligner's output shape per record.
    progress : bool
        A progress bar over chunks (only when there is more than one).

    Returns
    -------
    ndarray of shape (N, grid_length, feature_dim), float32

    Examples
    --------
    >>> feats = aligned_features(extractor, aligner, x, 250, 32)  # doctest: +SKIP
    """
    n = x.shape[0]
    feats = np.empty((n, grid_length, feature_dim), dtype=np.float32)
    starts = range(0, n, CHUNK_RECORDS)
    for s in tqdm(starts, desc="features", disable=not progress or n <= CHUNK_RECORDS, leave=False):
        feats[s : s + CHUNK_RECORDS] = aligner.transform(
            extractor.extract(x[s : s + CHUNK_RECORDS])
        )
    return feats


def fit_aligner(
    opts: Any, blocks: list[np.ndarray], duration_s: float
) -> tuple[FeatureAligner, np.ndarray]:
    """Fit a :class:`FeatureAligner` with an explainer's options; aligned features too.

    Parameters
    ----------
    opts : TLCExplainer
        Read: ``n_components``, ``random_state``, ``block_weighting``,
        ``center_per_record``, ``whiten``, ``detrend_s``, ``scale_per_record``.
    blocks : list of ndarray of shape (N, C_b, T_b)
        The fitting set's hooked activations.
    duration_s : float
        Duration of one record in seconds (converts ``detrend_s`` to grid steps).

    Returns
    -------
    aligner : FeatureAligner
    feats : ndarray of shape (N, T_grid, D)

    Examples
    --------
    >>> aligner, feats = fit_aligner(tlc, blocks, 10.0)  # doctest: +SKIP
    """
    window = None
    if opts.detrend_s is not None:
        # Grid steps per second: the finest block's length over the record's duration.
        grid_fs = max(b.shape[2] for b in blocks) / duration_s
        window = max(2, int(round(opts.detrend_s * grid_fs)))
    aligner = FeatureAligner(
        opts.n_components,
        random_state=opts.random_state,
        block_weighting=opts.block_weighting,
        center_per_record=opts.center_per_record,
        whiten=opts.whiten,
        detrend_window=window,
        scale_per_record=opts.scale_per_record,
    ).fit(blocks)
    return aligner, aligner.transform(blocks)


def signature_points(
    blocks: list[np.ndarray], feats: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned features and per-channel z-scored raw activations of the same fitting points.

    Parameters
    ----------
    blocks : list of ndarray of shape (N, C_b, T_b)
        The hooked activations of the fitting records.
    feats : ndarray of shape (N, T_grid, D)
        Their aligned features.
    seed : int

    Returns
    -------
    feats : ndarray of shape (m, D)
    raw : ndarray of shape (m, sum of C_b), float32
        At most ``SIG_POINTS`` points of at most ``SIG_RECORDS`` records.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f, r = signature_points([rng.normal(size=(3, 4, 10))], rng.normal(size=(3, 10, 2)), 0)
    >>> f.shape, r.shape
    ((30, 2), (30, 4))
    """
    n, tg, dim = feats.shape
    rng = np.random.default_rng(seed + 2)
    recs = np.sort(rng.choice(n, size=min(n, SIG_RECORDS), replace=False))
    raw = np.concatenate([resample_time(b[recs].transpose(0, 2, 1), tg) for b in blocks], axis=2)
    raw = raw.reshape(-1, raw.shape[2])
    pick = np.sort(rng.choice(raw.shape[0], size=min(raw.shape[0], SIG_POINTS), replace=False))
    raw = raw[pick].astype(np.float64)
    raw = (raw - raw.mean(axis=0)) / (raw.std(axis=0) + 1e-8)
    return np.ascontiguousarray(feats[recs].reshape(-1, dim)[pick]), raw.astype(np.float32)


def fit_state(opts: Any, ds: ECGDataset, x: np.ndarray) -> tuple[FitState, np.ndarray]:
    """Run the whole fit: activations, alignment, reference clustering, signatures, identity.

    Parameters
    ----------
    opts : TLCExplainer
        Its options (validated by :func:`~.options.check_options`), model and ``module_``.
    ds : ECGDataset
        The fitting set.
    x : ndarray of shape (N, leads, samples)
        Its model input.

    Returns
    -------
    state : FitState
    feats : ndarray of shape (N, T_grid, D)
        Aligned features of ``ds`` (for the feature cache).

    Examples
    --------
    >>> state, feats = fit_state(tlc, ds, x)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    extractor = ActivationExtractor(
        opts.module_, opts.layers, opts.batch_size, opts.device, progress=opts.progress
    )
    blocks = extractor.extract(x)
    t1 = time.perf_counter()
    src = opts.model if is_bundle(opts.model) else ds
    aligner, feats = fit_aligner(opts, blocks, x.shape[2] / float(src.fs))
    t2 = time.perf_counter()
    n, tg, dim = feats.shape
    check_n_clusters(opts.n_clusters, n * tg)
    rng = np.random.default_rng(opts.random_state)
    m = min(int(opts.max_fit_points), n * tg)
    pick = np.sort(rng.choice(n * tg, size=m, replace=False))
    points = np.ascontiguousarray(feats.reshape(-1, dim)[pick])
    smooth = feats[np.sort(rng.choice(n, size=min(n, SMOOTH_RECORDS), replace=False))]
    # One step that ends complete (a bar closed at 0/1 reads as a failure in a notebook).
    with tqdm(total=1, desc="TLC fit: clustering", disable=not opts.progress, leave=False) as bar:
        registry = build_registry(opts, points, smooth, MATCH_POINTS)
        bar.update(1)
    t3 = time.perf_counter()
    sig_feats, sig_raw = signature_points(blocks, feats, opts.random_state)
    leads = tuple(src.lead_names)
    model_sum, data_sum = model_checksum(opts.model), data_fingerprint(ds)
    params = {k: v for k, v in opts.get_params().items() if k not in ("model", "progress")}
    timings = {"activations_s": t1 - t0, "features_s": t2 - t1, "clustering_s": t3 - t2}
    timings["total_s"] = time.perf_counter() - t0
    state = FitState(
        extractor=extractor,
        layers=list(extractor.layers),
        aligner=aligner,
        grid_length=tg,
        feature_dim=dim,
        fs=float(src.fs),
        n_samples=int(src.n_samples),
        lead_names=leads,
        n_leads=len(leads),
        n_fit_points=m,
        timings=timings,
        registry=registry,
        smooth_feats=smooth,
        sig_feats=sig_feats,
        sig_raw=sig_raw,
        model_checksum=model_sum,
        data_fingerprint=data_sum,
        fit_id=fit_id(model_sum, data_sum, params),
        n_clusters=registry.reference_k,
    )
    return state, feats
