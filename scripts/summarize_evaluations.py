"""Print the README's evaluation table from the JSON files in docs/evaluation/.

Each JSON file is the verbatim output of ``ecg-cluster-widget evaluate --json``; the
commands that made them are listed in ``COMMANDS`` so the table can be regenerated:

    python scripts/summarize_evaluations.py > docs/evaluation/summary.md
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "docs" / "evaluation"
COMMANDS = {
    "synthetic_demo_k6.json": (
        "built-in synthetic data (1000 fresh records, seed 5), shipped demo model",
        "ecg-cluster-widget evaluate --model demo --data synthetic:1000 --seed 5 --k 6 --json",
    ),
    "ptbxl_subset_k6.json": (
        "PTB-XL subset at 100 Hz (train folds 1-8, test fold 10), model from `train`",
        "ecg-cluster-widget train --data ptbxl:PTBXL --fs 100 --epochs 25 --out ptbxl100.pt --json; "
        "ecg-cluster-widget evaluate --model ptbxl100.pt --data ptbxl:PTBXL --k 6 --json",
    ),
}
PAPER = "| paper (full PTB-XL, 10-fold CV) | 81.4 % | 88.4 % | 94.9 ± 0.5 % | 88.2 % | 79.6 % | aligned (no NMI given) | | |"


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def main() -> None:
    print(
        "| data and model | CNN macro AUROC | CNN accuracy | RF fidelity | RF accuracy "
        "| RF macro AUROC | NMI clusters vs waves | NMI raw-window k-means | NMI untrained net |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    notes = []
    for name, (what, cmd) in COMMANDS.items():
        path = HERE / name
        if not path.is_file():
            continue
        d = json.loads(path.read_text())
        f, b = d["faithfulness"], d["baselines"]
        print(
            f"| {what} | {pct(d['cnn']['macro_auroc'])} | {pct(f['cnn_accuracy'])} "
            f"| {pct(f['fidelity'])} | {pct(f['rf_accuracy'])} | {pct(f['rf_auroc'])} "
            f"| {d['landmarks']['nmi']:.3f} | {b['raw_window_kmeans']['nmi']:.3f} "
            f"| {b['untrained_network']['nmi']:.3f} |"
        )
        notes.append(f"- {what}: `{cmd}` (waves: {d['landmarks_source']})")
    print(PAPER)
    print()
    print(
        "Accuracy is the mean per-label accuracy of the multi-label prediction; fidelity is the "
        "per-label agreement of the random forest on cluster proportions with the CNN's "
        "thresholded predictions, on the test split."
    )
    print()
    print("\n".join(notes))


if __name__ == "__main__":
    main()
