"""Generate the tutorial notebooks (outputs empty) from the cell lists below.

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
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
PACKAGE_COPY = HERE.parent / "ecg_cluster_widget" / "assets" / "quickstart.ipynb"

SETUP = """\
import os

# ECW_FAST=1 (set by the test suite) shrinks the data so the notebook runs in seconds.
FAST = os.environ.get("ECW_FAST") == "1"
"""

BOKEH = """\
from bokeh.io import output_notebook, show
from bokeh.resources import INLINE

output_notebook(INLINE, hide_banner=True)  # inline resources: works offline
"""


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


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

# ---------------------------------------------------------------------------------------
TEACHING = [
    md("""
# Teaching: what the clusters mean, and how pathology changes them

Synthetic ECGs come with exact P / QRS / T annotations, so we can say precisely what each
cluster covers. Then we take one normal ECG and make **counterfactual pairs**: the very same
beats with the T waves inverted, or with pathological Q waves added in the inferior leads.
Any change in the cluster sequence or in the prediction is caused by that edit alone.
"""),
    code(SETUP),
    code("""
import numpy as np
import pandas as pd

from ecg_cluster_widget.data import WAVE_NAMES
from ecg_cluster_widget.demo import add_q_waves, demo_dataset, invert_t_waves
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.gradcam import GradCAM
from ecg_cluster_widget.explain.landmarks import landmark_alignment
from ecg_cluster_widget.model import load_demo_model

ds = demo_dataset(n_records=60 if FAST else 300)
bundle = load_demo_model()
tlc = TLCExplainer(bundle, n_clusters=6, random_state=0, progress=False).fit(ds)
"""),
    md("""
## What each cluster looks like

The contingency table counts, for each cluster, how many of its time steps fall in each
annotated wave (lead II). Row-normalised, it reads "cluster 3 is 80 % QRS". NMI and
homogeneity summarise the agreement (1 = clusters are exactly the waves).
"""),
    code("""
eset = tlc.explain_all(ds)
align = landmark_alignment(eset.labels.astype(np.int64), ds.wave_mask_for_lead("II"), tlc.n_clusters)
table = pd.DataFrame(align["contingency"], columns=WAVE_NAMES,
                     index=[f"cluster {c}" for c in tlc.cluster_ids_])
names = {int(c): WAVE_NAMES[int(np.argmax(row))] for c, row in zip(tlc.cluster_ids_, align["contingency"])}
print(f"NMI {align['nmi']:.2f}, homogeneity {align['homogeneity']:.2f}")
(table.div(table.sum(axis=1), axis=0)).round(2)
"""),
    code(BOKEH),
    code("""
from ecg_cluster_widget.views.figures import prototypes_figure

infos = tlc.cluster_summary(ds)
show(prototypes_figure(
    np.stack([c.prototype_median for c in infos]), np.stack([c.prototype_q25 for c in infos]),
    np.stack([c.prototype_q75 for c in infos]), [c.cluster_id for c in infos], ds.fs,
    offset_s=[c.prototype_offset_s for c in infos], lead=ds.lead_index("II"), lead_name="II",
    shares=[c.share for c in infos], mean_entropy=[c.mean_entropy for c in infos], ncols=3))
"""),
    md("""
## Counterfactual pairs

Pick the normal record the model is most confident about, then edit it.
"""),
    code("""
p_all = bundle.predict_proba(ds)
norm = ds.class_names.index("NORM")
is_norm = ds.labels[:, norm] > 0.5
i0 = int(np.flatnonzero(is_norm)[np.argmax(p_all[is_norm, norm])])
variants = {
    "original": ds.subset([i0]),
    "T-wave inversion": invert_t_waves(ds, i0),
    "pathological Q (II, III, aVF)": add_q_waves(ds, i0, depth_mv=1.0, width_s=0.05),
}
rows = []
for name, rec in variants.items():
    ex = tlc.explain(rec, 0)
    rows.append({"variant": name, **dict(zip(bundle.class_names, bundle.predict_proba(rec)[0].round(2))),
                 "mean entropy": round(ex.mean_entropy, 3), "segments": len(ex.segments)})
pd.DataFrame(rows).set_index("variant")
"""),
    md("""
## How the cluster sequence changes

For each edit: the share of time steps whose cluster changed, split by the annotated wave,
and the most common cluster substitutions inside the edited wave (each cluster is shown
with its majority wave). A change confined to the edited wave means local features; a
change that spreads into the neighbouring baseline shows the wide receptive field of the
late blocks, which mix in context from around each time step.
"""),
    code("""
wave = ds.wave_mask_for_lead("II")[i0]
base = tlc.explain(variants["original"], 0)
change_rows = []
for name in list(variants)[1:]:
    ex = tlc.explain(variants[name], 0)
    changed = base.label_ids != ex.label_ids
    change_rows.append({"variant": name, **{w: round(float(changed[wave == c].mean()), 3)
                                            for c, w in enumerate(WAVE_NAMES) if (wave == c).any()}})
    # Which cluster turned into which, counted over the edited wave's time steps.
    edited = 3 if "T-wave" in name else 2
    pairs = pd.Series(list(zip(base.label_ids[wave == edited], ex.label_ids[wave == edited])))
    top = pairs[pairs.map(lambda p: p[0] != p[1])].value_counts().head(3)
    print(f"{name}, inside {WAVE_NAMES[edited]}: " + ", ".join(
        f"C{a} ({names[int(a)]}) -> C{b} ({names[int(b)]}): {n} steps" for (a, b), n in top.items()))
