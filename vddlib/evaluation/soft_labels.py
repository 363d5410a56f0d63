"""Soft labels: a teacher's logits stored with a training set, as image dataset distillation does.

The teacher is the Full-real evaluator: the profile's evaluator trained on the whole real training
split (seed 0), which is `fidelity.recogniser`. Its logits on every video of a pool (or of the real
split) are computed once and carried by the set (`VideoSet.soft`); an evaluator trained with `TrainConfig(labels="soft")` then
fits them at a temperature (`train.soft_label_loss`) instead of the class labels.
"""
from __future__ import annotations

import dataclasses

import torch

from ..data.videoset import VideoSet
from .train import model_inputs


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
