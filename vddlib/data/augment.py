"""Video tensors as the networks take them: normalisation, its inverse, and training-time augmentation.

Videos are stored as uint8 (N, T, C, H, W); evaluators take normalised float (N, C, T, H, W).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# Inputs are mapped from [0, 1] to roughly zero mean, unit spread before every evaluator.
_MEAN, _STD = 0.45, 0.25


def prepare_videos(videos_u8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, T, C, H, W) → normalised float (N, C, T, H, W)."""
    return videos_u8.permute(0, 2, 1, 3, 4).float().div_(255.0).sub_(_MEAN).div_(_STD).contiguous()


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Normalised (N, C, T, H, W) → uint8 (N, T, C, H, W)."""
    return (x * _STD + _MEAN).clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 1, 3, 4).contiguous()


def augment(x: torch.Tensor, shift: int, flip: bool, gen: torch.Generator) -> torch.Tensor:
    """Random whole-clip translation by up to `shift` px (edge padding) and optional flip."""
    n = x.shape[0]
    if shift > 0:
        h, w = x.shape[-2:]
        padded = F.pad(x.flatten(1, 2), (shift, shift, shift, shift), mode="replicate").view(
            *x.shape[:3], h + 2 * shift, w + 2 * shift)
        off = torch.randint(0, 2 * shift + 1, (n, 2), generator=gen).tolist()
        x = torch.stack([padded[i, ..., dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(off)])
    if flip:
        m = torch.rand(n, generator=gen) < 0.5
        if m.any():
            x = x.clone()
            x[m] = x[m].flip(-1)
    return x