pd.DataFrame(change_rows).set_index("variant")
"""),
    md("""
## Side by side with Grad-CAM

Top of each panel: leads with cluster bands. Bottom: uncertainty (grey) and Grad-CAM for
the class whose probability rose most (orange). Grad-CAM says *where* the network looked;
the clusters say *what* it saw there, and the entropy says how sure that reading is.
"""),
    code("""
from bokeh.layouts import row

from ecg_cluster_widget.views.figures import ecg_figure

cam = GradCAM(bundle)
p0 = bundle.predict_proba(variants["original"])[0]
leads = [ds.lead_index(n) for n in ("II", "aVF", "V2", "V5")]
panels = []
for name, rec in variants.items():
    p = bundle.predict_proba(rec)[0]
    target = int(np.argmax(p - p0)) if name != "original" else int(np.argmax(p0))
    ex = tlc.explain(rec, 0)
    g = cam.attribute(rec, target=target)[0]
    panels.append(ecg_figure(
        rec.signals[0][leads], rec.fs, ex.labels, ex.cluster_ids, ex.entropy,
        lead_names=[ds.lead_names[j] for j in leads], gradcam=g, width=420, lead_height=70,
        title=f"{name} (Grad-CAM: {bundle.class_names[target]})"))
show(row(*panels))
"""),
    md("""
**Things to try:** lower `depth_mv` of the Q wave (with the demo model, 0.5 mV leaves the
record NORM while 1.0 mV makes it MI) and watch where the prediction flips; move the Q
waves to the anterior leads (`leads=("V1", "V2", "V3", "V4")`);
invert the T waves in fewer leads; set K to 4 or 10 with `tlc.set_n_clusters(k)` and rerun.
"""),
]

# ---------------------------------------------------------------------------------------
LABELING = [
    md("""
# Labelling clusters

Cluster ids are numbers; their meaning comes from an expert. This notebook names the
clusters, saves the names, reloads them in a new explorer, exports labelled segments as
CSV, JSON and WFDB annotations, and applies the same names to a new dataset.

Labels key on the **stable** cluster id, so they survive changes of K for every cluster
that is matched to the previous fit.
"""),
    code(SETUP),
    code("""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ecg_cluster_widget.data import WAVE_NAMES
from ecg_cluster_widget.demo import demo_dataset
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.landmarks import landmark_alignment
from ecg_cluster_widget.model import load_demo_model
from ecg_cluster_widget.views.widget import ClusterExplorer

ds = demo_dataset(n_records=60 if FAST else 300)
bundle = load_demo_model()
tlc = TLCExplainer(bundle, n_clusters=6, random_state=0, progress=False).fit(ds)
w = ClusterExplorer(tlc, ds, model=bundle, progress=False)
w
"""),
    md("""
## Name the clusters

In the explorer, type a name in a cluster card of the side panel (or pick one from the
vocabulary: P wave, QRS complex, T wave, ...). Here we do it from Python, proposing each
cluster's majority wave from the synthetic annotations as its name.
"""),
    code("""
align = landmark_alignment(tlc.explain_all(ds).labels.astype(np.int64), ds.wave_mask_for_lead("II"),
                           tlc.n_clusters)
vocab = {"none": "TP baseline", "P": "P wave", "QRS": "QRS complex", "T": "T wave"}
proposed = {}
for cid, row in zip(tlc.cluster_ids_, np.asarray(align["contingency"])):
    wave = WAVE_NAMES[int(np.argmax(row))]
    purity = row.max() / max(row.sum(), 1)
    proposed[str(int(cid))] = {"name": vocab[wave], "notes": f"{purity:.0%} of its time steps in {wave}"}
w.cluster_labels = proposed
pd.DataFrame(w.cluster_labels).T
"""),
    md("## Save, and reload in a new explorer"),
    code("""
Path("labels").mkdir(exist_ok=True)
w.save_labels("labels/cluster_labels.json")
w2 = ClusterExplorer(tlc, ds, model=bundle, progress=False)
w2.load_labels("labels/cluster_labels.json")
assert w2.cluster_labels == w.cluster_labels
print(json.dumps(json.loads(Path("labels/cluster_labels.json").read_text()), indent=1)[:400])
"""),
    md("""
`ClusterExplorer(..., labels_path="labels/cluster_labels.json")` loads the file at start
and saves every edit to it automatically.
"""),
    md("## Export labelled segments"),
    code("""
w.export_segments("labels/segments.csv", indices=[0, 1, 2])
w.export_segments("labels/segments.json", indices=[0, 1, 2])
pd.read_csv("labels/segments.csv").head(8)
"""),
    code("""
import wfdb

