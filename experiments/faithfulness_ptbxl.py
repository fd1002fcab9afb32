"""Faithfulness on PTB-XL: does a random forest on cluster proportions reproduce the CNN?

Trains the ResNet1d (100 Hz) on folds 1-8 (validation 9, test 10), fits TLC on the
training activations and, on fold 10, compares

* the CNN (accuracy, macro AUROC, macro F1 on the 5 superclasses), with
* a random forest on the K cluster proportions trained to predict the CNN's own
  labels: fidelity (agreement with the CNN), accuracy / AUROC / F1 on the true labels,

sweeping K x training fraction x seeds.

Honest faithfulness. Fidelity is floor-inflated (the CNN predicts few positives), so each
run also reports the majority-rule floor (per class, the CNN's majority label on the
training records), macro Cohen's kappa and MCC of the forest vs the CNN's labels, the
macro AUROC of the forest's scores against the CNN's labels (classes with fewer than
``--min-positives`` CNN positives or negatives in the test set are left out of these
macro means and listed), and a CNN-agnostic control: the same forest on proportions of
k-means clusters of raw ECG windows (same K, fitted on the same training records).

``--cv`` runs the paper's 10-fold CV of the surrogate: for each test fold f, the TLC
clusters, the raw-window k-means control and the forest are fitted on the records of the
other nine folds. The CNN is **not** retrained: it is the model trained on folds 1-8
(early stopping on 9), so on test folds 1-8 it labels ECGs it was trained on.

Run:  python experiments/faithfulness_ptbxl.py [--quick] [--cv]
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np

from ecg_cluster_widget.data import atomic_write_json
from ecg_cluster_widget.explain.faithfulness_cv import (
    cross_validate_faithfulness,
    raw_kmeans_proportions,
)
from ecg_cluster_widget.explain.fidelity import AGREEMENT_METRICS

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]

PAPER = {
    "fidelity": 0.949,
    "fidelity_sd": 0.005,
    "rf_accuracy": 0.882,
    "cnn_accuracy": 0.884,
    "rf_auroc": 0.796,
    "cnn_auroc": 0.814,
    "setting": "full PTB-XL (21,837 ECGs), 5 superclasses, 10-fold CV (paper's abstract)",
}

#: Columns of the classic table (kept as it was).
TABLE_METRICS = (
    "cnn_accuracy",
    "cnn_auroc",
    "cnn_f1",
    "fidelity",
    "fidelity_majority_baseline",
    "rf_accuracy",
    "rf_auroc",
    "rf_f1",
)
#: Honest-faithfulness scalars of one surrogate (TLC; the control has the same with ``control_``).
HONEST = (*AGREEMENT_METRICS, "rf_accuracy", "rf_auroc")
CONTROL = tuple(f"control_{m}" for m in HONEST if m != "majority_floor")
METRICS = (
    "cnn_accuracy",
    "cnn_auroc",
    "cnn_f1",
    "fidelity",
    "fidelity_exact",
    "fidelity_majority_baseline",
    "rf_accuracy",
    "rf_auroc",
    "rf_f1",
    *AGREEMENT_METRICS[1:],
    *CONTROL,
)
#: Trees of every forest (as ``C.rf_faithfulness``).
N_TREES = 300
CONTROL_NAME = "raw-window k-means (CNN-agnostic control)"
CV_CAVEAT = (
    "The CNN is not retrained per fold: it is the model trained on folds 1-8 (early stopping "
    "on fold 9). On test folds 1-8 it labels ECGs it saw in training, so its labels (the "
    "forest's targets) and its accuracy there are training-set values; only folds 9 and 10 are "
    "unseen by the CNN (reported separately). The clusters, the control and the forest "
    "are fitted on the other nine folds for each test fold."
)


def _honest_row(f: dict, g: dict) -> dict:
    """Scalars and class lists of a TLC run ``f`` and its control run ``g``."""
    row = {m: f.get(m) for m in HONEST}
    row.update({f"control_{m}": g.get(m) for m in HONEST if m != "majority_floor"})
    row.update(
        {
            "excluded_classes": f["excluded_classes"],
            "excluded_reason": f["excluded_reason"],
            "cnn_positives": f["cnn_positives"],
            "kappa_per_class": f["kappa_per_class"],
            "mcc_per_class": f["mcc_per_class"],
            "auroc_vs_cnn_per_class": f["auroc_vs_cnn_per_class"],
            "majority_floor_per_class": f["majority_floor_per_class"],
            "control_kappa_per_class": g["kappa_per_class"],
        }
    )
    return row


def evaluate_run(
    bundle, train_ds, test_ds, ks: Sequence[int], seed: int, min_positives: int = 10
) -> list[dict]:
    """CNN metrics and RF-on-proportions faithfulness for each K of one trained model.

    Per K also the honest metrics (floor, kappa, MCC, AUROC vs the CNN) and the same forest
    on raw-window k-means proportions (same K, fitted on ``train_ds``): keys ``control_*``.
    """
    cnn_train = bundle.predict_proba(train_ds)
    cnn_test = bundle.predict_proba(test_ds)
    tlc = C.fit_tlc(bundle, train_ds, ks[0], seed)
    out = []
    for k in ks:
        tlc.set_n_clusters(k)
        p_train = tlc.explain_all(train_ds).proportions
        p_test = tlc.explain_all(test_ds).proportions
        f = C.rf_faithfulness(
            p_train,
            cnn_train,
            p_test,
            cnn_test,
            test_ds.labels,
            seed,
            class_names=test_ds.class_names,
            min_positives=min_positives,
        )
        r_train = raw_kmeans_proportions(train_ds, k, fit_ds=train_ds, random_state=seed)
        r_test = raw_kmeans_proportions(test_ds, k, fit_ds=train_ds, random_state=seed)
        g = C.rf_faithfulness(
            r_train,
            cnn_train,
            r_test,
            cnn_test,
            test_ds.labels,
            seed,
            class_names=test_ds.class_names,
            min_positives=min_positives,
        )
        keep = [
            "fidelity",
            "fidelity_exact",
            "rf_accuracy",
            "cnn_accuracy",
            "rf_auroc",
            "cnn_auroc",
            "rf_f1",
            "cnn_f1",
            "rf_subset_accuracy",
            "cnn_subset_accuracy",
            "fidelity_per_class",
            "feature_importance",
        ]
        out.append(
            {
                "k": int(k),
                **{m: f.get(m) for m in keep},
                **_honest_row(f, g),
                # the majority-rule floor under its earlier name (read by the results doc)
                "fidelity_majority_baseline": f["majority_floor"],
                "cnn_positive_rate": float((cnn_test >= 0.5).mean()),
            }
        )
        C.log(
            f"  K={k}: fidelity {f['fidelity']:.3f} (floor {f['majority_floor']:.3f}, control "
            f"{g['fidelity']:.3f})  kappa {_fmt(f['kappa'])} (control {_fmt(g['kappa'])})  "
            f"RF acc {f['rf_accuracy']:.3f} AUROC {f['rf_auroc']:.3f} | CNN acc "
            f"{f['cnn_accuracy']:.3f} AUROC {f['cnn_auroc']:.3f}"
        )
    return out


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


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
    metrics = list(TABLE_METRICS)
    headers = [
        *group,
        "n",
        "CNN acc %",
        "CNN AUROC %",
        "CNN F1 %",
        "fidelity %",
        "fidelity of majority rule %",
        "RF acc %",
        "RF AUROC %",
        "RF F1 %",
    ]
    body = []
    for r in rows:
        cells = [r[g] if g != "fraction" else f"{int(r[g] * 100)}%" for g in group] + [r["n"]]
        cells += [C.mean_sd(r[m]["values"], pct=True) for m in metrics]
        body.append(cells)
    return C.markdown_table(headers, body)


def honest_table(rows: list[dict], group: Sequence[str], paper: bool = True) -> str:
    """Markdown table: TLC and the CNN-agnostic control, one line each per summary row.

    Fidelity, floor, AUROCs in %, fidelity above floor in points, kappa / MCC as numbers
    (mean ± sd over the runs, i.e. seeds or CV folds).
    """
    headers = [
        *group,
        "features",
        "n",
        "fidelity %",
        "majority floor %",
        "fidelity - floor (pts)",
        "kappa",
        "MCC",
        "AUROC vs CNN %",
        "RF acc (true) %",
        "RF AUROC (true) %",
    ]
    body = []

    def cell(r: dict, key: str, pct: bool, digits: int = 1) -> str:
        return C.mean_sd(r[key]["values"], pct=pct, digits=digits) if key in r else "n/a"

    for r in rows:
        lead = [r[g] if g != "fraction" else f"{int(r[g] * 100)}%" for g in group]
        for name, pre in (("TLC", ""), (CONTROL_NAME, "control_")):
            body.append(
                [
                    *lead,
                    name,
                    r["n"],
                    cell(r, pre + "fidelity", True),
                    cell(r, "majority_floor", True),
                    cell(r, pre + "fidelity_above_floor", True),
                    cell(r, pre + "kappa", False, 3),
                    cell(r, pre + "mcc", False, 3),
                    cell(r, pre + "auroc_vs_cnn", True),
                    cell(r, pre + "rf_accuracy", True),
                    cell(r, pre + "rf_auroc", True),
                ]
            )
    if paper:
        p = PAPER
        body.append(
            [
                *["" for _ in group],
                "paper (TLC; full PTB-XL, 10-fold CV)",
                "10 folds",
                f"{p['fidelity'] * 100:.1f} ± {p['fidelity_sd'] * 100:.1f}",
                "not reported",
                "n/a",
                "not reported",
                "not reported",
                "not reported",
                f"{p['rf_accuracy'] * 100:.1f} (CNN {p['cnn_accuracy'] * 100:.1f})",
                f"{p['rf_auroc'] * 100:.1f} (CNN {p['cnn_auroc'] * 100:.1f})",
            ]
        )
    return C.markdown_table(headers, body)


def excluded_counts(runs: list[dict]) -> dict[str, int]:
    """Per class, in how many runs the ``min_positives`` rule left it out of the macro means."""
    counts: dict[str, int] = {}
    for r in runs:
        for c in r.get("excluded_classes", []):
            counts[c] = counts.get(c, 0) + 1
    return counts


def honest_block(
    runs: list[dict], rows: list[dict], group: Sequence[str], min_positives: int, where: str
) -> dict:
    """The JSON block ``honest`` (read by the results document) and its table."""
    text = honest_table(rows, group)
    ex = excluded_counts(runs)
    note = (
        f"Macro kappa / MCC / AUROC vs CNN average the classes with >= {min_positives} CNN "
        f"positives and negatives in the test set; excluded (runs out of {len(runs)}): "
        + (", ".join(f"{c} {n}" for c, n in sorted(ex.items())) if ex else "none")
        + "."
    )
    return {
        "where": where,
        "group": list(group),
        "min_positives": int(min_positives),
        "control": CONTROL_NAME,
        "rows": rows,
        "excluded_class_runs": ex,
        "n_runs": len(runs),
        "table_md": text,
        "note": note,
        "paper": PAPER,
        "definitions": {
            "majority_floor": "fidelity of 'each class's majority CNN label on the training "
            "records', applied to every test ECG",
            "kappa": "Cohen's kappa of the forest's labels vs the CNN's (0 for the majority rule)",
            "mcc": "Matthews correlation of the forest's labels vs the CNN's",
            "auroc_vs_cnn": "AUROC of the forest's predict_proba against the CNN's labels",
            "control": "the same forest (same seed) on proportions of k-means clusters of raw "
            "ECG windows, same K, fitted on the same training records",
        },
    }


def run_sweep(
    cfg: C.RunConfig,
    ds,
    fractions: Sequence[float],
    ks: Sequence[int],
    cached_only: bool = False,
    min_positives: int = 10,
) -> list[dict]:
    train, val, test = C.split_ptbxl(ds)
    runs = []
    for fraction in fractions:
        for seed in cfg.seeds:
            sub = C.subsample(train, fraction, seed)
            bundle = C.train_or_load(
                cfg,
                sub,
                val,
                seed=seed,
                fraction=fraction,
                cached_only=cached_only and (fraction, seed) != (1.0, cfg.seeds[0]),
            )
            if bundle is None:
                continue
            C.log(f"fraction {fraction:.2f} seed {seed}: {len(sub)} training records")
            key = C.cache_key(
                fraction=fraction,
                seed=seed,
                ks=list(ks),
                epochs=cfg.epochs,
                model=cfg.model_kwargs,
                n=len(sub),
                test=len(test),
                min_positives=min_positives,
                models=getattr(cfg, "models", None),
                v=2,
            )
            path = cfg.cache_dir / "evals" / f"faith_f{int(fraction * 100)}_s{seed}_{key}.json"
            if path.is_file():  # evaluation of this model already done by an earlier run
                C.log(f"re-using {path.name}")
                evaluated = json.loads(path.read_text())
            else:
                evaluated = [
                    {**r, "engine_fingerprint": cfg.engine}
                    for r in evaluate_run(bundle, sub, test, ks, seed, min_positives)
                ]
                atomic_write_json(path, evaluated)
            for r in evaluated:
                runs.append(
                    {"fraction": float(fraction), "seed": int(seed), "n_train": len(sub), **r}
                )
    return runs


def run_cv(cfg: C.RunConfig, ds, k: int, min_positives: int = 10) -> tuple[list[dict], list[dict]]:
    """10-fold CV of the surrogate (and its control) around the CNN trained on folds 1-8.

    For each seed: the CNN of the fold-10 split (``C.train_or_load`` on folds 1-8,
    validation 9, the sweep's 100 % model) labels all records; for each test fold f, TLC
    and the raw-window k-means are fitted on the records of the other folds and give
    proportions of every record; :func:`cross_validate_faithfulness` trains the forest on
    the other folds and scores fold f. Returns one row per (seed, test fold) and, per seed,
    the out-of-fold pooled agreement of TLC and the control (all records at once).
    """
    train, val, _ = C.split_ptbxl(ds)
    folds = np.asarray(ds.folds)
    fold_ids = sorted(set(folds.tolist()))
    runs, pooled = [], []
    for seed in cfg.seeds:
        bundle = C.train_or_load(cfg, train, val, seed=seed)
        if bundle is None:
            continue
        key = C.cache_key(
            seed=seed,
            k=k,
            epochs=cfg.epochs,
            model=cfg.model_kwargs,
            n=len(ds),
            ids=list(ds.record_ids[:3]),
            min_positives=min_positives,
            models=getattr(cfg, "models", None),
            v=3,
        )
        path = cfg.cache_dir / "evals" / f"faith_cv_k{k}_s{seed}_{key}.json"
        if path.is_file():
            C.log(f"re-using {path.name}")
            cached = json.loads(path.read_text())
            runs += cached["per_fold"]
            pooled.append(cached["pooled"])
            continue
        cnn = bundle.predict_proba(ds)
        tlc_props, raw_props = {}, {}
        for f in fold_ids:
            fit = ds.subset(np.flatnonzero(folds != f))
            C.log(f"CV seed {seed}, test fold {f}: clusters fitted on {len(fit)} records")
            tlc_props[f] = C.fit_tlc(bundle, fit, k, seed).explain_all(ds).proportions
            raw_props[f] = raw_kmeans_proportions(ds, k, fit_ds=fit, random_state=seed)
        kw = dict(
            n_estimators=N_TREES,
            random_state=seed,
            min_positives=min_positives,
            class_names=list(ds.class_names),
        )
        cv_tlc = cross_validate_faithfulness(tlc_props, cnn, ds.labels, folds, **kw)
        cv_raw = cross_validate_faithfulness(raw_props, cnn, ds.labels, folds, **kw)
        seen_by_cnn = {int(f) for f in np.unique(np.asarray(train.folds))}
        evaluated = []
        for f, g in zip(cv_tlc["per_fold"], cv_raw["per_fold"]):
            te = folds == f["test_fold"]
            evaluated.append(
                {
                    "test_fold": f["test_fold"],
                    "seed": int(seed),
                    "fraction": 1.0,
                    "k": int(k),
                    "n_test": f["n_test"],
                    "cnn_saw_test_fold": f["test_fold"] in seen_by_cnn,
                    **{
                        m: f.get(m)
                        for m in (
                            "fidelity",
                            "fidelity_exact",
                            "rf_accuracy",
                            "cnn_accuracy",
                            "rf_auroc",
                            "cnn_auroc",
                            "rf_f1",
                            "cnn_f1",
                        )
                    },
                    **_honest_row(f, g),
                    "fidelity_majority_baseline": f["majority_floor"],
                    "cnn_positive_rate": float((cnn[te] >= 0.5).mean()),
                    "engine_fingerprint": cfg.engine,
                }
            )
            C.log(
                f"  fold {f['test_fold']}: fidelity {f['fidelity']:.3f} (floor "
                f"{f['majority_floor']:.3f}, control {g['fidelity']:.3f})  kappa "
                f"{_fmt(f['kappa'])} (control {_fmt(g['kappa'])})"
            )
        pool = {
            "seed": int(seed),
            "k": int(k),
            "tlc": cv_tlc["pooled"],
            "control": cv_raw["pooled"],
        }
        atomic_write_json(path, {"per_fold": evaluated, "pooled": pool})
        runs += evaluated
        pooled.append(pool)
    return runs, pooled


def pooled_table(pooled: list[dict]) -> str:
    """Markdown table of the out-of-fold pooled agreement (one line per seed and features)."""
    headers = [
        "seed",
        "k",
        "features",
        "records",
        "fidelity %",
        "majority floor %",
        "kappa",
        "MCC",
        "AUROC vs CNN %",
        "classes in the macro means",
    ]
    body = []
    for p in pooled:
        for name, d in (("TLC", p["tlc"]), (CONTROL_NAME, p["control"])):
            body.append(
                [
                    p["seed"],
                    p["k"],
                    name,
                    d["n_test"],
                    f"{d['fidelity'] * 100:.1f}",
                    f"{d['majority_floor'] * 100:.1f}",
                    _fmt(d["kappa"]),
                    _fmt(d["mcc"]),
                    "n/a" if d.get("auroc_vs_cnn") is None else f"{d['auroc_vs_cnn'] * 100:.1f}",
                    ", ".join(d["included_classes"]) or "none",
                ]
            )
    return C.markdown_table(headers, body)


def figures(
    cfg: C.RunConfig, runs: list[dict], ks: Sequence[int], fractions: Sequence[float]
) -> None:
    from bokeh.layouts import column

    series = {}
    for fr in fractions:
        series[f"fidelity, {int(fr * 100)}% train"] = [
            np.mean([r["fidelity"] for r in runs if r["k"] == k and r["fraction"] == fr])
            for k in ks
        ]
    fig1 = C.line_figure(
        "RF-on-proportions fidelity to the CNN (PTB-XL fold 10)",
        ks,
        series,
        "number of clusters K",
        "fidelity",
    )
    full = [r for r in runs if r["fraction"] == max(fractions)]
    fig2 = C.line_figure(
        f"Accuracy on true labels, {int(max(fractions) * 100)}% training data",
        ks,
        {
            name: [np.mean([r[m] for r in full if r["k"] == k]) for k in ks]
            for name, m in [
                ("CNN accuracy", "cnn_accuracy"),
                ("RF accuracy", "rf_accuracy"),
                ("CNN AUROC", "cnn_auroc"),
                ("RF AUROC", "rf_auroc"),
            ]
        },
        "number of clusters K",
        "score",
    )
    C.save_html(cfg, "faithfulness_ptbxl", column(fig1, fig2), "TLC faithfulness on PTB-XL")


def main(argv: Sequence[str] | None = None) -> dict:
    parser = C.build_parser(__doc__.split("\n")[0], __file__)
    parser.add_argument(
        "--ks", type=int, nargs="+", default=None, help="K values (default 4 6 8 12 16)"
    )
    parser.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        default=None,
        help="training fractions (default 0.25 0.5 1.0)",
    )
    parser.add_argument(
        "--cv",
        action="store_true",
        help="10-fold CV of the surrogate (one K; clusters and forest refitted per "
        "test fold; the CNN stays the one trained on folds 1-8)",
    )
    parser.add_argument(
        "--min-positives",
        type=int,
        default=10,
        help="classes with fewer CNN positives (or negatives) in a test set are left "
        "out of the macro kappa / MCC / AUROC vs CNN (default 10)",
    )
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="skip (fraction, seed) pairs whose model is not cached yet (reduced sweep)",
    )
    ns, cfg = C.parse_args(parser, argv)
    started = time.time()
    ks = ns.ks or ([4] if cfg.quick else [4, 6, 8, 12, 16])
    fractions = ns.fractions or ([1.0] if cfg.quick else [0.25, 0.5, 1.0])
    ds = C.load_ptbxl_100(cfg)
    C.log(f"PTB-XL: {ds}")
    mp = int(ns.min_positives)
    extra: dict = {}
    if ns.cv:
        ks = [cfg.n_clusters]
        runs, pooled = run_cv(cfg, ds, cfg.n_clusters, mp)
        rows = summary_rows(runs, ["k"])
        text = table(rows, ["k"])
        honest = honest_block(
            runs,
            rows,
            ["k"],
            mp,
            "10-fold CV over strat_fold (test fold f, "
            "clusters / control / forest fitted on the other folds)",
        )
        unseen = [r for r in runs if not r["cnn_saw_test_fold"]]
        unseen_rows = summary_rows(unseen, ["k"]) if unseen else []
        honest["caveat"] = CV_CAVEAT
        honest["summary_unseen_folds"] = unseen_rows
        honest["unseen_folds"] = sorted({r["test_fold"] for r in unseen})
        if unseen_rows:
            honest["table_unseen_md"] = honest_table(unseen_rows, ["k"], paper=False)
        honest["pooled"] = pooled
        honest["table_pooled_md"] = pooled_table(pooled)
        extra = {
            "cv_caveat": CV_CAVEAT,
            "per_fold": [
                {
                    m: r.get(m)
                    for m in (
                        "seed",
                        "test_fold",
                        "n_test",
                        "cnn_saw_test_fold",
                        "fidelity",
                        "majority_floor",
                        "kappa",
                        "mcc",
                        "auroc_vs_cnn",
                        "control_fidelity",
                        "control_kappa",
                        "excluded_classes",
                    )
                }
                for r in runs
            ],
        }
        name = "faithfulness_ptbxl_cv"
    else:
        runs = run_sweep(cfg, ds, fractions, ks, ns.cached_only, mp)
        rows = summary_rows(runs, ["fraction", "k"])
        text = table(rows, ["fraction", "k"])
        top = max(r["fraction"] for r in runs)
        honest = honest_block(
            [r for r in runs if r["fraction"] == top],
            [r for r in rows if r["fraction"] == top],
            ["k"],
            mp,
            f"PTB-XL fold 10, forest and clusters fitted on {int(top * 100)} % of folds 1-8; "
            "mean ± sd over seeds",
        )
        honest["fraction"] = top
        honest["summary_all_fractions"] = rows
        name = "faithfulness_ptbxl"
        figures(cfg, runs, ks, sorted({r["fraction"] for r in runs}))
    print(text)
    print()
    print("Honest faithfulness (" + honest["where"] + "):")
    print(honest["table_md"])
    print(honest["note"])
    if ns.cv:
        print(CV_CAVEAT)
        if "table_unseen_md" in honest:
            print(
                "Test folds unseen by the CNN only ("
                + ", ".join(map(str, honest["unseen_folds"]))
                + "):"
            )
            print(honest["table_unseen_md"])
        print("Out-of-fold predictions of all test folds pooled (each record once):")
        print(honest["table_pooled_md"])
    done = sorted({(r["fraction"], r["seed"]) for r in runs})
    payload = {
        "ks": list(ks),
        "fractions": sorted({f for f, _ in done}),
        "cv": bool(ns.cv),
        "models_used": [{"fraction": f, "seed": s} for f, s in done],
        "seeds_used": sorted({s for _, s in done}),
        "headline_k": cfg.n_clusters if cfg.n_clusters in ks else ks[0],
        "n_records": len(ds),
        "paper": PAPER,
        "split": {n: len(x) for n, x in zip(("train", "val", "test"), C.split_ptbxl(ds))},
        "summary": rows,
        "runs": runs,
        "table_md": text,
        "honest": honest,
        "min_positives": mp,
        **extra,
    }
    C.write_result(cfg, name, payload, started)
    return payload


if __name__ == "__main__":
    main()
