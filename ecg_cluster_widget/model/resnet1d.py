"""A Ribeiro-style residual 1D CNN for 12-lead ECG classification.

Follows Ribeiro et al., "Automatic diagnosis of the 12-lead ECG using a deep neural
network", Nat. Commun. 2020: a stem convolution, then residual blocks whose forward
returns the pair ``(x, skip)`` (which is why activation hooks must cope with tuples),
then a flatten + linear head.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..data.dataset import check_choice
from ..errors import ModelError


def _padding(downsample: int, kernel_size: int) -> int:
    """Padding that makes a strided convolution give ``n_in // downsample`` samples."""
    return max(0, int(np.floor((kernel_size - downsample + 1) / 2)))


#: Channel widths of the stem and four blocks, per network size.
WIDTHS = {
    "tiny": (16, 24, 32, 40, 48),
    "small": (32, 48, 64, 80, 96),
    "ribeiro": (64, 128, 196, 256, 320),
}


def network_layout(fs: float, n_samples: int, size: str = "small") -> dict[str, tuple[int, ...]]:
    """Widths and block lengths of the four-block ResNet1d for an input length.

    The one rule for sizing the network (used by :meth:`ResNet1d.for_input`, the
    command line's ``train`` and the experiments). The reference (Ribeiro et al.) runs
    4096 -> 1024 -> 256 -> 64 -> 16 samples at 400 Hz: the first of the last three blocks
    steps at 40 ms, the last at 640 ms. This picks integer downsampling factors that
    divide ``n_samples`` and come closest to that (~40 ms after the second block,
    ~0.5 s at the end).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    n_samples : int
        Input length in samples.
    size : {"tiny", "small", "ribeiro"}
        Widths (see :data:`WIDTHS`).

    Returns
    -------
    dict
        ``{"filters": tuple of int, "seq_lengths": tuple of int}``, keyword arguments of
        :class:`ResNet1d`.

    Raises
    ------
    ModelError
        If ``size`` is unknown, ``fs`` or ``n_samples`` is not positive, or the length
        has no integer factorisation near the reference resolution.

    Examples
    --------
    >>> network_layout(100, 1000)["seq_lengths"]
    (1000, 500, 250, 125, 25)
    >>> network_layout(250, 2500)["seq_lengths"]
    (2500, 1250, 250, 125, 25)
    """
    check_choice(size, sorted(WIDTHS), "size", ModelError)
    fs = float(fs)
    n_samples = int(n_samples)
    if not np.isfinite(fs) or fs <= 0 or n_samples <= 0:
        raise ModelError(f"fs and n_samples must be positive, got fs={fs}, n_samples={n_samples}.")
    target_mid = 0.04 * fs  # total downsampling before the first hooked block
    target_end = 12.5  # further downsampling of the last two blocks (40 ms -> 0.5 s)
    best: tuple[float, tuple[int, ...]] | None = None
    factors = range(1, 9)
    for f0 in factors:
        for f1 in factors:
            for f2 in factors:
                for f3 in factors:
                    if n_samples % (f0 * f1 * f2 * f3):
                        continue
                    cost = (
                        2 * abs(np.log2(f0 * f1 / max(target_mid, 1)))
                        + abs(np.log2(f2 * f3 / target_end))
                        + 0.25 * (abs(np.log2(f0 / f1)) + abs(np.log2(f2 / f3)))
                    )
                    if best is None or cost < best[0] - 1e-9:
                        best = (cost, (f0, f1, f2, f3))
    assert best is not None  # (1, 1, 1, 1) always divides
    if best[0] > 3.0:
        raise ModelError(
            f"{n_samples} samples cannot be split into integer downsampling steps near the "
            "reference resolution; crop or pad the records first (e.g. "
            f"ecg_cluster_widget.data.crop_or_pad(ds, {int(round(10 * fs))}))."
        )
    lengths = [n_samples]
    for f in best[1]:
        lengths.append(lengths[-1] // f)
    return {"filters": WIDTHS[size], "seq_lengths": tuple(lengths)}


class ResBlock1d(nn.Module):
    """Residual block: conv-BN-ReLU-dropout-strided conv, plus a pooled/projected skip.

    ``forward`` takes and returns the pair ``(x, y)`` of the main and skip paths.

    Parameters
    ----------
    n_in, n_out : int
        Input and output channels.
    downsample : int
        Stride of the second convolution (and of the skip path's max-pooling).
    kernel_size : int
        Odd convolution kernel size.
    dropout : float
        Dropout rate after each convolution.

    Raises
    ------
    ModelError
        If ``kernel_size`` is even.

    Examples
    --------
    >>> block = ResBlock1d(4, 8, downsample=2, kernel_size=3)
    >>> x = torch.zeros(1, 4, 20)
    >>> [tuple(t.shape) for t in block((x, x))]
    [(1, 8, 10), (1, 8, 10)]
    """

    #: Element of the ``(x, y)`` output that activation hooks record: the main path after
    #: its ReLU (the skip sum ``y`` is pre-activation and would double-count the block).
    hook_output = 0
    #: Its outputs are (batch, channels, time). Declared because ResNet1d accepts only its
    #: own input length, so the two-length probe of the hooks cannot run on it.
    hook_time_axis = 2

    def __init__(
        self, n_in: int, n_out: int, downsample: int, kernel_size: int = 17, dropout: float = 0.2
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ModelError(f"kernel_size must be odd, got {kernel_size}.")
        self.conv1 = nn.Conv1d(
            n_in, n_out, kernel_size, padding=_padding(1, kernel_size), bias=False
        )
        self.bn1 = nn.BatchNorm1d(n_out)
        self.relu = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(
            n_out,
            n_out,
            kernel_size,
            stride=downsample,
            padding=_padding(downsample, kernel_size),
            bias=False,
        )
        self.bn2 = nn.BatchNorm1d(n_out)
        self.dropout2 = nn.Dropout(dropout)
        skip: list[nn.Module] = []
        if downsample > 1:
            skip.append(nn.MaxPool1d(downsample, stride=downsample))
        if n_in != n_out:
            skip.append(nn.Conv1d(n_in, n_out, 1, bias=False))
        self.skip_connection = nn.Sequential(*skip) if skip else None

    def forward(
        self, inputs: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``(x, y)`` (main path, skip path) to the next block's ``(x, y)``."""
        x, y = inputs
        if self.skip_connection is not None:
            y = self.skip_connection(y)
        x = self.dropout1(self.relu(self.bn1(self.conv1(x))))
        x = self.conv2(x)
        x = x + y
        y = x
        x = self.dropout2(self.relu(self.bn2(x)))
        return x, y


class ResNet1d(nn.Module):
    """Residual network for ECG (Ribeiro et al. 2020).

    Parameters
    ----------
    n_leads : int
        Input channels.
    n_classes : int
        Output logits (multi-label: one sigmoid each).
    filters : sequence of int
        Channels of the stem followed by each residual block.
    seq_lengths : sequence of int
        Time length after the stem (the input length) followed by each block's output
        length. Each ratio must be an integer (the block's downsampling factor).
    kernel_size : int
        Odd convolution kernel length.
    dropout : float
        Dropout rate inside the blocks.

    Examples
    --------
    >>> net = ResNet1d(12, 5, filters=(16, 24, 32), seq_lengths=(1000, 250, 125))
    >>> net(torch.zeros(2, 12, 1000)).shape
    torch.Size([2, 5])
    >>> net.block_names()
    ['blocks.0', 'blocks.1']
    """

    def __init__(
        self,
        n_leads: int = 12,
        n_classes: int = 5,
        filters: Sequence[int] = (32, 48, 64, 80, 96),
        seq_lengths: Sequence[int] = (1000, 500, 250, 125, 25),
        kernel_size: int = 17,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        filters = [int(f) for f in filters]
        seq_lengths = [int(s) for s in seq_lengths]
        if len(filters) != len(seq_lengths) or len(filters) < 2:
            raise ModelError(
                "filters and seq_lengths must have the same length (stem + at least one block); "
                f"got {len(filters)} and {len(seq_lengths)}."
            )
        for a, b in zip(seq_lengths[:-1], seq_lengths[1:]):
            if b <= 0 or a % b != 0:
                raise ModelError(
                    f"each block must shorten the signal by an integer factor; {a} -> {b} is not."
                )
        self.config = dict(
            n_leads=int(n_leads),
            n_classes=int(n_classes),
            filters=tuple(filters),
            seq_lengths=tuple(seq_lengths),
            kernel_size=int(kernel_size),
            dropout=float(dropout),
        )
        self.conv1 = nn.Conv1d(
            n_leads, filters[0], kernel_size, padding=_padding(1, kernel_size), bias=False
        )
        self.bn1 = nn.BatchNorm1d(filters[0])
        self.relu = nn.ReLU()
        self.blocks = nn.ModuleList(
            ResBlock1d(
                filters[i],
                filters[i + 1],
                seq_lengths[i] // seq_lengths[i + 1],
                kernel_size,
                dropout,
            )
            for i in range(len(filters) - 1)
        )
        self.lin = nn.Linear(filters[-1] * seq_lengths[-1], n_classes)

    @classmethod
    def for_input(
        cls,
        fs: float,
        n_samples: int,
        n_leads: int = 12,
        n_classes: int = 5,
        size: str = "small",
        kernel_size: int = 17,
        dropout: float = 0.2,
    ) -> ResNet1d:
        """A four-block network sized so the hooked blocks see ~40 ms steps.

        The reference (Ribeiro et al.) runs 4096 -> 1024 -> 256 -> 64 -> 16 samples at
        400 Hz: the first of the last three blocks steps at 40 ms, the last at 640 ms.
        This picks integer downsampling factors that divide ``n_samples`` and come
        closest to that (~40 ms after the second block, ~0.5 s at the end).

        Parameters
        ----------
        fs : float
            Sampling rate in Hz.
        n_samples : int
            Input length in samples.
        n_leads, n_classes : int
            Input channels and outputs.
        size : {"tiny", "small", "ribeiro"}
            Widths (16, 24, 32, 40, 48) (~0.2 M parameters at 100 Hz, the shipped demo
            model), (32, 48, 64, 80, 96) (~0.7 M, the constructor default) or the
            paper's (64, 128, 196, 256, 320).
        kernel_size, dropout
            As in the constructor.

        Examples
        --------
        >>> ResNet1d.for_input(100, 1000).config["seq_lengths"]
        (1000, 500, 250, 125, 25)
        >>> ResNet1d.for_input(400, 4096, size="ribeiro").config["seq_lengths"]
        (4096, 1024, 256, 64, 16)
        """
        layout = network_layout(fs, n_samples, size)
        return cls(
            n_leads, n_classes, layout["filters"], layout["seq_lengths"], kernel_size, dropout
        )

    @property
    def n_samples(self) -> int:
        """Input length in samples (``seq_lengths[0]``)."""
        return self.config["seq_lengths"][0]

    def block_names(self) -> list[str]:
        """Qualified names of the residual blocks, in forward order."""
        return [f"blocks.{i}" for i in range(len(self.blocks))]

    def default_layers(self) -> list[str]:
        """The last three residual blocks: the layers TLC hooks by default."""
        return self.block_names()[-3:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` for input ``(batch, n_leads, n_samples)``.

        Raises
        ------
        ModelError
            If the input shape does not match the network.
        """
        if x.ndim != 3 or x.shape[1] != self.config["n_leads"] or x.shape[2] != self.n_samples:
            raise ModelError(
                f"ResNet1d expects input of shape (batch, {self.config['n_leads']}, {self.n_samples}); "
                f"got {tuple(x.shape)}."
            )
        x = self.relu(self.bn1(self.conv1(x)))
        y = x
        for block in self.blocks:
            x, y = block((x, y))
        return self.lin(x.flatten(1))
