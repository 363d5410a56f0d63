"""Soft labels (issue 20): a teacher's logits stored with a training set, as image dataset distillation does.

The teacher is the Full-real evaluator: the profile's evaluator trained on the whole real training
split (seed 0). Its logits on every video of a pool (or of the real split) are computed once and
carried by the set (`VideoSet.soft`); an evaluator trained with `TrainConfig(labels="soft")` then
fits them at a temperature (`train.soft_label_loss`) instead of the class labels. The teacher is
cached under the work folder by its data and settings, as safetensors with a SHA256SUMS file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch

from ..checksums import read_tensors, write_sums
from ..data.hashing import data_hash
from ..data.videoset import VideoSet
from ..files import save_tensors
from .train import TrainConfig, model_inputs, new_evaluator, train_evaluator


def teacher_path(work_dir: str | Path, train: VideoSet, cfg: TrainConfig, seed: int) -> Path:
    """Where the teacher of (train, cfg, seed) is cached: named by the data hash and the settings' hash."""
    settings = hashlib.sha1(json.dumps([cfg.key(), seed], sort_keys=True).encode()).hexdigest()[:12]
    return Path(work_dir) / f"teacher_{cfg.classifier}_{data_hash(train)}_{settings}" / "model.safetensors"


def full_real_teacher(train: VideoSet, cfg: TrainConfig, work_dir: str | Path, seed: int = 0) -> torch.nn.Module:
    """The Full-real evaluator (hard labels, `seed`) trained on `train`, or its cached copy; in eval mode."""
    cfg = dataclasses.replace(cfg, labels="hard")
    path = teacher_path(work_dir, train, cfg, seed)
    _, T, _, H, _ = train.videos.shape
    model = new_evaluator(cfg, train.num_classes, T, H)
    if path.is_file():
        tensors, _ = read_tensors(path)                      # checked against its SHA256SUMS
        model.load_state_dict(tensors)
    else:
        model = train_evaluator(train, cfg, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_tensors(path, {k: v.contiguous() for k, v in model.state_dict().items()})
        write_sums(path.parent)
    return model.eval()


@torch.no_grad()
def predict_logits(model: torch.nn.Module, videos: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
    """Logits (N, classes), float32, of a trained evaluator on uint8 videos."""
    model.eval()
    return torch.cat([model(model_inputs(videos[i:i + batch_size], model)).float()
                      for i in range(0, len(videos), batch_size)])


def with_soft_labels(videos: VideoSet, logits: torch.Tensor) -> VideoSet:
    """The same set carrying teacher logits (one row per video) as its soft labels."""
    if logits.shape != (len(videos), videos.num_classes):
        raise ValueError(f"Teacher logits shaped {tuple(logits.shape)} do not fit a set of {len(videos)} videos and "
                         f"{videos.num_classes} classes; compute them on this set with predict_logits.")
    return dataclasses.replace(videos, soft=logits.float())


def teacher_agreement(videos: VideoSet) -> float:
    """Share of a soft-labelled set's videos whose teacher argmax is their class label."""
    if videos.soft is None:
        raise ValueError("This set carries no soft labels.")
    return float((videos.soft.argmax(1) == videos.labels).float().mean())
