"""CSTA-style importance scorer (the summarisation baseline of Table 4).

CSTA (Son et al., CVPR 2024) arranges a video's per-frame features as a T × D image, runs
a CNN over it to obtain attention between frames, and regresses an importance score per
frame; a 0/1 knapsack then picks the summary. Here the "frames" are the N videos of one
class (their VideoMAE embeddings, in a seeded order), and - with no human importance
labels for a synthetic pool - the regression target is each video's VideoMAE probability
for its conditioning class. One scorer is trained over all classes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class CSTAConfig:
    dim: int = 64
    channels: int = 8
    epochs: int = 20                # the paper profiles: 40
    lr: float = 1e-3

    def __post_init__(self) -> None:
        if min(self.dim, self.channels, self.epochs) < 1 or self.lr <= 0:
            raise ValueError("CSTAConfig: dim, channels, epochs and lr must be positive")


class CSTANet(nn.Module):
    def __init__(self, in_dim: int, dim: int = 64, channels: int = 8):
        super().__init__()
        self.proj = nn.Linear(in_dim, dim)
        # the CNN sees the (N × dim) feature image; its output rows are queries and keys
        self.cnn = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, 2, 3, padding=1))
        self.value = nn.Linear(dim, dim)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:    # x (N, D) → importance (N,) in (0, 1)
        h = self.proj(x)
        qk = self.cnn(h[None, None])[0]                     # (2, N, dim)
        att = torch.softmax(qk[0] @ qk[1].T / h.shape[1] ** 0.5, dim=1)
        h = h + att @ self.value(h)
        return torch.sigmoid(self.head(h))[:, 0]


def csta_importance(emb: np.ndarray, scores: np.ndarray, labels: np.ndarray, cfg: CSTAConfig, seed: int) -> np.ndarray:
    """Train one CSTA scorer over all classes (seeded) and return an importance per pool video."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(np.asarray(emb, dtype=np.float32))
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-6)
    classes = np.unique(labels)
    groups = {int(c): rng.permutation(np.flatnonzero(labels == c)) for c in classes}
    target = torch.from_numpy(np.asarray(scores, dtype=np.float32)[np.arange(len(labels)), labels])
    net = CSTANet(x.shape[1], cfg.dim, cfg.channels)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr)
    for _ in range(cfg.epochs):
        for c in rng.permutation(classes):
            idx = torch.from_numpy(groups[int(c)])
            loss = F.mse_loss(net(x[idx]), target[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    out = np.zeros(len(labels), dtype=np.float64)
    with torch.no_grad():
        for c, idx in groups.items():
            out[idx] = net(x[torch.from_numpy(idx)]).numpy()
    return out
