"""The clustering module (CM): a soft k-means layer trained by minibatch Adam, streaming.

This is the clustering objective of Boubekki, Kampffmeyer, Jenssen and Brefeld, "Joint
optimization of an autoencoder for clustering and embedding" (Machine Learning 110, 2021),
used on its own on fixed feature vectors. :class:`ClusteringModule`
(``SoftClusterer(method="cm")``) is the estimator; :func:`fit_cm` and
:func:`cm_statistics` are its training loop and its whole-data pass.

Objective
---------
Soft assignments come from one linear layer, ``gamma_i = softmax(W x_i + b)`` (K
clusters), the centroids are the rows of ``U`` (K, D) and ``gamma_i U`` reconstructs
``x_i``. Per point,

* ``E1 = ||x - gamma U||^2`` (reconstruction),
* ``E2 = sum_k gamma_k (1 - gamma_k) ||u_k||^2``,
* ``E3 = - sum_{k != l} gamma_k gamma_l u_k . u_l``,

and ``E1 + E2 + E3 = sum_k gamma_k ||x - u_k||^2``, the soft k-means distortion
(tests/test_cm.py writes each term out and checks the identity). Per minibatch,

* ``E4 = sum_k (1 - alpha) log(mean_i gamma_ik)``, the log density of a symmetric
  Dirichlet(alpha) prior on the cluster sizes: ``alpha > 1`` penalises small clusters
  (its gradient on the bias of an almost empty cluster stays finite when the distortion
  gradient vanishes, so the cluster is revived instead of dying), ``alpha = 1`` is no
  prior, ``alpha < 1`` favours empty clusters.

The loss minimised is ``mean_i (E1 + E2 + E3) + s2 * E4`` (see "prior scaling").

Design choices
--------------
* **Scalar standardisation.** Training runs on ``(x - m) / s`` where ``m`` is the mean and
  ``s2 = s^2`` the mean per-feature variance of the initialisation sample (one scalar, so
  distances and cluster shapes are unchanged). Adam's step ``lr`` then means the same
  thing on every feature scale, and the result is mapped back to the data's units
  exactly (``U = s U' + m``, ``W = W' / s``, ``b = b' - W' m / s``).
* **Prior scaling.** In standardised units the distortion of a point is a sum of D
  squared deviations of order 1, so ``E4`` enters unscaled there; in the data's units
  this is the factor ``s2`` above. ``alpha`` is therefore dimensionless and does not
  depend on the feature scale, the batch size or the number of points. The reference
  code instead *sums* the distortion over the minibatch and tunes ``alpha`` per data set
  (values of 5-1000 for batches of 30-600); per point its prior weighs
  ``(alpha - 1) / batch_size`` against the raw distortion. The default ``alpha=1.5`` is
  strong enough to revive dying clusters and weak enough to leave clearly separated
  clusters of 1 % of the data alone (tests/test_cm.py checks both).
* **Initialisation** as in the reference: k-means++ seeds for ``U`` (on a seeded
  subsample of at most 20,000 points of the first shuffle buffer), ``W = pinv(U)`` (so
  ``W u_k = e_k`` when ``K <= D``) and ``b = 0``, all in standardised units.
* **Analytic gradients.** The gradient of the loss is written out (softmax backward of
  ``d_ik + s2 (1 - alpha) / (n mean_i gamma_ik)``, and ``2 (n_k u_k - gamma^T x) / n``
  for the centroids) and Adam is applied with fused ``torch._foreach`` updates: a
  step costs ~4x less than autograd on these tiny matrices (the step is overhead-bound),
  and tests compare it with autograd on the four terms.
* **Polyak averaging.** After the training epochs, one more epoch is run whose
  parameters are averaged over all its minibatch steps (as the reference does). The
  minibatch gradient keeps the iterate jittering around the optimum at a distance set
  by ``lr``; the average of one epoch's iterates sits much closer to it and removes
  the dependence of the result on which minibatch happened to come last (at a large
  ``lr`` it lowers the whole-data loss; tests/test_cm.py checks it). While the loss is
  still falling the average lags a little behind the last iterate (its gamma is slightly
  softer, since the gate sharpens during training), a small price for a result that
  does not hinge on the last minibatch.
* **Streaming.** Rows arrive as chunks (:func:`fit_cm` takes a function returning an
  iterator of arrays, called once per epoch). They are copied into a float32 shuffle
  buffer of ``shuffle_buffer`` rows; each full buffer is permuted with a seeded
  ``torch.Generator`` and cut into minibatches. Memory is one buffer, whatever the
  number of points, and the minibatches depend only on the row sequence, not on how
  it is chunked, so an in-memory array, a ``np.memmap`` and a chunk stream of the same
  rows give the same fit. With at most ``shuffle_buffer`` points (the default holds
  262,144) every epoch is a full shuffle; with more, the shuffle is local to each
  buffer, so feed large data in random order (or raise ``shuffle_buffer``).
* **Determinism.** Float32; no global RNG is read or written (k-means++ gets an integer
  seed, the batch order its own generator, on the CPU whatever the device); torch runs
  single-threaded during the fit (the previous thread count is restored): on these
  small products threads only add contention, and a fixed thread count keeps the sums
  bitwise reproducible.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.cluster import kmeans_plusplus
from sklearn.utils._param_validation import Interval

from ..activations.features import single_thread_blas
from ..errors import DataError, ModelError
from .base import BaseSoftClusterer, _check_chunks_fn, check_points

__all__ = [
    "CMFit",
    "CMStats",
    "ClusteringModule",
    "cm_gradients",
    "cm_statistics",
    "fit_cm",
    "resolve_device",
]

#: k-means++ runs on a seeded subsample of at most this many points.
KMEANSPP_MAX_POINTS = 20_000
#: k-means++ is drawn this many times; the seeding of lowest potential is kept (one draw
#: misses a cluster of 1 % of the points about half the time, the best of 5 almost never).
KMEANSPP_TRIALS = 5
#: With ``epochs=None``: at least this many training epochs and optimizer steps ...
AUTO_MIN_EPOCHS = 5
AUTO_MIN_STEPS = 4_000
#: ... and at most this many epochs (a few dozen points would otherwise need thousands).
AUTO_MAX_EPOCHS = 2_000
_LOG_EPS = 1e-10
_BETA1, _BETA2, _ADAM_EPS = 0.9, 0.999, 1e-8
_STATS_ROWS = 65_536


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``device`` into a usable :class:`torch.device`, with a clear error if it is not.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...

    Returns
    -------
    torch.device

    Raises
    ------
    DataError
        Not a device name (or a device type other than CPU / CUDA).
    ModelError
        CUDA requested where torch cannot use it (the message names the fix).

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("gpu")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: device='gpu' is not a torch device; use "cpu" or "cuda" (or "cuda:N").
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DataError(
            f'device={device!r} is not a torch device; use "cpu" or "cuda" (or "cuda:N").'
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(
                f"device={str(device)!r} was requested but CUDA is not available (torch "
                f"{torch.__version__} sees no usable GPU); use device='cpu' (the default) or "
                "install a CUDA build of torch on a machine with an NVIDIA GPU."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DataError(
                f"device={str(device)!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist; use 'cuda' or 'cuda:0'."
            )
    elif dev.type != "cpu":
        raise DataError(
            f'device={str(device)!r} is not supported for clustering; use "cpu" or "cuda".'
        )
    return dev


ChunksFn = Callable[[], Iterable]


def _buffers(
    chunks: Iterable, rows: int, n_features: int | None, name: str, again: bool = False
) -> Iterator[np.ndarray]:
    """Re-block the chunks into float32 buffers of ``rows`` rows (the last may be shorter).

    The yielded array is reused: the consumer must be done with it before asking for
    the next one.
    """
    buf: np.ndarray | None = None
    fill = 0
    for chunk in chunks:
        a = check_points(chunk, n_features, name, finite=False, min_rows=0)
        if buf is None:
            n_features = a.shape[1]
            buf = np.empty((rows, n_features), dtype=np.float32)
        start = 0
        while start < a.shape[0]:
            take = min(rows - fill, a.shape[0] - start)
            part = buf[fill : fill + take]
            with np.errstate(over="ignore", invalid="ignore"):
                part[...] = a[start : start + take]
            if not np.isfinite(part).all():
                raise DataError(
                    f"{name} contains NaN or inf (or values beyond the float32 range); the "
                    "features must be finite."
                )
            fill += take
            start += take
            if fill == rows:
                yield buf
                fill = 0
    if buf is None:
        if again:
            raise DataError(
                "chunks_fn() yielded no rows on a later call; it must return a fresh iterator "
                "over the same rows each time it is called (e.g. a function that re-opens the "
                "file), not a generator that is used up after one epoch."
            )
        raise DataError(
            f"{name} is empty (0 points, n_samples = 0); pass at least n_clusters points."
        )
    if fill:
        yield buf[:fill]


def _batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous [a, b) slices of ``batch_size``; a last remainder < half a batch joins
    the previous batch (a 1-point batch would make the prior term meaningless)."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] < batch_size / 2:
        starts.pop()
    ends = starts[1:] + [n]
    return list(zip(starts, ends))


@contextlib.contextmanager
def _torch_single_thread() -> Iterator[None]:
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


@dataclass
class CMFit:
    """Result of :func:`fit_cm`, in the data's units.

    Attributes
    ----------
    centroids : ndarray of shape (K, D)
        Centroids ``U`` (float64).
    W : ndarray of shape (K, D)
        Gate weights: ``gamma = softmax(X @ W.T + b)``.
    b : ndarray of shape (K,)
        Gate bias.
    loss_history : ndarray of shape (n_epochs,)
        Mean minibatch loss of each epoch (the last one is the averaging epoch), in
        squared data units.
    n_epochs, n_steps : int
        Epochs (including the averaging epoch) and optimizer steps run.
    converged : bool
        Whether the relative change of the epoch loss fell below ``tol``.
    n_features, n_points : int
        Columns and rows seen per epoch.
    mean, scale : ndarray of shape (D,), float
        The standardisation ``(x - mean) / scale`` used for training.
    prior_weight : float
        Weight of ``E4`` in the data's units (``scale ** 2``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 0.1, (40, 2)), rng.normal(3, 0.1, (40, 2))]
    >>> fit = fit_cm(lambda: [X], 2, epochs=100)
    >>> fit.centroids.shape, fit.n_epochs, bool(fit.loss_history[0] > fit.loss_history[-1])
    ((2, 2), 101, True)
    """

    centroids: np.ndarray
    W: np.ndarray
    b: np.ndarray
    loss_history: np.ndarray
    n_epochs: int
    n_steps: int
    converged: bool
    n_features: int
    n_points: int
    mean: np.ndarray = field(repr=False)
    scale: float = 1.0
    prior_weight: float = 1.0


def _best_kmeanspp(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """The k-means++ seeding with the lowest potential among ``KMEANSPP_TRIALS`` draws."""
    best, best_pot = None, np.inf
    z_sq = (z**2).sum(axis=1)
    for trial_seed in rng.integers(0, 2**31 - 1, size=KMEANSPP_TRIALS):
        seeds, _ = kmeans_plusplus(z, k, random_state=int(trial_seed))
        d = z_sq[:, None] - 2.0 * (z @ seeds.T) + (seeds**2).sum(axis=1)[None, :]
        pot = float(np.maximum(d, 0.0).min(axis=1).sum())
        if pot < best_pot:
            best, best_pot = seeds, pot
    return best


def _init_params(
    buf: np.ndarray, k: int, seed: int, device: torch.device
) -> tuple[np.ndarray, float, list[torch.Tensor]]:
    """Standardisation and k-means++ / pinv initialisation from the first buffer."""
    rng = np.random.default_rng(seed)
    n = buf.shape[0]
    if n > KMEANSPP_MAX_POINTS:
        sub = buf[np.sort(rng.choice(n, KMEANSPP_MAX_POINTS, replace=False))]
    else:
        sub = buf
    sub = sub.astype(np.float64)
    if sub.shape[0] < k:
        raise DataError(
            f"n_clusters={k} is larger than the number of points in the first "
            f"{sub.shape[0]} rows (n_samples = {sub.shape[0]}); use fewer clusters or more data."
        )
    mean = sub.mean(axis=0)
    centred = sub - mean
    var = float((centred**2).mean())
    scale = math.sqrt(var) if var > 1e-24 else 1.0
    z = centred / scale
    seeds = _best_kmeanspp(z, k, rng)
    w = np.linalg.pinv(seeds)  # (D, K): logits = z @ w
    params = [
        torch.tensor(w, dtype=torch.float32, device=device),
        torch.zeros(k, dtype=torch.float32, device=device),
        torch.tensor(seeds, dtype=torch.float32, device=device),
    ]
    return mean, scale, params


def cm_gradients(
    x: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    U: torch.Tensor,
    prior: float | torch.Tensor,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Loss and its analytic gradients for one minibatch (standardised units).

    The loss is ``mean_i sum_k g_ik ||x_i - u_k||^2 + sum_k prior_k log(mean_i g_ik)``
    with ``g = softmax(x @ W + b)`` and ``prior = 1 - alpha`` (times the prior weight).

    Parameters
    ----------
    x : torch.Tensor of shape (n, D)
    W : torch.Tensor of shape (D, K)
    b : torch.Tensor of shape (K,)
    U : torch.Tensor of shape (K, D)
    prior : float or torch.Tensor of shape (K,)

    Returns
    -------
    loss : torch.Tensor
        0-d.
    grads : list of torch.Tensor
        Gradients with respect to ``W``, ``b`` and ``U``.

    Examples
    --------
    >>> x = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    >>> loss, (gW, gb, gU) = cm_gradients(x, torch.zeros(3, 2), torch.zeros(2), torch.eye(2, 3), -0.5)
    >>> gW.shape, gb.shape, gU.shape
    (torch.Size([3, 2]), torch.Size([2]), torch.Size([2, 3]))
    """
    n = x.shape[0]
    g = torch.softmax(torch.addmm(b, x, W), dim=1)
    usq = (U * U).sum(dim=1)
    # d_ik without ||x_i||^2 (constant over k: it cancels in the softmax backward).
    d = torch.addmm(usq, x, U.T, alpha=-2.0)
    pbar = g.mean(dim=0)
    dg = (d + prior / (pbar + _LOG_EPS)) / n
    dz = g * (dg - (g * dg).sum(dim=1, keepdim=True))
    nk = g.sum(dim=0)
    grad_u = (nk[:, None] * U - g.T @ x) * (2.0 / n)
    loss = ((x * x).sum() + (g * d).sum()) / n + (prior * torch.log(pbar + _LOG_EPS)).sum()
    return loss, [x.T @ dz, dz.sum(dim=0), grad_u]


