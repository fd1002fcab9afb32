"""Model: the Ribeiro-style ResNet1d, training, checkpoints and any network's input contract."""

from .checkpoint import (
    DEFAULT_TASK,
    MODEL_TASKS,
    TASKS,
    ModelBundle,
    as_bundle,
    is_bundle,
)
from .contract import INPUT_LAYOUTS
from .declare import declare_model
from .pretrained import (
    DEMO_DATA_KWARGS,
    PRETRAINED,
    demo_model_path,
    list_pretrained,
    load_demo_model,
    load_pretrained,
    pretrained_path,
)
from .resnet1d import WIDTHS, ResBlock1d, ResNet1d, network_layout
from .serialization import load_checkpoint, save_checkpoint
from .train import evaluate_model, train_model

__all__ = [
    "ResNet1d",
    "ResBlock1d",
    "network_layout",
    "WIDTHS",
    "ModelBundle",
    "declare_model",
    "INPUT_LAYOUTS",
    "MODEL_TASKS",
    "as_bundle",
    "is_bundle",
    "DEFAULT_TASK",
    "TASKS",
    "save_checkpoint",
    "load_checkpoint",
    "train_model",
    "evaluate_model",
    "load_demo_model",
    "demo_model_path",
    "DEMO_DATA_KWARGS",
    "PRETRAINED",
    "list_pretrained",
    "load_pretrained",
    "pretrained_path",
]
