"""A temporal prior on cluster sequences: hidden-Markov smoothing of soft assignments.

The clustering treats every time step independently, but an ECG is a sequence: a QRS
complex lasts ~100 ms, a T wave follows it, and labels do not flicker from one 16 ms step
to the next. :class:`TemporalSmoother` treats the clusters as the hidden states of a
Markov chain whose transition matrix is learned on the fitting set (Baum-Welch on the
transitions only; the emissions stay the clusterer's), and replaces each step's
``gamma`` by its forward-backward posterior. Emission likelihoods are the clusterer's
posteriors divided by its mixing weights (``p(x | k) ∝ gamma_k / pi_k``), so with a
transition matrix whose rows all equal ``pi`` the smoother returns ``gamma`` unchanged.

The learned matrix is also an explanation in its own right (the "temporal dynamics of
cluster sequences" the TLC paper names as future work): ``transition_[k, l]`` is the
probability that a step in cluster ``k`` is followed by one in cluster ``l``;
:func:`transition_counts` gives the empirical version per class of records.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, NotFittedError
from .base import subsample

__all__ = ["TemporalSmoother", "transition_counts"]

_EPS = 1e-12


def _check_gamma(gamma: np.ndarray) -> np.ndarray:
    g = np.asarray(gamma, dtype=np.float64)
    if g.ndim != 3 or g.shape[1] < 1 or g.shape[2] < 2:
        raise DataError(f"gamma must have shape (n_records, n_steps, K>=2), got {g.shape}.")
    if not np.isfinite(g).all() or (g < -1e-6).any():
        raise DataError("gamma must be finite and non-negative (soft assignments).")
    return g


def _forward_backward(
    emis: np.ndarray, trans: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scaled forward-backward over (n, T, K) emissions; all records at once.

    Returns the posteriors (n, T, K) and the expected transition counts (K, K) summed over
    records and steps (for Baum-Welch).
    """
    n, t_len, k = emis.shape
    alpha = np.empty_like(emis)
    scale = np.empty((n, t_len))
    a = start[None, :] * emis[:, 0]
    scale[:, 0] = a.sum(axis=1) + _EPS
    alpha[:, 0] = a / scale[:, 0:1]
    for t in range(1, t_len):
        a = (alpha[:, t - 1] @ trans) * emis[:, t]
        scale[:, t] = a.sum(axis=1) + _EPS
        alpha[:, t] = a / scale[:, t : t + 1]
    beta = np.empty_like(emis)
    beta[:, -1] = 1.0
    xi = np.zeros((k, k))
    for t in range(t_len - 2, -1, -1):
        eb = emis[:, t + 1] * beta[:, t + 1]
        # xi_t(k, l) ∝ alpha_t(k) A(k, l) e_{t+1}(l) beta_{t+1}(l) / c_{t+1}
        xi += trans * (alpha[:, t].T @ (eb / scale[:, t + 1 : t + 2]))
        beta[:, t] = (eb @ trans.T) / scale[:, t + 1 : t + 2]
    post = alpha * beta
    post /= post.sum(axis=2, keepdims=True) + _EPS
    return post, xi


