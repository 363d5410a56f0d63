"""DM for video (Zhao & Bilen, 2023, as run by the prior video-distillation codebase): a measured baseline.

Distribution matching learns the synthetic videos' pixels directly: per class, the mean
embedding of a *randomly initialised* ConvNet3D (a new net every iteration) over a real
batch is matched to the mean embedding of the class's synthetic videos; the synthetic set
starts from real videos. ../shared/paper/protocols.md: real batch 64 per class, 5,000
iterations, ConvNet3D depth 3 width 128. Pixel optimiser: SGD with momentum 0.5 (DM's).
DM's lr of 1 was set for an embedding net with instance norm, whose features are O(1);
the protocol's ConvNet3D has no normalisation and its features at initialisation are
~30x smaller, so the loss's pixel gradients are ~1000x smaller: at lr 1 not one uint8
pixel moved in 100 iterations here. lr 1000 restores DM's step size (our guess). The
default profile runs a CPU budget of iterations.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from ..logs import bar

from ..data.augment import prepare_videos, to_uint8
from ..data.hashing import data_hash, settings_hash
from ..data.videoset import VideoSet
from ..models.convnet3d import ConvNet3D, ConvNet3DConfig
from ..selection.registry import flat_indices
from ..selection.selectors.random import select_random


@dataclass(frozen=True)
class DMConfig:
    iterations: int = 100           # the protocol: 5,000 (params/paper_base.yaml)
    real_batch: int = 16            # real videos per class per iteration
    depth: int = 3                  # the embedding ConvNet3D (randomly initialised each iteration)
    width: int = 32                 # the protocol: 128
    lr: float = 1000.0              # SGD on the synthetic pixels (normalised scale); see the module docstring
    momentum: float = 0.5

    def __post_init__(self) -> None:
        if self.iterations < 1 or self.real_batch < 1 or self.depth < 1 or self.width < 1:
            raise ValueError(f"DMConfig.iterations, real_batch, depth and width must be >= 1; got {self}")
        if self.lr <= 0:
            raise ValueError(f"DMConfig.lr must be positive; got {self.lr}")


def distill_dm(train: VideoSet, vpc: int, seed: int, cfg: DMConfig, progress: bool = True) -> tuple[VideoSet, list[float]]:
    """Learn `vpc` synthetic videos per class from the real `train` set; returns them and the loss per iteration."""
    counts = train.class_counts()
    if min(counts) < vpc:
        raise ValueError(f"DM needs at least VPC={vpc} real videos per class to initialise from; the smallest "
                         f"class has {min(counts)}. Lower the VPC.")
    gen = torch.Generator().manual_seed(seed)
    init = flat_indices(select_random(train.labels, vpc, seed=seed, num_classes=train.num_classes))
    # channels-last 3-D tensors and weights: in this layout DM runs ~1.35x faster on CPU (oneDNN's 3-D convolutions)
    cl = torch.channels_last_3d
    syn = prepare_videos(train.videos[init]).contiguous(memory_format=cl).requires_grad_(True)
    syn_labels = train.labels[init]
    opt = torch.optim.SGD([syn], lr=cfg.lr, momentum=cfg.momentum)
    by_class = [train.indices_of(c) for c in range(train.num_classes)]
    _, T, _, H, _ = train.videos.shape
    net_cfg = ConvNet3DConfig(num_classes=train.num_classes, frames=T, size=H, depth=cfg.depth, width=cfg.width)
    losses = []
    for it in bar(range(cfg.iterations), desc=f"DM vpc={vpc} seed={seed}", show=progress, leave=False):
        torch.manual_seed(seed * 1_000_003 + it)             # a fresh random embedding net each iteration
        net = ConvNet3D(net_cfg).requires_grad_(False).to(memory_format=cl)
        real_idx = torch.cat([idx[torch.randint(0, len(idx), (min(cfg.real_batch, len(idx)),), generator=gen)]
                              for idx in by_class])
        with torch.no_grad():
            real_emb = net.embed(prepare_videos(train.videos[real_idx]).contiguous(memory_format=cl)).flatten(1)
        syn_emb = net.embed(syn).flatten(1)
        real_lab = train.labels[real_idx]
        loss = sum(((real_emb[real_lab == c].mean(0) - syn_emb[syn_labels == c].mean(0)) ** 2).sum()
                   for c in range(train.num_classes))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out = VideoSet(to_uint8(syn.detach()), syn_labels.clone(), list(train.class_names),
                   [f"dm_c{int(c):03d}_{k:03d}" for k, c in enumerate(syn_labels.tolist())],
                   {"method": "dm", "vpc": vpc, "seed": seed, "config": asdict(cfg)})
    return out, losses


def dm_set(train: VideoSet, vpc: int, seed: int, cfg: DMConfig, work_dir: str | Path,
           progress: bool = True) -> VideoSet:
    """`distill_dm`, cached in a safetensors file named after the settings and the real set (written atomically)."""
    key = settings_hash({"cfg": asdict(cfg), "data": data_hash(train)}, 12)
    path = Path(work_dir) / f"dm_{key}" / f"vpc{vpc}_seed{seed}.safetensors"
    if path.is_file():
        return VideoSet.load(path)
    vs, losses = distill_dm(train, vpc, seed, cfg, progress=progress)
    vs.meta["loss_first_last"] = [losses[0], losses[-1]]
    vs.save(path)
    return vs
