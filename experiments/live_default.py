"""Is the default both meaningful and faithful? The real model's default configuration.

The evidence for the default ``TLCExplainer(load_pretrained("ptbxl250"), n_clusters=8)``:
every K a merge of one mixture's components (a cluster tree), options from the model's
recommendation. Clusters are fitted on PTB-XL training records (strat_fold 1-8, 250 Hz).

1. **Design choices, on LUDB records 1-100 only (tuning split).** Lead II NMI at K = 4, 6
   and 8 for the tree's two choices: the merge criterion (Ward on the component means,
   the package's, against the entropy criterion of Baudry et al. 2010) and the tree's top
   (the reference mixture of K0 = 8 components, the package's, against one mixture of 12).
2. **Alignment, on LUDB records 101-200 (report split).** Lead II NMI, mean +- sd over the
   seeds, at K = 4..12: the default's tree levels, separately fitted mixtures of each K
   (``n_clusters=K``, what a refit per K would give), the paper preset, and k-means on
   band-passed raw windows; at K = 8 also every lead.
3. **Clusters.** The smallest cluster's share of the fitting time steps at K = 8, and the
   K offered (``max_clusters_``).
4. **Faithfulness, on PTB-XL fold 10.** A random forest on the K = 8 cluster proportions
   of the training records reproduces the CNN's thresholded labels: fidelity and macro
   kappa, for the default, the paper preset and the raw-window k-means control.

Run:  python experiments/live_default.py [--quick] [--seeds 0 1 2]
"""

from __future__ import annotations

import time

import numpy as np

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]

KS = list(range(4, 13))
LEADS = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")


def load(cfg: C.RunConfig, bundle):
    """PTB-XL folds 1-8 (fit), fold 10 (faithfulness), LUDB tune / report halves, 250 Hz."""
    from ecg_cluster_widget.data import load_ludb, load_ptbxl, resample

    ptb = load_ptbxl(
        cfg.data_dir / "ptbxl_subset",
        fs=500,
        max_records=60 if cfg.quick else None,
        progress=False,
    )
    ptb = resample(ptb, bundle.fs)
    folds = np.asarray(ptb.folds)
    train = ptb.subset(np.flatnonzero(folds <= 8))
    test = ptb.subset(np.flatnonzero(folds == 10)) if (folds == 10).any() else ptb.subset([0])
    ludb = resample(
        load_ludb(cfg.data_dir / "ludb", records=None if not cfg.quick else None, progress=False),
        bundle.fs,
    )
    ids = np.array([int(str(r).split("/")[-1].split("_")[0]) for r in ludb.record_ids])
    tune, report = np.flatnonzero(ids <= 100), np.flatnonzero(ids > 100)
    if cfg.quick:
        tune, report = tune[:8], report[:8]
    return train, test, ludb.subset(tune), ludb.subset(report)


def nmi(labels: np.ndarray, ds, lead: str = "II") -> float:
    from ecg_cluster_widget.explain.landmarks import landmark_alignment

    return float(landmark_alignment(labels, ds.wave_mask_for_lead(lead))["nmi"])


def tlc(bundle, fit_ds, seed: int, quick: bool, **kw):
    from ecg_cluster_widget import TLCExplainer

    kw.setdefault("n_clusters", 8)
    mfp = 20_000 if quick else 200_000
    return TLCExplainer(bundle, random_state=seed, max_fit_points=mfp, progress=False, **kw).fit(
        fit_ds
    )


def raw_labels(bundle, fit_ds, ds, k: int, seed: int) -> np.ndarray:
    """k-means on raw windows of the band-passed signals (the model's own filter)."""
    from ecg_cluster_widget.explain.landmarks import raw_window_kmeans_labels

    f = bundle.signal_filter

    def filt(d):
        return d if f is None else d.with_signals(f.apply(d.signals, d.fs))

    return raw_window_kmeans_labels(filt(ds), k, random_state=seed, fit_ds=filt(fit_ds))


