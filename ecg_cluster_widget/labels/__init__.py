"""Expert cluster labels: the labels file (:mod:`.schema`, :mod:`.files`), loading it into a
fit (:mod:`.attach`), saving it without losing another writer's names (:mod:`.save`),
labelled segment export (:mod:`.segments`), agreement between annotators
(:mod:`.agreement`) and the Label Studio exchange (:mod:`.label_studio`).

Labels key on the stable cluster id (``TLCExplainer.cluster_ids_``) as a string:
``{"3": {"name": "QRS complex", "notes": "...", "annotator": "A. B.",
"updated": "2026-12-02T01:00:00Z"}}``.
"""

from .agreement import agreement, cluster_agreement, cohen_kappa, timestep_agreement
from .attach import MAX_SIGNATURE_DISTANCE, attach_labels, match_signatures
from .files import LabelsFile, LabelsReport, check_labels_meta, read_labels_file
from .label_studio import (
    label_studio_config,
    read_label_studio,
    to_label_studio,
    write_label_studio,
)
from .save import merge_labels, save_labels
from .schema import (
    FIT_KEYS,
    LABEL_VOCAB,
    LABELS_SCHEMA,
    LABELS_VERSION,
    normalize_fit,
    normalize_labels,
    normalize_signatures,
    normalize_timestamp,
)
from .segments import EXPORT_COLUMNS, labelled_rows, write_segments, write_wfdb_annotations

__all__ = [
    "FIT_KEYS",
    "LABEL_VOCAB",
    "LABELS_SCHEMA",
    "LABELS_VERSION",
    "MAX_SIGNATURE_DISTANCE",
    "EXPORT_COLUMNS",
    "LabelsFile",
    "LabelsReport",
    "normalize_labels",
    "normalize_fit",
    "normalize_signatures",
    "normalize_timestamp",
    "read_labels_file",
    "check_labels_meta",
    "save_labels",
    "merge_labels",
    "attach_labels",
    "match_signatures",
    "labelled_rows",
    "write_segments",
    "write_wfdb_annotations",
    "cohen_kappa",
    "cluster_agreement",
    "timestep_agreement",
    "agreement",
    "to_label_studio",
    "write_label_studio",
    "read_label_studio",
    "label_studio_config",
]
