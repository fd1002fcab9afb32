"""One implementation per concept: each shared idea is written in its home and imported
everywhere else. These source checks fail when a copy comes back; the homes' own
behaviour is tested next to them (test_io_utils, test_segments, test_checkpoint, ...).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "ecg_cluster_widget"

#: (what, regex, the only files allowed to match, relative to the repository)
RULES = [
    (
        "JSON conversion",
        r"^\s*def (to_jsonable|_json_safe|_jsonable|_json_default)\b",
        {"ecg_cluster_widget/data/io_utils.py"},
    ),
    ("bundle duck-typing", r"hasattr\([^)]*[\"'](prepare|predict_proba)[\"']\)", set()),
    ("task default", r"[\"']task[\"'],\s*[\"'](multilabel|regression)?[\"']\)", set()),
    ("forward hooks", r"register_forward_hook\(", {"ecg_cluster_widget/activations/hooks.py"}),
    (
        "run-length encoding of labels",
        r"np\.flatnonzero\(np\.diff\((lab|labels|ids|row|mask)",
        set(),
    ),
    (
        "network layout for an input length",
        r"^\s*def (architecture_for|network_layout)\b",
        {"ecg_cluster_widget/model/resnet1d.py"},
    ),
    (
        "PTB-XL fold split",
        r"subset\(\s*np\.isin\([^)]*folds?\b",
        {"ecg_cluster_widget/data/ptbxl.py"},
    ),
    ("standalone Bokeh page", r"\bfile_html\(", {"ecg_cluster_widget/views/report.py"}),
    ("run-length helper", r"^\s*def _?runs\b", {"ecg_cluster_widget/explain/segments.py"}),
    ("kappa / MCC by hand", r"^\s*def _?(binary_)?(kappa|mcc)\b", set()),
    (
        "mean / sd summary over seeds or folds",
        r"[\"']sd[\"']:\s*float\(v\.std\(ddof=1\)",
        {"ecg_cluster_widget/explain/fidelity.py"},
    ),
    (
        "faithfulness metric names",
        r"^\s*[\"']fidelity_above_floor[\"'],$",
        {"ecg_cluster_widget/explain/fidelity.py"},
    ),
]


def _sources() -> list[Path]:
    dirs = [PKG, ROOT / "experiments", ROOT / "scripts", ROOT / "benchmarks"]
    return sorted(p for d in dirs for p in d.rglob("*.py"))


@pytest.mark.parametrize("what, pattern, homes", RULES, ids=[r[0] for r in RULES])
def test_one_implementation(what, pattern, homes):
    rx = re.compile(pattern, re.M)
    hits = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel in homes:
            continue
        text = path.read_text()
        for m in rx.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            hits.append(f"{rel}:{line}: {m.group(0).strip()}")
    if what == "standalone Bokeh page":
        # Experiment pages share one local BokehJS file instead of inlining it (their own
        # writer, experiments/common.save_html); the package's pages are self-contained.
        hits = [h for h in hits if not h.startswith("experiments/common.py")]
    assert not hits, f"{what} written outside its home {sorted(homes) or '(none)'}:\n" + "\n".join(
        hits
    )


def test_the_rules_match_what_they_guard():
    """Each rule's pattern matches the code it is about (so the test above can fail)."""
    samples = {
        "JSON conversion": "def _json_safe(obj):",
        "bundle duck-typing": 'if hasattr(m, "predict_proba"):',
        "task default": 'getattr(bundle, "task", "multilabel")',
        "forward hooks": "h = layer.register_forward_hook(fn)",
        "run-length encoding of labels": "cut = np.flatnonzero(np.diff(labels)) + 1",
        "network layout for an input length": "def architecture_for(fs, n):",
        "PTB-XL fold split": "train = ds.subset(np.isin(ds.folds, [1, 2]))",
        "standalone Bokeh page": "page = file_html(layout, INLINE, title)",
        "run-length helper": "def _runs(mask):",
        "kappa / MCC by hand": "def _binary_kappa(ref, pred):",
        "mean / sd summary over seeds or folds": '"sd": float(v.std(ddof=1)) if v.size > 1 else None',
        "faithfulness metric names": '    "fidelity_above_floor",',
    }
    for what, pattern, _ in RULES:
        assert re.search(pattern, samples[what], re.M), what
