"""How much does the CNN rely on each cluster? Occlusion of cluster stretches.

For each cluster k and each PTB-XL fold-10 ECG, the time steps labelled k are replaced
(in all leads) by the record's per-lead median ("median", a flat baseline) or by a 0.4 s
moving average of the record ("blur"); importance(k, class) is the mean absolute change
of the CNN's sigmoid output for that class. A control occludes the same number of time
steps at a random circular shift of the cluster's mask (same length, other place), so
"importance / control" > 1 means the cluster's *location* matters beyond its size.
Importance is then correlated (Spearman, across clusters) with each cluster's mean
entropy and share of time.

Run:  python experiments/cluster_importance.py [--quick] [--mode median blur]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.stats import spearmanr

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]


def occlude(signals: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Replace samples where ``mask`` (N, T) is True, in every lead, by a baseline."""
    if mode == "median":
        fill = np.broadcast_to(np.median(signals, axis=2, keepdims=True), signals.shape)
    elif mode == "blur":
        fill = uniform_filter1d(signals, size=41, axis=2, mode="nearest")
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return np.where(mask[:, None, :], fill, signals).astype(np.float32)


def run_seed(cfg: C.RunConfig, train, val, test, seed: int, modes: Sequence[str]) -> dict:
    bundle = C.train_or_load(cfg, train, val, seed=seed)
    tlc = C.fit_tlc(bundle, train, cfg.n_clusters, seed)
    ex = tlc.explain_all(test)
    labels = np.asarray(ex.labels)
    entropy = np.asarray(ex.entropy)
    k = tlc.n_clusters_
    p0 = bundle.predict_proba(test)
    rng = np.random.default_rng(seed)
    shifts = rng.integers(test.n_samples // 4, 3 * test.n_samples // 4, size=len(test))
    share = np.array([(labels == j).mean() for j in range(k)])
    mean_ent = np.array(
        [entropy[labels == j].mean() if (labels == j).any() else np.nan for j in range(k)]
    )
    out = {"seed": seed, "k": k, "share": share, "mean_entropy": mean_ent, "modes": {}}
    for mode in modes:
        imp = np.zeros((k, p0.shape[1]))
        ctrl = np.zeros_like(imp)
        for j in range(k):
            mask = labels == j
            if not mask.any():
                continue
            shifted = np.stack([np.roll(m, s) for m, s in zip(mask, shifts)])
            for arr, m in ((imp, mask), (ctrl, shifted)):
                p = bundle.predict_proba(replace(test, signals=occlude(test.signals, m, mode)))
                arr[j] = np.abs(p - p0).mean(axis=0)
        overall = imp.mean(axis=1)
        valid = np.isfinite(mean_ent)
        rho_e = spearmanr(overall[valid], mean_ent[valid]).statistic if valid.sum() > 2 else None
        rho_s = spearmanr(overall, share).statistic
        out["modes"][mode] = {
            "importance": imp,
            "control": ctrl,
            "importance_mean": overall,
            "ratio_to_control": overall / np.maximum(ctrl.mean(axis=1), 1e-9),
            "total_ratio_to_control": float(imp.sum() / max(ctrl.sum(), 1e-9)),
            "spearman_importance_entropy": rho_e,
            "spearman_importance_share": rho_s,
        }
        C.log(
            f"seed {seed} {mode}: importance {np.round(overall, 3)}; rho(importance, entropy) "
            f"{rho_e if rho_e is None else round(float(rho_e), 3)}"
        )
    return out


def tables(runs: list[dict], names: Sequence[str], modes: Sequence[str]) -> dict[str, str]:
    r0 = runs[0]
    k = r0["k"]
    out = {}
    for mode in modes:
        m = r0["modes"][mode]
        body = []
        for j in range(k):
            body.append(
                [j, f"{r0['share'][j] * 100:.1f}", f"{r0['mean_entropy'][j]:.3f}"]
                + [f"{m['importance'][j, c]:.4f}" for c in range(len(names))]
                + [f"{m['importance_mean'][j]:.4f}", f"{m['ratio_to_control'][j]:.2f}"]
            )
        out[f"per_cluster_{mode}"] = C.markdown_table(
            ["cluster", "share %", "mean entropy", *names, "mean", "vs random-place control"], body
        )
    out["correlations"] = C.markdown_table(
        [
            "occlusion",
            "Spearman(importance, cluster mean entropy)",
            "Spearman(importance, share)",
            "total importance / total control",
        ],
        [
            [
                mode,
                C.mean_sd(
                    [r["modes"][mode]["spearman_importance_entropy"] for r in runs], digits=3
                ),
                C.mean_sd([r["modes"][mode]["spearman_importance_share"] for r in runs], digits=3),
                C.mean_sd([r["modes"][mode]["total_ratio_to_control"] for r in runs], digits=2),
            ]
            for mode in modes
        ],
    )
    return out


def main(argv: Sequence[str] | None = None) -> dict:
    parser = C.build_parser(__doc__.split("\n")[0], __file__)
    parser.add_argument("--mode", nargs="+", default=["median", "blur"], choices=["median", "blur"])
    ns, cfg = C.parse_args(parser, argv)
    started = time.time()
    ds = C.load_ptbxl_100(cfg)
    train, val, test = C.split_ptbxl(ds)
    modes = ns.mode[:1] if cfg.quick else ns.mode
    runs = [run_seed(cfg, train, val, test, s, modes) for s in cfg.seeds]
    tabs = tables(runs, test.class_names, modes)
    for name, t in tabs.items():
        print(f"\n{name} (seed {runs[0]['seed']})\n{t}")
    from bokeh.layouts import column

    r0 = runs[0]
    figs = [
        C.heatmap_figure(
            f"Occlusion importance ({mode}), seed {r0['seed']}",
            r0["modes"][mode]["importance"],
            [f"c{j}" for j in range(r0["k"])],
            test.class_names,
        )
        for mode in modes
    ]
    C.save_html(cfg, "cluster_importance", column(*figs), "TLC cluster importance")
    payload = {
        "k": cfg.n_clusters,
        "modes": list(modes),
        "class_names": list(test.class_names),
        "runs": runs,
        "tables_md": tabs,
    }
    C.write_result(cfg, "cluster_importance", payload, started)
    return payload


if __name__ == "__main__":
    main()
