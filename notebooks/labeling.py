# %% [markdown]
# # Labelling clusters
#
# Cluster ids are numbers; their meaning comes from an expert. This notebook names the
# clusters, saves the names, reloads them in a new explorer, exports labelled segments as
# CSV, JSON and WFDB annotations, and applies the same names to a new dataset.
#
# Labels key on the **stable** cluster id, so they survive changes of K for every cluster
# that is matched to the previous fit.

# %%
import os

# ECW_FAST=1 (set by the test suite) shrinks the data so the notebook runs in seconds.
FAST = os.environ.get("ECW_FAST") == "1"

# %%
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ecg_cluster_widget.data import WAVE_NAMES
from ecg_cluster_widget.demo import demo_dataset
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.landmarks import landmark_alignment
from ecg_cluster_widget.model import load_demo_model
from ecg_cluster_widget.views.palette import display_numbers
from ecg_cluster_widget.views.widget import ClusterExplorer

ds = demo_dataset(n_records=60 if FAST else 300)
bundle = load_demo_model()
tlc = TLCExplainer(bundle, n_clusters=6, random_state=0, progress=False).fit(ds)
w = ClusterExplorer(tlc, ds, model=bundle, progress=False)
w

# %% [markdown]
# ## Name the clusters
#
# In the explorer every cluster card (and the legend) shows the name proposed from the wave
# landmarks, in italics with a "?": it is a suggestion, not a label. Accept it with the
# card's *use proposed name* button, with → in the empty name field or `a` on the focused
# card, or type your own name (or pick one from the vocabulary: P wave, QRS complex, T
# wave, ...); only accepted or typed names are saved as labels, the proposals are kept
# apart in the file's `meta`. Here we do it from Python, naming each cluster after its
# majority wave in the synthetic annotations. Clusters are numbered 1..K as on screen;
# labels key on the stable id.

# %%
align = landmark_alignment(
    tlc.explain_all(ds).labels.astype(np.int64), ds.wave_mask_for_lead("II"), tlc.n_clusters_
)
vocab = {"none": "TP baseline", "P": "P wave", "QRS": "QRS complex", "T": "T wave"}
proposed = {}
for cid, row in zip(tlc.cluster_ids_, np.asarray(align["contingency"])):
    wave = WAVE_NAMES[int(np.argmax(row))]
    purity = row.max() / max(row.sum(), 1)
    proposed[str(int(cid))] = {
        "name": vocab[wave],
        "notes": f"{purity:.0%} of its time steps in {wave}",
    }
w.cluster_labels = proposed
number = display_numbers(tlc.cluster_ids_)  # stable id -> the number shown on screen
table = pd.DataFrame(w.cluster_labels).T
table.index = [f"cluster {number[int(c)]} (id {c})" for c in table.index]
table

# %% [markdown]
# ## Save, and reload in a new explorer

# %%
Path("labels").mkdir(exist_ok=True)
w.save_labels("labels/cluster_labels.json")
w2 = ClusterExplorer(tlc, ds, model=bundle, progress=False)
w2.load_labels("labels/cluster_labels.json")
assert w2.cluster_labels == w.cluster_labels
print(json.dumps(json.loads(Path("labels/cluster_labels.json").read_text()), indent=1)[:400])

# %% [markdown]
# `ClusterExplorer(..., labels_path="labels/cluster_labels.json")` loads the file at start
# and saves every edit to it automatically.

# %% [markdown]
# ## Export labelled segments

# %%
w.export_segments("labels/segments.csv", indices=[0, 1, 2])
w.export_segments("labels/segments.json", indices=[0, 1, 2])
pd.read_csv("labels/segments.csv").head(8)

# %%
import wfdb

w.show(0)
w.export_wfdb_annotations(f"rec{ds.record_ids[0]}", "labels")
ann = wfdb.rdann(f"labels/rec{ds.record_ids[0]}", "tlc")
list(zip(ann.sample[:6], ann.symbol[:6], ann.aux_note[:6]))

# %% [markdown]
# ## Apply the labels to a new dataset
#
# The explainer is fitted once; new records are assigned to the same clusters, so the same
# names apply. (Fresh synthetic records here; with real data, load them with `load_wfdb` or
# `load_ptbxl` at the model's sampling rate.)

# %%
new_ds = demo_dataset(n_records=20 if FAST else 100, seed=123)
w_new = ClusterExplorer(
    tlc, new_ds, model=bundle, labels_path="labels/cluster_labels.json", progress=False
)
w_new.export_segments("labels/new_segments.csv", indices="all")
seg = pd.read_csv("labels/new_segments.csv")
seg.assign(duration_s=seg.end_s - seg.start_s).groupby("name")["duration_s"].describe().round(3)
