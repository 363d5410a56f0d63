"""Full syn of several Latte checkpoints on digits-motion, measured the way notebook 04 measures it.

Each spec `LABEL=WEIGHTS:GUIDANCE[:STEPS]` names Latte weights: a save_pretrained folder
(e.g. checkpoints/digits-motion/latte_ema) or a `.safetensors` exported by
`benchmarks/diffusion_curve.py --export` (its config is read from the `.json` beside it).
For each, 100 videos per class are sampled with notebook 02's settings (the profile's `generate`
section: DPM-Solver++, batch, bf16 autocast; the shipped autoencoder), then measured. Video i starts
from the noise of seed i, not the pool's `video_seed`, so the videos are not the pool's own:
- the recogniser's accuracy on them (fidelity) and the Fréchet distance to real test features;
- Full syn: the default C3D trained on them with `--seeds` seeds, tested on the real test split;
- CPU seconds to sample and decode the 1,000 videos.

    .venv/bin/python benchmarks/full_syn_checkpoints.py shipped=checkpoints/digits-motion/latte_ema:3 \\
        other=/path/run.safetensors:3:10 --out results/diffusion/full_syn_checkpoints.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import replace
from pathlib import Path

import torch

from vddlib.data.hashing import data_hash
from vddlib.evaluation.fidelity import embed, frechet_distance, recogniser, recognition
from vddlib.config import REPO_ROOT
from vddlib.data.datasets import load_dataset
from vddlib.profile import load_profile, run_context
from vddlib.data.videoset import VideoSet
from vddlib.evaluation.train import evaluate_runs
from vddlib.diffusion.generate import precision, sample_latents
from vddlib.models.autoencoder import decode_latents, load_vae
from vddlib.models.latte import LatteClassConditional


def load_latte(weights: str) -> LatteClassConditional:
    p = Path(weights)
    if p.is_dir():
        return LatteClassConditional.from_pretrained(p, local_files_only=True)
    from safetensors.torch import load_file

    meta = json.loads(p.with_suffix(".json").read_text())
    model = LatteClassConditional.from_config(meta["config"])
    model.load_state_dict(load_file(p))
    return model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("specs", nargs="+", help="LABEL=WEIGHTS:GUIDANCE[:STEPS]")
    ap.add_argument("--seeds", type=int, default=0, help="C3D runs per pool; 0: evaluation.runs (as notebook 04)")
    ap.add_argument("--out", default="results/diffusion/full_syn_checkpoints.json")
    a = ap.parse_args()
    specs = []
    for s in a.specs:
        label, rest = s.split("=", 1)
        weights, g, *steps = rest.split(":")
        specs.append((label, str(Path(weights).resolve()), float(g), int(steps[0]) if steps else None))
    os.chdir(REPO_ROOT)
    prof = load_profile("default")
    splits = load_dataset(prof.dataset)
    train, test = splits["train"], splits["test"]
    vae = load_vae(Path(prof.diffusion.shipped) / "vae")
    rec = recogniser(train, prof.evaluation.train, run_context(prof).diffusion / "recogniser.safetensors")
    f_test = embed(rec, test.videos)
    out = Path(a.out)
    res = {"data_hash": data_hash(train), "recogniser_real_test": recognition(rec, test),
           "cpu_cores": os.cpu_count(), "torch": torch.__version__, "rows": []}
    for label, weights, g, steps in specs:
        latte = load_latte(weights).eval()
        cfg = replace(prof.generate, guidance_scale=g, steps=steps or prof.generate.steps)
        labels = torch.arange(train.num_classes).repeat_interleave(cfg.per_class)
        t0 = time.perf_counter()
        with torch.no_grad():
            z = torch.cat([sample_latents(latte, labels[i:i + cfg.batch_size],
                                          list(range(i, min(i + cfg.batch_size, len(labels)))), cfg)
                           for i in range(0, len(labels), cfg.batch_size)])
            with precision(cfg, "cpu"):
                vids = decode_latents(vae, z)
        gen_s = time.perf_counter() - t0
        pool = VideoSet(vids, labels, train.class_names)
        runs = evaluate_runs(pool, test, prof.evaluation.train, list(range(a.seeds or prof.evaluation.runs)), progress=False)
        top1 = torch.tensor([r["top1"] for r in runs])
        res["rows"].append({
            "label": label, "weights": os.path.relpath(weights, REPO_ROOT), "guidance": g, "sampler_steps": cfg.steps,
            "params_M": sum(p.numel() for p in latte.parameters()) / 1e6, "videos": len(pool),
            "generate_s": round(gen_s, 1), "recognised": recognition(rec, pool),
            "frechet_to_real_test": frechet_distance(embed(rec, vids), f_test),
            "full_syn_top1": [r["top1"] for r in runs], "full_syn_mean": float(top1.mean()),
            "full_syn_std": float(top1.std()) if len(top1) > 1 else 0.0})
        print(json.dumps(res["rows"][-1]), flush=True)
        res["peak_rss_MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
