"""What should a model without a recommendation get? TLC options chosen across architectures.

The shipped real-ECG model carries options tuned on it (``meta["tlc_options"]``); they did
not transfer to another network (docs/concepts.md). Every other model gets the
``"generic"`` preset. This experiment chooses it by evidence on networks of several
architectures, none tuned for:

- **Synthetic ECGs (exact wave masks, 100 Hz, 5 s).** The five networks of
  ``experiments/architectures.py`` (a ResNet, a token transformer, a gated network with
  tuple outputs and an extra forward argument, a single-lead network, a U-Net segmenter),
  each trained briefly as ``tests/model/test_any_model.py`` trains them, and the shipped
  demo model (a ResNet1d trained on synthetic ECGs). NMI of the K = 5 clusters with the
  P/QRS/T masks.
- **Real ECGs.** Four of those architectures trained on PTB-XL folds 1-8 (250 Hz,
  0.5-40 Hz band-pass; fold 9 for early stopping), and the shipped ResNet1d ``ptbxl250``
  with its recommendation switched off. Clusters fitted on PTB-XL folds 1-8, NMI of K = 8
  with the cardiologists' lead II waves on LUDB.

Candidates: which blocks are hooked (the last three, the paper's; the first three, the
finest time steps) crossed with the clusterer (isotropic GMM, the paper's; full-covariance
GMM) and the HMM prior with a 0.6 s detrend. **Chosen on the tuning split** (synthetic
seed 11, LUDB records 1-100): the largest mean NMI gain over k-means on raw signal
windows across the networks. **Reported on the other split** (synthetic seed 3, the any-
model test's data; LUDB 101-200).

Run:  python experiments/generic_default.py [--quick] [--seeds 0]
"""

from __future__ import annotations

import time

import numpy as np

try:
    from . import architectures as A
    from . import common as C
    from . import live_default as L
except ImportError:  # run as a script
    import architectures as A  # type: ignore[no-redef]
    import common as C  # type: ignore[no-redef]
    import live_default as L  # type: ignore[no-redef]

#: The candidates; each starts from the paper preset, so the result does not depend on
#: what the package's "generic" preset is today.
CANDIDATES: dict[str, dict] = {
    "paper (late blocks, isotropic GMM)": {},
    "late blocks, full GMM, HMM, detrend": dict(method="gmm_full", temporal="hmm", detrend_s=0.6),
    "early blocks, isotropic GMM": dict(layers="early"),
    "early blocks, full GMM": dict(layers="early", method="gmm_full"),
    "early blocks, full GMM, HMM, detrend": dict(
        layers="early", method="gmm_full", temporal="hmm", detrend_s=0.6
    ),
}
SYN_K, REAL_K = 5, 8
SPLITS = {"tune": (11, "LUDB 1-100"), "report": (3, "LUDB 101-200")}


# -- synthetic ---------------------------------------------------------------------
def synthetic_networks(seed: int) -> list[tuple[str, object, object]]:
    """(name, bundle, dataset) of the five architectures trained on synthetic seed ``seed``
    exactly as the any-model test trains them, and the shipped demo model."""
    from torch import nn

    from ecg_cluster_widget.data import make_synthetic, select_leads
    from ecg_cluster_widget.data.standardize import Standardizer
    from ecg_cluster_widget.model import declare_model, load_demo_model

    fs, n = 100.0, 500
    ds = make_synthetic(96, fs=fs, duration=n / fs, n_leads=12, seed=seed)
    lead2 = select_leads(ds, ["II"])
    x, y = A.standardise(np.asarray(ds.signals)), np.asarray(ds.labels, dtype=np.float32)
    std = Standardizer().fit(ds.signals)
    common = dict(fs=fs, lead_names=ds.lead_names, n_samples=n, standardizer=std)
    bce = nn.BCEWithLogitsLoss()
    out = []

    def plain(m, xb):
        return m(xb)

    for name, net in (("ResNet", A.ResEncoderClassifier()), ("transformer", A.TokenTransformer())):
        A.train_briefly(net, plain, x, y, bce)
        out.append((name, declare_model(net, **common), ds))

    net = A.LeadConditionedNet()
    A.train_briefly(net, A.lead_set_call, x, y, bce)
    for b in net.blocks:
        b.hook_output = 0
    out.append(("tuple outputs", declare_model(net, forward=A.lead_set_call, **common), ds))
    net = A.SingleLeadNet()
    A.train_briefly(
        net, lambda m, xb: m(xb[:, 0]), A.standardise(np.asarray(lead2.signals)), y, bce
    )
    single = declare_model(
        net,
        fs=fs,
        lead_names=["II"],
        n_samples=n,
        input_layout="samples",
        standardizer=Standardizer().fit(lead2.signals),
    )
    out.append(("single lead", single, lead2))
    net = A.UNet1d()
    masks = np.asarray(ds.wave_masks, dtype=np.int64)
    A.train_briefly(net, plain, x, masks, nn.CrossEntropyLoss(), steps=60)
    seg = declare_model(net, task="segmentation", class_names=["none", "P", "QRS", "T"], **common)
    out.append(("U-Net segmenter", seg, ds))
    demo = load_demo_model()
    demo_ds = make_synthetic(96, fs=demo.fs, duration=demo.n_samples / demo.fs, seed=seed)
    out.append(("demo model (ResNet1d)", demo, demo_ds))
    return out


