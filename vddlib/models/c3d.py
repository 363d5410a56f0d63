"""C3D (Tran et al., 2015), the paper's evaluator, with widths set by config.

Reference shape (the paper's): input 3×16×112×112; conv 64, 128, 256×2, 512×2, 512×2
(3×3×3, pad 1); pool1 (1, 2, 2), the others 2×2×2; fc 4096, 4096; dropout 0.5. The
default profile keeps the structure and shrinks widths and input (3×8×32×32) so that one
evaluation run takes seconds on two CPU cores. Pools skip an axis once it reaches 1, so
any input size that the paper or the default uses builds without hand-set kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn


@dataclass(frozen=True)
class C3DConfig:
    num_classes: int = 101
    frames: int = 16
    size: int = 112
    widths: tuple[int, ...] = (64, 128, 256, 512, 512)
    convs_per_block: tuple[int, ...] = (1, 1, 2, 2, 2)
    fc: int = 4096
    dropout: float = 0.5
    norm: str = "none"             # "none" as in C3D, or "batch" (converges in fewer steps)

    def __post_init__(self) -> None:
        if len(self.widths) != len(self.convs_per_block):
            raise ValueError(f"C3DConfig.widths ({len(self.widths)} blocks) and convs_per_block "
                             f"({len(self.convs_per_block)}) must have the same length")
        if self.norm not in ("none", "batch"):
            raise ValueError(f"C3DConfig.norm must be 'none' or 'batch'; got {self.norm!r}")


class C3D(nn.Module):
    """Input (N, C=3, T, H, W) floats; output logits (N, num_classes)."""

    def __init__(self, cfg: C3DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        cin, t, s = 3, cfg.frames, cfg.size
        for b, (width, n_conv) in enumerate(zip(cfg.widths, cfg.convs_per_block)):
            for _ in range(n_conv):
                layers.append(nn.Conv3d(cin, width, 3, padding=1, bias=cfg.norm == "none"))
                if cfg.norm == "batch":
                    layers.append(nn.BatchNorm3d(width))
                layers.append(nn.ReLU(inplace=True))
                cin = width
            kt = 2 if (b > 0 and t > 1) else 1          # pool1 keeps time, as in C3D
            ks = 2 if s > 1 else 1
            layers.append(nn.MaxPool3d((kt, ks, ks), ceil_mode=True))
            t, s = -(-t // kt), -(-s // ks)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(cin * t * s * s, cfg.fc), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc, cfg.fc), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc, cfg.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate (fc7) features, for Fréchet distances and selector ablations."""
        return self.head[:-1](self.features(x))
