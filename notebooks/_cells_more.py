"""Cell sources of teaching.ipynb, labeling.ipynb and your_model.ipynb (see ``_build.py``)."""

from __future__ import annotations

from _common import BOKEH, SETUP, code, md

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
