"""Motion controls: how much of a set's value is motion. Each training set is evaluated as is, with
its frames shuffled in time (every frame kept, their order lost), and with one frame repeated (a still video);
digits-motion is built so that no single frame tells the class, so what survives a shuffle or a still is what
the frames' appearance alone teaches."""
from __future__ import annotations

import torch

CONTROLS = ("as_is", "shuffled", "still")


def shuffle_time(videos: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Each video (N, T, C, H, W) with its frames in a random order of its own (seeded; never the identity when
    T > 1), so the order, and with it the motion, is lost while every frame is kept."""
    g = torch.Generator().manual_seed(seed)
    n, t = videos.shape[:2]
    out = torch.empty_like(videos)
    for i in range(n):
        perm = torch.randperm(t, generator=g)
        while t > 1 and torch.equal(perm, torch.arange(t)):
            perm = torch.randperm(t, generator=g)
        out[i] = videos[i, perm]
    return out


def still(videos: torch.Tensor, frame: int | None = None) -> torch.Tensor:
    """Each video as one frame repeated T times (default: the middle frame): appearance without motion."""
    t = videos.shape[1]
    k = t // 2 if frame is None else frame
    if not 0 <= k < t:
        raise ValueError(f"frame {frame} is outside the clip's {t} frames")
    return videos[:, k:k + 1].expand(-1, t, *videos.shape[2:]).contiguous()


def control(videos: torch.Tensor, kind: str, seed: int = 0) -> torch.Tensor:
    """The training videos for one control: 'as_is', 'shuffled' or 'still'."""
    if kind == "as_is":
        return videos
    if kind == "shuffled":
        return shuffle_time(videos, seed)
    if kind == "still":
        return still(videos)
    raise ValueError(f"control must be one of {CONTROLS}; got {kind!r}")
