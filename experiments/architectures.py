"""Five small networks of architectures nobody here described, for TLC's any-model evidence.

Used by ``tests/model/test_any_model.py`` (each trained briefly on synthetic ECGs in the
test) and by ``experiments/generic_default.py`` (which chooses the options a model without
a recommendation gets, across these architectures and on real ECGs). One home, so the
networks the test checks are the networks the evidence measured.

The architectures: a ResNet whose class name contains "Res" (name matching once hooked
the whole model); a transformer with (batch, tokens, channels) blocks; a network with
tuple outputs and an extra forward argument; a single-lead (batch, samples) network; a
U-Net-style per-sample segmenter.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def standardise(x: np.ndarray) -> np.ndarray:
    """Per-lead z-score over records and time (float32)."""
    mu = x.mean(axis=(0, 2), keepdims=True)
    sd = x.std(axis=(0, 2), keepdims=True) + 1e-6
    return ((x - mu) / sd).astype(np.float32)


def train_briefly(
    net: nn.Module, call, x: np.ndarray, y: np.ndarray, loss_fn, steps: int = 40
) -> None:
    """A few Adam steps on mini-batches of 16 records."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    xt, yt = torch.tensor(x), torch.tensor(y)
    net.train()
    for _ in range(steps):
        idx = torch.from_numpy(rng.choice(len(x), size=16, replace=False))
        opt.zero_grad()
        loss_fn(call(net, xt[idx]), yt[idx]).backward()
        opt.step()
    net.eval()


class Residual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 7, stride=stride, padding=3)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 7, padding=3)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.skip = nn.Conv1d(c_in, c_out, 1, stride=stride)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.skip(x))


class ResEncoderClassifier(nn.Module):
    """Its class name contains "Res": the old default hooked this whole model."""

    def __init__(self, n_leads: int = 12, n_out: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(n_leads, 16, 9, padding=4), nn.ReLU())
        self.blocks = nn.ModuleList(
            [Residual(16, 16, 1), Residual(16, 24, 2), Residual(24, 32, 1), Residual(32, 32, 2)]
        )
        self.head = nn.Linear(32, n_out)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x.mean(dim=2))


class TokenTransformer(nn.Module):
    """Patch tokenizer, then encoder layers whose outputs are (batch, tokens, channels)."""

    def __init__(self, n_leads: int = 12, n_out: int = 5, d: int = 32, patch: int = 4) -> None:
        super().__init__()
        self.tokenize = nn.Conv1d(n_leads, d, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, 1024, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=3, enable_nested_tensor=False)
        self.head = nn.Linear(d, n_out)

    def forward(self, x):
        t = self.tokenize(x).transpose(1, 2)  # (batch, tokens, d)
        t = self.encoder(t + self.pos[:, : t.shape[1]])
        return self.head(t.mean(dim=1))


class GatedBlock(nn.Module):
    """Returns (features, gate): which element to cluster must be said, never guessed."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 7, padding=3)
        self.gate = nn.Conv1d(c_in, c_out, 1)

    def forward(self, x):
        g = torch.sigmoid(self.gate(x))
        return torch.relu(self.conv(x)) * g, g


class LeadConditionedNet(nn.Module):
    """``forward(x, lead_set)`` with an extra argument, returning (logits, embedding)."""

    def __init__(self, n_leads: int = 12, n_out: int = 5) -> None:
        super().__init__()
        self.lead_set = nn.Embedding(4, 16)
        self.inp = nn.Conv1d(n_leads, 16, 9, padding=4)
        self.blocks = nn.ModuleList([GatedBlock(16, 16) for _ in range(4)])
        self.head = nn.Linear(16, n_out)

    def forward(self, x, lead_set):
        h = torch.relu(self.inp(x) + self.lead_set(lead_set)[:, :, None])
        for b in self.blocks:
            h, _ = b(h)
        emb = h.mean(dim=2)
        return self.head(emb), emb


def lead_set_call(net: LeadConditionedNet, xb: torch.Tensor) -> torch.Tensor:
    """How :class:`LeadConditionedNet` is called for training and TLC: lead set 0, logits."""
    return net(xb, torch.zeros(len(xb), dtype=torch.long))[0]


class Called(nn.Module):
    """A network called through ``call(network, x)``, as a module ``train_model`` can train."""

    def __init__(self, net: nn.Module, call) -> None:
        super().__init__()
        self.net, self.call = net, call

    def forward(self, x):
        return self.call(self.net, x)


class SingleLeadNet(nn.Module):
    """Takes (batch, samples), as many single-lead wearable models do."""

    def __init__(self, n_out: int = 5) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Conv1d(1, 16, 9, padding=4)] + [nn.Conv1d(16, 16, 9, padding=4) for _ in range(3)]
        )
        self.head = nn.Linear(16, n_out)

    def forward(self, x):
        h = x[:, None, :]
        for conv in self.layers:
            h = torch.relu(conv(h))
        return self.head(h.mean(dim=2))


class Down(nn.Module):
    def __init__(self, c_in: int, c_out: int, pool: bool) -> None:
        super().__init__()
        self.pool = nn.MaxPool1d(2) if pool else nn.Identity()
        self.conv = nn.Conv1d(c_in, c_out, 7, padding=3)

    def forward(self, x):
        return torch.relu(self.conv(self.pool(x)))


class Up(nn.Module):
    def __init__(self, c_in: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in + c_skip, c_out, 7, padding=3)

    def forward(self, x, skip):
        x = nn.functional.interpolate(x, size=skip.shape[-1], mode="linear")
        return torch.relu(self.conv(torch.cat([x, skip], dim=1)))


class UNet1d(nn.Module):
    """Per-sample segmenter: (batch, 4 waves, samples) logits."""

    def __init__(self, n_leads: int = 12, n_out: int = 4) -> None:
        super().__init__()
        self.d1, self.d2, self.d3 = Down(n_leads, 16, False), Down(16, 24, True), Down(24, 32, True)
        self.u2, self.u1 = Up(32, 24, 24), Up(24, 16, 16)
        self.out = nn.Conv1d(16, n_out, 1)

    def forward(self, x):
        a = self.d1(x)
        b = self.d2(a)
        c = self.d3(b)
        return self.out(self.u1(self.u2(c, b), a))
