# %% [markdown]
# # Quickstart: what a real-ECG model has learned, in five minutes
#
# This notebook explains what a 12-lead ECG classifier trained on real ECGs has learned,
# using **time-localized clusters (TLC)**: every time step of every ECG is assigned to one
# of *K* clusters of the network's own internal activations. Each ECG becomes a sequence of
# coloured segments, and the clusters line up with P waves, QRS complexes, T waves and the
# baseline.
#
# Everything here runs offline. The package ships `ptbxl250`, a ResNet1d trained on PTB-XL
# (folds 1-8, 250 Hz, its 0.5-40 Hz band-pass built in, classes NORM / MI / STTC / CD / HYP),
# and a small real sample: 40 PTB-XL test-fold ECGs and 20 LUDB ECGs with cardiologists'
# P / QRS / T boundaries (licences in `ecg_cluster_widget/assets/real_sample/`). The
# clusters are fitted on the PTB-XL records and shown on LUDB, which they never saw.

# %%
import os

# ECW_FAST=1 (set by the test suite) shrinks the synthetic data so the notebook runs fast.
FAST = os.environ.get("ECW_FAST") == "1"

# %%
from ecg_cluster_widget.data import load_real_sample
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.model import load_pretrained
from ecg_cluster_widget.views.widget import ClusterExplorer

real = load_pretrained("ptbxl250")
fit_ds = load_real_sample("ptbxl", fs=real.fs)  # 40 PTB-XL test-fold ECGs (fitting set)
ds = load_real_sample("ludb", fs=real.fs)  # 20 LUDB ECGs with wave masks (shown)
print(real)
print(ds)

# %% [markdown]
# ## Fit the explainer
#
# `TLCExplainer` hooks the model, pools the activations of all time steps of all ECGs and
# fits a soft clustering. With no options it uses what the model recommends (for
# `ptbxl250`: two residual blocks before and two after their ReLU, a beat-scale detrend, a temporal
# prior and a full-covariance mixture, chosen on LUDB records 1-100); `print(tlc)` says
# which. Every K from 2 up to `tlc.max_clusters_` is then a merge of the fitted clusters,
# so changing K takes milliseconds.

# %%
tlc = TLCExplainer(real, n_clusters=8, random_state=0).fit(fit_ds)
print(tlc)
print("stable cluster ids:", tlc.cluster_ids_.tolist())
print({k: round(v, 2) for k, v in tlc.timings_.items()})

# %% [markdown]
# ## Open the explorer
#
# The explorer shows one ECG with its cluster bands, the uncertainty ribbon underneath and
# the cluster prototypes on the side. Press **?** inside it for the keyboard shortcuts.

# %%
w = ClusterExplorer(tlc, ds, model=real)
w

# %% [markdown]
# ## Guided tour
#
# 1. **Brush a QRS complex.** Drag across one QRS in any lead. The selection is synced across
#    leads and the panel lists which clusters cover it, their share and their mean
#    uncertainty. From Python the same numbers are in `w.selection_summary` (next cell).
# 2. **Change K.** Use the K slider (or `+` / `-`). Clusters that survive keep their id and
#    colour; below the fitted K clusters only merge (a cluster at K=4 is a union of
#    clusters at K=8), so you can watch the baseline absorb the PR segment, or P and T
#    waves join.
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
qrs = ds.wave_mask_for_lead("II")[w.index] == 2
start = int(qrs.argmax())
end = start + int(qrs[start:].argmin())
w.selection = {"start": start, "end": end}
w.selection_summary["clusters"]

# %%
# K is cheap to change: every K is a merge of the fitted clusters (the explainer's own K
# does not change; the widget asks for the explanation at its K).
w.set_k(4)
print("K = 4 ids:", tlc.cluster_ids_for(4).tolist())
w.set_k(8)
print("back to K = 8:", tlc.cluster_ids_for(8).tolist())

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

# "cluster" is the number the widget, the report and to_frame() show (1..K).
pd.DataFrame(
    [
        {
            "cluster": number,
            "share": c.share,
            "mean_entropy": c.mean_entropy,
            "mean_duration_s": c.mean_duration_s,
            **(c.class_mix or {}),
        }
        for number, c in enumerate(tlc.cluster_summary(ds), start=1)
    ]
).round(3)

# %% [markdown]
# ## Do the clusters follow the cardiologists' waves?
#
# LUDB's wave boundaries give each time step of lead II a code (none / P / QRS / T); the
# normalised mutual information (NMI) says how much the clusters tell about it (0: nothing,
# 1: the waves exactly). `docs/results.md` has the figures on 100 LUDB records.

# %%
from ecg_cluster_widget.explain.landmarks import landmark_alignment

es = tlc.explain_all(ds)
nmi = landmark_alignment(es.labels, ds.wave_mask_for_lead("II"), n_clusters=8)["nmi"]
print(f"NMI of the clusters with the cardiologists' waves (lead II): {nmi:.3f}")

# %% [markdown]
# ## Synthetic ECGs for teaching
#
# The package also generates synthetic 12-lead ECGs (100 Hz) with *exact* P / QRS / T
# masks, and ships a small demo ResNet1d trained on them: handy for teaching and tests.

# %%
from ecg_cluster_widget.demo import demo_dataset
from ecg_cluster_widget.model import load_demo_model

syn = demo_dataset(n_records=60 if FAST else 300)
demo_model = load_demo_model()
tlc_syn = TLCExplainer(demo_model, n_clusters=6, random_state=0).fit(syn)
ClusterExplorer(tlc_syn, syn, model=demo_model)

# %% [markdown]
# ## Share the result
#
# `make_report` writes a standalone HTML page (Bokeh, all JavaScript inlined, opens
# offline) with prototypes, proportions by class, the cluster/wave table and a few ECGs.

# %%
from ecg_cluster_widget.views.report import make_report

path = make_report(tlc, ds, "quickstart_report.html", indices=[0, 1], bundle=real)
print("wrote", path, f"({path.stat().st_size / 1e6:.1f} MB)")

# %% [markdown]
# Next: `teaching.ipynb` (how pathologies change the cluster sequence), `labeling.ipynb`
# (name clusters and export labelled segments), `ptbxl.ipynb` (real data) and
# `your_model.ipynb` (explain your own network).
