"""Do the clusters line up with P / QRS / T? TLC on LUDB against cardiologists' boundaries.

Clusters are fitted on the PTB-XL training activations of the model from
``faithfulness_ptbxl.py`` (folds 1-8, 100 Hz) and applied to the 200 LUDB records
(500 Hz -> 100 Hz; lead II wave masks downsampled by taking every 5th sample). Per time
step inside the annotated span, cluster labels are compared with the wave codes
none/P/QRS/T: contingency table, NMI, homogeneity, completeness, purity and the best
cluster per wave (precision / recall / F1).

Baselines, each with the same K and the same PTB-XL fitting data:
* k-means on raw signal windows (0.12 s, all 12 leads, z-scored);
* the same TLC pipeline on an untrained network (same architecture, re-initialised).

Run:  python experiments/ludb_alignment.py [--quick] [--ks 4 8]
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]

METHODS = (
    "TLC (trained CNN)",
    "k-means on raw windows",
    "TLC (untrained CNN)",
    "TLC (trained CNN, blocks 0-2)",
)
#: Ablation: hook the first three residual blocks (finer time grid) instead of the last three.
EARLY_LAYERS = ("blocks.0", "blocks.1", "blocks.2")
SCORES = ("nmi", "homogeneity", "completeness", "purity")


def compact(d: dict) -> dict:
    """The scores of a ``landmark_alignment`` dict worth keeping per run."""
    out = {s: d[s] for s in SCORES}
    out["n_points"] = d["n_points"]
    out["contingency"] = d["contingency"]
    out["within_record_diversity"] = d.get("within_record_diversity")
    out["per_wave"] = d["per_wave"]
    return out


def run_seed(cfg: C.RunConfig, train, val, ludb, ks: Sequence[int], seed: int) -> list[dict]:
    """All methods x K for one model seed."""
    from ecg_cluster_widget.explain.landmarks import (
        landmark_alignment,
        raw_window_kmeans_labels,
        untrained_model_labels,
    )

    bundle = C.train_or_load(cfg, train, val, seed=seed)
    masks = np.asarray(ludb.wave_masks)
    tlc = C.fit_tlc(bundle, train, ks[0], seed)
    early = C.fit_tlc(bundle, train, ks[0], seed, layers=EARLY_LAYERS)
    fit_pts = 30_000 if cfg.quick else 60_000
    runs = []
    for k in ks:
        tlc.set_n_clusters(k)
        early.set_n_clusters(k)
        labels = {
            METHODS[0]: np.asarray(tlc.explain_all(ludb).labels),
            METHODS[1]: raw_window_kmeans_labels(
                ludb, k, random_state=seed, fit_ds=train, max_fit_points=fit_pts
            ),
            METHODS[2]: untrained_model_labels(
                bundle, train, ludb, n_clusters=k, random_state=seed, max_fit_points=fit_pts
            ),
            METHODS[3]: np.asarray(early.explain_all(ludb).labels),
        }
        for method, lab in labels.items():
            d = landmark_alignment(lab.astype(np.int64), masks.astype(np.int64), k)
            # share of a record's time steps outside its most frequent cluster (0 = one cluster)
            d["within_record_diversity"] = float(
                np.mean(
                    [
                        1 - np.bincount(row, minlength=k).max() / row.size
                        for row in lab.astype(np.int64)
                    ]
                )
            )
            runs.append({"seed": seed, "k": int(k), "method": method, **compact(d)})
            C.log(
                f"seed {seed} K={k} {method}: NMI {d['nmi']:.3f} homogeneity "
                f"{d['homogeneity']:.3f} purity {d['purity']:.3f}"
            )
    return runs


def summarize(runs: list[dict], ks: Sequence[int]) -> tuple[list[dict], str, dict]:
    rows, body = [], []
    for k in ks:
        for m in METHODS:
            sel = [r for r in runs if r["k"] == k and r["method"] == m]
            row = {"k": k, "method": m, **{s: C.summarize(r[s] for r in sel) for s in SCORES}}
            for w in C.WAVES:
                row[f"f1_{w}"] = C.summarize(
                    r["per_wave"][w]["f1"] for r in sel if r["per_wave"][w]
                )
            rows.append(row)
            row["within_record_diversity"] = C.summarize(r["within_record_diversity"] for r in sel)
            body.append(
                [k, m]
                + [C.mean_sd(row[s]["values"], digits=3) for s in SCORES]
                + [C.mean_sd(row[f"f1_{w}"]["values"], digits=2) for w in C.WAVES]
                + [C.mean_sd(row["within_record_diversity"]["values"], digits=2)]
            )
    headers = [
        "K",
        "method",
        "NMI",
        "homogeneity",
        "completeness",
        "purity",
        "F1 none",
        "F1 P",
        "F1 QRS",
        "F1 T",
        "within-record diversity",
    ]
    verdict = {}
    for k in ks:
        nmi = {r["method"]: r["nmi"]["mean"] for r in rows if r["k"] == k}
        hom = {r["method"]: r["homogeneity"]["mean"] for r in rows if r["k"] == k}
        verdict[str(k)] = {
            "beats_raw_kmeans_nmi": nmi[METHODS[0]] > nmi[METHODS[1]],
            "beats_untrained_nmi": nmi[METHODS[0]] > nmi[METHODS[2]],
            "beats_raw_kmeans_homogeneity": hom[METHODS[0]] > hom[METHODS[1]],
            "beats_untrained_homogeneity": hom[METHODS[0]] > hom[METHODS[2]],
            "early_blocks_beat_raw_kmeans_nmi": nmi[METHODS[3]] > nmi[METHODS[1]],
            "early_blocks_beat_untrained_nmi": nmi[METHODS[3]] > nmi[METHODS[2]],
        }
    return rows, C.markdown_table(headers, body), verdict


def contingency_md(run: dict) -> str:
    """Contingency table (row-normalised %) of one run, with the majority wave per cluster."""
    cont = np.asarray(run["contingency"], dtype=float)
    body = []
    for j, row in enumerate(cont):
        tot = row.sum()
        pct = row / tot * 100 if tot else row
        body.append([j, int(tot)] + [f"{x:.0f}" for x in pct] + [C.WAVES[int(np.argmax(row))]])
    return C.markdown_table(
        ["cluster", "time steps", *(f"% {w}" for w in C.WAVES), "majority"], body
    )


def figures(cfg: C.RunConfig, runs: list[dict], ks: Sequence[int], seed: int) -> None:
    from bokeh.layouts import column, row

    nmi = {
        m: [np.mean([r["nmi"] for r in runs if r["k"] == k and r["method"] == m]) for k in ks]
        for m in METHODS
    }
    bars = C.bar_figure(
        "NMI between clusters and LUDB waves (lead II)", [f"K={k}" for k in ks], nmi, "NMI"
    )
    heat = []
    k = ks[-1]
    for m in METHODS:
        r = next(x for x in runs if x["k"] == k and x["method"] == m and x["seed"] == seed)
        cont = np.asarray(r["contingency"], dtype=float)
        frac = cont / np.maximum(cont.sum(axis=1, keepdims=True), 1)
        heat.append(
            C.heatmap_figure(
                f"{m}, K={k}", frac, [f"c{j}" for j in range(k)], C.WAVES, width=330, height=320
            )
        )
    C.save_html(
        cfg,
        "ludb_alignment",
        column(bars, row(*heat[:2]), row(*heat[2:])),
        "TLC vs LUDB wave annotations",
    )


def main(argv: Sequence[str] | None = None) -> dict:
    parser = C.build_parser(__doc__.split("\n")[0], __file__)
    parser.add_argument("--ks", type=int, nargs="+", default=None, help="K values (default 4 8)")
    ns, cfg = C.parse_args(parser, argv)
    started = time.time()
    ks = ns.ks or ([4] if cfg.quick else [4, 8])
    ds = C.load_ptbxl_100(cfg)
    train, val, _ = C.split_ptbxl(ds)
    ludb = C.load_ludb_100(cfg)
    C.log(f"LUDB {ludb}; annotated share {float((ludb.wave_masks >= 0).mean()):.2f}")
    runs = []
    for seed in cfg.seeds:
        runs += run_seed(cfg, train, val, ludb, ks, seed)
    rows, text, verdict = summarize(runs, ks)
    first = next(r for r in runs if r["method"] == METHODS[0] and r["k"] == ks[-1])
    cont_text = contingency_md(first)
    print(text)
    print()
    print(f"Contingency, {METHODS[0]}, K={ks[-1]}, seed {first['seed']}:")
    print(cont_text)
    print("verdict:", verdict)
    figures(cfg, runs, ks, cfg.seeds[0])
    masks = np.asarray(ludb.wave_masks)
    share = {
        w: float((masks == i).sum() / max((masks >= 0).sum(), 1)) for i, w in enumerate(C.WAVES)
    }
    payload = {
        "ks": list(ks),
        "n_ludb": len(ludb),
        "lead": "II",
        "wave_share": share,
        "summary": rows,
        "verdict": verdict,
        "runs": runs,
        "table_md": text,
        "contingency_md": cont_text,
    }
    C.write_result(cfg, "ludb_alignment", payload, started)
    return payload


if __name__ == "__main__":
    main()
