# %% [markdown]
# # Quickstart: time-localized clusters in five minutes
#
# This notebook explains what a small ECG classifier has learned, using **time-localized
# clusters (TLC)**: every time step of every ECG is assigned to one of *K* clusters of the
# network's own internal activations (the last three residual blocks). Each ECG becomes a
# sequence of coloured segments, and the clusters usually line up with P waves, QRS
# complexes, T waves and the baseline.
#
# Everything here runs offline: synthetic 12-lead ECGs (10 s, 100 Hz, with exact P/QRS/T
# annotations) and the demo ResNet1d that ships with the package (trained on records from
# the same generator, classes NORM, MI, STTC, CD, AF).

# %%
import os

# ECW_FAST=1 (set by the test suite) shrinks the data so the notebook runs in seconds.
FAST = os.environ.get("ECW_FAST") == "1"

# %%
from ecg_cluster_widget.demo import demo_dataset
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.model import load_demo_model
from ecg_cluster_widget.views.widget import ClusterExplorer

ds = demo_dataset(n_records=60 if FAST else 300)  # records the model never saw
bundle = load_demo_model()
print(ds)
print(bundle)

# %% [markdown]
# ## Fit the explainer
#
# `TLCExplainer` hooks the model, pools the activations of all time steps of all ECGs and
# fits a soft clustering with K clusters. It takes a few seconds.

# %%
tlc = TLCExplainer(bundle, n_clusters=6, random_state=0).fit(ds)
print("stable cluster ids:", tlc.cluster_ids_.tolist())
print({k: round(v, 2) for k, v in tlc.timings_.items()})

# %% [markdown]
# ## Open the explorer
#
# The explorer shows one ECG with its cluster bands, the uncertainty ribbon underneath and
# the cluster prototypes on the side. Press **?** inside it for the keyboard shortcuts.

# %%
w = ClusterExplorer(tlc, ds, model=bundle)
w

# %% [markdown]
# ## Guided tour
#
# 1. **Brush a QRS complex.** Drag across one QRS in any lead. The selection is synced across
#    leads and the panel lists which clusters cover it, their share and their mean
#    uncertainty. From Python the same numbers are in `w.selection_summary` (next cell).
# 2. **Change K.** Use the K slider (or `+` / `-`). Clusters that survive keep their id and
#    colour, so you can watch the QRS cluster split into upstroke and downstroke, or the TP
#    baseline merge with the PR segment.
# 3. **Read the uncertainty.** The grey ribbon is the normalised entropy of the soft
#    assignment: 0 means the network's activations sit squarely in one cluster, 1 means
#    they are evenly split between all K. Transitions between waves are usually uncertain;
#    a whole uncertain beat is worth a look. `u` jumps to the most uncertain ECG.
# 4. **Open a prototype.** Each card in the side panel shows a cluster's prototype (median
#    and interquartile band of the snippets it covers) and its nearest real examples.
#    Click a card to highlight that cluster in the bands, then `n` / `p` step through its
#    occurrences; click an example to open that ECG.

# %%
# Brushing from Python does the same as dragging in the browser: select the first QRS.
ex = w.explanation
qrs = ds.wave_masks[w.index] == 2
start = int(qrs.argmax())
end = start + int(qrs[start:].argmin())
w.selection = {"start": start, "end": end}
w.selection_summary["clusters"]

# %%
# K is cheap to change: features are cached and ids are matched to the previous fit.
w.set_k(8)
print("K = 8 ids:", tlc.cluster_ids_.tolist())
w.set_k(6)
print("back to K = 6:", tlc.cluster_ids_.tolist())

# %%
# The most uncertain ECG of the dataset, and what the clustering says about it.
w.show(rank="uncertain")
print("record", w.explanation.record_id, "mean entropy", round(w.explanation.mean_entropy, 3))
w.explanation.to_frame().head(8)

# %% [markdown]
# ## The same results in Python
#
# `tlc.explain(ds, i)` returns the segments, soft assignments and entropy of one ECG;
# `tlc.cluster_summary(ds)` describes every cluster over the dataset.

# %%
import pandas as pd

pd.DataFrame(
    [
        {
            "cluster_id": c.cluster_id,
            "share": c.share,
            "mean_entropy": c.mean_entropy,
            "mean_duration_s": c.mean_duration_s,
            **(c.class_mix or {}),
        }
        for c in tlc.cluster_summary(ds)
    ]
).round(3)

# %% [markdown]
# ## Real ECGs, explained by a model trained on real ECGs
#
# The package also ships `ptbxl250`, a ResNet1d trained on PTB-XL (folds 1-8, 250 Hz, with
# its 0.5-40 Hz band-pass built in), and a small real sample: 40 PTB-XL test-fold ECGs and
# 20 LUDB ECGs with cardiologists' P / QRS / T boundaries (licences in
# `ecg_cluster_widget/assets/real_sample/`). `TLCExplainer.for_model` uses the options
# picked for this model on LUDB (see `docs/results.md`, section 1). The clusters are fitted
# on the PTB-XL records and shown on LUDB, which they never saw.

# %%
from ecg_cluster_widget.data import load_real_sample
from ecg_cluster_widget.explain.landmarks import landmark_alignment
from ecg_cluster_widget.model import load_pretrained

real = load_pretrained("ptbxl250")
print(real)
fit_real = load_real_sample("ptbxl", fs=real.fs)  # 40 PTB-XL test-fold ECGs
ludb = load_real_sample("ludb", fs=real.fs)  # 20 LUDB ECGs with wave masks
tlc_real = TLCExplainer.for_model(real, n_clusters=8, random_state=0).fit(fit_real)
es = tlc_real.explain_all(ludb)
nmi = landmark_alignment(es.labels, ludb.wave_mask_for_lead("II"), n_clusters=8)["nmi"]
print(f"NMI of the clusters with the cardiologists' waves (lead II): {nmi:.3f}")

# %%
ClusterExplorer(tlc_real, ludb, model=real)

# %% [markdown]
# ## Share the result
#
# `make_report` writes a standalone HTML page (Bokeh, all JavaScript inlined, opens
# offline) with prototypes, proportions by class, the cluster/wave table and a few ECGs.

# %%
from ecg_cluster_widget.views.report import make_report

path = make_report(tlc, ds, "quickstart_report.html", indices=[0, 1], bundle=bundle)
print("wrote", path, f"({path.stat().st_size / 1e6:.1f} MB)")

# %% [markdown]
# Next: `teaching.ipynb` (how pathologies change the cluster sequence), `labeling.ipynb`
# (name clusters and export labelled segments), `ptbxl.ipynb` (real data) and
# `your_model.ipynb` (explain your own network).
