"""Faithfulness on PTB-XL: does a random forest on cluster proportions reproduce the CNN?

Trains the ResNet1d (100 Hz) on folds 1-8 (validation 9, test 10), fits TLC on the
training activations and, on fold 10, compares

* the CNN (accuracy, macro AUROC, macro F1 on the 5 superclasses), with
* a random forest on the K cluster proportions trained to predict the CNN's own
  labels: fidelity (agreement with the CNN), accuracy / AUROC / F1 on the true labels,

sweeping K x training fraction x seeds. ``--cv`` runs 10-fold CV instead (test fold f,
validation fold f+1, train on the rest; one seed, one K).

Run:  python experiments/faithfulness_ptbxl.py [--quick] [--cv]
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np

from ecg_cluster_widget.data import atomic_write_json

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]

PAPER = {"fidelity": 0.949, "fidelity_sd": 0.005, "rf_accuracy": 0.882, "cnn_accuracy": 0.884,
         "rf_auroc": 0.796, "cnn_auroc": 0.814}

METRICS = ("cnn_accuracy", "cnn_auroc", "cnn_f1", "fidelity", "fidelity_exact",
           "fidelity_majority_baseline", "rf_accuracy", "rf_auroc", "rf_f1")


def evaluate_run(bundle, train_ds, test_ds, ks: Sequence[int], seed: int) -> list[dict]:
    """CNN metrics and RF-on-proportions faithfulness for each K of one trained model."""
    cnn_train = bundle.predict_proba(train_ds)
    cnn_test = bundle.predict_proba(test_ds)
    # Trivial reference: per class, always predict the CNN's majority training label.
    majority = (cnn_train >= 0.5).mean(axis=0) >= 0.5
    fid_majority = float((majority[None, :] == (cnn_test >= 0.5)).mean())
    tlc = C.fit_tlc(bundle, train_ds, ks[0], seed)
    out = []
    for k in ks:
        tlc.set_n_clusters(k)
        p_train = tlc.explain_all(train_ds).proportions
        p_test = tlc.explain_all(test_ds).proportions
        f = C.rf_faithfulness(p_train, cnn_train, p_test, cnn_test, test_ds.labels, seed,
                              class_names=test_ds.class_names)
        keep = ["fidelity", "fidelity_exact", "rf_accuracy", "cnn_accuracy", "rf_auroc",
                "cnn_auroc", "rf_f1", "cnn_f1", "rf_subset_accuracy", "cnn_subset_accuracy",
                "fidelity_per_class", "feature_importance"]
        out.append({"k": int(k), **{m: f.get(m) for m in keep},
                    "fidelity_majority_baseline": fid_majority,
                    "cnn_positive_rate": float((cnn_test >= 0.5).mean())})
        C.log(f"  K={k}: fidelity {f['fidelity']:.3f}  RF acc {f['rf_accuracy']:.3f} "
              f"AUROC {f['rf_auroc']:.3f} | CNN acc {f['cnn_accuracy']:.3f} "
              f"AUROC {f['cnn_auroc']:.3f}")
    return out


def summary_rows(runs: list[dict], group: Sequence[str]) -> list[dict]:
    """Mean ± sd over the runs sharing the ``group`` keys."""
    keys = sorted({tuple(r[g] for g in group) for r in runs})
    rows = []
    for key in keys:
        sel = [r for r in runs if tuple(r[g] for g in group) == key]
        row = dict(zip(group, key))
        row["n"] = len(sel)
        for name in METRICS:
            row[name] = C.summarize(r[name] for r in sel)
        rows.append(row)
    return rows


def table(rows: list[dict], group: Sequence[str]) -> str:
    """Markdown table of summary rows (percentages, mean ± sd)."""
    metrics = [m for m in METRICS if m != "fidelity_exact"]
    headers = [*group, "n", "CNN acc %", "CNN AUROC %", "CNN F1 %", "fidelity %",
               "fidelity of majority rule %", "RF acc %", "RF AUROC %", "RF F1 %"]
    body = []
    for r in rows:
        cells = [r[g] if g != "fraction" else f"{int(r[g] * 100)}%" for g in group] + [r["n"]]
        cells += [C.mean_sd(r[m]["values"], pct=True) for m in metrics]
        body.append(cells)
    return C.markdown_table(headers, body)


def run_sweep(cfg: C.RunConfig, ds, fractions: Sequence[float], ks: Sequence[int],
              cached_only: bool = False) -> list[dict]:
    train, val, test = C.split_ptbxl(ds)
    runs = []
    for fraction in fractions:
        for seed in cfg.seeds:
            sub = C.subsample(train, fraction, seed)
            bundle = C.train_or_load(cfg, sub, val, seed=seed, fraction=fraction,
                                     cached_only=cached_only and (fraction, seed) != (1.0, cfg.seeds[0]))
            if bundle is None:
                continue
            C.log(f"fraction {fraction:.2f} seed {seed}: {len(sub)} training records")
            key = C.cache_key(fraction=fraction, seed=seed, ks=list(ks), epochs=cfg.epochs,
                              model=cfg.model_kwargs, n=len(sub), test=len(test), v=1)
            path = cfg.cache_dir / "evals" / f"faith_f{int(fraction * 100)}_s{seed}_{key}.json"
            if path.is_file():  # evaluation of this model already done by an earlier run
                C.log(f"re-using {path.name}")
                evaluated = json.loads(path.read_text())
            else:
                evaluated = [{**r, "engine_fingerprint": cfg.engine}
                             for r in evaluate_run(bundle, sub, test, ks, seed)]
                atomic_write_json(path, evaluated)
            for r in evaluated:
                runs.append({"fraction": float(fraction), "seed": int(seed), "n_train": len(sub), **r})
    return runs


def run_cv(cfg: C.RunConfig, ds, k: int) -> list[dict]:
    folds = sorted(set(np.asarray(ds.folds).tolist()))
    runs = []
    seed = cfg.seeds[0]
    for f in folds:
        v = folds[(folds.index(f) + 1) % len(folds)]
        train, val, test = C.split_ptbxl(ds, [x for x in folds if x not in (f, v)], [v], [f])
        bundle = C.train_or_load(cfg, train, val, seed=seed, tag=f"ptbxl_cv{f}")
        C.log(f"CV test fold {f} (val {v}): {len(train)} training records")
        for r in evaluate_run(bundle, train, test, [k], seed):
            runs.append({"test_fold": int(f), "seed": seed, "fraction": 1.0, **r})
    return runs


def figures(cfg: C.RunConfig, runs: list[dict], ks: Sequence[int], fractions: Sequence[float]) -> None:
    from bokeh.layouts import column

    series = {}
    for fr in fractions:
        series[f"fidelity, {int(fr * 100)}% train"] = [
            np.mean([r["fidelity"] for r in runs if r["k"] == k and r["fraction"] == fr]) for k in ks]
    fig1 = C.line_figure("RF-on-proportions fidelity to the CNN (PTB-XL fold 10)", ks, series,
                         "number of clusters K", "fidelity")
    full = [r for r in runs if r["fraction"] == max(fractions)]
    fig2 = C.line_figure(
        f"Accuracy on true labels, {int(max(fractions) * 100)}% training data", ks,
        {name: [np.mean([r[m] for r in full if r["k"] == k]) for k in ks]
         for name, m in [("CNN accuracy", "cnn_accuracy"), ("RF accuracy", "rf_accuracy"),
                         ("CNN AUROC", "cnn_auroc"), ("RF AUROC", "rf_auroc")]},
        "number of clusters K", "score")
    C.save_html(cfg, "faithfulness_ptbxl", column(fig1, fig2), "TLC faithfulness on PTB-XL")


def main(argv: Sequence[str] | None = None) -> dict:
    parser = C.build_parser(__doc__.split("\n")[0], __file__)
    parser.add_argument("--ks", type=int, nargs="+", default=None, help="K values (default 4 6 8 12 16)")
    parser.add_argument("--fractions", type=float, nargs="+", default=None,
                        help="training fractions (default 0.25 0.5 1.0)")
    parser.add_argument("--cv", action="store_true", help="10-fold cross-validation (one seed, one K)")
    parser.add_argument("--cached-only", action="store_true",
                        help="skip (fraction, seed) pairs whose model is not cached yet (reduced sweep)")
    ns, cfg = C.parse_args(parser, argv)
    started = time.time()
    ks = ns.ks or ([4] if cfg.quick else [4, 6, 8, 12, 16])
    fractions = ns.fractions or ([1.0] if cfg.quick else [0.25, 0.5, 1.0])
    ds = C.load_ptbxl_100(cfg)
    C.log(f"PTB-XL: {ds}")
    if ns.cv:
        runs = run_cv(cfg, ds, cfg.n_clusters)
        rows = summary_rows(runs, ["k"])
        text = table(rows, ["k"])
        name = "faithfulness_ptbxl_cv"
    else:
        runs = run_sweep(cfg, ds, fractions, ks, ns.cached_only)
        rows = summary_rows(runs, ["fraction", "k"])
        text = table(rows, ["fraction", "k"])
        name = "faithfulness_ptbxl"
        figures(cfg, runs, ks, sorted({r["fraction"] for r in runs}))
    print(text)
    done = sorted({(r["fraction"], r["seed"]) for r in runs})
    payload = {"ks": list(ks), "fractions": sorted({f for f, _ in done}), "cv": bool(ns.cv),
               "models_used": [{"fraction": f, "seed": s} for f, s in done],
               "seeds_used": sorted({s for _, s in done}),
               "headline_k": cfg.n_clusters if cfg.n_clusters in ks else ks[0],
               "n_records": len(ds), "paper": PAPER,
               "split": {n: len(x) for n, x in zip(("train", "val", "test"), C.split_ptbxl(ds))}, "summary": rows, "runs": runs,
               "table_md": text}
    C.write_result(cfg, name, payload, started)
    return payload


if __name__ == "__main__":
    main()