def fit_cm(
    chunks_fn: ChunksFn,
    n_clusters: int,
    *,
    alpha: float = 1.5,
    epochs: int | None = None,
    batch_size: int = 256,
    lr: float = 1e-3,
    tol: float = 1e-4,
    random_state: int = 0,
    device: str | torch.device = "cpu",
    shuffle_buffer: int = 262_144,
    average_last_epoch: bool = True,
    name: str = "X",
) -> CMFit:
    """Train the clustering module on the rows produced by ``chunks_fn``.

    Parameters
    ----------
    chunks_fn : callable
        ``chunks_fn()`` returns an iterable of 2-D arrays (n_i, D); it is called once per
        epoch and must produce the same rows in the same order each time.
    n_clusters : int
        K.
    alpha : float
        Dirichlet concentration (dimensionless, see the module docstring).
    epochs : int, optional
        Training epochs before the averaging epoch. ``None``: at least
        ``AUTO_MIN_EPOCHS`` epochs and ``AUTO_MIN_STEPS`` steps (at most
        ``AUTO_MAX_EPOCHS`` epochs).
    batch_size, lr : int, float
        Minibatch size and Adam step size (standardised units).
    tol : float
        ``converged`` is set when the last two training epochs' losses differ by less
        than ``tol`` (relative). The number of epochs is fixed in advance (no early
        stopping), so the result does not depend on minibatch noise crossing ``tol``.
    random_state : int
        Seeds the k-means++ subsample and seeds, and the batch order.
    device : str or torch.device
        Where the minibatch steps run.
    shuffle_buffer : int
        Rows held in memory and shuffled together.
    average_last_epoch : bool
        Run the extra epoch whose iterates are averaged (Polyak). ``False`` is for
        comparisons only: that epoch then runs plainly and the result is its last iterate.
    name : str
        Name of the data in error messages.

    Returns
    -------
    CMFit

    Examples
    --------
    >>> X = np.r_[np.zeros((30, 2)), np.ones((30, 2))] + np.random.default_rng(0).normal(0, .1, (60, 2))
    >>> fit_cm(lambda: [X[:25], X[25:]], 2, epochs=50).n_points
    60
    """
    dev = resolve_device(device)
    k = int(n_clusters)
    seed = int(random_state)
    gen = torch.Generator().manual_seed(seed)
    params: list[torch.Tensor] | None = None
    moments1: list[torch.Tensor] = []
    moments2: list[torch.Tensor] = []
    mean = np.zeros(0)
    scale = 1.0
    n_features: int | None = None
    n_points = 0
    history: list[float] = []
    step = 0
    converged = False
    prior = 1.0 - float(alpha)
    total_epochs = epochs
    epoch = 0
    with _torch_single_thread(), torch.no_grad():
        mean_t = scale_t = None
        while True:
            averaging = total_epochs is not None and epoch == total_epochs
            sums = (
                [torch.zeros_like(p) for p in params]
                if averaging and params and average_last_epoch
                else None
            )
            n_avg = 0
            loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
            seen = 0
            chunks = chunks_fn()
            for buf in _buffers(chunks, int(shuffle_buffer), n_features, name, epoch > 0):
                if params is None:
                    n_features = buf.shape[1]
                    mean, scale, params = _init_params(buf, k, seed, dev)
                    moments1 = [torch.zeros_like(p) for p in params]
                    moments2 = [torch.zeros_like(p) for p in params]
                    mean_t = torch.tensor(mean, dtype=torch.float32, device=dev)
                    scale_t = float(scale)
                xb_all = (torch.from_numpy(buf).to(dev) - mean_t) / scale_t
                m = xb_all.shape[0]
                perm = torch.randperm(m, generator=gen).to(dev)
                for a, z in _batch_bounds(m, int(batch_size)):
                    xb = xb_all[perm[a:z]]
                    loss, grads = cm_gradients(xb, params[0], params[1], params[2], prior)
                    step += 1
                    torch._foreach_mul_(moments1, _BETA1)
                    torch._foreach_add_(moments1, grads, alpha=1.0 - _BETA1)
                    torch._foreach_mul_(moments2, _BETA2)
                    torch._foreach_addcmul_(moments2, grads, grads, value=1.0 - _BETA2)
                    denom = torch._foreach_sqrt(moments2)
                    torch._foreach_div_(denom, math.sqrt(1.0 - _BETA2**step))
                    torch._foreach_add_(denom, _ADAM_EPS)
                    torch._foreach_addcdiv_(
                        params, moments1, denom, value=-float(lr) / (1.0 - _BETA1**step)
                    )
                    if sums is not None:
                        torch._foreach_add_(sums, params)
                        n_avg += 1
                    loss_sum += loss.double() * (z - a)
                seen += m
            if epoch == 0:
                n_points = seen
                if total_epochs is None:
                    per_epoch = step
                    total_epochs = int(
                        min(
                            AUTO_MAX_EPOCHS,
                            max(AUTO_MIN_EPOCHS, math.ceil(AUTO_MIN_STEPS / per_epoch)),
                        )
                    )
            elif seen != n_points:
                raise DataError(
                    f"chunks_fn() produced {seen} rows in epoch {epoch + 1} but {n_points} in the "
                    "first; it must yield the same rows every time it is called."
                )
            history.append(float(loss_sum) / seen)
            epoch += 1
            if averaging:
                if sums is not None:
                    torch._foreach_div_(sums, float(n_avg))
                    params = sums
                break
            if len(history) >= 2:
                prev, cur = history[-2], history[-1]
                converged = abs(prev - cur) <= float(tol) * max(abs(prev), 1e-12)
        w = params[0].double().cpu().numpy() / scale
        b = params[1].double().cpu().numpy() - mean @ w
        u = params[2].double().cpu().numpy() * scale + mean
    s2 = scale**2
    return CMFit(
        centroids=u,
        W=np.ascontiguousarray(w.T),
        b=b,
        loss_history=np.asarray(history) * s2,
        n_epochs=epoch,
        n_steps=step,
        converged=bool(converged),
        n_features=int(n_features),
        n_points=n_points,
        mean=mean,
        scale=scale,
        prior_weight=s2,
    )


