"""The synthetic pool as data: where it lives, and how to read it back like a real split.

The diffusion stage writes the pool (`vddlib.diffusion.generate`); selection and evaluation
only read it, through this module, so neither needs the generator.

Generation writes shards (the resumable unit) and then a manifest. Once the pool is whole, `assemble_pool` writes
the shards into one raw video file, `videos.u8`, with its index `videos.json` (`vddlib.data.mapped`), and the
latents into `latents.f16`, and then deletes the shards. `load_pool` memory-maps the videos, so Kinetics-400's
23 GiB pool is page cache rather than each notebook's own memory. Full syn's evaluation queue reads the pool from
that file instead of copying it.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..checksums import read_tensors
from ..files import atomic_path, map_raw
from .mapped import map_videos, read_index, write_index, write_videos
from .videoset import VideoSet

VIDEOS, LATENTS = "videos.u8", "latents.f16"          # the assembled pool: its videos (index videos.json), latents

def shard_path(out_dir: str | Path, k: int) -> Path:
    return Path(out_dir) / f"shard_{k:05d}.safetensors"


def _manifest(out_dir: Path) -> dict:
    manifest = out_dir / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"No pool manifest at {manifest}; run notebooks/02_generate.ipynb to make the pool.")
    return json.loads(manifest.read_text())


def assembled(out_dir: str | Path, made_by: dict | None = None) -> dict | None:
    """The index of the pool assembled in `out_dir` (made by the weights `made_by`, any where None), or None where
    it is not (yet) assembled, or its files are not whole."""
    out_dir = Path(out_dir)
    doc = read_index(out_dir / VIDEOS)
    if doc is None or "latents" not in doc or (made_by is not None and doc.get("made_by") != made_by):
        return None
    lat = doc["latents"]
    try:
        ok = (out_dir / LATENTS).stat().st_size == len(doc["ids"]) * math.prod(lat["shape"]) * 2    # float16
    except OSError:
        ok = False
    return doc if ok else None


def assemble_pool(out_dir: str | Path) -> dict:
    """Write the finished pool's shards into `videos.u8` (+ `videos.json`) and `latents.f16`, then delete the
    shards; returns the index. The index is written last, so a kill leaves the shards and a later call redoes it."""
    out_dir = Path(out_dir)
    man = _manifest(out_dir)
    done = assembled(out_dir, man["made_by"])
    missing = [k for k in range(man["n_shards"]) if not shard_path(out_dir, k).is_file()]
    if done is None:
        if missing and (out_dir / VIDEOS).with_suffix(".json").is_file():
            raise FileNotFoundError(f"{out_dir}: the assembled pool ({VIDEOS}, {LATENTS}) is truncated or changed "
                                    "and its shards are gone; delete the folder and run notebooks/02_generate.ipynb "
                                    "again.")
        if missing:
            raise FileNotFoundError(f"{out_dir}: the pool's shards {missing[:5]} are missing and it was never "
                                    "assembled; run notebooks/02_generate.ipynb again (finished shards are kept).")
        ids = [f"syn_c{e['class']:03d}_{e['index']:06d}" for e in man["videos"]]
        first = read_tensors(shard_path(out_dir, 0))[0]
        lat_shape = list(first["latents"].shape[1:])

        def parts(lat_file):                            # each shard read once: its latents written on the way
            for k in range(man["n_shards"]):
                t = read_tensors(shard_path(out_dir, k))[0]
                lat_file.write(t["latents"].to(torch.float16).contiguous().numpy().data)
                yield VideoSet(t["videos"], t["labels"], man["class_names"], [ids[int(g)] for g in t["global_index"]])

        with atomic_path(out_dir / LATENTS) as tmp, open(tmp, "wb") as f:
            done = write_videos(out_dir / VIDEOS, parts(f), tuple(first["videos"].shape[1:]))
        done.update({"made_by": man["made_by"], "latents": {"shape": lat_shape, "dtype": "float16"}})
        write_index(out_dir / VIDEOS, done)
    for k in range(man["n_shards"]):
        shard_path(out_dir, k).unlink(missing_ok=True)
    return done


def load_pool(out_dir: str | Path, with_latents: bool = False) -> VideoSet | tuple[VideoSet, torch.Tensor]:
    """The pool as a VideoSet (split 'synthetic'), read like a real split, its videos memory-mapped from
    `videos.u8`; optionally its latents too, memory-mapped from `latents.f16` as stored (float16, copy-on-write:
    Kinetics-400's are 4.9 GiB, 9.8 as float32), so convert what you compute on, a class at a time, as the
    selectors do. A pool not yet assembled is assembled first."""
    out_dir = Path(out_dir)
    man = _manifest(out_dir)
    doc = assembled(out_dir, man["made_by"]) or assemble_pool(out_dir)
    if len(doc["ids"]) != man["n_videos"]:
        raise ValueError(f"{out_dir / VIDEOS} holds {len(doc['ids'])} videos but the manifest lists "
                         f"{man['n_videos']}; delete the folder and run notebooks/02_generate.ipynb again.")
    vs = VideoSet(map_videos(out_dir / VIDEOS, doc), torch.tensor(doc["labels"], dtype=torch.long),
                  man["class_names"], doc["ids"],
                  {"split": "synthetic", "pool": str(out_dir), "config": man["config"], "settings": man["settings"],
                   "file": str(out_dir / VIDEOS)})
    if with_latents:
        lat = doc["latents"]
        return vs, map_raw(out_dir / LATENTS, (len(doc["ids"]), *lat["shape"]), lat["dtype"])
    return vs
