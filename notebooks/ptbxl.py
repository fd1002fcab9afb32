# %% [markdown]
# # PTB-XL: explaining a classifier on real 12-lead ECGs
#
# PTB-XL (Wagner et al., *Scientific Data* 2020) holds 21,799 ten-second 12-lead ECGs with
# five diagnostic superclasses: NORM, MI (myocardial infarction), STTC (ST/T change),
# CD (conduction disturbance) and HYP (hypertrophy).
#
# **Getting the data.** Download PTB-XL from PhysioNet,
# <https://physionet.org/content/ptb-xl/1.0.3/> (about 3 GB; `wget -r -N -c -np
# https://physionet.org/files/ptb-xl/1.0.3/`), and point `ECW_PTBXL` at the folder that holds
# `ptbxl_database.csv`. Without it, this notebook looks for the small subset at
# `../../shared/data/ptbxl_subset` (868 labelled records). If neither exists, the cells
# below print a message and skip instead of failing.

# %%
import os

# ECW_FAST=1 (set by the test suite) shrinks the data so the notebook runs in seconds.
FAST = os.environ.get("ECW_FAST") == "1"

# %%
from pathlib import Path

PTBXL_ROOT = Path(os.environ.get("ECW_PTBXL", "../../shared/data/ptbxl_subset")).expanduser()
DATA_OK = (PTBXL_ROOT / "ptbxl_database.csv").is_file()
if DATA_OK:
    print("using PTB-XL at", PTBXL_ROOT.resolve())
else:
    print(
        f"PTB-XL not found at {PTBXL_ROOT.resolve()}.\n"
        "Download it from https://physionet.org/content/ptb-xl/1.0.3/ and set the ECW_PTBXL "
        "environment variable to the folder containing ptbxl_database.csv, then rerun. "
        "The remaining cells are skipped."
    )

# %% [markdown]
# ## Load
#
# `load_ptbxl` reads the WFDB files, maps the SCP codes to the five superclasses and keeps
# PTB-XL's `strat_fold`. We use the 100 Hz version (1000 samples per lead); folds 1-8 train,
# 9 validation, 10 test, as in the PTB-XL benchmark.

# %%
if DATA_OK:
    from ecg_cluster_widget.data.ptbxl import load_ptbxl

    ds = load_ptbxl(PTBXL_ROOT, fs=100, max_records=120 if FAST else None)
    print(ds)
    print("records per class:", {c: int(n) for c, n in zip(ds.class_names, ds.labels.sum(axis=0))})

# %% [markdown]
# ## Train or load a model
#
# Training a ResNet1d on the full PTB-XL takes a while on a CPU; a checkpoint saved once
# (`ptbxl_model.pt`) is reused on later runs. `ecg-cluster-widget train --data ptbxl:PATH`
# does the same from the command line.

# %%
if DATA_OK:
    import numpy as np

    from ecg_cluster_widget.model import ResNet1d, load_checkpoint, save_checkpoint, train_model

    folds = ds.folds if ds.folds is not None else np.arange(len(ds)) % 10 + 1
    train_ds, val_ds, test_ds = ds.subset(folds <= 8), ds.subset(folds == 9), ds.subset(folds == 10)
    ckpt = Path("ptbxl_model.pt")
    if ckpt.is_file() and not FAST:
        bundle = load_checkpoint(ckpt)
    else:
        net = ResNet1d(
            12,
            len(ds.class_names),
            filters=(32, 48, 64, 80, 96),
            seq_lengths=(1000, 500, 250, 125, 25),
        )
        bundle = train_model(net, train_ds, val_ds, epochs=1 if FAST else 15, seed=0)
        if not FAST:
            save_checkpoint(ckpt, bundle)
    print(bundle)

# %% [markdown]
# ## Fit the clusters and explore
#
# The clustering is fitted on the training records; we browse the test records.

# %%
if DATA_OK:
    from IPython.display import display

    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.views.widget import ClusterExplorer

    tlc = TLCExplainer(bundle, n_clusters=6, random_state=0).fit(train_ds)
    w = ClusterExplorer(tlc, test_ds, model=bundle)
    display(w)

# %% [markdown]
# ## MI and STTC cases
#
# Pathological Q waves (MI) and T-wave inversion or ST depression (STTC) should show up as
# changes in the cluster sequence around the QRS and the T wave. Below: one test record of
# each class with its cluster bands, the uncertainty ribbon and Grad-CAM for that class
# (orange). In the explorer, `w.show(class_name="MI")` jumps to the next MI record.

# %%
from bokeh.io import output_notebook, show
from bokeh.resources import INLINE

output_notebook(INLINE, hide_banner=True)  # inline resources: works offline

# %%
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
        print(
            f"{name} record {ex.record_id}: P({name}) = {p[bundle.class_names.index(name)]:.2f}, "
            f"mean entropy {ex.mean_entropy:.2f}"
        )
        panels.append(
            ecg_figure(
                test_ds.signals[i][leads],
                test_ds.fs,
                ex.labels,
                ex.cluster_ids,
                ex.entropy,
                lead_names=[test_ds.lead_names[j] for j in leads],
                gradcam=g,
                title=f"{name}: record {ex.record_id}",
            )
        )
    if panels:
        show(column(*panels))

# %% [markdown]
# ## Faithfulness
#
# Are the cluster proportions enough to reproduce the network's decisions? A random forest
# trained on each ECG's share of time per cluster predicts the CNN's own labels (fidelity)
# and the true labels (accuracy, AUROC, next to the CNN's). The paper reports 94.9 %
# fidelity on full PTB-XL; with a small subset and a briefly trained model expect lower and
# noisier numbers.

# %%
if DATA_OK:
    from ecg_cluster_widget.explain.evaluate import evaluate, format_evaluation

    result = evaluate(tlc, bundle, train_ds, test_ds, baselines=not FAST)
    print(format_evaluation(result))
