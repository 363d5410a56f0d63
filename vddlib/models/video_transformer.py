"""A video transformer evaluator from transformers (TimeSformer, divided space-time attention).

The paper's second evaluator is Video Swin; it is in neither transformers nor an
installable timm here (timm needs torchvision, whose only build for torch 2.13 fails to
import on CPU). TimeSformer is the closest pure-transformers video classifier. Built
from a config, never from a hub: weights, when wanted, come from a local folder.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn


@dataclass(frozen=True)
class TimesformerEvalConfig:
    num_classes: int = 50
    frames: int = 8
    size: int = 224
    patch_size: int = 16
    hidden_size: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: int = 4
    dropout: float = 0.0
    pretrained_path: str = ""       # a local folder saved by save_pretrained, or empty

    def __post_init__(self) -> None:
        if self.size % self.patch_size:
            raise ValueError(f"TimesformerEvalConfig.size ({self.size}) must be a multiple of patch_size "
                             f"({self.patch_size})")
        if self.hidden_size % self.heads:
            raise ValueError(f"TimesformerEvalConfig.hidden_size ({self.hidden_size}) must be divisible by "
                             f"heads ({self.heads})")


class Timesformer(nn.Module):
    """Input (N, 3, T, H, W) like the conv evaluators; transformers wants (N, T, 3, H, W)."""

    def __init__(self, cfg: TimesformerEvalConfig) -> None:
        super().__init__()
        from transformers import TimesformerConfig, TimesformerForVideoClassification

        self.cfg = cfg
        if cfg.pretrained_path:
            self.net = TimesformerForVideoClassification.from_pretrained(
                cfg.pretrained_path, num_labels=cfg.num_classes, ignore_mismatched_sizes=True,
                local_files_only=True)
        else:
            hf = TimesformerConfig(
                image_size=cfg.size, patch_size=cfg.patch_size, num_frames=cfg.frames,
                hidden_size=cfg.hidden_size, num_hidden_layers=cfg.depth, num_attention_heads=cfg.heads,
                intermediate_size=cfg.mlp_ratio * cfg.hidden_size, hidden_dropout_prob=cfg.dropout,
                attention_probs_dropout_prob=cfg.dropout, num_labels=cfg.num_classes)
            self.net = TimesformerForVideoClassification(hf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_values=x.transpose(1, 2)).logits