@dataclass
class CMStats:
    """Whole-data statistics of a fitted clustering module (see :func:`cm_statistics`).

    Attributes
    ----------
    weights : ndarray of shape (K,)
        Mean ``gamma`` over the points (sums to 1).
    variances : ndarray of shape (K,)
        ``sum_i gamma_ik ||x_i - u_k||^2 / (D sum_i gamma_ik)``: the gamma-weighted
        per-dimension variance of each cluster.
    distortion : float
        Mean soft k-means distortion ``E1 + E2 + E3``.
    loss : float
        ``distortion`` plus the prior term on the whole-data cluster sizes.
    labels : ndarray of shape (n,) or None
        ``argmax_k gamma`` of every point (int64), when asked for.

    Examples
    --------
    >>> CMStats(np.array([1.0]), np.array([0.5]), 1.0, 1.0, None).weights.tolist()
    [1.0]
    """

    weights: np.ndarray
    variances: np.ndarray
    distortion: float
    loss: float
    labels: np.ndarray | None


def cm_statistics(
    chunks_fn: ChunksFn,
    fit: CMFit,
    *,
    alpha: float = 1.5,
    labels: bool = True,
    rows: int = _STATS_ROWS,
    name: str = "X",
) -> CMStats:
    """One pass over the data: cluster weights, variances, loss and (optionally) labels.

    Parameters
    ----------
    chunks_fn : callable
        As for :func:`fit_cm` (called once).
    fit : CMFit
        The trained module.
    alpha : float
        Dirichlet concentration used for the loss.
    labels : bool
        Also return every point's hard label (8 bytes per point).
    rows : int
        Points processed at a time (float64 work arrays of ``rows x (D + 2K)``).
    name : str
        Name of the data in error messages.

    Returns
    -------
    CMStats

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 0.1, (40, 2)), rng.normal(3, 0.1, (40, 2))]
    >>> fit = fit_cm(lambda: [X], 2, epochs=100)
    >>> st = cm_statistics(lambda: [X], fit)
    >>> st.weights.round(2).tolist(), np.bincount(st.labels).tolist()
    ([0.5, 0.5], [40, 40])
    """
    k, dim = fit.centroids.shape
    u = fit.centroids
    u_sq = (u**2).sum(axis=1)
    sum_g = np.zeros(k)
    sum_gd = np.zeros(k)
    n = 0
    out: list[np.ndarray] = []
    for buf in _buffers(chunks_fn(), int(rows), dim, name, True):
        x = buf.astype(np.float64)
        z = x @ fit.W.T + fit.b[None, :]
        if labels:
            out.append(z.argmax(axis=1))
        g = np.exp(z - z.max(axis=1, keepdims=True))
        g /= g.sum(axis=1, keepdims=True)
        d = np.maximum((x**2).sum(axis=1)[:, None] - 2.0 * (x @ u.T) + u_sq[None, :], 0.0)
        sum_g += g.sum(axis=0)
        sum_gd += (g * d).sum(axis=0)
        n += x.shape[0]
    weights = sum_g / n
    floor = 1e-12 * max(fit.scale**2, 1e-300)
    variances = np.maximum(sum_gd / (np.maximum(sum_g, 1e-300) * dim), floor)
    distortion = float(sum_gd.sum() / n)
    prior = fit.prior_weight * float(((1.0 - float(alpha)) * np.log(weights + _LOG_EPS)).sum())
    return CMStats(
        weights=weights,
        variances=variances,
        distortion=distortion,
        loss=distortion + prior,
        labels=np.concatenate(out).astype(np.int64) if labels else None,
    )


