"""Generate the tutorial notebooks (outputs empty) from the cell lists here and in ``_cells_more.py``.

Run ``python notebooks/_build.py`` after editing; it rewrites ``notebooks/*.ipynb``
and the copy of the quickstart that ships in the package
(``ecg_cluster_widget/assets/quickstart.ipynb``, opened by ``ecg-cluster-widget demo``).
Keeping the sources here keeps the five notebooks consistent and reviewable as code.

Every notebook reads ``ECW_FAST=1`` (set by ``tests/test_notebooks.py``) to shrink
its data so the whole set executes in a few minutes on two CPU cores.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_notebook

# Sibling modules hold the cell sources; make them importable however this file is run.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cells_more import LABELING, TEACHING, YOUR_MODEL  # noqa: E402
from _common import BOKEH, SETUP, code, md  # noqa: E402

HERE = Path(__file__).resolve().parent
PACKAGE_COPY = HERE.parent / "ecg_cluster_widget" / "assets" / "quickstart.ipynb"

# ---------------------------------------------------------------------------------------
QUICKSTART = [
    md("""
# Quickstart: time-localized clusters in five minutes

This notebook explains what a small ECG classifier has learned, using **time-localized
clusters (TLC)**: every time step of every ECG is assigned to one of *K* clusters of the
network's own internal activations (the last three residual blocks). Each ECG becomes a
sequence of coloured segments, and the clusters usually line up with P waves, QRS
complexes, T waves and the baseline.

Everything here runs offline: synthetic 12-lead ECGs (10 s, 100 Hz, with exact P/QRS/T
annotations) and the demo ResNet1d that ships with the package (trained on records from
the same generator, classes NORM, MI, STTC, CD, AF).
"""),
    code(SETUP),
    code("""
from ecg_cluster_widget.demo import demo_dataset
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.model import load_demo_model
from ecg_cluster_widget.views.widget import ClusterExplorer

ds = demo_dataset(n_records=60 if FAST else 300)   # records the model never saw
bundle = load_demo_model()
print(ds)
print(bundle)
"""),
    md("""
## Fit the explainer

`TLCExplainer` hooks the model, pools the activations of all time steps of all ECGs and
fits a soft clustering with K clusters. It takes a few seconds.
"""),
    code("""
tlc = TLCExplainer(bundle, n_clusters=6, random_state=0).fit(ds)
print("stable cluster ids:", tlc.cluster_ids_.tolist())
print({k: round(v, 2) for k, v in tlc.timings_.items()})
"""),
    md("""
## Open the explorer

The explorer shows one ECG with its cluster bands, the uncertainty ribbon underneath and
the cluster prototypes on the side. Press **?** inside it for the keyboard shortcuts.
"""),
    code("""
w = ClusterExplorer(tlc, ds, model=bundle)
w
"""),
    md("""
## Guided tour

1. **Brush a QRS complex.** Drag across one QRS in any lead. The selection is synced across
   leads and the panel lists which clusters cover it, their share and their mean
   uncertainty. From Python the same numbers are in `w.selection_summary` (next cell).
2. **Change K.** Use the K slider (or `+` / `-`). Clusters that survive keep their id and
   colour, so you can watch the QRS cluster split into upstroke and downstroke, or the TP
   baseline merge with the PR segment.
3. **Read the uncertainty.** The grey ribbon is the normalised entropy of the soft
   assignment: 0 means the network's activations sit squarely in one cluster, 1 means
   they are evenly split between all K. Transitions between waves are usually uncertain;
   a whole uncertain beat is worth a look. `u` jumps to the most uncertain ECG.
4. **Open a prototype.** Each card in the side panel shows a cluster's prototype (median
   and interquartile band of the snippets it covers) and its nearest real examples.
   Click a card to highlight that cluster in the bands, then `n` / `p` step through its
   occurrences; click an example to open that ECG.
"""),
    code("""
# Brushing from Python does the same as dragging in the browser: select the first QRS.
ex = w.explanation
qrs = ds.wave_masks[w.index] == 2
start = int(qrs.argmax())
end = start + int(qrs[start:].argmin())
w.selection = {"start": start, "end": end}
w.selection_summary["clusters"]
"""),
    code("""
# K is cheap to change: features are cached and ids are matched to the previous fit.
w.set_k(8)
print("K = 8 ids:", tlc.cluster_ids_.tolist())
w.set_k(6)
print("back to K = 6:", tlc.cluster_ids_.tolist())
"""),
    code("""
# The most uncertain ECG of the dataset, and what the clustering says about it.
w.show(rank="uncertain")
print("record", w.explanation.record_id, "mean entropy", round(w.explanation.mean_entropy, 3))
w.explanation.to_frame().head(8)
"""),
    md("""
## The same results in Python

`tlc.explain(ds, i)` returns the segments, soft assignments and entropy of one ECG;
`tlc.cluster_summary(ds)` describes every cluster over the dataset.
"""),
    code("""
