"""Content hashes: which data, inputs, weights or settings made a cached file. The one hasher of the project.

Every cache (a checkpoint's metadata, a feature file, a selection manifest, an evaluation
queue) records one of these, and is re-used only while the hash still matches.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass

import numpy as np
import torch


def _bytes(a) -> memoryview:
    """The bytes of a tensor or array, as a view for hashlib: no copy of a contiguous CPU tensor (a split of
    videos can be most of the host's memory)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().contiguous().reshape(-1)
        a = a.view(torch.uint8) if a.dtype == torch.bfloat16 else a      # numpy has no bf16: its bytes as they are
        a = a.numpy()
    return memoryview(np.ascontiguousarray(np.asarray(a)).reshape(-1).view(np.uint8))


def data_hash(vs) -> str:
    """sha1 of a VideoSet's videos and labels (16 hex digits): names the data a model or a cache was made from."""
    h = hashlib.sha1(_bytes(vs.videos))
    h.update(_bytes(vs.labels))
    if getattr(vs, "soft", None) is not None:         # soft labels are data too; a set without them adds nothing
        h.update(_bytes(vs.soft))
    return h.hexdigest()[:16]


class PartsHash:
    """`data_hash` of a split read in parts (`SplitStream`): `update` with each part in order; `hexdigest` is the
    digest `data_hash` gives the parts concatenated, without holding them together."""

    def __init__(self) -> None:
        self._videos, self._labels = hashlib.sha1(), []

    def update(self, part) -> None:
        if getattr(part, "soft", None) is not None:
            raise ValueError("PartsHash hashes videos and labels; a part with soft labels needs data_hash")
        self._videos.update(_bytes(part.videos))
        self._labels.append(torch.as_tensor(part.labels, dtype=torch.long))

    def hexdigest(self) -> str:
        h = self._videos.copy()
        h.update(_bytes(torch.cat(self._labels) if self._labels else torch.zeros(0, dtype=torch.long)))
        return h.hexdigest()[:16]


def video_digest(videos) -> str:
    """sha1 of one shard's videos (hex), kept beside what was made of the shard for `shards_hash`."""
    return hashlib.sha1(_bytes(videos)).hexdigest()


def shards_hash(video_digests: list[str], labels) -> str:
    """The data hash of a split kept shard by shard (`video_digest` of each shard in order, then all labels):
    it changes with any video or label, and is computed without the videos (which `data_hash` needs)."""
    h = hashlib.sha1("".join(video_digests).encode())
    h.update(_bytes(torch.as_tensor(labels, dtype=torch.long)))
    return h.hexdigest()[:16]


def inputs_hash(labels, arrays: dict) -> str:
    """sha1 of the labels (as int64) and the named arrays: what a selection depends on besides its settings."""
    h = hashlib.sha1(np.ascontiguousarray(np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels))
                     .astype(np.int64).tobytes())
    for k in sorted(arrays):
        h.update(k.encode())
        a = arrays[k]
        if str(getattr(a, "dtype", "")) in _HALF:
            # float16/bf16 inputs (a pool's latents, mapped as stored) hash as their float32 values, which they hold
            # exactly: a selection made from the stored latents is the one made from them read as float32. A part at
            # a time, so the float32 copy is never whole (Kinetics-400's pool latents would be 9.8 GiB)
            flat = torch.as_tensor(a).reshape(-1)
            for i in range(0, len(flat), _HASH_CHUNK):
                h.update(_bytes(flat[i:i + _HASH_CHUNK].float()))
        else:
            h.update(_bytes(a))
    return h.hexdigest()[:16]


_HALF = {"torch.float16", "torch.bfloat16", "float16"}
_HASH_CHUNK = 1 << 22          # float32 values per hashed part: 16 MiB


def weights_hash(model: torch.nn.Module) -> str:
    """sha1 of a model's weights: which model made a cached feature file."""
    h = hashlib.sha1()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(_bytes(v.detach().cpu().contiguous().view(-1).view(torch.uint8)))
    return h.hexdigest()[:16]


def settings_hash(settings, n: int = 8) -> str:
    """sha1 of a settings dataclass or mapping (as sorted JSON): names a cache folder after the settings."""
    doc = asdict(settings) if is_dataclass(settings) else settings
    return hashlib.sha1(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:n]
