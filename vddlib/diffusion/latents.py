"""Latent files: the training split encoded once by the autoencoder, read by Latte's training.

Only the *train* split may feed the diffusion model (the public Latte loader walks every
file of a dataset folder, test videos included, which leaks the test set into the pool);
`encode_training_split` refuses any other split and records the split and video ids.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..checksums import read_tensors
from ..data.hashing import PartsHash
from ..data.real import SplitStream
from ..data.videoset import VideoSet
from ..files import save_tensors
from ..models.autoencoder import encode_videos


def encode_training_split(vae, train: VideoSet | SplitStream, path: str | Path, batch_frames: int = 256) -> dict:
    """Encode the train split to `path` (latents, labels; metadata: split, classes, ids). Returns the tensors and
    the split's `data_hash`. A `SplitStream` is encoded shard by shard: host memory holds one shard of videos and
    the latents (UCF101's train split at 256² is 30 GB of frames and 2.5 GB of latents)."""
    stream = train if isinstance(train, SplitStream) else SplitStream.of(train)
    split = stream.meta.get("split")
    if split != "train":
        raise ValueError(f"The diffusion model trains on the train split only; got a VideoSet of split {split!r}. "
                         "Pass splits['train'].")
    latents, labels, ids, digest, n = None, [], [], PartsHash(), 0
    for part in stream:
        z = encode_videos(vae, part.videos, batch_frames=batch_frames, progress=True)
        if latents is None and len(z) >= stream.listed:
            latents = z                         # the whole split in one part
        else:
            if latents is None:                 # a slot per listed video, filled in order: no copy to concatenate
                latents = torch.empty((stream.listed, *z.shape[1:]), dtype=z.dtype)
            latents[n:n + len(z)] = z
        n += len(z)
        labels.append(part.labels)
        ids += part.ids
        digest.update(part)
    if latents is None:
        raise ValueError("The train split has no videos to encode.")
    if n < len(latents):                        # videos skipped or short: free the unused slots
        latents = latents[:n].clone()
    labels = torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long)
    meta = {"split": "train", "num_classes": str(stream.num_classes), "class_names": json.dumps(stream.class_names),
            "ids": json.dumps(ids), "dataset": str(stream.meta.get("dataset", ""))}
    save_tensors(path, {"latents": latents, "labels": labels}, metadata=meta)
    return {"latents": latents, "labels": labels, "data_hash": digest.hexdigest()}


def read_latents(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) of a latent file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No latent file at {path}; notebooks/01_finetune.ipynb writes it.")
    return read_tensors(path)