import pandas as pd

pd.DataFrame([
    {"cluster_id": c.cluster_id, "share": c.share, "mean_entropy": c.mean_entropy,
     "mean_duration_s": c.mean_duration_s, **(c.class_mix or {})}
    for c in tlc.cluster_summary(ds)
]).round(3)
"""),
    md("""
## Real ECGs, explained by a model trained on real ECGs

The package also ships `ptbxl250`, a ResNet1d trained on PTB-XL (folds 1-8, 250 Hz, with
its 0.5-40 Hz band-pass built in), and a small real sample: 40 PTB-XL test-fold ECGs and
20 LUDB ECGs with cardiologists' P / QRS / T boundaries (licences in
`ecg_cluster_widget/assets/real_sample/`). `TLCExplainer.for_model` uses the options
picked for this model on LUDB (see `docs/results.md`, section 1). The clusters are fitted
on the PTB-XL records and shown on LUDB, which they never saw.
"""),
    code("""
from ecg_cluster_widget.data import load_real_sample
from ecg_cluster_widget.explain.landmarks import landmark_alignment
from ecg_cluster_widget.model import load_pretrained

real = load_pretrained("ptbxl250")
print(real)
fit_real = load_real_sample("ptbxl", fs=real.fs)   # 40 PTB-XL test-fold ECGs
ludb = load_real_sample("ludb", fs=real.fs)         # 20 LUDB ECGs with wave masks
tlc_real = TLCExplainer.for_model(real, n_clusters=8, random_state=0).fit(fit_real)
es = tlc_real.explain_all(ludb)
nmi = landmark_alignment(es.labels, ludb.wave_mask_for_lead("II"), n_clusters=8)["nmi"]
print(f"NMI of the clusters with the cardiologists' waves (lead II): {nmi:.3f}")
"""),
    code("""
ClusterExplorer(tlc_real, ludb, model=real)
"""),
    md("""
## Share the result

`make_report` writes a standalone HTML page (Bokeh, all JavaScript inlined, opens
offline) with prototypes, proportions by class, the cluster/wave table and a few ECGs.
"""),
    code("""
from ecg_cluster_widget.views.report import make_report

path = make_report(tlc, ds, "quickstart_report.html", indices=[0, 1], bundle=bundle)
print("wrote", path, f"({path.stat().st_size / 1e6:.1f} MB)")
"""),
    md("""
Next: `teaching.ipynb` (how pathologies change the cluster sequence), `labeling.ipynb`
(name clusters and export labelled segments), `ptbxl.ipynb` (real data) and
`your_model.ipynb` (explain your own network).
"""),
]

# ---------------------------------------------------------------------------------------
PTBXL = [
    md("""
# PTB-XL: explaining a classifier on real 12-lead ECGs

PTB-XL (Wagner et al., *Scientific Data* 2020) holds 21,799 ten-second 12-lead ECGs with
five diagnostic superclasses: NORM, MI (myocardial infarction), STTC (ST/T change),
CD (conduction disturbance) and HYP (hypertrophy).

**Getting the data.** Download PTB-XL from PhysioNet,
<https://physionet.org/content/ptb-xl/1.0.3/> (about 3 GB; `wget -r -N -c -np
https://physionet.org/files/ptb-xl/1.0.3/`), and point `ECW_PTBXL` at the folder that holds
`ptbxl_database.csv`. Without it, this notebook looks for the small subset at
`../../shared/data/ptbxl_subset` (868 labelled records). If neither exists, the cells
below print a message and skip instead of failing.
"""),
    code(SETUP),
    code("""
from pathlib import Path

PTBXL_ROOT = Path(os.environ.get("ECW_PTBXL", "../../shared/data/ptbxl_subset")).expanduser()
DATA_OK = (PTBXL_ROOT / "ptbxl_database.csv").is_file()
if DATA_OK:
    print("using PTB-XL at", PTBXL_ROOT.resolve())
else:
    print(f"PTB-XL not found at {PTBXL_ROOT.resolve()}.\\n"
          "Download it from https://physionet.org/content/ptb-xl/1.0.3/ and set the ECW_PTBXL "
          "environment variable to the folder containing ptbxl_database.csv, then rerun. "
          "The remaining cells are skipped.")
"""),
    md("""
## Load

`load_ptbxl` reads the WFDB files, maps the SCP codes to the five superclasses and keeps
PTB-XL's `strat_fold`. We use the 100 Hz version (1000 samples per lead); folds 1-8 train,
9 validation, 10 test, as in the PTB-XL benchmark.
"""),
    code("""
if DATA_OK:
    from ecg_cluster_widget.data.ptbxl import load_ptbxl

    ds = load_ptbxl(PTBXL_ROOT, fs=100, max_records=120 if FAST else None)
    print(ds)
    print("records per class:", {c: int(n) for c, n in zip(ds.class_names, ds.labels.sum(axis=0))})
