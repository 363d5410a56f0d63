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
from ..data.hashing import PartsHash, shards_hash, video_digest, weights_hash
from ..data.real import SplitStream
from ..data.videoset import VideoSet
from ..files import save_stacked_tensors, save_tensors
from ..models.autoencoder import encode_videos


def encode_training_split(vae, train: VideoSet | SplitStream, path: str | Path, batch_frames: int = 256,
                          shards_dir: str | Path | None = None) -> dict:
    """Encode the train split to `path` (latents, labels; metadata: split, classes, ids). Returns the tensors and
    the split's data hash.

    A `SplitStream` is encoded shard by shard: host memory holds one shard of videos and the latents (UCF101's
    train split at 256² is 30 GB of frames and 2.3 GiB of latents). With `shards_dir`, each shard's latents are
    kept there as they are made, named by the shard's key and the autoencoder's weights: a killed run resumes at
    the first shard not encoded, a second run neither decodes nor encodes again, and a replaced video file
    re-encodes its shard only. The hash is then `shards_hash` (made without the videos); else `data_hash`'s.
    The latent file is then written a shard at a time, and the latents returned are memory-mapped from it, so
    host memory holds one shard of videos or latents at a time (Kinetics-400's latents are 57 GiB)."""
    stream = train if isinstance(train, SplitStream) else SplitStream.of(train)
    split = stream.meta.get("split")
    if split != "train":
        raise ValueError(f"The diffusion model trains on the train split only; got a VideoSet of split {split!r}. "
                         "Pass splits['train'].")
    meta = {"split": "train", "num_classes": str(stream.num_classes), "class_names": json.dumps(stream.class_names),
            "dataset": str(stream.meta.get("dataset", ""))}
    if shards_dir is None or stream.shard_keys() is None:
        latents, labels, ids, digest = _encode_parts(vae, stream, batch_frames)
        save_tensors(path, {"latents": latents, "labels": labels}, metadata={**meta, "ids": json.dumps(ids)})
        return {"latents": latents, "labels": labels, "data_hash": digest}
    files = _encode_shards(vae, stream, Path(shards_dir), batch_frames)
    digest = _stack_shards(files, path, meta)
    tensors, _ = read_tensors(path)                       # memory-mapped: pages are read as batches touch them
    return {"latents": tensors["latents"], "labels": tensors["labels"], "data_hash": digest}


class _Slots:
    """The split's latents filled in order, a slot per listed video (no second copy to concatenate)."""

    def __init__(self, listed: int) -> None:
        self.listed, self.latents, self.n, self.labels, self.ids = listed, None, 0, [], []

    def add(self, z: torch.Tensor, labels: torch.Tensor, ids: list[str]) -> None:
        if self.latents is None and len(z) >= self.listed:
            self.latents = z                    # the whole split in one part
        else:
            if self.latents is None:
                self.latents = torch.empty((self.listed, *z.shape[1:]), dtype=z.dtype)
            self.latents[self.n:self.n + len(z)] = z
        self.n += len(z)
        self.labels.append(labels)
        self.ids += ids

    def done(self) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        if self.latents is None:
            raise ValueError("The train split has no videos to encode.")
        latents = self.latents if self.n == len(self.latents) else self.latents[:self.n].clone()  # skipped videos
        return latents, torch.cat(self.labels), self.ids


def _encode_parts(vae, stream: SplitStream, batch_frames: int):
    slots, digest = _Slots(stream.listed), PartsHash()
    for part in stream:
        slots.add(encode_videos(vae, part.videos, batch_frames=batch_frames, progress=True), part.labels, part.ids)
        digest.update(part)
    return (*slots.done(), digest.hexdigest())


def _encode_shards(vae, stream: SplitStream, folder: Path, batch_frames: int):
    tag = weights_hash(vae)
    folder.mkdir(parents=True, exist_ok=True)

    def file(key: str) -> Path:
        return folder / f"{key}_vae{tag}.safetensors"

    done = {k for k in stream.shard_keys() if file(k).is_file()}
    for part in stream.parts(skip=done):
        z = encode_videos(vae, part.videos, batch_frames=batch_frames, progress=True)
        save_tensors(file(part.meta["shard"]), {"latents": z, "labels": part.labels},
                     metadata={"ids": json.dumps(part.ids), "videos_sha1": video_digest(part.videos)})
    files = [file(k) for k in stream.shard_keys()]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise RuntimeError(f"Video files changed while the train split was encoded (no latents for {missing[:3]}); "
                           "run the stage again: it encodes only the shards whose files changed.")
    for stale in set(folder.glob("*.safetensors")) - set(files):    # shards of files since replaced, other VAEs
        stale.unlink()
    return files


def _stack_shards(files: list[Path], path: Path, meta: dict) -> str:
    """Write the shards' latents one after another into the latent file at `path`, one shard in memory at a time
    (the whole train split's latents are 57 GiB for Kinetics-400), and return the split's hash."""
    labels, ids, digests, rows, like = [], [], [], 0, None
    for f in files:                                       # first the small parts: labels, ids, shapes
        tensors, m = read_tensors(f)
        labels.append(tensors["labels"].clone())
        ids += json.loads(m["ids"])
        digests.append(m["videos_sha1"])
        rows += len(tensors["latents"])
        if len(tensors["latents"]):
            like = tensors["latents"][:0].clone()            # dtype and shape of a row
        del tensors
    if not rows:
        raise ValueError("The train split has no videos to encode.")
    labels = torch.cat(labels)
    parts = (read_tensors(f)[0]["latents"] for f in files)
    save_stacked_tensors(path, "latents", parts, like.dtype, tuple(like.shape[1:]), rows, small={"labels": labels},
                         metadata={**meta, "ids": json.dumps(ids)})
    return shards_hash(digests, labels)


def read_latents(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) of a latent file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No latent file at {path}; notebooks/01_finetune.ipynb writes it.")
    return read_tensors(path)
