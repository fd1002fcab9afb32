"""ecg_cluster_widget: time-localized cluster explanations of ECG deep-learning models."""

from .data import ECGDataset
from .errors import DataError, ECGClusterError, FileFormatError, ModelError, NotFittedError
from .explain import TLCExplainer

__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy: importing the package must not import anywidget/ipywidgets.
    if name == "ClusterExplorer":
        from .views.widget import ClusterExplorer

        return ClusterExplorer
    if name == "DatasetView":
        from .views.dataset_view import DatasetView

        return DatasetView
    if name == "CompareView":
        from .views.compare_view import CompareView

        return CompareView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ECGDataset",
    "TLCExplainer",
    "ClusterExplorer",
    "DatasetView",
    "CompareView",
    "ECGClusterError",
    "DataError",
    "ModelError",
    "FileFormatError",
    "NotFittedError",
    "__version__",
]
