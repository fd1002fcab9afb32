"""Age regression: do cluster proportions also carry what an age-predicting CNN uses?

A ResNet1d regressor (``task="regression"``, MSE on standardised age) is trained on
PTB-XL folds 1-8 (validation 9) at 100 Hz; ages coded 300 (over 89) become 90. TLC is
fitted on its training activations, and a random-forest regressor on the cluster
proportions is trained to reproduce the CNN's predicted ages. On fold 10: R^2 and MAE of
the CNN and of the RF against the true age, and fidelity = R^2 of the RF against the
CNN's outputs. (The paper did this on CODE-15%; we only have the PTB-XL subset.)

Run:  python experiments/age_regression.py [--quick] [--ks 4 8 12]
"""

from __future__ import annotations

import time
from collections.abc import Sequence

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]

KEYS = ("cnn_r2", "cnn_mae", "rf_r2", "rf_mae", "fidelity", "fidelity_mae")


def run_seed(cfg: C.RunConfig, train, val, test, ks: Sequence[int], seed: int) -> list[dict]:
    from ecg_cluster_widget.explain.faithfulness import faithfulness_regression

    bundle = C.train_or_load(cfg, train, val, seed=seed, task="regression", tag="ptbxl_age")
    out_train = bundle.predict_proba(train)[:, 0]
    out_test = bundle.predict_proba(test)[:, 0]
    tlc = C.fit_tlc(bundle, train, ks[0], seed)
    runs = []
    for k in ks:
        tlc.set_n_clusters(k)
        d = faithfulness_regression(
            tlc.explain_all(train).proportions,
            out_train,
            tlc.explain_all(test).proportions,
            out_test,
            y_test=test.labels[:, 0],
            n_estimators=300,
            random_state=seed,
        )
        runs.append({"seed": seed, "k": int(k), **{key: d.get(key) for key in KEYS}})
        C.log(
            f"seed {seed} K={k}: CNN R2 {d['cnn_r2']:.3f} MAE {d['cnn_mae']:.1f} | RF R2 "
            f"{d['rf_r2']:.3f} MAE {d['rf_mae']:.1f} | fidelity R2 {d['fidelity']:.3f}"
        )
    return runs


def main(argv: Sequence[str] | None = None) -> dict:
    parser = C.build_parser(__doc__.split("\n")[0], __file__)
    parser.add_argument("--ks", type=int, nargs="+", default=None, help="K values (default 4 8 12)")
    ns, cfg = C.parse_args(parser, argv)
    if ns.seeds is None and not cfg.quick:
        cfg.seeds = [0]  # one regressor: CPU budget
    started = time.time()
    ks = ns.ks or ([4] if cfg.quick else [4, 8, 12])
    ds = C.with_age_labels(C.load_ptbxl_100(cfg), cfg)
    train, val, test = C.split_ptbxl(ds)
    C.log(
        f"age: train {len(train)}, val {len(val)}, test {len(test)}; test age mean "
        f"{test.labels.mean():.1f} sd {test.labels.std():.1f}"
    )
    runs = [r for s in cfg.seeds for r in run_seed(cfg, train, val, test, ks, s)]
    body = []
    summary = []
    for k in ks:
        sel = [r for r in runs if r["k"] == k]
        row = {"k": k, **{key: C.summarize(r[key] for r in sel) for key in KEYS}}
        summary.append(row)
        body.append(
            [k]
            + [
                C.mean_sd(row[key]["values"], digits=3 if "r2" in key or key == "fidelity" else 1)
                for key in KEYS
            ]
        )
    text = C.markdown_table(
        [
            "K",
            "CNN R^2",
            "CNN MAE (y)",
            "RF R^2",
            "RF MAE (y)",
            "fidelity R^2 (RF vs CNN)",
            "RF-CNN MAE (y)",
        ],
        body,
    )
    print(text)
    from bokeh.layouts import column

    fig = C.line_figure(
        "Age regression on PTB-XL fold 10",
        ks,
        {
            "CNN R^2": [r["cnn_r2"]["mean"] for r in summary],
            "RF on proportions R^2": [r["rf_r2"]["mean"] for r in summary],
            "fidelity R^2": [r["fidelity"]["mean"] for r in summary],
        },
        "number of clusters K",
        "R^2",
    )
    C.save_html(cfg, "age_regression", column(fig), "TLC age regression")
    payload = {
        "ks": list(ks),
        "n_train": len(train),
        "n_test": len(test),
        "test_age_mean": float(test.labels.mean()),
        "test_age_sd": float(test.labels.std()),
        "summary": summary,
        "runs": runs,
        "table_md": text,
    }
    C.write_result(cfg, "age_regression", payload, started)
    return payload


if __name__ == "__main__":
    main()
