"""Expert cluster labels: the labels file (:mod:`.schema`, :mod:`.files`), loading it into a
fit (:mod:`.attach`), saving it without losing another writer's names (:mod:`.save`),
labelled segment export (:mod:`.segments`), agreement between annotators
(:mod:`.agreement`) and the Label Studio exchange (:mod:`.label_studio`).

Labels key on the stable cluster id (``TLCExplainer.cluster_ids_``) as a string:
``{"3": {"name": "QRS complex", "notes": "...", "annotator": "A. B.",
"updated": "2026-12-02T01:00:00Z"}}``.
"""

# The public names of the submodules, importable from the package.
from .agreement import agreement, cluster_agreement, cohen_kappa, timestep_agreement  # noqa: F401
from .attach import MAX_SIGNATURE_DISTANCE, attach_labels, match_signatures  # noqa: F401
from .files import LabelsFile, LabelsReport, check_labels_meta, read_labels_file  # noqa: F401
from .label_studio import (  # noqa: F401
    label_studio_config,
    read_label_studio,
    to_label_studio,
    write_label_studio,
)
from .save import merge_labels, save_labels  # noqa: F401
from .schema import (  # noqa: F401
    FIT_KEYS,
    LABEL_VOCAB,
    LABELS_SCHEMA,
    LABELS_VERSION,
    normalize_fit,
    normalize_labels,
    normalize_signatures,
    normalize_timestamp,
)
from .segments import (  # noqa: F401
    EXPORT_COLUMNS,
    labelled_rows,
    write_segments,
    write_wfdb_annotations,
)
