"""The synthetic pool as data: where it lives, and how to read it back like a real split.

The diffusion stage writes the pool (`vddlib.diffusion.generate`); selection and evaluation
only read it, through this module, so neither needs the generator.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..checksums import read_tensors
from ..hardware import resolve_autocast
from .videoset import VideoSet

def shard_path(out_dir: str | Path, k: int) -> Path:
    return Path(out_dir) / f"shard_{k:05d}.safetensors"


def pool_dir(prof, device: str | None = None) -> Path:
    """Where the profile's pool lives, named after every setting that made it (DiT's habit), the precision that
    `generate.autocast` resolves to on the device it is generated on included (`generate.device`, or `device`), so
    pools sampled in bf16 and fp32 never share a folder."""
    g = prof.generate
    device = device or (g.device if g.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu")
    prec = "bf16" if resolve_autocast(g.autocast, device) == "bf16" else "fp32"
    return (Path(prof.diffusion.pools_dir) / prof.dataset.name / f"latte-{prof.diffusion.latte.size}_cfg{g.guidance_scale:g}_"
            f"{g.sampler}{g.steps}_nc{g.per_class}_seed{g.seed}_{prec}")


def load_pool(out_dir: str | Path, with_latents: bool = False) -> VideoSet | tuple[VideoSet, torch.Tensor]:
    """The pool as a VideoSet (split 'synthetic'), read like a real split; optionally its latents too."""
    out_dir = Path(out_dir)
    manifest = out_dir / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"No pool manifest at {manifest}; run notebooks/02_generate.ipynb to make the pool.")
    doc = json.loads(manifest.read_text())
    parts = [read_tensors(shard_path(out_dir, k))[0] for k in range(doc["n_shards"])]
    videos = torch.cat([p["videos"] for p in parts])
    labels = torch.cat([p["labels"] for p in parts])
    ids = [f"syn_c{e['class']:03d}_{e['index']:06d}" for e in doc["videos"]]
    vs = VideoSet(videos, labels, doc["class_names"], ids,
                  {"split": "synthetic", "pool": str(out_dir), "config": doc["config"], "settings": doc["settings"]})
    if with_latents:
        return vs, torch.cat([p["latents"] for p in parts]).float()
    return vs

