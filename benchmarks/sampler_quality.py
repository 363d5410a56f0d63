"""Do fast samplers hold up against Latte's own DDPM-250?  Recogniser and Fréchet distance on digits-motion.

The shipped Latte samples the same videos (video i starts from the noise of seed i, for every
sampler) with DDPM at 250 steps (Latte's sampling, which the paper used), and with DDIM,
DPM-Solver++, its stochastic (SDE) form and DDPM itself at 10-100 steps, at guidance 2 (the
CPU default) and 7 (Latte's, the paper profiles'). Each set is decoded by the shipped autoencoder and judged by the recogniser
(the Full-real C3D of notebooks 01-03): the share it assigns to the conditioning class, and
the Fréchet distance of its features to the real test split's. The floor of that distance
at this sample size is real train videos (the same number per class) against real test.

    .venv/bin/python benchmarks/sampler_quality.py --per-class 30
writes results/sampler_quality.{csv,md}; rows already there are kept (rerun to finish a cut run).
The seconds are this CPU's (other work may share it); `network_evals` is the cost that carries over to a GPU.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import csv
import torch

from vddlib.config import REPO_ROOT
from vddlib.data.datasets import load_dataset
from vddlib.data.videoset import VideoSet
from vddlib.diffusion.generate import precision, sample_latents
from vddlib.evaluation.fidelity import embed, frechet_distance, recogniser, recognition
from vddlib.evaluation.results import write_table
from vddlib.hardware import resolve_autocast
from vddlib.models.autoencoder import decode_latents, load_vae
from vddlib.models.latte import LatteClassConditional
from vddlib.profile import load_profile, run_context

SAMPLERS = [("ddpm", 250), ("ddpm", 100), ("ddpm", 50), ("sde-dpmsolver++", 50), ("sde-dpmsolver++", 25),
            ("dpmsolver++", 50), ("dpmsolver++", 25), ("dpmsolver++", 20), ("dpmsolver++", 10), ("ddim", 50),
            ("ddim", 25)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=30)
    ap.add_argument("--guidance", type=float, nargs="+", default=[2.0, 7.0])
    ap.add_argument("--out", default="results/sampler_quality")
    a = ap.parse_args()
    os.chdir(REPO_ROOT)
    prof = load_profile("default")
    splits = load_dataset(prof.dataset)
    train, test = splits["train"], splits["test"]
    shipped = Path(prof.diffusion.shipped)
    vae = load_vae(shipped / "vae")
    latte = LatteClassConditional.from_pretrained(shipped / "latte_ema", local_files_only=True).eval()
    rec = recogniser(train, prof.evaluation.train, run_context(prof).diffusion / "recogniser.safetensors",
                     shipped=shipped / "recogniser.safetensors")
    f_test = embed(rec, test.videos)
    # the floor: as many real train videos per class as generated ones, against real test
    g = torch.Generator().manual_seed(0)
    floor_idx = torch.cat([torch.nonzero(train.labels == c).flatten()[torch.randperm(int((train.labels == c).sum()),
                                                                                     generator=g)[:a.per_class]]
                           for c in range(train.num_classes)])
    f_floor = embed(rec, train.videos[floor_idx])
    floor = frechet_distance(f_floor, f_test)
    # how much the distance moves with the draw of this many videos: bootstrap resamples of the floor set
    spread = torch.tensor([frechet_distance(f_floor[torch.randint(0, len(f_floor), (len(f_floor),), generator=g)], f_test)
                           for _ in range(20)]).std().item()
    labels = torch.arange(train.num_classes).repeat_interleave(a.per_class)
    path = Path(a.out + ".csv")
    rows = list(csv.DictReader(path.open())) if path.is_file() else []
    done = {(float(r["guidance"]), r["sampler"], int(r["steps"])) for r in rows}
    for gs in a.guidance:
        for name, steps in SAMPLERS:
            if (gs, name, steps) in done:
                continue
            cfg = replace(prof.generate, guidance_scale=gs, sampler=name, steps=steps)
            t0 = time.perf_counter()
            z = torch.cat([sample_latents(latte, labels[i:i + cfg.batch_size],
                                          list(range(i, min(i + cfg.batch_size, len(labels)))), cfg)
                           for i in range(0, len(labels), cfg.batch_size)])
            with torch.no_grad(), precision(cfg, "cpu"):
                vids = decode_latents(vae, z)
            seconds = time.perf_counter() - t0
            pool = VideoSet(vids, labels, train.class_names)
            rows.append({"guidance": gs, "sampler": name, "steps": steps,
                         "network_evals": steps, "videos": len(pool),
                         "recognised_pct": round(recognition(rec, pool), 2),
                         "frechet_to_real_test": round(frechet_distance(embed(rec, vids), f_test), 3),
                         "frechet_floor_real_train": round(floor, 3), "cpu_s": round(seconds, 1),
                         "precision": resolve_autocast(cfg.autocast, "cpu")})
            print(rows[-1], flush=True)
            _write(a, rows, _preamble(a.per_class, test, rec, spread))
    _write(a, rows, _preamble(a.per_class, test, rec, spread))


def _write(a, rows: list[dict], preamble: str) -> None:
    """The table, by guidance and then in SAMPLERS' order (DDPM-250, Latte's, first)."""
    order = {(name, steps): i for i, (name, steps) in enumerate(SAMPLERS)}
    rows = sorted(rows, key=lambda r: (float(r["guidance"]), order.get((r["sampler"], int(r["steps"])), len(order))))
    header = list(rows[0])
    write_table(a.out, header, [[r[h] for h in header] for r in rows], preamble)


def _preamble(per_class: int, test: VideoSet, rec, spread: float) -> str:
    return (f"Written by `benchmarks/sampler_quality.py --per-class {per_class}`: the shipped digits-motion Latte, "
            f"{per_class} videos per class, the same starting noise for every sampler. `recognised_pct`: the "
            "recogniser's accuracy on them (the real test split: "
            f"{recognition(rec, test):.1f} %). `frechet_to_real_test`: on the recogniser's features; "
            "`frechet_floor_real_train`: real train videos, as many per class, against real test (bootstrap std of "
            f"that distance over resampled sets of this size: {spread:.2f}). `network_evals`: "
            "Latte forward passes per batch (CFG stacks the conditional and null labels into one pass of twice the batch; "
            "every sampler here takes one per step): the cost that carries over to a GPU. `cpu_s`: seconds to sample "
            "and decode on this 2-core CPU, with other work sharing it, so only a rough guide.\n\n")


if __name__ == "__main__":
    main()
