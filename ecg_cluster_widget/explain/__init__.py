"""Explain: the TLC explainer, its result types, uncertainty, prototypes and evaluations."""

from .explainer import TLCExplainer
from .explanation import ClusterInfo, ECGExplanation, ExplanationSet
from .prototypes import (
    extract_snippets,
    prototype_stats,
    segment_arrays,
    segments_from_labels,
    summarize_clusters,
)
from .segments import Segment
from .uncertainty import cluster_mean_entropy, normalized_entropy

__all__ = [
    "TLCExplainer",
    "ECGExplanation",
    "ExplanationSet",
    "ClusterInfo",
    "Segment",
    "normalized_entropy",
    "cluster_mean_entropy",
    "segments_from_labels",
    "segment_arrays",
    "extract_snippets",
    "prototype_stats",
    "summarize_clusters",
]

# Analyses on top of the explainer (faithfulness, landmarks, Grad-CAM, evaluation).
from .delineation import delineate  # noqa: E402
from .faithfulness import faithfulness, faithfulness_from_explainer, faithfulness_regression  # noqa: E402
from .gradcam import GradCAM, gradcam_per_class  # noqa: E402
from .landmarks import (  # noqa: E402
    landmark_alignment,
    raw_window_kmeans_labels,
    untrained_model_labels,
)

__all__ += [
    "faithfulness",
    "faithfulness_from_explainer",
    "faithfulness_regression",
    "GradCAM",
    "gradcam_per_class",
    "delineate",
    "landmark_alignment",
    "raw_window_kmeans_labels",
    "untrained_model_labels",
]
