# %% [markdown]
# # Teaching: what the clusters mean, and how pathology changes them
#
# Synthetic ECGs come with exact P / QRS / T annotations, so we can say precisely what each
# cluster covers. Then we take one normal ECG and make **counterfactual pairs**: the very same
# beats with the T waves inverted, or with pathological Q waves added in the inferior leads.
# Any change in the cluster sequence or in the prediction is caused by that edit alone.

# %%
import os

# ECW_FAST=1 (set by the test suite) shrinks the data so the notebook runs in seconds.
FAST = os.environ.get("ECW_FAST") == "1"

# %%
import numpy as np
import pandas as pd

from ecg_cluster_widget.data import WAVE_NAMES
from ecg_cluster_widget.demo import demo_dataset
from ecg_cluster_widget.explain import TLCExplainer
from ecg_cluster_widget.explain.counterfactual import add_q_waves, invert_t_waves
from ecg_cluster_widget.explain.gradcam import GradCAM
from ecg_cluster_widget.explain.landmarks import landmark_alignment
from ecg_cluster_widget.model import load_demo_model
from ecg_cluster_widget.views.palette import display_numbers

ds = demo_dataset(n_records=60 if FAST else 300)
bundle = load_demo_model()
tlc = TLCExplainer(bundle, n_clusters=6, random_state=0, progress=False).fit(ds)

# %% [markdown]
# ## What each cluster looks like
#
# The contingency table counts, for each cluster, how many of its time steps fall in each
# annotated wave (lead II). Row-normalised, it reads "cluster 3 is 80 % QRS". Clusters are
# numbered 1..K as in the widget, the report and the command line (`number` in
# `to_frame()`; `cluster_id` is the stable id programs use). NMI and homogeneity summarise
# the agreement (1 = clusters are exactly the waves).

# %%
eset = tlc.explain_all(ds)
align = landmark_alignment(
    eset.labels.astype(np.int64), ds.wave_mask_for_lead("II"), tlc.n_clusters_
)
num = display_numbers(tlc.cluster_ids_)  # stable id -> the number people read
table = pd.DataFrame(
    align["contingency"],
    columns=WAVE_NAMES,
    index=[f"cluster {num[int(c)]}" for c in tlc.cluster_ids_],
)
names = {
    int(c): WAVE_NAMES[int(np.argmax(row))]
    for c, row in zip(tlc.cluster_ids_, align["contingency"])
}
print(f"NMI {align['nmi']:.2f}, homogeneity {align['homogeneity']:.2f}")
(table.div(table.sum(axis=1), axis=0)).round(2)

# %%
from bokeh.io import output_notebook, show
from bokeh.resources import INLINE

output_notebook(INLINE, hide_banner=True)  # inline resources: works offline

# %%
from ecg_cluster_widget.views.figures import prototypes_figure

infos = tlc.cluster_summary(ds)
show(
    prototypes_figure(
        np.stack([c.prototype_median for c in infos]),
        np.stack([c.prototype_q25 for c in infos]),
        np.stack([c.prototype_q75 for c in infos]),
        [c.cluster_id for c in infos],
        ds.fs,
        offset_s=[c.prototype_offset_s for c in infos],
        lead=ds.lead_index("II"),
        lead_name="II",
        shares=[c.share for c in infos],
        mean_entropy=[c.mean_entropy for c in infos],
        ncols=3,
    )
)

# %% [markdown]
# ## Counterfactual pairs
#
# Pick the normal record the model is most confident about, then edit it.

# %%
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
    rows.append(
        {
            "variant": name,
            **dict(zip(bundle.class_names, bundle.predict_proba(rec)[0].round(2))),
            "mean entropy": round(ex.mean_entropy, 3),
            "segments": len(ex.segments),
        }
    )
pd.DataFrame(rows).set_index("variant")

# %% [markdown]
# ## How the cluster sequence changes
#
# For each edit: the share of time steps whose cluster changed, split by the annotated wave,
# and the most common cluster substitutions inside the edited wave (each cluster is shown
# with its majority wave). A change confined to the edited wave means local features; a
# change that spreads into the neighbouring baseline shows the wide receptive field of the
# late blocks, which mix in context from around each time step.

# %%
wave = ds.wave_mask_for_lead("II")[i0]
base = tlc.explain(variants["original"], 0)
change_rows = []
for name in list(variants)[1:]:
    ex = tlc.explain(variants[name], 0)
    changed = base.label_ids != ex.label_ids
    change_rows.append(
        {
            "variant": name,
            **{
                w: round(float(changed[wave == c].mean()), 3)
                for c, w in enumerate(WAVE_NAMES)
                if (wave == c).any()
            },
        }
    )
    # Which cluster turned into which, counted over the edited wave's time steps.
    edited = 3 if "T-wave" in name else 2
    pairs = pd.Series(list(zip(base.label_ids[wave == edited], ex.label_ids[wave == edited])))
    top = pairs[pairs.map(lambda p: p[0] != p[1])].value_counts().head(3)
    print(
        f"{name}, inside {WAVE_NAMES[edited]}: "
        + ", ".join(
            f"cluster {num[int(a)]} ({names[int(a)]}) -> cluster {num[int(b)]} "
            f"({names[int(b)]}): {n} steps"
            for (a, b), n in top.items()
        )
    )
pd.DataFrame(change_rows).set_index("variant")

# %% [markdown]
# ## The same pairs, interactively
#
# Each view stacks the original (A) and the edited ECG (B) on one time axis: cluster
# strips, the time steps whose cluster changed in red, and both predictions. Hover to read
# A's and B's cluster at the pointer.

# %%
from ecg_cluster_widget.views.compare_view import CompareView

cv_t = CompareView.from_edit(tlc, ds, i0, edit="invert_t", view_leads=["II", "V5"])
cv_t

# %%
cv_q = CompareView.from_edit(
    tlc, ds, i0, edit="add_q", depth_mv=1.0, width_s=0.05, view_leads=["II", "aVF"]
)
for name, cv in (("T-wave inversion", cv_t), ("pathological Q", cv_q)):
    top = max(cv.pred_b, key=lambda c: cv.pred_b[c] - cv.pred_a[c])
    print(
        f"{name}: cluster changed at {100 * cv.changed_share:.1f}% of the time steps "
        f"({len(cv.changed)} runs); {top} {cv.pred_a[top]:.2f} -> {cv.pred_b[top]:.2f}"
    )
cv_q

# %% [markdown]
# ## With Grad-CAM
#
# The three ECGs one above the other (three side by side would not fit the notebook's
# width). Top of each panel: leads with cluster bands. Bottom: uncertainty (grey) and Grad-CAM for
# the class whose probability rose most (orange). Grad-CAM says *where* the network looked;
# the clusters say *what* it saw there, and the entropy says how sure that reading is.

# %%
from bokeh.layouts import column

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
    panels.append(
        ecg_figure(
            rec.signals[0][leads],
            rec.fs,
            ex.labels,
            ex.cluster_ids,
            ex.entropy,
            lead_names=[ds.lead_names[j] for j in leads],
            gradcam=g,
            fit_width=True,
            lead_height=70,
            title=f"{name} (Grad-CAM: {bundle.class_names[target]})",
        )
    )
show(column(*panels))

# %% [markdown]
# **Things to try:** lower `depth_mv` of the Q wave (with the demo model, 0.5 mV leaves the
# record NORM while 1.0 mV makes it MI) and watch where the prediction flips; move the Q
# waves to the anterior leads (`leads=("V1", "V2", "V3", "V4")`);
# invert the T waves in fewer leads; set K to 4 or 10 with `tlc.set_n_clusters(k)` and rerun.
