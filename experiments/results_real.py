"""Sections of docs/results.md for the real-ECG model (issue 8): wave alignment on LUDB.

Kept apart from ``make_results_doc.py`` so each experiment's prose lives next to the
keys it reads; ``make_results_doc.py`` calls :func:`section_real_alignment`.
"""

from __future__ import annotations

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]

LABELS = {
    "tlc_picked": "TLC, options picked on LUDB 1-100",
    "tlc_paper": "TLC, paper's configuration (last three blocks, no detrending / prior)",
    "raw_kmeans_bandpassed": "k-means on band-passed raw windows (0.12 s, 12 leads)",
    "probe_picked": "supervised ceiling: linear probe on the picked features (trained on LUDB 1-100)",
}


def _ms(s: dict) -> str:
    if s.get("mean") is None:
        return "n/a"
    return f"{s['mean']:.3f}" + (f" ± {s['sd']:.3f}" if s.get("sd") is not None else "")


def _moves(d: dict) -> str:
    """How the search moved on the tuning split, and an ablation around its pick."""
    tuning = d["tuning"]
    paper = tuning[0]["nmi_tune"]
    picked = d["picked"]
    axes = list(picked)
    final = max((t["nmi_tune"] for t in tuning if t["config"] == picked), default=float("nan"))
    steps = []
    for axis in axes:
        # Ablation around the final pick: the other axes at their picked values.
        alts = [
            t
            for t in tuning
            if t["config"][axis] != picked[axis]
            and all(t["config"][a] == picked[a] for a in axes if a != axis)
        ]
        if alts:
            steps.append(
                f"{axis}: {picked[axis]} {final:.3f} vs "
                + ", ".join(f"{t['config'][axis]} {t['nmi_tune']:.3f}" for t in alts)
            )
    prev = final
    cm = [t["nmi_tune"] for t in tuning if t["config"]["method"] == "cm"]
    cm_txt = (
        f" The clustering module's best score was {max(cm):.3f} against {prev:.3f} for the pick: its balanced-cluster prior fights the imbalance of the waves (the TP "
        "baseline covers about half of the annotated span)."
        if cm
        else ""
    )
    return (
        f"On the tuning split the search went from {paper:.3f} (the paper's configuration) to "
        f"{final:.3f}. Changing one option of the pick at a time (tuning split): "
        f"{'; '.join(steps)}.{cm_txt} Outside this script (exploration, not "
        "part of the evidence): stacking features at +-40..300 ms (temporal context) and "
        "weighting fit points by feature velocity lowered or did not change the NMI. The "
        "supervised probe shows the features carry more wave information than the unsupervised "
        "objective recovers; the contingency tables show the clusters merging P with T (both "
        "slow deflections of similar shape to the early layers) and splitting the baseline."
    )


def section_real_alignment(d: dict | None) -> tuple[str, list[list[str]]]:
    """Markdown for ``results/real_alignment.json`` and the summary-table rows."""
    if d is None:
        return "## 0. Headline: wave alignment of the real-ECG model on LUDB\n\nNot run yet.\n", []
    s = d["summary"]
    k = d["k"]
    seeds = len(d["runs"])
    rows = [
        [LABELS[m], _ms(s[m])]
        for m in ("tlc_picked", "tlc_paper", "raw_kmeans_bandpassed", "probe_picked")
    ]
    rows.append(["TLC (picked) minus band-passed raw k-means", _ms(s["gap_vs_raw_kmeans"])])
    tune = [
        [", ".join(f"{a}={v}" for a, v in t["config"].items()), f"{t['nmi_tune']:.3f}"]
        for t in d["tuning"]
    ]
    t_nmi, t_gap = d["target"]["nmi"], d["target"]["gap"]
    mean, gap = s["tlc_picked"]["mean"], s["gap_vs_raw_kmeans"]["mean"]
    verdict = (
        f"**Target met.** NMI {mean:.3f} >= {t_nmi} and {gap:+.3f} over the baseline."
        if d["target_met"]
        else f"**Target missed.** The target was NMI >= {t_nmi:.2f} and at least {t_gap:.2f} above band-passed "
        f"raw-window k-means. TLC reaches {mean:.3f} ({t_nmi - mean:.3f} short) and "
        f"{gap:+.3f} over the baseline ({t_gap - gap:.3f} short of the margin): it ties the "
        "fair baseline instead of beating it."
    )
    pw = d["runs"][0]["tlc_picked"]["per_wave"]
    wave_txt = ", ".join(f"{w} F1 {v['f1']:.2f}" for w, v in pw.items())
    picked = d["picked"]
    txt = [
        "## 0. Headline: wave alignment of the real-ECG model on LUDB (`real_alignment.py`)\n",
        f"Command: `{d['command']}`. Model: the shipped `ptbxl250` (PTB-XL folds 1-8, 250 Hz, "
        f"{d['model_meta']['filter']}; fold-10 macro AUROC {d['model_meta']['test_macro_auroc']:.3f}). "
        f"Clusters fitted on the activations of the {d['n_fit_records']} PTB-XL training records; "
        "LUDB is never fitted on. Options tuned on LUDB records 1-100 only "
        f"({d['n_tune']} records), reported on records 101-200 only ({d['n_report']} records), "
        f"lead {d['lead']} cardiologists' masks, time steps inside the annotated span, K = {k}, "
        f"mean ± sd over {seeds} clustering seeds.\n",
        C.markdown_table([f"method (LUDB 101-200, K = {k})", "NMI"], rows),
        "",
        verdict,
        "",
        f"Per wave (first seed, best-matching cluster): {wave_txt}.",
        "",
        "Picked options (coordinate ascent from the paper's configuration; the tuning "
        f"NMI on LUDB 1-100 for every configuration tried): layers `{picked['layers']}`, "
        f"detrend {picked['detrend_s']} s, within-record scaling {picked['scale_per_record']}, "
        f"temporal prior {picked['temporal']}, clustering {picked['method']}.\n",
        C.markdown_table(["configuration", "NMI, LUDB 1-100"], tune),
        "",
        _moves(d),
    ]
    summary = [
        [
            f"LUDB 101-200 wave alignment, NMI (K={k}, shipped real model): TLC picked / paper config / "
            "band-passed raw k-means / linear-probe ceiling",
            " / ".join(
                _ms(s[m])
                for m in ("tlc_picked", "tlc_paper", "raw_kmeans_bandpassed", "probe_picked")
            ),
            "aligned (qualitative)",
        ]
    ]
    return "\n".join(txt) + "\n", summary
