"""The clustering module (CM): a soft k-means layer trained by minibatch Adam, streaming.

This is the clustering objective of Boubekki, Kampffmeyer, Jenssen and Brefeld, "Joint
optimization of an autoencoder for clustering and embedding" (Machine Learning 110, 2021),
used on its own on fixed feature vectors, as the soft clusterer :class:`ClusteringModule`
(``SoftClusterer(method="cm")``).

Objective
---------
Soft assignments come from one linear layer, ``gamma_i = softmax(W x_i + b)`` (K
clusters), the centroids are the rows of ``U`` (K, D) and ``gamma_i U`` reconstructs
``x_i``. Per point,

* ``E1 = ||x - gamma U||^2`` (reconstruction),
* ``E2 = sum_k gamma_k (1 - gamma_k) ||u_k||^2``,
* ``E3 = - sum_{k != l} gamma_k gamma_l u_k . u_l``,

and ``E1 + E2 + E3 = sum_k gamma_k ||x - u_k||^2``, the soft k-means distortion
(tests/clustering/test_cm.py writes each term out and checks the identity). Per minibatch,

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
  clusters of 1 % of the data alone (tests/clustering/test_cm.py checks both).
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
  ``lr`` it lowers the whole-data loss; tests/clustering/test_cm.py checks it). While the loss is
  still falling the average lags a little behind the last iterate (its gamma is slightly
  softer, since the gate sharpens during training), a small price for a result that
  does not hinge on the last minibatch.
* **Streaming.** Rows arrive as chunks (:meth:`ClusteringModule.fit_stream` takes a
  function returning an iterator of arrays, called once per epoch). They are copied into a float32 shuffle
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
from collections.abc import Iterator
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.cluster import kmeans_plusplus
from sklearn.utils._param_validation import Interval

from ..activations.features import single_thread_blas
from ..errors import DataError, ModelError
from .base import BaseSoftClusterer, ChunksFn, float32_blocks, subsample

__all__ = ["ClusteringModule", "cm_gradients", "resolve_device"]

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
#: Rows per block of the whole-data pass and of predictions.
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
        Not a device name, or a device type other than CPU / CUDA.
    ModelError
        A CUDA device torch cannot use (the message names the fix).

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("gpu")
    Traceback (most recent call last):
    ...
    ecg_cluster_widget.errors.DataError: device='gpu' is not a torch device for clustering; use "cpu" or "cuda" (or "cuda:N").
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise DataError(
            f'device={device!r} is not a torch device for clustering; use "cpu" or "cuda" '
            '(or "cuda:N").'
        )
    n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if dev.type == "cuda" and (dev.index or 0) >= n_gpus:
        raise ModelError(
            f"device={str(device)!r} was requested but CUDA is not available there (torch "
            f"{torch.__version__} sees {n_gpus} usable GPU(s)); use device='cpu' (the default) "
            "or 'cuda:0', or install a CUDA build of torch on a machine with an NVIDIA GPU."
        )
    return dev


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
    sub = subsample(buf, KMEANSPP_MAX_POINTS, rng).astype(np.float64)
    if sub.shape[0] < k:
        raise DataError(
            f"n_clusters={k} is larger than the number of points in the first block of "
            f"{sub.shape[0]} rows (at most shuffle_buffer); use fewer clusters, more data or a "
            "larger shuffle_buffer."
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
    #: Run the last epoch as a Polyak average (``False`` only to compare: a plain epoch).
    _average_last_epoch = True
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

    def _fit(self, X, init: None) -> None:
        rows, n = int(self.shuffle_buffer), X.shape[0]
        self._fit_chunks(lambda: (X[i : i + rows] for i in range(0, n, rows)), "X")

    def _fit_stream(self, chunks_fn: ChunksFn) -> ClusteringModule:
        # Streamed: called once per epoch plus once for the statistics, never concatenated.
        self._check_params(None)
        self._clear_fitted()
        self._fit_chunks(chunks_fn, "chunk")
        return self._finish(None)

    def _fit_chunks(self, chunks_fn: ChunksFn, name: str) -> None:
        """The Adam epochs, the averaging epoch, then the whole-data statistics."""
        dev = resolve_device(self.device)
        k, seed, lr = int(self.n_clusters), self._seed, float(self.lr)
        gen = torch.Generator().manual_seed(seed)
        params = n_features = None
        history, step, epoch, converged = [], 0, 0, False
        prior, total_epochs = 1.0 - float(self.alpha), self.epochs
        with _torch_single_thread(), torch.no_grad():
            while True:
                averaging = total_epochs is not None and epoch == total_epochs
                average = averaging and self._average_last_epoch
                sums = [torch.zeros_like(p) for p in params] if average else None
                n_avg = seen = 0
                loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
                rows = int(self.shuffle_buffer)
                for buf in float32_blocks(chunks_fn(), rows, n_features, name, epoch > 0):
                    if params is None:
                        n_features = buf.shape[1]
                        mean, scale, params = _init_params(buf, k, seed, dev)
                        m1, m2 = ([torch.zeros_like(p) for p in params] for _ in range(2))
                        mean_t = torch.tensor(mean, dtype=torch.float32, device=dev)
                    xb_all = (torch.from_numpy(buf).to(dev) - mean_t) / float(scale)
                    perm = torch.randperm(xb_all.shape[0], generator=gen).to(dev)
                    for a, z in _batch_bounds(xb_all.shape[0], int(self.batch_size)):
                        loss, grads = cm_gradients(xb_all[perm[a:z]], *params, prior)
                        step += 1
                        torch._foreach_mul_(m1, _BETA1)
                        torch._foreach_add_(m1, grads, alpha=1.0 - _BETA1)
                        torch._foreach_mul_(m2, _BETA2)
                        torch._foreach_addcmul_(m2, grads, grads, value=1.0 - _BETA2)
                        denom = torch._foreach_sqrt(m2)
                        torch._foreach_div_(denom, math.sqrt(1.0 - _BETA2**step))
                        torch._foreach_add_(denom, _ADAM_EPS)
                        torch._foreach_addcdiv_(params, m1, denom, value=-lr / (1.0 - _BETA1**step))
                        if sums is not None:
                            torch._foreach_add_(sums, params)
                            n_avg += 1
                        loss_sum += loss.double() * (z - a)
                    seen += xb_all.shape[0]
                if epoch == 0:
                    n_points = seen
                    if total_epochs is None:
                        auto = max(AUTO_MIN_EPOCHS, math.ceil(AUTO_MIN_STEPS / step))
                        total_epochs = int(min(AUTO_MAX_EPOCHS, auto))
                elif seen != n_points:
                    raise DataError(
                        f"chunks_fn() produced {seen} rows in epoch {epoch + 1} but {n_points} "
                        "in the first; it must yield the same rows every time it is called."
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
                    converged = abs(prev - cur) <= float(self.tol) * max(abs(prev), 1e-12)
        # Back to the data's units: U = s U' + m, W = W' / s, b = b' - W' m / s.
        w = params[0].double().cpu().numpy() / scale
        self.b_ = params[1].double().cpu().numpy() - mean @ w
        self.W_ = np.ascontiguousarray(w.T)
        self.centroids_ = params[2].double().cpu().numpy() * scale + mean
        self.loss_history_ = np.asarray(history) * scale**2
        self.n_iter_, self.n_steps_, self.converged_ = epoch, step, bool(converged)
        self.n_features_in_ = int(n_features)
        with single_thread_blas():
            self._statistics(chunks_fn, name, scale)

    def _statistics(self, chunks_fn: ChunksFn, name: str, scale: float) -> None:
        """One pass over the data: weights, variances, whole-data loss and labels."""
        k, dim = self.centroids_.shape
        u = self.centroids_
        u_sq = (u**2).sum(axis=1)
        sum_g, sum_gd, n, labels = np.zeros(k), np.zeros(k), 0, []
        for buf in float32_blocks(chunks_fn(), _STATS_ROWS, dim, name, True):
            x = buf.astype(np.float64)
            z = x @ self.W_.T + self.b_[None, :]
            if self.compute_labels:
                labels.append(z.argmax(axis=1))
            g = softmax(z, axis=1)
            d = np.maximum((x**2).sum(axis=1)[:, None] - 2.0 * (x @ u.T) + u_sq[None, :], 0.0)
            sum_g += g.sum(axis=0)
            sum_gd += (g * d).sum(axis=0)
            n += x.shape[0]
        self.weights_ = sum_g / n
        floor = 1e-12 * max(scale**2, 1e-300)
        self.variances_ = np.maximum(sum_gd / (np.maximum(sum_g, 1e-300) * dim), floor)
        # The prior in the data's units: weighed by the mean feature variance s^2.
        prior = scale**2 * float(
            ((1.0 - float(self.alpha)) * np.log(self.weights_ + _LOG_EPS)).sum()
        )
        self.lower_bound_ = -(float(sum_gd.sum() / n) + prior)
        if self.compute_labels:
            self.labels_ = np.concatenate(labels).astype(np.int64)

    def _logits(self, X) -> np.ndarray:
        # The fit's last pass: float32 buffers, then float64 products.
        bufs = float32_blocks([X], _STATS_ROWS, self.n_features_in_, "X")
        return np.concatenate([b.astype(np.float64) @ self.W_.T + self.b_[None, :] for b in bufs])
