"""Clustering benchmark: TLC's soft clustering next to scikit-learn on the same features.

Usage::

    python benchmarks/bench_clustering.py [--records 400] [--points 100000] [--quick] [--json out.json]

The points are aligned features (32 PCA dimensions) of synthetic ECGs through the demo
model, as a TLC fit clusters them. For each K it reports the median wall and CPU time and
the objective of

* ``SoftClusterer(method="gmm")`` (k-means++ and Lloyd, then EM; a K change in the widget
  fits nothing: it merges the components of one fit, ``clustering/tree.py``);
* scikit-learn ``GaussianMixture(covariance_type="spherical")`` (the same model: one
  variance per cluster), ``KMeans(n_init=1)`` and ``MiniBatchKMeans`` (hard clusterings).

Objectives: the GMMs' mean log-likelihood per point (higher is better; TLC's
``lower_bound_`` and sklearn's ``score``), and for every method the k-means inertia per
point of its hard labels (squared distance to the nearest centroid; lower is better), so
all four are compared on one scale.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np


def _timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """(median wall s, median CPU s, last result)."""
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), out


def feature_points(n_records: int, n_points: int, seed: int = 0) -> np.ndarray:
    """Aligned TLC features of synthetic ECGs (demo model), a seeded sample of points."""
    from ecg_cluster_widget.activations import ActivationExtractor, FeatureAligner
    from ecg_cluster_widget.data.synthetic import make_synthetic
    from ecg_cluster_widget.model.pretrained import load_demo_model

    bundle = load_demo_model()
    ds = make_synthetic(n_records, fs=bundle.fs, duration=bundle.n_samples / bundle.fs, seed=seed)
    blocks = ActivationExtractor(bundle, progress=False).extract(bundle.prepare(ds))
    feats = FeatureAligner(
        32, random_state=seed, block_weighting="equal", center_per_record=True
    ).fit_transform(blocks)
    pts = feats.reshape(-1, feats.shape[-1])
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(pts), size=min(n_points, len(pts)), replace=False))
    return np.ascontiguousarray(pts[take], dtype=np.float64)


def _inertia(x: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> float:
    return float(((x - centres[labels]) ** 2).sum(axis=1).mean())


def run(
    n_records: int = 400,
    n_points: int = 100_000,
    ks: tuple[int, ...] = (4, 6, 8, 12),
    repeats: int = 3,
    seed: int = 0,
) -> dict:
    """Measure every method at every K on the same points.

    Examples
    --------
    >>> run(n_records=8, n_points=2000, ks=(3,), repeats=1)["rows"][0]["k"]  # doctest: +SKIP
    3
    """
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    from ecg_cluster_widget.clustering import SoftClusterer

    x = feature_points(n_records, n_points, seed)
    rows = []
    for k in ks:
        row: dict = {"k": k}
        methods: dict[str, Callable[[], object]] = {
            "tlc_gmm_cold": lambda k=k: SoftClusterer(k, random_state=seed).fit(x),
            "sk_gmm_spherical": lambda k=k: GaussianMixture(
                k, covariance_type="spherical", random_state=seed, max_iter=100, tol=1e-4
            ).fit(x),
            "sk_kmeans": lambda k=k: KMeans(k, n_init=1, random_state=seed).fit(x),
            "sk_minibatch": lambda k=k: MiniBatchKMeans(
                k, n_init=1, random_state=seed, batch_size=4096
            ).fit(x),
        }
        for name, fn in methods.items():
            # Every method on one BLAS thread: the same footing as SoftClusterer, which
            # limits itself (thread contention on a shared machine slowed products 20x).
            with threadpool_limits(1), warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                wall, cpu, est = _timed(fn, repeats)
            if name.startswith("tlc"):
                labels, centres = est.predict(x), est.centroids_
                loglik, n_iter = est.lower_bound_, est.n_iter_
            elif name == "sk_gmm_spherical":
                labels, centres = est.predict(x), est.means_
                loglik, n_iter = float(est.score(x)), est.n_iter_
            else:
                labels, centres = est.labels_, est.cluster_centers_
                loglik, n_iter = None, est.n_iter_
            row[name] = {
                "wall_s": wall,
                "cpu_s": cpu,
                "loglik": loglik,
                "inertia": _inertia(x, labels, centres),
                "n_iter": int(n_iter),
            }
        rows.append(row)
    return {
        "n_points": int(x.shape[0]),
        "dim": int(x.shape[1]),
        "repeats": repeats,
        "load_avg_1min": os.getloadavg()[0],
        "rows": rows,
    }


METHOD_NAMES = {
    "tlc_gmm_cold": "TLC gmm",
    "sk_gmm_spherical": "sklearn GMM sph.",
    "sk_kmeans": "sklearn KMeans",
    "sk_minibatch": "sklearn MiniBatch",
}


def format_results(res: dict) -> str:
    """The printed table."""
    lines = [
        f"Clustering fit on {res['n_points']} points x {res['dim']} dims (medians of "
        f"{res['repeats']}; one BLAS thread each)",
        f"  {'K':>3} {'method':<19}{'wall s':>8}{'CPU s':>8}{'iter':>6}{'loglik':>9}{'inertia':>9}",
    ]
    for row in res["rows"]:
        for key, label in METHOD_NAMES.items():
            m = row[key]
            ll = "" if m["loglik"] is None else f"{m['loglik']:.4f}"
            lines.append(
                f"  {row['k']:>3} {label:<19}{m['wall_s']:>8.3f}{m['cpu_s']:>8.3f}"
                f"{m['n_iter']:>6}{ll:>9}{m['inertia']:>9.4f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=400)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="16 records, 8,000 points, K in {4, 8}")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        res = run(n_records=16, n_points=8000, ks=(4, 8), repeats=1)
    else:
        res = run(args.records, args.points, repeats=args.repeats)
    print(format_results(res))
    if args.json:
        from ecg_cluster_widget.data.io_utils import atomic_write_json

        atomic_write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