class ClusteringModule(BaseSoftClusterer):
    """The clustering module as a soft clusterer, trained by streaming; ``method="cm"``.

    ``gamma = softmax(X @ W_.T + b_)`` from one linear layer, centroids ``U``, trained by
    minibatch Adam on the soft k-means distortion plus a Dirichlet prior on the cluster
    sizes, with a Polyak-averaged last epoch (see the module docstring). :meth:`fit` reads
    an array or ``np.memmap`` one shuffle buffer at a time, :meth:`fit_stream` takes chunks
    from any source.

    Parameters
    ----------
    n_clusters : int
        Number of clusters K (an integer >= 2).
    random_state : int or None
        Seed of the k-means++ initialisation and of the batch order (``None``: a fresh one).
    tol : float
        ``converged_`` is set when the last two epoch losses differ by less than ``tol``
        (relative).
    temperature : float
        Divides the gate logits in :meth:`predict_proba` (> 0).
    alpha : float
        Concentration of the symmetric Dirichlet prior on the cluster sizes (> 0; 1 = no
        prior, > 1 keeps clusters from emptying). Dimensionless: the prior is weighed in
        units of the mean feature variance.
    epochs : int or None
        Training epochs before the Polyak-averaged last epoch. ``None`` chooses
        ``max(5, ceil(4000 / steps_per_epoch))`` (at most 2000), i.e. at least 4000 Adam
        steps: 6 epochs for 2*10^5 points.
    batch_size : int
        Points per minibatch.
    lr : float
        Adam step size, in units of the (scalar-standardised) features.
    device : str
        Torch device of the minibatch steps, ``"cpu"`` or ``"cuda"``.
    shuffle_buffer : int
        Points held in memory and shuffled together (float32, 128 MB at D = 128 for the
        default); with more points than this, each buffer is shuffled on its own.
    compute_labels : bool
        Store ``labels_`` (the hard label of every fitted point).

    Attributes
    ----------
    centroids_ : ndarray of shape (K, D)
    W_ : ndarray of shape (K, D)
        Gate weights.
    b_ : ndarray of shape (K,)
        Gate bias.
    weights_ : ndarray of shape (K,)
        Mean ``gamma``, summing to 1; clusters sorted by decreasing weight.
    variances_ : ndarray of shape (K,)
        Gamma-weighted per-dimension variance of each cluster.
    n_iter_ : int
        Epochs, including the averaging epoch.
    n_steps_ : int
        Adam steps.
    converged_ : bool
    lower_bound_ : float
        Minus the whole-data loss (distortion plus prior).
    loss_history_ : ndarray of shape (n_iter_,)
        Mean minibatch loss of each epoch, in squared feature units.
    n_features_in_ : int
    labels_ : ndarray of shape (n_points,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(3, 0.1, (50, 2))])
    >>> cm = ClusteringModule(n_clusters=2, epochs=200).fit(X)
    >>> cm.weights_.round(2).tolist(), bool(cm.loss_history_[0] > cm.loss_history_[-1])
    ([0.5, 0.5], True)
    """

    method = "cm"
    _in_memory = False
    _per_cluster = (*BaseSoftClusterer._per_cluster, "W_", "b_")
    _parameter_constraints: dict = {
        **{k: v for k, v in BaseSoftClusterer._parameter_constraints.items() if k != "max_iter"},
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "epochs": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "shuffle_buffer": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters: int = 6,
        *,
        random_state: int | None = 0,
        tol: float = 1e-4,
        temperature: float = 1.0,
        alpha: float = 1.5,
        epochs: int | None = None,
        batch_size: int = 256,
        lr: float = 1e-3,
        device: str = "cpu",
        shuffle_buffer: int = 262_144,
        compute_labels: bool = True,
    ) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.tol = tol
        self.temperature = temperature
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.device = device
        self.shuffle_buffer = shuffle_buffer
        self.compute_labels = compute_labels

    def _check_params(self, n_points: int | None) -> None:
        super()._check_params(n_points)
        if self.shuffle_buffer < self.n_clusters:
            raise DataError(
                f"shuffle_buffer must be an integer >= n_clusters ({self.n_clusters}), got "
                f"{self.shuffle_buffer!r}."
            )
        resolve_device(self.device)

    def _fit(self, X, init: np.ndarray | None) -> None:
        if init is not None:
            raise DataError("init= (start centres) is not supported by the clustering module.")
        rows, n = int(self.shuffle_buffer), X.shape[0]
        self._fit_chunks(lambda: (X[i : i + rows] for i in range(0, n, rows)), "X")

    def fit_stream(self, chunks_fn: Callable[[], Iterable]) -> ClusteringModule:
        """Fit on chunks without holding them all: one shuffle buffer in memory.

        Parameters
        ----------
        chunks_fn : callable
            ``chunks_fn()`` returns an iterator over 2-D arrays (n_i, n_features). It is
            called once per epoch plus once for the final statistics, and must yield the
            same rows in the same order every time; the fit then equals :meth:`fit` on
            the concatenated rows, for any chunking.

        Returns
        -------
        self

        Examples
        --------
        >>> X = np.r_[np.zeros((30, 2)), np.ones((30, 2))]
        >>> chunks = lambda: (X[i : i + 7] for i in range(0, 60, 7))
        >>> sc = ClusteringModule(2, epochs=100).fit_stream(chunks)
        >>> sc.n_features_in_, np.bincount(sc.labels_).tolist()
        (2, [30, 30])
        """
        _check_chunks_fn(chunks_fn)
        self._check_params(None)
        self._clear_fitted()
        self._fit_chunks(chunks_fn, "chunk")
        return self._finish(None)

    def _fit_chunks(self, chunks_fn: ChunksFn, name: str) -> None:
        params = ("epochs", "batch_size", "lr", "tol", "device", "shuffle_buffer")
        fit = fit_cm(
            chunks_fn,
            int(self.n_clusters),
            alpha=float(self.alpha),
            random_state=self._seed,
            name=name,
            **{p: getattr(self, p) for p in params},
        )
        with single_thread_blas():
            stats = cm_statistics(
                chunks_fn, fit, alpha=float(self.alpha), labels=self.compute_labels, name=name
            )
        self.centroids_, self.W_, self.b_ = fit.centroids, fit.W, fit.b
        self.weights_, self.variances_ = stats.weights, stats.variances
        self.n_iter_, self.n_steps_, self.converged_ = fit.n_epochs, fit.n_steps, fit.converged
        self.lower_bound_, self.loss_history_ = -stats.loss, fit.loss_history
        self.n_features_in_ = fit.n_features
        if stats.labels is not None:
            self.labels_ = stats.labels

    def _logits(self, X) -> np.ndarray:
        # The fit's last pass: float32 buffers, then float64 products.
        bufs = _buffers([X], _STATS_ROWS, self.n_features_in_, "X")
        return np.concatenate([b.astype(np.float64) @ self.W_.T + self.b_[None, :] for b in bufs])