def synthetic_rows(split: str, seeds: list[int], quick: bool) -> list[dict]:
    from ecg_cluster_widget import TLCExplainer
    from ecg_cluster_widget.explain.landmarks import landmark_alignment, raw_window_kmeans_labels

    rows = []
    for name, bundle, ds in synthetic_networks(SPLITS[split][0]):
        if quick:
            ds = ds.subset(list(range(24)))
        raw = landmark_alignment(raw_window_kmeans_labels(ds, SYN_K), ds.wave_masks, SYN_K)["nmi"]
        row = {"data": "synthetic", "network": name, "raw": raw, "nmi": {}}
        for cand, opts in CANDIDATES.items():
            vals = []
            for seed in seeds:
                tlc = TLCExplainer(
                    bundle,
                    n_clusters=SYN_K,
                    n_components=8,
                    max_fit_points=20_000,
                    preset="paper",
                    random_state=seed,
                    progress=False,
                    **opts,
                ).fit(ds)
                lab = tlc.transform(ds).argmax(-1)
                vals.append(landmark_alignment(lab, ds.wave_masks, SYN_K)["nmi"])
            row["nmi"][cand] = float(np.mean(vals))
        C.log(f"{split} synthetic {name}: raw {raw:.3f} {row['nmi']}")
        rows.append(row)
    return rows


# -- real ---------------------------------------------------------------------------
def real_networks(cfg: C.RunConfig, train, val) -> list[tuple[str, object]]:
    """Four architectures trained on PTB-XL folds 1-8 (cached), and ``ptbxl250``."""
    import torch

    from ecg_cluster_widget.data.filtering import SignalFilter
    from ecg_cluster_widget.model import declare_model, load_pretrained, train_model

    def single_call(m, xb):
        return m(xb[:, 1])  # lead II of the 12

    specs = (
        ("ResNet", lambda: A.ResEncoderClassifier(), None, "leads"),
        ("transformer", lambda: A.TokenTransformer(d=64, patch=10), None, "leads"),
        ("tuple outputs", lambda: A.LeadConditionedNet(), A.lead_set_call, "leads"),
        ("single lead", lambda: A.SingleLeadNet(), single_call, "samples"),
    )
    out = []
    cache = cfg.cache_dir / "generic_default"
    cache.mkdir(parents=True, exist_ok=True)
    filt = SignalFilter(bandpass=(0.5, 40.0))
    for name, make, call, layout in specs:
        torch.manual_seed(0)
        net = make()
        for b in getattr(net, "blocks", []):
            if isinstance(b, A.GatedBlock):
                b.hook_output = 0  # the element to cluster: the features, not the gate
        path = cache / f"{name.replace(' ', '_')}{'_quick' if cfg.quick else ''}.pt"
        if path.exists():
            saved = torch.load(path, weights_only=False)
            net.load_state_dict(saved["weights"])
            std = saved["standardizer"]
        else:
            t0 = time.time()
            module = net if call is None else A.Called(net, call)
            b = train_model(
                module,
                train,
                val,
                epochs=cfg.epochs,
                batch_size=32,
                lr=1e-3,
                seed=0,
                progress=False,
                signal_filter=filt,
                augment=True,
                monitor="val_auroc",
            )
            std = b.standardizer
            torch.save({"weights": net.state_dict(), "standardizer": std}, path)
            C.log(f"trained {name} in {time.time() - t0:.0f} s: {b.meta.get('val_metrics')}")
        net.eval()
        if layout == "samples":
            std, call = _lead(std, 1), None  # trained on lead II; now called as net(x)
        out.append(
            (
                name,
                declare_model(
                    net,
                    fs=train.fs,
                    lead_names=["II"] if layout == "samples" else train.lead_names,
                    n_samples=train.n_samples,
                    class_names=train.class_names,
                    forward=call,
                    input_layout=layout,
                    standardizer=std,
                    signal_filter=filt,
                ),
            )
        )
    out.append(("ptbxl250 (ResNet1d, recommendation off)", load_pretrained("ptbxl250")))
    return out