def entropy_partitions(gamma: np.ndarray) -> dict[int, np.ndarray]:
    """Merges by the entropy criterion (Baudry et al. 2010), for the design comparison."""
    g = np.asarray(gamma, dtype=np.float64)
    groups = [[j] for j in range(g.shape[1])]
    out = {}

    def xlogx(p):
        return p * np.log(np.maximum(p, 1e-12))

    while len(groups) >= 2:
        part = np.empty(g.shape[1], dtype=np.int64)
        for gi, m in enumerate(groups):
            part[m] = gi
        out[len(groups)] = part
        cols = [g[:, m].sum(axis=1) for m in groups]
        pairs = [(a, b) for a in range(len(groups)) for b in range(a + 1, len(groups))]
        a, b = max(
            pairs,
            key=lambda p: (
                (xlogx(cols[p[0]] + cols[p[1]]) - xlogx(cols[p[0]]) - xlogx(cols[p[1]]))
                .sum()
                .item()
            ),
        )
        groups[a] = groups[a] + groups[b]
        del groups[b]
    return out


def level_labels(model, ds, partition: np.ndarray) -> np.ndarray:
    """Sample-resolution labels of ``ds`` for one partition of the reference mixture."""
    from ecg_cluster_widget.activations import resample_time
    from ecg_cluster_widget.clustering.tree import members_matrix

    tree = model.clusterer_.tree
    post = tree.fine_posterior(model._features(ds, store=False))
    return resample_time(post @ members_matrix(partition), ds.n_samples).argmax(axis=2)


def design(bundle, train, tune, quick: bool) -> dict:
    """Step 1 on the tuning split (seed 0)."""
    out = {}
    ref = tlc(bundle, train, 0, quick)  # top = the K0 = 8 mixture (the package's choice)
    tree = ref.clusterer_.tree
    feats = ref._features(train, store=False)
    rng = np.random.default_rng(0)
    pts = feats.reshape(-1, feats.shape[2])
    pts = pts[rng.choice(len(pts), min(len(pts), 50_000), replace=False)]
    ent = entropy_partitions(tree.fine.predict_proba(pts))
    for k in (4, 6, 8):
        out[f"ward_top8_k{k}"] = nmi(ref.predict(tune, n_clusters=k), tune)
        out[f"entropy_top8_k{k}"] = nmi(level_labels(ref, tune, ent[k]), tune)
    top12 = tlc(bundle, train, 0, quick, n_clusters=12)
    for k in (4, 6, 8):
        out[f"ward_top12_k{k}"] = nmi(top12.predict(tune, n_clusters=k), tune)
    C.log(f"design (LUDB 1-100): {out}")
    return out


def faithfulness(bundle, train, test, models: dict, seed: int) -> dict:
    """Step 4: RF on K=8 proportions against the CNN on fold 10."""
    from ecg_cluster_widget.explain.faithfulness_cv import raw_kmeans_proportions

    cnn_train, cnn_test = bundle.predict_proba(train), bundle.predict_proba(test)
    out = {}
    feats = {
        name: (m.explain_all(train).proportions, m.explain_all(test).proportions)
        for name, m in models.items()
    }
    feats["raw-window k-means control"] = (
        raw_kmeans_proportions(train, 8, fit_ds=train, random_state=seed),
        raw_kmeans_proportions(test, 8, fit_ds=train, random_state=seed),
    )
    for name, (p_train, p_test) in feats.items():
        f = C.rf_faithfulness(
            p_train, cnn_train, p_test, cnn_test, test.labels, seed, class_names=test.class_names
        )
        out[name] = {"fidelity": f["fidelity"], "kappa": f["kappa"]}
    C.log(f"faithfulness seed {seed}: {out}")
    return out


