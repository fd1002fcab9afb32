"""The small demo model shipped with the package (trained on synthetic ECGs)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import FileFormatError
from .checkpoint import ModelBundle, load_checkpoint

#: Keyword arguments of ``make_synthetic`` that match the demo model's input
#: (the training script uses exactly these, plus ``n_records`` and ``seed``).
DEMO_DATA_KWARGS: dict = {
    "fs": 100.0,
    "duration": 10.0,
    "n_leads": 12,
    "noise": 0.03,
    "baseline_wander": 0.1,
    "pathology_rate": 0.5,
}
#: Seeds the training script draws its data from; use another seed for fresh test data.
DEMO_TRAIN_SEED = 0
DEMO_ASSET = "demo_model.pt"


def demo_model_path() -> Path:
    """Location of the shipped demo checkpoint (it may not exist in a broken install).

    Returns
    -------
    pathlib.Path
        ``<package>/assets/demo_model.pt``.

    Examples
    --------
    >>> demo_model_path().name
    'demo_model.pt'
    """
    return Path(str(resources.files("ecg_cluster_widget") / "assets" / DEMO_ASSET))


def load_demo_model() -> ModelBundle:
    """Load the demo ResNet1d trained on ``make_synthetic(**DEMO_DATA_KWARGS)`` data.

    It classifies the synthetic classes ("NORM", "MI", "STTC", "CD", "AF") from
    10 s, 12-lead, 100 Hz records; ``bundle.meta`` holds the training seed and the
    validation/test scores measured by ``scripts/train_demo_model.py``.

    Returns
    -------
    ModelBundle

    Raises
    ------
    FileFormatError
        If the checkpoint is missing from the installation.

    Examples
    --------
    >>> bundle = load_demo_model()
    >>> bundle.fs, bundle.n_samples, bundle.class_names[0]
    (100.0, 1000, 'NORM')
    """
    path = demo_model_path()
    if not path.is_file():
        raise FileFormatError(
            f"the demo model {path} is missing from this installation; recreate it with "
            "`python scripts/train_demo_model.py` or reinstall ecg-cluster-widget."
        )
    return load_checkpoint(path)
