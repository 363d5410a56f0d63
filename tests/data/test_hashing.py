"""Content hashes of splits too large to copy: the same digests, without a second copy of the videos."""
from __future__ import annotations

import tracemalloc

import numpy as np
import torch

from vddlib.data.hashing import PartsHash, data_hash, inputs_hash, shards_hash, video_digest
from vddlib.data.videoset import VideoSet


def _split(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return VideoSet(torch.randint(0, 256, (n, 8, 3, 32, 32), dtype=torch.uint8, generator=g),
                    torch.randint(0, 3, (n,), generator=g), ["a", "b", "c"])


def test_hashing_a_split_makes_no_copy_of_its_videos():
    vs = _split()
    tracemalloc.start()
    try:
        data_hash(vs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < vs.videos.nbytes / 20          # a bytes copy would be the videos' size (1.2 MB here)


def test_a_split_hashed_in_parts_has_the_whole_splits_digest():
    vs = _split()
    for cuts in ([0, 48], [0, 5, 48], [0, 16, 32, 47, 48]):
        digest = PartsHash()
        for a, b in zip(cuts, cuts[1:]):
            digest.update(vs.subset(range(a, b)))
        assert digest.hexdigest() == data_hash(vs)
    digest = PartsHash()
    digest.update(vs.subset(range(0, 47)))
    assert digest.hexdigest() != data_hash(vs)                   # a video left out


def test_the_shards_hash_moves_with_any_byte_or_label():
    vs = _split()
    parts = [vs.subset(range(0, 24)), vs.subset(range(24, 48))]
    base = shards_hash([video_digest(p.videos) for p in parts], vs.labels)
    parts[1].videos[3, 2, 1, 0, 5] ^= 1
    assert shards_hash([video_digest(p.videos) for p in parts], vs.labels) != base
    parts[1].videos[3, 2, 1, 0, 5] ^= 1
    labels = vs.labels.clone()
    labels[0] = (labels[0] + 1) % 3
    assert shards_hash([video_digest(p.videos) for p in parts], labels) != base
    assert shards_hash([video_digest(p.videos) for p in parts], vs.labels) == base


def test_half_inputs_hash_as_their_float32_values_a_part_at_a_time(monkeypatch):
    """A pool's latents are mapped as stored (fp16): a selection made from them must find the manifest made from the
    same latents read as fp32, and any changed value must change the digest, however the parts are cut."""
    import vddlib.data.hashing as hashing

    labels = torch.arange(6) % 2
    x16 = (torch.randn(6, 2, 3, 4, 4, generator=torch.Generator().manual_seed(0)) * 100).half()
    whole = inputs_hash(labels, {"latents": x16.float(), "embeddings": np.ones((6, 3), np.float32)})
    assert inputs_hash(labels, {"latents": x16, "embeddings": np.ones((6, 3), np.float32)}) == whole
    assert inputs_hash(labels, {"latents": x16.numpy(), "embeddings": np.ones((6, 3), np.float32)}) == whole
    monkeypatch.setattr(hashing, "_HASH_CHUNK", 7)                     # parts that cut rows and end short
    assert inputs_hash(labels, {"latents": x16, "embeddings": np.ones((6, 3), np.float32)}) == whole
    y = x16.clone()
    y[5, 1, 2, 3, 3] += 1
    assert inputs_hash(labels, {"latents": y, "embeddings": np.ones((6, 3), np.float32)}) != whole
    assert inputs_hash(labels, {"latents": x16.bfloat16()}) == inputs_hash(labels, {"latents": x16.bfloat16().float()})
