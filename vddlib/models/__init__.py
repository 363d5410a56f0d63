"""Evaluator registry: name → (config class, model class), so notebooks loop over names."""
from __future__ import annotations

import dataclasses

import torch.nn as nn

from .c3d import C3D, C3DConfig
from .convnet3d import ConvNet3D, ConvNet3DConfig
from .video_transformer import Timesformer, TimesformerEvalConfig

EVALUATORS = {
    "c3d": (C3DConfig, C3D),
    "convnet3d": (ConvNet3DConfig, ConvNet3D),
    "timesformer": (TimesformerEvalConfig, Timesformer),
}


def build_evaluator(name: str, num_classes: int, frames: int, size: int, **overrides) -> nn.Module:
    """Build an untrained evaluator by registry name, sized for (frames, size) inputs."""
    if name not in EVALUATORS:
        raise KeyError(f"Unknown evaluator {name!r}; choose one of {sorted(EVALUATORS)}")
    cfg_cls, model_cls = EVALUATORS[name]
    known = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"Evaluator {name!r} has no setting(s) {sorted(unknown)}; known: {sorted(known)}")
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    cfg = cfg_cls(num_classes=num_classes, frames=frames, size=size, **overrides)
    return model_cls(cfg)
