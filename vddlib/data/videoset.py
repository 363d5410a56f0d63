"""VideoSet: the in-memory form every stage hands over (real splits, synthetic pools, selections).

Videos are uint8 tensors laid out (N, T, C, H, W), the layout of diffusers' and
transformers' video models; evaluators permute to (N, C, T, H, W) themselves.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from ..checksums import read_tensors


@dataclass
class VideoSet:
    """Videos (uint8, N×T×C×H×W), integer labels and the class names they index."""

    videos: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    ids: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    soft: torch.Tensor | None = None     # a teacher's logits (N, classes), float: soft labels (notebook 07)

    def __post_init__(self) -> None:
        if self.videos.dtype != torch.uint8 or self.videos.ndim != 5:
            raise ValueError(
                f"VideoSet.videos must be a uint8 tensor shaped (N, T, C, H, W); got "
                f"{self.videos.dtype} {tuple(self.videos.shape)}. Convert frames with "
                "`(x.clamp(0, 1) * 255).round().to(torch.uint8)` first.")
        self.labels = torch.as_tensor(self.labels, dtype=torch.long)
        if self.labels.shape != (self.videos.shape[0],):
            raise ValueError(f"VideoSet.labels must have shape ({self.videos.shape[0]},), one per video; "
                             f"got {tuple(self.labels.shape)}")
        if len(self) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"VideoSet.labels must lie in [0, {len(self.class_names)}) "
                             f"(one per class name); got range [{self.labels.min()}, {self.labels.max()}]")
        if not self.ids:
            self.ids = [str(i) for i in range(len(self))]
        if len(self.ids) != len(self):
            raise ValueError(f"VideoSet.ids has {len(self.ids)} entries for {len(self)} videos")
        if self.soft is not None:
            self.soft = torch.as_tensor(self.soft, dtype=torch.float32)
            if self.soft.shape != (len(self), len(self.class_names)):
                raise ValueError(f"VideoSet.soft must be teacher logits shaped ({len(self)}, {len(self.class_names)}),"
                                 f" one row per video and a column per class; got {tuple(self.soft.shape)}")

    def __len__(self) -> int:
        return int(self.videos.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def frames(self) -> int:
        return int(self.videos.shape[1])

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()

    def indices_of(self, label: int) -> torch.Tensor:
        return torch.nonzero(self.labels == label).flatten()

    def subset(self, indices: Sequence[int] | torch.Tensor) -> "VideoSet":
        idx = torch.as_tensor(indices, dtype=torch.long)
        return VideoSet(self.videos[idx], self.labels[idx], list(self.class_names),
                        [self.ids[i] for i in idx.tolist()], dict(self.meta),
                        None if self.soft is None else self.soft[idx])

    def save(self, path: str | os.PathLike) -> None:
        """Write to one safetensors file (atomically: temp file, then rename)."""
        from ..files import save_tensors

        header = {"class_names": json.dumps(self.class_names), "ids": json.dumps(self.ids),
                  "meta": json.dumps(self.meta)}
        soft = {} if self.soft is None else {"soft": self.soft}
        save_tensors(path, {"videos": self.videos, "labels": self.labels, **soft}, metadata=header)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "VideoSet":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No VideoSet file at {path}; the stage that writes it has not run yet.")
        tensors, header = read_tensors(path)
        return cls(tensors["videos"], tensors["labels"], json.loads(header["class_names"]),
                   json.loads(header.get("ids", "[]")), json.loads(header.get("meta", "{}")), tensors.get("soft"))