class TemporalSmoother:
    """Hidden-Markov smoothing of per-step soft assignments along time.

    Parameters
    ----------
    n_iter : int
        Baum-Welch iterations re-estimating the transition matrix.
    pseudocount : float
        Added to every expected transition count (keeps every transition possible).
    max_records : int
        The transition matrix is learned on at most this many records (seeded pick).
    random_state : int
        Seed of that pick.

    Attributes
    ----------
    transition_ : ndarray of shape (K, K)
        Row-stochastic transition matrix between cluster positions, per grid step.
    start_ : ndarray of shape (K,)
        Distribution of the first step.
    weights_ : ndarray of shape (K,)
        The clusterer's mixing weights the emissions are divided by.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> states = np.repeat(rng.integers(0, 2, (4, 10)), 10, axis=1)  # runs of 10 steps
    >>> clean = np.eye(2)[states]
    >>> noisy = 0.6 * clean + 0.4 * rng.dirichlet([1, 1], size=states.shape)
    >>> sm = TemporalSmoother().fit(noisy, weights=np.array([0.5, 0.5]))
    >>> bool(sm.transition_[0, 0] > 0.8)
    True
    >>> acc_before = (noisy.argmax(2) == states).mean()
    >>> acc_after = (sm.transform(noisy).argmax(2) == states).mean()
    >>> bool(acc_after >= acc_before)
    True
    """

    def __init__(
        self,
        n_iter: int = 10,
        pseudocount: float = 1.0,
        max_records: int = 512,
        random_state: int = 0,
    ) -> None:
        self.n_iter = n_iter
        self.pseudocount = pseudocount
        self.max_records = max_records
        self.random_state = random_state

    def _emissions(self, g: np.ndarray) -> np.ndarray:
        e = g / np.maximum(self.weights_, _EPS)[None, None, :]
        # Normalise per step: only ratios between states matter, and this keeps scales sane.
        return e / (e.sum(axis=2, keepdims=True) + _EPS)

    def fit(self, gamma: np.ndarray, weights: np.ndarray) -> TemporalSmoother:
        """Learn the transition matrix from soft assignments of the fitting records.

        Parameters
        ----------
        gamma : ndarray of shape (n_records, n_steps, K)
            The clusterer's soft assignments on the model's time grid.
        weights : ndarray of shape (K,)
            The clusterer's mixing weights (``SoftClusterer.weights_``).

        Returns
        -------
        self
        """
        g = _check_gamma(gamma)
        k = g.shape[2]
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape != (k,) or not np.isfinite(w).all() or (w <= 0).any():
            raise DataError(f"weights must be {k} positive numbers, got shape {w.shape}.")
        if int(self.n_iter) < 0 or not self.pseudocount >= 0:
            raise DataError("n_iter must be >= 0 and pseudocount >= 0.")
        self.weights_ = w / w.sum()
        g = subsample(g, self.max_records, np.random.default_rng(self.random_state))
        # Start from the soft co-occurrence of consecutive steps, then Baum-Welch.
        counts = np.einsum("ntk,ntl->kl", g[:, :-1], g[:, 1:]) + self.pseudocount
        trans = counts / counts.sum(axis=1, keepdims=True)
        start = g[:, 0].mean(axis=0) + _EPS
        start /= start.sum()
        emis = self._emissions(g)
        self.n_iter_ = 0
        for _ in range(int(self.n_iter)):
            post, xi = _forward_backward(emis, trans, start)
            new = (xi + self.pseudocount) / (xi + self.pseudocount).sum(axis=1, keepdims=True)
            start = post[:, 0].mean(axis=0) + _EPS
            start /= start.sum()
            self.n_iter_ += 1
            done = np.abs(new - trans).max() < 1e-5
            trans = new
            if done:
                break
        self.transition_ = trans
        self.start_ = start
        return self

    def transform(self, gamma: np.ndarray, chunk: int = 256) -> np.ndarray:
        """Forward-backward posteriors (n_records, n_steps, K), float32, rows summing to 1."""
        if not hasattr(self, "transition_"):
            raise NotFittedError(
                "this TemporalSmoother is not fitted yet; call fit(gamma, weights) first."
            )
        g = _check_gamma(gamma)
        if g.shape[2] != self.transition_.shape[0]:
            raise DataError(
                f"gamma has {g.shape[2]} clusters but the smoother was fitted with {self.transition_.shape[0]}."
            )
        out = np.empty(g.shape, dtype=np.float32)
        for s in range(0, g.shape[0], chunk):
            post, _ = _forward_backward(
                self._emissions(g[s : s + chunk]), self.transition_, self.start_
            )
            out[s : s + chunk] = post
        return out


def transition_counts(labels: np.ndarray, k: int, valid: np.ndarray | None = None) -> np.ndarray:
    """Empirical transition matrix between hard labels of consecutive steps.

    Parameters
    ----------
    labels : ndarray of shape (n_records, n_steps)
        Cluster positions.
    k : int
        Number of clusters.
    valid : ndarray of bool, optional
        Same shape; transitions touching an invalid step are not counted.

    Returns
    -------
    ndarray of shape (K, K)
        Row-stochastic (rows with no visits are all zero).

    Examples
    --------
    >>> transition_counts(np.array([[0, 0, 1, 1]]), 2).tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    lab = np.asarray(labels, dtype=np.int64)
    if lab.ndim != 2:
        raise DataError(f"labels must have shape (n_records, n_steps), got {lab.shape}.")
    a, b = lab[:, :-1].ravel(), lab[:, 1:].ravel()
    keep = np.ones(a.shape, dtype=bool)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        keep = (v[:, :-1] & v[:, 1:]).ravel()
    c = np.bincount(a[keep] * k + b[keep], minlength=k * k).reshape(k, k).astype(np.float64)
    rows = c.sum(axis=1, keepdims=True)
    return np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
