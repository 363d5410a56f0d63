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
from ..data.videoset import VideoSet
from ..files import save_tensors
from ..models.autoencoder import encode_videos


def encode_training_split(vae, train: VideoSet, path: str | Path, batch_frames: int = 256) -> dict:
    """Encode the train split to `path` (latents, labels; metadata: split, classes, ids). Returns the tensors."""
    split = train.meta.get("split")
    if split != "train":
        raise ValueError(f"The diffusion model trains on the train split only; got a VideoSet of split {split!r}. "
                         "Pass splits['train'].")
    latents = encode_videos(vae, train.videos, batch_frames=batch_frames, progress=True)
    meta = {"split": "train", "num_classes": str(train.num_classes), "class_names": json.dumps(train.class_names),
            "ids": json.dumps(train.ids), "dataset": str(train.meta.get("dataset", ""))}
    save_tensors(path, {"latents": latents, "labels": train.labels}, metadata=meta)
    return {"latents": latents, "labels": train.labels}


def read_latents(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) of a latent file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No latent file at {path}; notebooks/01_finetune.ipynb writes it.")
    return read_tensors(path)
