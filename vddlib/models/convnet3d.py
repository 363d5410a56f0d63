"""ConvNet3D, the evaluator of the prior video-distillation protocol (DM / MTT / FRePo + VD).

Depth 3, width 128, no normalisation, ReLU; every layer a Conv3d with kernel (3, 7, 7),
stride (1, 2, 2), padding (1, 3, 3); max-pool (1, 2, 2) after the first layer and
2×2×2 after the others; global average pool, dropout 0.5, a 1×1×1 conv classifier, max
over time. The protocol note lists one conv setting, which we read as every layer's.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn


@dataclass(frozen=True)
class ConvNet3DConfig:
    num_classes: int = 50
    frames: int = 16
    size: int = 112
    depth: int = 3
    width: int = 128
    dropout: float = 0.5

    def __post_init__(self) -> None:
        if self.depth < 1 or self.width < 1:
            raise ValueError(f"ConvNet3DConfig.depth and width must be >= 1; got {self.depth}, {self.width}")


class ConvNet3D(nn.Module):
    """Input (N, 3, T, H, W); output logits (N, num_classes)."""

    def __init__(self, cfg: ConvNet3DConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        cin, t = 3, cfg.frames
        for d in range(cfg.depth):
            layers += [nn.Conv3d(cin, cfg.width, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3)),
                       nn.ReLU(inplace=True)]
            kt = 2 if (d > 0 and t > 1) else 1
            layers.append(nn.MaxPool3d((kt, 2, 2), ceil_mode=True))
            t = -(-t // kt)
            cin = cfg.width
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Conv3d(cfg.width, cfg.num_classes, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Spatially averaged features (N, width, T'): DM's matching features."""
        return self.features(x).mean(dim=(3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x).mean(dim=(3, 4), keepdim=True)      # (N, width, T', 1, 1)
        logits = self.classifier(self.dropout(h))                # (N, classes, T', 1, 1)
        return logits.amax(dim=(2, 3, 4))                        # max over time
