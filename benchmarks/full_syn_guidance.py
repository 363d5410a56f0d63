"""What limits Full syn on digits-motion: guidance scale vs fidelity and diversity of the pool.

For each guidance scale, generate `--per-class` videos per class with the shipped (or
retrained) Latte of notebook 01, then measure: the recogniser's accuracy on them
(fidelity), the Fréchet distance to real test features, and Full syn — a fresh default
C3D trained on them, tested on the real test split (seed 0). Also times CPU generation
and records peak memory (process RSS).

    .venv/bin/python benchmarks/full_syn_guidance.py          # writes results/diffusion/full_syn_vs_guidance.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import torch

from vddlib.diffusion.stage import load_diffusion
from vddlib.evaluation.fidelity import embed, frechet_distance, recogniser, recognition
from vddlib.config import REPO_ROOT
from vddlib.data.datasets import load_dataset
from vddlib.profile import load_profile, run_context
from vddlib.data.videoset import VideoSet
from vddlib.evaluation.train import evaluate_runs
from vddlib.diffusion.generate import GenerateConfig, sample_latents
from vddlib.models.autoencoder import decode_latents


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--guidance", nargs="+", type=float, default=[1.5, 3.0, 6.0, 9.0])
    ap.add_argument("--per-class", type=int, default=50)
    ap.add_argument("--out", default="results/diffusion/full_syn_vs_guidance.json")
    a = ap.parse_args()
    os.chdir(REPO_ROOT)
    prof = load_profile("default")
    splits = load_dataset(prof.dataset)
    train, test = splits["train"], splits["test"]
    vae, latte = load_diffusion(run_context(prof).diffusion)
    rec = recogniser(train, prof.evaluation.train, run_context(prof).diffusion / "recogniser.safetensors")
    f_test = embed(rec, test.videos)
    rows = []
    for w in a.guidance:
        cfg = GenerateConfig(per_class=a.per_class, guidance_scale=w, steps=prof.generate.steps, seed=7)
        labels = torch.arange(train.num_classes).repeat_interleave(a.per_class)
        t0 = time.perf_counter()
        z = torch.cat([sample_latents(latte, labels[i:i + 100], list(range(i, min(i + 100, len(labels)))), cfg)
                       for i in range(0, len(labels), 100)])
        vids = decode_latents(vae, z)
        gen_s = time.perf_counter() - t0
        pool = VideoSet(vids, labels, train.class_names)
        (run,) = evaluate_runs(pool, test, prof.evaluation.train, [0], progress=False)
        rows.append({"guidance": w, "videos": len(pool), "generate_s": gen_s, "videos_per_s": len(pool) / gen_s,
                     "recognised": recognition(rec, pool),
                     "frechet_to_real_test": frechet_distance(embed(rec, vids), f_test),
                     "full_syn_top1": run["top1"]})
        print(rows[-1], flush=True)
    res = {"per_class": a.per_class, "rows": rows,
           "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "cpu_cores": os.cpu_count(), "torch": torch.__version__}
    Path(a.out).write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
