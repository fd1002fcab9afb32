"""Does TLC surface label / recording quality problems in PTB-XL?

ECGs of the validation and test folds (9, 10) are ranked by how much their cluster
profile disagrees with their label:

* ``surrogate``: 1 - mean over classes of the RF surrogate's probability of the *true*
  0/1 label (RF on proportions, trained on the CNN's predictions on folds 1-8);
* ``entropy``: mean assignment entropy of the ECG;
* ``outlier``: isolation-forest outlier score of the proportions (fit on folds 1-8);
* ``combined``: mean of the three rank percentiles;
* baseline ``cnn_loss``: the CNN's own mean absolute error to the label (no TLC).

For the top-ranked ECGs we count how many carry a PTB-XL quality flag
(``baseline_drift``, ``static_noise``, ``burst_noise``, ``electrodes_problems`` non-empty,
or ``validated_by_human`` False) against the base rate, with a one-sided hypergeometric
p-value. Records without any diagnostic superclass are counted separately.

Run:  python experiments/quality_control.py [--quick]
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from scipy.stats import hypergeom, rankdata

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]

SCORES = ("surrogate", "entropy", "outlier", "combined", "cnn_loss")


def quality_flags(ds, cfg: C.RunConfig) -> dict[str, np.ndarray]:
    """Boolean flags per record from the PTB-XL quality columns."""
    df = C.meta_frame(ds, cfg)
    flags = {}
    for col in C.QUALITY_COLUMNS:
        if col in df:
            v = df[col]
            flags[col] = (
                v.notna() & (v.astype(str).str.strip() != "") & (v.astype(str).str.lower() != "nan")
            ).to_numpy()
    if "validated_by_human" in df:
        v = df["validated_by_human"].astype(str).str.lower()
        flags["not_validated_by_human"] = (v == "false").to_numpy()
    flags["any_quality_flag"] = np.any(np.stack(list(flags.values())), axis=0)
    flags["no_superclass"] = np.asarray(ds.labels).sum(axis=1) == 0
    return flags


def scores(cfg: C.RunConfig, bundle, tlc, train, pool, seed: int) -> dict[str, np.ndarray]:
    from sklearn.ensemble import IsolationForest, RandomForestClassifier

    p_train = tlc.explain_all(train).proportions
    ex = tlc.explain_all(pool)
    cnn_train = (bundle.predict_proba(train) >= 0.5).astype(int)
    rf = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1).fit(
        p_train, cnn_train
    )
    y = (np.asarray(pool.labels) > 0.5).astype(int)
    prob = np.zeros(y.shape)
    for c, (p, cls) in enumerate(zip(rf.predict_proba(ex.proportions), rf.classes_)):
        prob[:, c] = p[:, list(cls).index(1)] if 1 in cls else 0.0
    p_true = np.where(y == 1, prob, 1 - prob)
    iso = IsolationForest(random_state=seed).fit(p_train)
    s = {
        "surrogate": 1 - p_true.mean(axis=1),
        "entropy": np.asarray(ex.mean_entropy, dtype=float),
        "outlier": -iso.score_samples(ex.proportions),
        "cnn_loss": np.abs(bundle.predict_proba(pool) - y).mean(axis=1),
    }
    s["combined"] = np.mean(
        [rankdata(s[n]) / len(y) for n in ("surrogate", "entropy", "outlier")], axis=0
    )
    return s


def enrichment(score: np.ndarray, flag: np.ndarray, top: int) -> dict:
    """Flag count among the ``top`` highest scores, base rate and hypergeometric p."""
    order = np.argsort(-score, kind="stable")[:top]
    hits = int(flag[order].sum())
    n, k = len(flag), int(flag.sum())
    return {
        "top": top,
        "hits": hits,
        "precision": hits / top,
        "base_rate": k / n,
        "lift": (hits / top) / (k / n) if k else None,
        "p_value": float(hypergeom.sf(hits - 1, n, k, top)),
    }


def main(argv: Sequence[str] | None = None) -> dict:
    parser = C.build_parser(__doc__.split("\n")[0], __file__)
    ns, cfg = C.parse_args(parser, argv)
    started = time.time()
    ds = C.load_ptbxl_100(cfg)
    train, val, test = C.split_ptbxl(ds)
    pool = C.split_ptbxl(ds, range(1, 9), [9, 10], [10])[1]
    flags = quality_flags(pool, cfg)
    tops = sorted({max(3, len(pool) // 10), max(5, len(pool) // 5)})
    runs = []
    for seed in cfg.seeds:
        bundle = C.train_or_load(cfg, train, val, seed=seed)
        tlc = C.fit_tlc(bundle, train, cfg.n_clusters, seed)
        sc = scores(cfg, bundle, tlc, train, pool, seed)
        res = {
            name: {flag: [enrichment(sc[name], flags[flag], t) for t in tops] for flag in flags}
            for name in SCORES
        }
        top_ids = [pool.record_ids[i] for i in np.argsort(-sc["combined"])[:10]]
        runs.append({"seed": seed, "results": res, "top10_combined_record_ids": top_ids})
        C.log(
            f"seed {seed}: combined top-{tops[0]} flagged "
            f"{res['combined']['any_quality_flag'][0]['hits']}/{tops[0]}"
        )
    shown = [f for f in flags if flags[f].any()]
    body = []
    for name in SCORES:
        for i, t in enumerate(tops):
            cells = [name, t]
            for flag in shown:
                rs = [r["results"][name][flag][i] for r in runs]
                cells.append(
                    f"{C.mean_sd([x['hits'] for x in rs], digits=1)} "
                    f"(p {C.mean_sd([x['p_value'] for x in rs], digits=3)})"
                )
            body.append(cells)
    base = ["base rate", len(pool)] + [
        f"{int(flags[f].sum())} ({flags[f].mean() * 100:.0f} %)" for f in shown
    ]
    body.append(base)
    text = C.markdown_table(["score", "top n", *shown], body)
    print(text)
    counts = {k: int(v.sum()) for k, v in flags.items()}
    print("flag counts in folds 9-10:", counts)
    from bokeh.layouts import column

    fig = C.bar_figure(
        f"Share of quality-flagged ECGs among the top {tops[0]} (folds 9-10)",
        SCORES,
        {
            "top-ranked": [
                np.mean([r["results"][n]["any_quality_flag"][0]["precision"] for r in runs])
                for n in SCORES
            ],
            "base rate": [
                runs[0]["results"][n]["any_quality_flag"][0]["base_rate"] for n in SCORES
            ],
        },
        "share flagged",
    )
    C.save_html(cfg, "quality_control", column(fig), "TLC quality control")
    payload = {
        "k": cfg.n_clusters,
        "n_pool": len(pool),
        "tops": tops,
        "flag_counts": counts,
        "runs": runs,
        "table_md": text,
    }
    C.write_result(cfg, "quality_control", payload, started)
    return payload


if __name__ == "__main__":
    main()
