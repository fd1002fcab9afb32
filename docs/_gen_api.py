"""Generate ``docs/api.md`` from the docstrings of the public API.

Run ``python docs/_gen_api.py`` after changing a public signature or docstring. For each
object it writes the signature, the summary paragraph, the parameter names and the
``Examples`` section, so the reference never drifts from the code.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "api.md"

#: (section title, module, names, intro). Methods are listed as "Class.method".
SECTIONS: list[tuple[str, str, list[str], str]] = [
    (
        "Data",
        "ecg_cluster_widget.data",
        ["ECGDataset", "Standardizer"],
        "The dataset type; see also [data.md](data.md).",
    ),
    ("Synthetic data", "ecg_cluster_widget.data.synthetic", ["make_synthetic"], ""),
    ("Loaders", "ecg_cluster_widget.data.ptbxl", ["load_ptbxl"], ""),
    ("", "ecg_cluster_widget.data.ludb", ["load_ludb"], ""),
    ("", "ecg_cluster_widget.data.wfdb_io", ["load_wfdb", "from_numpy"], ""),
    (
        "",
        "ecg_cluster_widget.data.loading",
        ["parse_data_spec", "load_data", "fit_to_model", "split_dataset"],
        "The data-spec grammar the command line uses (`synthetic:N`, `ptbxl:PATH`, ...).",
    ),
    (
        "Preprocessing",
        "ecg_cluster_widget.data.preprocess",
        ["resample", "bandpass", "crop_or_pad", "select_leads", "interpolate_nan"],
        "",
    ),
    (
        "Model",
        "ecg_cluster_widget.model",
        [
            "ResNet1d",
            "train_model",
            "evaluate_model",
            "ModelBundle",
            "ModelBundle.predict_proba",
            "save_checkpoint",
            "load_checkpoint",
            "load_demo_model",
        ],
        "",
    ),
    ("Activations", "ecg_cluster_widget.activations.extractor", ["ActivationExtractor"], ""),
    ("", "ecg_cluster_widget.activations.features", ["FeatureAligner"], ""),
    ("Clustering", "ecg_cluster_widget.clustering.soft_clustering", ["SoftClusterer"], ""),
    ("", "ecg_cluster_widget.clustering.matching", ["match_by_overlap"], ""),
    (
        "",
        "ecg_cluster_widget.clustering.identity",
        ["check_n_clusters", "ClusterRegistry"],
        "Stable cluster ids: see [method.md](method.md#6-stable-cluster-ids).",
    ),
    (
        "Explainer",
        "ecg_cluster_widget.explain",
        [
            "TLCExplainer",
            "TLCExplainer.fit",
            "TLCExplainer.set_n_clusters",
            "TLCExplainer.transform",
            "TLCExplainer.explain",
            "TLCExplainer.explain_all",
            "TLCExplainer.cluster_summary",
            "TLCExplainer.fit_identity",
            "TLCExplainer.cluster_signatures",
            "TLCExplainer.cluster_ancestors",
            "TLCExplainer.subset",
            "ECGExplanation",
            "Segment",
            "ExplanationSet",
            "ClusterInfo",
        ],
        "",
    ),
    (
        "",
        "ecg_cluster_widget.explain.windowing",
        ["explain_records"],
        "Records of any length: overlapping model windows stitched, padding marked invalid.",
    ),
    ("", "ecg_cluster_widget.explain.embedding", ["embed_proportions"], ""),
    ("Evaluation", "ecg_cluster_widget.explain.gradcam", ["GradCAM", "GradCAM.attribute"], ""),
    ("", "ecg_cluster_widget.explain.faithfulness", ["faithfulness"], ""),
    (
        "",
        "ecg_cluster_widget.explain.landmarks",
        ["landmark_alignment", "interval_masks", "propose_wave_names"],
        "",
    ),
    (
        "",
        "ecg_cluster_widget.explain.delineation",
        ["delineate"],
        "",
    ),
    ("", "ecg_cluster_widget.explain.evaluate", ["evaluate", "format_evaluation"], ""),
    (
        "Widget",
        "ecg_cluster_widget.views.widget",
        [
            "ClusterExplorer",
            "ClusterExplorer.show",
            "ClusterExplorer.set_k",
            "ClusterExplorer.save_labels",
            "ClusterExplorer.load_labels",
            "ClusterExplorer.export_segments",
            "ClusterExplorer.export_wfdb_annotations",
            "ClusterExplorer.to_html",
        ],
        "Controls and keys: [widget.md](widget.md).",
    ),
    (
        "Linked views",
        "ecg_cluster_widget.views.dataset_view",
        ["DatasetView"],
        "See [views.md](views.md).",
    ),
    ("", "ecg_cluster_widget.views.compare_view", ["CompareView", "CompareView.from_edit"], ""),
    (
        "Labels and annotation",
        "ecg_cluster_widget.labels",
        ["save_labels", "attach_labels", "read_labels_file"],
        "See [labels.md](labels.md).",
    ),
    (
        "",
        "ecg_cluster_widget.labels",
        ["cluster_agreement", "timestep_agreement", "to_label_studio", "read_label_studio"],
        "",
    ),
    ("Reports and figures", "ecg_cluster_widget.views.report", ["make_report", "write_html"], ""),
    (
        "",
        "ecg_cluster_widget.views.figures",
        [
            "ecg_figure",
            "prototypes_figure",
        ],
        "",
    ),
    (
        "",
        "ecg_cluster_widget.views.dataset_figures",
        ["proportions_figure", "contingency_figure", "entropy_hist_figure"],
        "",
    ),
    ("", "ecg_cluster_widget.views.tables", ["faithfulness_table", "metrics_table"], ""),
    ("", "ecg_cluster_widget.views.palette", ["cluster_color", "PALETTE"], ""),
    (
        "Demo",
        "ecg_cluster_widget.demo",
        [
            "demo_dataset",
            "demo_explainer",
            "run_demo",
            "summarize",
        ],
        "",
    ),
    (
        "",
        "ecg_cluster_widget.explain.counterfactual",
        ["invert_t_waves", "add_q_waves"],
        "Counterfactual edits (also importable from `ecg_cluster_widget.demo`).",
    ),
    ("Command line", "ecg_cluster_widget.cli", ["main"], "Commands: [cli.md](cli.md)."),
]


def _split_doc(doc: str) -> tuple[str, list[str], str]:
    """Summary paragraph, parameter names, Examples block of a numpy-style docstring."""
    doc = inspect.cleandoc(doc or "")
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    params: list[str] = []
    m = re.search(r"^Parameters\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, re.S | re.M)
    if m:
        params = re.findall(r"^(\w[\w, ]*?)\s*:", m.group(1), re.M)
    examples = ""
    m = re.search(r"^Examples\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, re.S | re.M)
    if m:
        examples = m.group(1).rstrip()
    return summary, params, examples


def _resolve(module, dotted: str):
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _signature(name: str, obj) -> str:
    short = name.split(".")[-1]
    if not callable(obj):
        return f"{short} = {obj!r}"
    try:
        sig = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return short
    sig = sig.replace("(self, ", "(").replace("(self)", "()")
    return f"{'class ' if inspect.isclass(obj) else ''}{short}{sig}"


def render() -> tuple[str, list[str]]:
    lines = [
        "# Python API",
        "",
        "Generated from the docstrings by `docs/_gen_api.py`; do not edit by hand.",
        "Import paths are shown per section. Errors are subclasses of",
        "`ecg_cluster_widget.errors.ECGClusterError` (`DataError`, `ModelError`,",
        "`FileFormatError`, `NotFittedError`).",
        "",
    ]
    missing: list[str] = []
    for title, modname, names, intro in SECTIONS:
        try:
            module = importlib.import_module(modname)
        except ImportError as exc:
            missing.append(f"{modname} ({exc})")
            continue
        if title:
            lines += [f"## {title}", ""]
        if intro:
            lines += [intro, ""]
        for name in names:
            try:
                obj = _resolve(module, name)
            except AttributeError:
                missing.append(f"{modname}.{name}")
                continue
            summary, params, examples = _split_doc(getattr(obj, "__doc__", "") or "")
            lines += [f"### `{name}`", ""]
            lines += [
                "```python",
                f"from {modname} import {name.split('.')[0]}",
                _signature(name, obj),
                "```",
                "",
            ]
            if summary and callable(obj):
                lines += [summary, ""]
            if params:
                lines += ["Parameters: " + ", ".join(f"`{p.strip()}`" for p in params), ""]
            if examples:
                lines += ["```python", examples, "```", ""]
    return "\n".join(lines).rstrip() + "\n", missing


def main() -> int:
    from ecg_cluster_widget.data.io_utils import atomic_write_text

    text, missing = render()
    atomic_write_text(OUT, text)
    print(f"wrote {OUT} ({len(text.splitlines())} lines)")
    for m in missing:
        print(f"warning: not documented (missing): {m}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
