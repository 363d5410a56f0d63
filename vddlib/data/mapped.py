"""Videos kept as one raw uint8 file plus an index beside it, and read memory-mapped.

This is how a cached real split (`vddlib.data.real`) and a finished synthetic pool (`vddlib.data.pool`) are held.
`<stem>.u8` holds the videos (N, T, C, H, W) back to back. `<stem>.json` is written last, so it marks a whole
file. It holds the shape, the labels, the ids, where each shard of the stage that made the file sits in it, and
the videos' `data_hash`.

Mapped, the videos belong to the page cache, not to the process. The OS drops those pages under pressure, so data
larger than host memory can be used: Kinetics-400's evaluator splits are 143 GiB and its pool 23 GiB. An
evaluation queue given such a set reads it from its file (`file_of`) instead of copying it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from ..files import atomic_path, map_raw
from .hashing import PartsHash
from .videoset import VideoSet


def write_videos(path: Path, parts: Iterable[VideoSet], shape: tuple,
                 describe: Callable[[VideoSet], dict] = lambda part: {}) -> dict:
    """Write `parts` (VideoSets of videos shaped `shape`) in order into the raw file `path`, atomically; returns the
    index: shape, labels, ids, `shards` (each part's start, count and `describe(part)`) and `data_hash` (that of the
    parts concatenated). The caller adds its own keys and writes it with `write_index` once its file is whole."""
    doc = {"shape": [int(s) for s in shape], "labels": [], "ids": [], "shards": []}
    digest = PartsHash()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        for part in parts:
            if tuple(part.videos.shape[1:]) != tuple(doc["shape"]) or part.videos.dtype != torch.uint8:
                raise ValueError(f"{path}: a part of {tuple(part.videos.shape[1:])} {part.videos.dtype} videos in a "
                                 f"file of {tuple(doc['shape'])} uint8 videos")
            f.write(part.videos.contiguous().numpy().data)
            digest.update(part)
            doc["shards"].append({"start": len(doc["ids"]), "count": len(part), **describe(part)})
            doc["labels"] += [int(v) for v in part.labels.tolist()]
            doc["ids"] += list(part.ids)
    doc["data_hash"] = digest.hexdigest()
    return doc


def write_index(path: Path, doc: dict) -> None:
    """The index beside its file (`<stem>.json` for `<stem>.u8`), atomically: written last, it marks the file whole."""
    from ..files import write_text

    write_text(path.with_suffix(".json"), json.dumps(doc))


def read_index(path: Path, shape: tuple | None = None) -> dict | None:
    """The index of the raw file `path` (`<stem>.u8`; of videos shaped `shape`, any where None), or None where there
    is none, or it or its file is not whole (killed between writing the two, or truncated since)."""
    path = Path(path)
    try:
        doc = json.loads(path.with_suffix(".json").read_text())
        size = path.with_suffix(".u8").stat().st_size
        n, clip = len(doc["ids"]), int(np.prod(doc["shape"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ok = (shape is None or tuple(doc["shape"]) == tuple(shape)) and size == n * clip and len(doc["labels"]) == n
    return doc if ok else None


def map_videos(path: Path, doc: dict) -> torch.Tensor:
    """The videos of the raw file `path` that `doc` (its index) describes, memory-mapped copy-on-write."""
    return map_raw(Path(path).with_suffix(".u8"), (len(doc["ids"]), *doc["shape"]))


def file_of(vs: VideoSet, digest: str) -> dict | None:
    """{"path", "shape"} of the file `vs` was mapped from (`vs.meta["file"]`), where that file (still there, whole)
    holds exactly data `digest` (`data_hash(vs)`); None otherwise (a subset or a changed copy keeps its meta)."""
    path = vs.meta.get("file")
    if not path:
        return None
    doc = read_index(Path(path), tuple(vs.videos.shape[1:]))
    if doc is None or doc.get("data_hash") != digest or len(doc["ids"]) != len(vs):
        return None
    return {"path": str(Path(path).resolve()), "shape": [len(vs), *doc["shape"]]}
