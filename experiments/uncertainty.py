"""Where is TLC uncertain? Entropy by wave type, by class, under noise, and vs Grad-CAM.

With the PTB-XL model and clusters of ``faithfulness_ptbxl.py`` (fit on folds 1-8):

1. mean normalised assignment entropy per LUDB wave type (lead II annotations, 100 Hz);
2. mean entropy per PTB-XL superclass on fold 10 (records carrying the class, and records
   whose only superclass it is; Kruskal-Wallis across the single-class groups);
3. entropy on fold 10 with added Gaussian noise (sigma in mV): it must rise;
4. Grad-CAM (last residual block, target = the CNN's top class) on the same ECGs: the
   relative level per wave type of both maps, the Spearman rank correlation between
   per-time-step entropy and Grad-CAM (per record, then mean), and whether Grad-CAM's
   mean level also differs between classes (Kruskal-Wallis).

Run:  python experiments/uncertainty.py [--quick]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from scipy.stats import kruskal, spearmanr

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]

NOISE_MV = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def per_wave(values: np.ndarray, masks: np.ndarray) -> dict[str, float]:
    """Mean of ``values`` per wave code, and that mean relative to the annotated-span mean."""
    inside = masks >= 0
    overall = float(values[inside].mean())
    out = {}
    for i, w in enumerate(C.WAVES):
        sel = masks == i
        m = float(values[sel].mean()) if sel.any() else float("nan")
        out[w] = {"mean": m, "relative": m / overall if overall else float("nan")}
    out["overall"] = {"mean": overall, "relative": 1.0}
    return out


def record_spearman(a: np.ndarray, b: np.ndarray, masks: np.ndarray | None = None) -> dict:
    """Spearman rho between two (N, T) maps, per record (optionally within ``masks >= 0``)."""
    rhos = []
    for i in range(len(a)):
        sel = slice(None) if masks is None else masks[i] >= 0
        x, y = a[i][sel], b[i][sel]
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            rhos.append(spearmanr(x, y).statistic)
    r = np.asarray(rhos, dtype=float)
    return {
        "mean": float(r.mean()) if r.size else None,
        "sd": float(r.std()) if r.size else None,
        "share_positive": float((r > 0).mean()) if r.size else None,
        "n": int(r.size),
    }


def per_class(record_values: np.ndarray, labels: np.ndarray, names: Sequence[str]) -> dict:
    """Mean per class (records carrying it / records whose only class it is) + Kruskal-Wallis."""
    y = labels > 0.5
    only = y & (y.sum(axis=1, keepdims=True) == 1)
    out = {"any": {}, "only": {}}
    groups = []
    for c, n in enumerate(names):
        out["any"][n] = float(record_values[y[:, c]].mean()) if y[:, c].any() else None
        out["only"][n] = float(record_values[only[:, c]].mean()) if only[:, c].any() else None
        if only[:, c].sum() >= 2:
            groups.append(record_values[only[:, c]])
    out["kruskal_p_only"] = float(kruskal(*groups).pvalue) if len(groups) >= 2 else None
    return out


def run_seed(
    cfg: C.RunConfig, train, val, test, ludb, seed: int, noise_levels: Sequence[float] = NOISE_MV
) -> dict:
    from ecg_cluster_widget.explain.gradcam import GradCAM

    bundle = C.train_or_load(cfg, train, val, seed=seed)
    tlc = C.fit_tlc(bundle, train, cfg.n_clusters, seed)
    cam = GradCAM(bundle)
    # The fine layer (first residual block) resolves single waves; the default last block
    # of the real model steps 400 ms, too coarse for a per-wave comparison.
    cam_fine = GradCAM(bundle, layer="fine")
    masks = np.asarray(ludb.wave_masks)

    ex_l = tlc.explain_all(ludb)
    ent_l = np.asarray(ex_l.entropy, dtype=float)
    top_l = np.argmax(bundle.predict_proba(ludb), axis=1)
    cam_l = np.asarray(cam.attribute(ludb, top_l), dtype=float)
    cam_lf = np.asarray(cam_fine.attribute(ludb, top_l), dtype=float)

    ex_t = tlc.explain_all(test)
    ent_t = np.asarray(ex_t.entropy, dtype=float)
    prob_t = bundle.predict_proba(test)
    cam_t = np.asarray(cam.attribute(test, np.argmax(prob_t, axis=1)), dtype=float)

    rng = np.random.default_rng(seed)
    clean_labels = np.asarray(ex_t.labels)
    noise = []
    for sigma in noise_levels:
        noisy = replace(
            test,
            signals=(test.signals + rng.normal(0, sigma, test.signals.shape)).astype(np.float32),
        )
        ex_n = tlc.explain_all(noisy)
        e = float(np.mean(ex_n.entropy))
        flips = float((np.asarray(ex_n.labels) != clean_labels).mean())
        dp = float(np.abs(bundle.predict_proba(noisy) - prob_t).mean())
        noise.append(
            {"sigma_mv": sigma, "mean_entropy": e, "label_change": flips, "cnn_mean_abs_change": dp}
        )
        C.log(f"seed {seed} noise {sigma} mV: mean entropy {e:.3f}, CNN change {dp:.3f}")
    ents = [n["mean_entropy"] for n in noise]
    return {
        "seed": seed,
        "k": cfg.n_clusters,
        "ludb_entropy_per_wave": per_wave(ent_l, masks),
        "ludb_gradcam_per_wave": per_wave(cam_l, masks),
        "ludb_spearman_entropy_gradcam": record_spearman(ent_l, cam_l, masks),
        "gradcam_layers": {"coarse": cam.layer, "fine": cam_fine.layer},
        "ludb_gradcam_fine_per_wave": per_wave(cam_lf, masks),
        "ludb_spearman_entropy_gradcam_fine": record_spearman(ent_l, cam_lf, masks),
        "ptbxl_spearman_entropy_gradcam": record_spearman(ent_t, cam_t),
        "ptbxl_entropy_per_class": per_class(ent_t.mean(axis=1), test.labels, test.class_names),
        "ptbxl_gradcam_per_class": per_class(cam_t.mean(axis=1), test.labels, test.class_names),
        "noise": noise,
        "noise_spearman": float(spearmanr(noise_levels, ents).statistic),
        "noise_monotonic": bool(np.all(np.diff(ents) > 0)),
        "noise_peak_sigma": float(noise_levels[int(np.argmax(ents))]),
    }


def tables(runs: list[dict], names: Sequence[str], levels: Sequence[float]) -> dict[str, str]:
    """Markdown tables (mean ± sd over seeds)."""

    def ms(get, digits=3):
        return C.mean_sd([get(r) for r in runs], digits=digits)

    waves = C.markdown_table(
        [
            "wave",
            "mean entropy",
            "entropy rel. to span mean",
            "Grad-CAM (last block) rel. to span mean",
            "Grad-CAM (fine: first block) rel. to span mean",
        ],
        [
            [
                w,
                ms(lambda r, w=w: r["ludb_entropy_per_wave"][w]["mean"]),
                ms(lambda r, w=w: r["ludb_entropy_per_wave"][w]["relative"], 2),
                ms(lambda r, w=w: r["ludb_gradcam_per_wave"][w]["relative"], 2),
                ms(
                    lambda r, w=w: (
                        r.get("ludb_gradcam_fine_per_wave", {}).get(w, {}).get("relative")
                    ),
                    2,
                ),
            ]
            for w in C.WAVES
        ],
    )
    classes = C.markdown_table(
        ["superclass", "entropy (has class)", "entropy (only class)", "Grad-CAM mean (only class)"],
        [
            [
                n,
                ms(lambda r, n=n: r["ptbxl_entropy_per_class"]["any"][n]),
                ms(lambda r, n=n: r["ptbxl_entropy_per_class"]["only"][n]),
                ms(lambda r, n=n: r["ptbxl_gradcam_per_class"]["only"][n]),
            ]
            for n in names
        ]
        + [
            [
                "Kruskal-Wallis p (only-class groups)",
                "",
                ms(lambda r: r["ptbxl_entropy_per_class"]["kruskal_p_only"], 4),
                ms(lambda r: r["ptbxl_gradcam_per_class"]["kruskal_p_only"], 4),
            ]
        ],
    )
    noise = C.markdown_table(
        [
            "noise sigma (mV)",
            "mean entropy",
            "time steps changing cluster",
            "mean |change| of CNN output",
        ],
        [
            [
                s,
                ms(lambda r, i=i: r["noise"][i]["mean_entropy"]),
                ms(lambda r, i=i: r["noise"][i]["label_change"]),
                ms(lambda r, i=i: r["noise"][i]["cnn_mean_abs_change"]),
            ]
            for i, s in enumerate(levels)
        ],
    )
    corr = C.markdown_table(
        ["data", "Spearman rho(entropy, Grad-CAM), mean over records", "share of records rho > 0"],
        [
            [
                "LUDB (annotated span)",
                ms(lambda r: r["ludb_spearman_entropy_gradcam"]["mean"]),
                ms(lambda r: r["ludb_spearman_entropy_gradcam"]["share_positive"], 2),
            ],
            [
                "LUDB (annotated span), fine Grad-CAM",
                ms(lambda r: r.get("ludb_spearman_entropy_gradcam_fine", {}).get("mean")),
                ms(
                    lambda r: r.get("ludb_spearman_entropy_gradcam_fine", {}).get("share_positive"),
                    2,
                ),
            ],
            [
                "PTB-XL fold 10",
                ms(lambda r: r["ptbxl_spearman_entropy_gradcam"]["mean"]),
                ms(lambda r: r["ptbxl_spearman_entropy_gradcam"]["share_positive"], 2),
            ],
        ],
    )
    return {"waves": waves, "classes": classes, "noise": noise, "correlation": corr}


def figures(cfg: C.RunConfig, runs: list[dict], levels: Sequence[float]) -> None:
    from bokeh.layouts import column

    f1 = C.line_figure(
        "Mean TLC entropy vs added Gaussian noise (PTB-XL fold 10)",
        levels,
        {f"seed {r['seed']}": [n["mean_entropy"] for n in r["noise"]] for r in runs},
        "noise sigma (mV)",
        "mean normalised entropy",
    )
    f2 = C.bar_figure(
        "Level per LUDB wave, relative to the annotated-span mean",
        C.WAVES,
        {
            "TLC entropy": [
                np.mean([r["ludb_entropy_per_wave"][w]["relative"] for r in runs]) for w in C.WAVES
            ],
            "Grad-CAM": [
                np.mean([r["ludb_gradcam_per_wave"][w]["relative"] for r in runs]) for w in C.WAVES
            ],
        },
        "relative level",
    )
    C.save_html(cfg, "uncertainty", column(f1, f2), "TLC uncertainty vs Grad-CAM")


def main(argv: Sequence[str] | None = None) -> dict:
    parser = C.build_parser(__doc__.split("\n")[0], __file__)
    ns, cfg = C.parse_args(parser, argv)
    started = time.time()
    ds = C.load_ptbxl_100(cfg)
    train, val, test = C.split_ptbxl(ds)
    ludb = C.load_ludb_100(cfg)
    levels = (0.0, 0.1, 0.5) if cfg.quick else NOISE_MV
    runs = [run_seed(cfg, train, val, test, ludb, s, levels) for s in cfg.seeds]
    tabs = tables(runs, test.class_names, levels)
    for name, t in tabs.items():
        print(f"\n{name}\n{t}")
    rises = all(r["noise_monotonic"] for r in runs)
    print(f"\nentropy rises monotonically with noise in all seeds: {rises}")
    figures(cfg, runs, levels)
    payload = {
        "k": cfg.n_clusters,
        "noise_mv": list(levels),
        "runs": runs,
        "tables_md": tabs,
        "entropy_rises_with_noise_all_seeds": rises,
        "noise_spearman": C.summarize(r["noise_spearman"] for r in runs),
    }
    C.write_result(cfg, "uncertainty", payload, started)
    return payload


if __name__ == "__main__":
    main()