def _lead(std, i: int):
    """A per-lead standardizer restricted to lead ``i``."""
    from ecg_cluster_widget.data.standardize import Standardizer

    one = Standardizer()
    one.mean_, one.std_ = std.mean_[i : i + 1], std.std_[i : i + 1]
    return one


def real_rows(cfg: C.RunConfig) -> list[dict]:
    """Per network: NMI on both LUDB halves (one fit on PTB-XL folds 1-8 per candidate)."""
    from ecg_cluster_widget import TLCExplainer
    from ecg_cluster_widget.data import load_ludb, load_ptbxl, resample, select_leads

    ptb = load_ptbxl(
        cfg.data_dir / "ptbxl_subset", fs=500, max_records=cfg.max_records, progress=False
    )
    ptb = resample(ptb, 250.0)
    folds = np.asarray(ptb.folds)
    train = ptb.subset(np.flatnonzero(folds <= 8))
    val = ptb.subset(np.flatnonzero(folds == 9)) if (folds == 9).any() else None
    ludb = resample(load_ludb(cfg.data_dir / "ludb", progress=False), 250.0)
    ids = np.array([int(str(r).split("/")[-1].split("_")[0]) for r in ludb.record_ids])
    halves = {"tune": np.flatnonzero(ids <= 100), "report": np.flatnonzero(ids > 100)}
    if cfg.quick:
        halves = {k: v[:8] for k, v in halves.items()}
    C.log(f"PTB-XL fit {len(train)}, LUDB {', '.join(f'{k} {len(v)}' for k, v in halves.items())}")
    # NMI and the raw-window baseline (k-means on band-passed windows) as the live
    # experiment measures them (L).
    rows = []
    mfp = 20_000 if cfg.quick else 100_000
    for name, bundle in real_networks(cfg, train, val):
        one = bundle.lead_names == ("II",)
        fit_ds = select_leads(train, ["II"]) if one else train
        row = {"data": "real", "network": name, "raw": {}, "nmi": {}}
        for split, idx in halves.items():
            ev = ludb.subset(idx)
            ev_in = select_leads(ev, ["II"]) if one else ev
            row["raw"][split] = float(
                np.mean(
                    [L.nmi(L.raw_labels(bundle, fit_ds, ev_in, REAL_K, s), ev) for s in cfg.seeds]
                )
            )
        for cand, opts in CANDIDATES.items():
            vals: dict[str, list[float]] = {s: [] for s in halves}
            for seed in cfg.seeds:
                tlc = TLCExplainer(
                    bundle,
                    n_clusters=REAL_K,
                    preset="paper",
                    random_state=seed,
                    max_fit_points=mfp,
                    progress=False,
                    **opts,
                ).fit(fit_ds)
                for split, idx in halves.items():
                    ev = ludb.subset(idx)
                    lab = tlc.predict(select_leads(ev, ["II"]) if one else ev)
                    vals[split].append(L.nmi(lab, ev))
            row["nmi"][cand] = {s: float(np.mean(v)) for s, v in vals.items()}
        C.log(f"real {name}: raw {row['raw']} {row['nmi']}")
        rows.append(row)
    return rows


def gains(rows: list[dict], split: str) -> dict[str, list[float]]:
    """Per candidate: NMI minus raw-window k-means, one value per network of ``split``."""
    out: dict[str, list[float]] = {c: [] for c in CANDIDATES}
    for r in rows:
        if r.get("split", split) != split:
            continue
        raw = r["raw"][split] if isinstance(r["raw"], dict) else r["raw"]
        for c in CANDIDATES:
            v = r["nmi"][c]
            out[c].append((v[split] if isinstance(v, dict) else v) - raw)
    return out


def main(argv=None) -> dict:
    parser = C.build_parser(__doc__.splitlines()[0], __file__)
    ns, cfg = C.parse_args(parser, argv)
    started = time.time()
    rows = []
    for split in SPLITS:
        rows += [{**r, "split": split} for r in synthetic_rows(split, cfg.seeds, cfg.quick)]
    real = real_rows(cfg)
    rows += real
    tune = gains(rows, "tune")
    chosen = max(CANDIDATES, key=lambda c: float(np.mean(tune[c])))
    report = gains(rows, "report")
    result = {
        "candidates": CANDIDATES,
        "rows": rows,
        "chosen_on_tune": chosen,
        "mean_gain": {
            s: {c: float(np.mean(g[c])) for c in CANDIDATES}
            for s, g in (("tune", tune), ("report", report))
        },
        "beats_raw": {
            s: {c: int(np.sum(np.asarray(g[c]) > 0)) for c in CANDIDATES}
            for s, g in (("tune", tune), ("report", report))
        },
        "n_networks": {s: len(g[chosen]) for s, g in (("tune", tune), ("report", report))},
    }
    print(table(result))
    C.write_result(cfg, "generic_default", result, started)
    return result