def main(argv=None) -> dict:
    parser = C.build_parser(__doc__.splitlines()[0], __file__)
    ns, cfg = C.parse_args(parser, argv)
    started = time.time()
    from ecg_cluster_widget.model import load_pretrained

    bundle = load_pretrained("ptbxl250")
    train, test, tune, report = load(cfg, bundle)
    C.log(
        f"PTB-XL fit {len(train)}, fold 10 {len(test)}, LUDB tune {len(tune)}, report {len(report)}"
    )
    result: dict = {"design_tune": design(bundle, train, tune, cfg.quick)}
    rows: dict[str, dict[int, list[float]]] = {}
    shares, offered, faith, leads = [], [], [], {}

    def add(name: str, k: int, value: float) -> None:
        rows.setdefault(name, {}).setdefault(k, []).append(value)

    for seed in cfg.seeds:
        default = tlc(bundle, train, seed, cfg.quick)
        paper = tlc(bundle, train, seed, cfg.quick, preset="paper")
        offered.append(default.max_clusters_)
        lab = default.explain_all(train).labels
        shares.append(float((np.bincount(lab.ravel(), minlength=8) / lab.size).min()))
        for k in KS:
            if k <= default.max_clusters_:
                add("default (tree levels)", k, nmi(default.predict(report, n_clusters=k), report))
            if k <= paper.max_clusters_:
                add(
                    "paper preset (tree levels)",
                    k,
                    nmi(paper.predict(report, n_clusters=k), report),
                )
            add("raw-window k-means", k, nmi(raw_labels(bundle, train, report, k, seed), report))
        if seed == cfg.seeds[0]:
            for k in KS:
                sep = tlc(bundle, train, seed, cfg.quick, n_clusters=k, max_clusters=k)
                add("separate fit per K", k, nmi(sep.predict(report), report))
            lab8, raw8 = default.predict(report), raw_labels(bundle, train, report, 8, seed)
            for lead in LEADS:
                leads[lead] = {"default": nmi(lab8, report, lead), "raw": nmi(raw8, report, lead)}
        faith.append(
            faithfulness(bundle, train, test, {"default": default, "paper preset": paper}, seed)
        )
        C.log(f"seed {seed}: default K=8 NMI {rows['default (tree levels)'][8][-1]:.3f}")
    result.update(
        {
            "nmi_report": {n: {str(k): v for k, v in r.items()} for n, r in rows.items()},
            "options": default.options_,
            "leads_k8_seed0": leads,
            "min_share_k8": shares,
            "k_offered": offered,
            "faithfulness_fold10": faith,
        }
    )
    print(table(result))
    C.write_result(cfg, "live_default", result, started)
    return result


def table(res: dict) -> str:
    """Markdown tables of a result (also used by the results doc)."""

    def ms(v):
        return C.mean_sd(v, digits=3) if v else ""

    names = list(res["nmi_report"])
    lines = [
        "| configuration | " + " | ".join(f"K={k}" for k in KS) + " |",
        "|---|" + "---|" * len(KS),
    ]
    for n in names:
        lines.append(
            f"| {n} | " + " | ".join(ms(res["nmi_report"][n].get(str(k))) for k in KS) + " |"
        )
    d = res["design_tune"]
    lines += [
        "",
        "| design (LUDB 1-100, seed 0) | K=4 | K=6 | K=8 |",
        "|---|---|---|---|",
    ]
    for label, key in (
        ("Ward merges of the K0=8 mixture (default)", "ward_top8"),
        ("entropy merges of the K0=8 mixture", "entropy_top8"),
        ("Ward merges of a 12-component mixture", "ward_top12"),
    ):
        lines.append(
            f"| {label} | " + " | ".join(f"{d[f'{key}_k{k}']:.3f}" for k in (4, 6, 8)) + " |"
        )
    lines += ["", "| faithfulness (fold 10, K=8) | fidelity | macro kappa |", "|---|---|---|"]
    for name in res["faithfulness_fold10"][0]:
        fid = [f[name]["fidelity"] for f in res["faithfulness_fold10"]]
        kap = [f[name]["kappa"] for f in res["faithfulness_fold10"] if f[name]["kappa"] is not None]
        lines.append(f"| {name} | {C.mean_sd(fid, pct=True)} | {ms(kap)} |")
    lines += ["", "| lead (K=8, seed 0) | default | raw-window k-means |", "|---|---|---|"]
    for lead, v in res["leads_k8_seed0"].items():
        lines.append(f"| {lead} | {v['default']:.3f} | {v['raw']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