"""),
    md("""
## Train or load a model

Training a ResNet1d on the full PTB-XL takes a while on a CPU; a checkpoint saved once
(`ptbxl_model.pt`) is reused on later runs. `ecg-cluster-widget train --data ptbxl:PATH`
does the same from the command line.
"""),
    code("""
if DATA_OK:
    import numpy as np

    from ecg_cluster_widget.model import ResNet1d, load_checkpoint, save_checkpoint, train_model

    folds = ds.folds if ds.folds is not None else np.arange(len(ds)) % 10 + 1
    train_ds, val_ds, test_ds = ds.subset(folds <= 8), ds.subset(folds == 9), ds.subset(folds == 10)
    ckpt = Path("ptbxl_model.pt")
    if ckpt.is_file() and not FAST:
        bundle = load_checkpoint(ckpt)
    else:
        net = ResNet1d(12, len(ds.class_names), filters=(32, 48, 64, 80, 96),
                       seq_lengths=(1000, 500, 250, 125, 25))
        bundle = train_model(net, train_ds, val_ds, epochs=1 if FAST else 15, seed=0)
        if not FAST:
            save_checkpoint(ckpt, bundle)
    print(bundle)
"""),
    md("""
## Fit the clusters and explore

The clustering is fitted on the training records; we browse the test records.
"""),
    code("""
if DATA_OK:
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.views.widget import ClusterExplorer

    tlc = TLCExplainer(bundle, n_clusters=6, random_state=0).fit(train_ds)
    w = ClusterExplorer(tlc, test_ds, model=bundle)
    display(w)
"""),
    md("""
## MI and STTC cases

Pathological Q waves (MI) and T-wave inversion or ST depression (STTC) should show up as
changes in the cluster sequence around the QRS and the T wave. Below: one test record of
each class with its cluster bands, the uncertainty ribbon and Grad-CAM for that class
(orange). In the explorer, `w.show(class_name="MI")` jumps to the next MI record.
"""),
    code(BOKEH),
    code("""
if DATA_OK:
    from bokeh.layouts import column

    from ecg_cluster_widget.explain.gradcam import GradCAM
    from ecg_cluster_widget.views.figures import ecg_figure

    cam = GradCAM(bundle)
    leads = [test_ds.lead_index(n) for n in ("II", "III", "aVF", "V2", "V5")]
    panels = []
    for name in ("MI", "STTC"):
        hits = np.flatnonzero(test_ds.labels[:, test_ds.class_names.index(name)] > 0.5)
        if hits.size == 0:
            print(f"no {name} record in this test split")
            continue
        i = int(hits[0])
        ex = tlc.explain(test_ds, i)
        g = cam.attribute(test_ds.subset([i]), target=bundle.class_names.index(name))[0]
        p = bundle.predict_proba(test_ds.subset([i]))[0]
        print(f"{name} record {ex.record_id}: P({name}) = {p[bundle.class_names.index(name)]:.2f}, "
              f"mean entropy {ex.mean_entropy:.2f}")
        panels.append(ecg_figure(test_ds.signals[i][leads], test_ds.fs, ex.labels, ex.cluster_ids,
                                 ex.entropy, lead_names=[test_ds.lead_names[j] for j in leads],
                                 gradcam=g, title=f"{name}: record {ex.record_id}"))
    if panels:
        show(column(*panels))
"""),
    md("""
## Faithfulness

Are the cluster proportions enough to reproduce the network's decisions? A random forest
trained on each ECG's share of time per cluster predicts the CNN's own labels (fidelity)
and the true labels (accuracy, AUROC, next to the CNN's). The paper reports 94.9 %
fidelity on full PTB-XL; with a small subset and a briefly trained model expect lower and
noisier numbers.
"""),
    code("""
if DATA_OK:
    from ecg_cluster_widget.explain.evaluate import evaluate, format_evaluation

    result = evaluate(tlc, bundle, train_ds, test_ds, baselines=not FAST)
    print(format_evaluation(result))
"""),
]

NOTEBOOKS = {
    "quickstart.ipynb": QUICKSTART,
    "ptbxl.ipynb": PTBXL,
    "teaching.ipynb": TEACHING,
    "labeling.ipynb": LABELING,
    "your_model.ipynb": YOUR_MODEL,
}


def build(name: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=NOTEBOOKS[name])
    # Fixed cell ids keep rebuilds byte-identical (nbformat draws random ones).
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{Path(name).stem}-{i:02d}"
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


def main(out_dir: Path = HERE) -> list[Path]:
    written = []
    for name in NOTEBOOKS:
        path = out_dir / name
        nbformat.write(build(name), str(path))
        written.append(path)
    PACKAGE_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out_dir / "quickstart.ipynb", PACKAGE_COPY)
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print("wrote", p)