def table(res: dict) -> str:
    """Markdown tables of a result (also used by the results doc)."""
    cands = list(res["candidates"])
    short = {c: f"({i + 1})" for i, c in enumerate(cands)}
    lines = ["candidates: " + "; ".join(f"{short[c]} {c}" for c in cands), ""]
    for split, label in (("tune", "tuning split"), ("report", "report split")):
        lines += [
            f"| {label} | raw k-means | " + " | ".join(short[c] for c in cands) + " |",
            "|---|---|" + "---|" * len(cands),
        ]
        for r in res["rows"]:
            if r["data"] == "synthetic" and r["split"] != split:
                continue
            raw = r["raw"][split] if isinstance(r["raw"], dict) else r["raw"]
            vals = [
                r["nmi"][c][split] if isinstance(r["nmi"][c], dict) else r["nmi"][c] for c in cands
            ]
            where = "synthetic" if r["data"] == "synthetic" else "LUDB"
            lines.append(
                f"| {where}: {r['network']} | {raw:.3f} | "
                + " | ".join(f"{v:.3f}" for v in vals)
                + " |"
            )
        lines.append(
            "| mean gain over raw | | "
            + " | ".join(f"{res['mean_gain'][split][c]:+.3f}" for c in cands)
            + " |"
        )
        lines.append(
            f"| networks above raw (of {res['n_networks'][split]}) | | "
            + " | ".join(str(res["beats_raw"][split][c]) for c in cands)
            + " |"
        )
        lines.append("")
    lines.append(
        f"Chosen on the tuning split: {short[res['chosen_on_tune']]} {res['chosen_on_tune']}."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()


def section(d: dict | None) -> tuple[str, list[list[str]]]:
    """Results-doc section (markdown) and its summary-table rows."""
    title = "## 00b. Models without a recommendation: the generic preset (`generic_default.py`)\n"
    if d is None:
        return title + "\nNot run yet.\n", []
    chosen, paper = d["chosen_on_tune"], next(iter(d["candidates"]))
    n = d["n_networks"]["report"]
    above, above_paper = d["beats_raw"]["report"][chosen], d["beats_raw"]["report"][paper]
    trailing = []
    for r in d["rows"]:
        if r["data"] == "synthetic" and r["split"] != "report":
            continue
        raw = r["raw"]["report"] if isinstance(r["raw"], dict) else r["raw"]
        v = r["nmi"][chosen]
        v = v["report"] if isinstance(v, dict) else v
        if v <= raw:
            where = "synthetic" if r["data"] == "synthetic" else "LUDB"
            trailing.append((f"{where}: {r['network']}", v, raw))
    txt = [
        title,
        'A model that carries no recommended options gets the `"generic"` preset. It is '
        "chosen here across networks of several architectures, none of them tuned for: five "
        "small networks (ResNet, token transformer, gated network with tuple outputs and an "
        "extra forward argument, single-lead network, U-Net segmenter) and the demo model on "
        "synthetic ECGs with exact wave masks (K = 5), and four of those architectures "
        "trained on PTB-XL folds 1-8 plus `ptbxl250` with its recommendation switched off, on "
        "LUDB lead II (K = 8). NMI with the waves; the baseline is k-means on raw signal "
        "windows. Chosen on the tuning split (synthetic seed 11, LUDB 1-100) by the mean gain "
        f"over the baseline; reported on the other (synthetic seed 3, LUDB 101-200). Command: "
        f"`{d['command']}`.\n",
        table(d),
        "",
        f"On the report split the chosen preset beats raw-window k-means on {above} of {n} "
        f"networks (the paper's configuration on {above_paper}), mean gain "
        f"{d['mean_gain']['report'][chosen]:+.3f} (paper {d['mean_gain']['report'][paper]:+.3f}). "
        + (
            "It trails the baseline on "
            + ", ".join(f"{w} ({v:.3f} against {r:.3f})" for w, v, r in trailing)
            + ". "
            if trailing
            else ""
        )
        + "Options tuned for one model remain specific to it.\n",
    ]
    summary = [
        [
            "generic preset: networks whose clusters beat raw-window k-means (report split)",
            f"{above} of {n} (paper configuration {above_paper})",
            "not studied",
        ]
    ]
    return "\n".join(txt), summary
