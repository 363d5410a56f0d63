"""Why VST-UNet falls short on digits-motion: each of its open choices switched, evaluated like the grid.

For each variant (the default; no L_ce; L_ce only; the soft relaxation instead of the
policy gradient; no mixing across videos) at one VPC and a few seeds: select with
VST-UNet, train C3D on the selection, test on the real test split; also the share of the
selection the Full-real recogniser names correctly. Needs notebooks 01-03 to have run.

    python benchmarks/vst_variants.py --vpc 5 --seeds 3     # → results/vst_variants_vpc5.{csv,md}
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from vddlib import stages
from vddlib.config import load_dataset, load_profile
from vddlib.evaluate import evaluate_runs, predict_proba
from vddlib.results import markdown_table, write_text
from vddlib.select import flat_indices, select


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vpc", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--profile", default="default")
    a = ap.parse_args()
    prof = load_profile(a.profile)
    s = load_dataset(prof.dataset)
    train, test = s["train"], s["test"]
    pool, inputs, _ = stages.selection_inputs(prof, train, stages.pool_dir(prof))
    rec = stages.recogniser(train, prof.evaluation.train, stages.diffusion_dir(prof) / "recogniser.safetensors")
    recognised = (predict_proba(rec, pool.videos).argmax(1) == pool.labels).numpy()
    base = prof.selection.vst_unet
    variants = {"default": base, "no L_ce": replace(base, ce="none"),
                "L_ce only": replace(base, lambda_d=0.0, lambda_r=0.0), "soft top-k": replace(base, gradient="soft"),
                "no mixing": replace(base, mixing="none")}
    rows = []
    for name, cfg in variants.items():
        accs, rq = [], []
        for seed in range(a.seeds):
            sel = select("vst_unet", pool.labels, a.vpc, seed=seed, num_classes=pool.num_classes,
                         latents=inputs["latents"], config=cfg)
            flat = flat_indices(sel)
            (r,) = evaluate_runs(pool.subset(flat), test, prof.evaluation.train, [seed], progress=False)
            accs.append(r["top1"])
            rq.append(float(recognised[flat].mean()))
        rows.append({"variant": name, "top1": float(np.mean(accs)), "top1_std": float(np.std(accs)),
                     "recognised": float(np.mean(rq))})
        print(rows[-1], flush=True)
    stem = f"results/vst_variants_vpc{a.vpc}"
    write_text(stem + ".csv", "variant,top1,top1_std,recognised\n" + "".join(
        f"{r['variant']},{r['top1']:.4f},{r['top1_std']:.4f},{r['recognised']:.4f}\n" for r in rows))
    write_text(stem + ".md", f"VST-UNet variants, VPC {a.vpc}, {a.seeds} seeds, C3D on the real test split "
               "(benchmarks/vst_variants.py)\n\n" + markdown_table(
                   ["variant", "top-1", "selection recognised"],
                   [[r["variant"], f"{r['top1']:.2f}±{r['top1_std']:.2f}", f"{r['recognised']:.2f}"] for r in rows]))


if __name__ == "__main__":
    main()
