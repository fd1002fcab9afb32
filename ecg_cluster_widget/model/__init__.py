"""Model: the Ribeiro-style ResNet1d, training and checkpoints."""

from .resnet1d import ResBlock1d, ResNet1d

__all__ = ["ResNet1d", "ResBlock1d"]