w.show(0)
w.export_wfdb_annotations(f"rec{ds.record_ids[0]}", "labels")
ann = wfdb.rdann(f"labels/rec{ds.record_ids[0]}", "tlc")
list(zip(ann.sample[:6], ann.symbol[:6], ann.aux_note[:6]))
"""),
    md("""
## Apply the labels to a new dataset

The explainer is fitted once; new records are assigned to the same clusters, so the same
names apply. (Fresh synthetic records here; with real data, load them with `load_wfdb` or
`load_ptbxl` at the model's sampling rate.)
"""),
    code("""
new_ds = demo_dataset(n_records=20 if FAST else 100, seed=123)
w_new = ClusterExplorer(tlc, new_ds, model=bundle, labels_path="labels/cluster_labels.json",
                        progress=False)
w_new.export_segments("labels/new_segments.csv", indices="all")
seg = pd.read_csv("labels/new_segments.csv")
seg.assign(duration_s=seg.end_s - seg.start_s).groupby("name")["duration_s"].describe().round(3)
"""),
]

# ---------------------------------------------------------------------------------------
YOUR_MODEL = [
    md("""
# Explain your own model

`TLCExplainer` works with any `torch.nn.Module` that maps `(batch, leads, samples)` to
outputs, as long as you name the layers to hook. This notebook defines a small
convolutional network that is *not* a ResNet1d, trains it briefly on synthetic ECGs, picks
layers, checks the hooks and explains it.
"""),
    code(SETUP),
    code("""
import numpy as np
import torch
from torch import nn

from ecg_cluster_widget.demo import demo_dataset


class Block(nn.Module):
    \"\"\"Conv-BN-ReLU with stride; returns (x, extra) like many residual blocks do.\"\"\"

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 9, stride=stride, padding=4)
        self.bn = nn.BatchNorm1d(c_out)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        return y, y.mean(dim=-1)   # a tuple: the hooks take the first element


class MyNet(nn.Module):
    def __init__(self, n_leads=12, n_classes=5):
        super().__init__()
        self.stem = nn.Conv1d(n_leads, 16, 15, padding=7)
        self.block1 = Block(16, 24, 2)
        self.block2 = Block(24, 32, 2)
        self.block3 = Block(32, 32, 2)
        self.head = nn.Linear(32, n_classes)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x, _ = self.block1(x)
        x, _ = self.block2(x)
        x, _ = self.block3(x)
        return self.head(x.mean(dim=-1))


net = MyNet()
ds = demo_dataset(n_records=60 if FAST else 400)
[name for name, _ in net.named_children()]
"""),
    md("""
## Train (briefly)

`train_model` accepts any module and returns a `ModelBundle` (model + sampling rate,
leads, length and standardisation), which also makes `predict_proba` and Grad-CAM
available. A model you trained elsewhere can be wrapped with
`ModelBundle(net, class_names, lead_names, fs, n_samples, standardizer=None)`.
"""),
    code("""
from ecg_cluster_widget.model import train_model

n_train = int(0.8 * len(ds))
bundle = train_model(net, ds.subset(slice(0, n_train)), ds.subset(slice(n_train, None)),
                     epochs=1 if FAST else 8, batch_size=32, seed=0)
bundle.history[-1]
"""),
    md("""
## Choose layers and check the hooks

TLC hooks the outputs of late blocks: they carry the network's abstract features but
still have a time axis. Pick blocks that keep a time dimension (`Conv1d`-like outputs of
shape `(batch, channels, time)`), typically the last two or three before global pooling.
`ActivationExtractor` shows what each hook returns; tuples are reduced to their first
element.
"""),
    code("""
from ecg_cluster_widget.activations.hooks import ActivationExtractor

layers = ["block1", "block2", "block3"]
x = bundle.prepare(ds.subset(slice(0, 4)))
blocks = ActivationExtractor(bundle.model, layers=layers, progress=False).extract(x)
for name, a in zip(layers, blocks):
    print(f"{name}: {a.shape}  (batch, channels, time)")
"""),
    md("""
A layer name that does not exist raises a clear error listing the available ones:
"""),
    code("""
from ecg_cluster_widget.errors import ECGClusterError

try:
    ActivationExtractor(bundle.model, layers=["block9"], progress=False).extract(x)
except ECGClusterError as err:
    print("error:", err)
"""),
    md("## Explain"),
    code("""
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.views.widget import ClusterExplorer

tlc = TLCExplainer(bundle, n_clusters=5, layers=layers, random_state=0).fit(ds)
ex = tlc.explain(ds, 0)
print("layers:", tlc.layers_, "| segments in record 0:", len(ex.segments),
      "| mean entropy:", round(ex.mean_entropy, 3))
ClusterExplorer(tlc, ds, model=bundle, progress=False)
"""),
    md("""
Without a bundle, pass the bare module: `TLCExplainer(net, layers=layers)`. The data is
then fed as given (no standardisation or checks beyond NaN), so prepare it the way the
network was trained.
"""),
    code("""
tlc_bare = TLCExplainer(net, n_clusters=5, layers=layers, random_state=0, progress=False)
tlc_bare.fit(ds.subset(slice(0, 30)))
tlc_bare.transform(ds.subset(slice(0, 2))).shape
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
