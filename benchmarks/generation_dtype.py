"""Pool generation in fp32 against bfloat16 autocast on this CPU: speed and what it does to the videos.

Samples the same videos (same seeds, labels cycling over the classes) with the shipped
default pair both ways, decodes them, and reports seconds, videos/s, how often the
Full-real recogniser names the conditioning class, and the mean absolute pixel change.
Rows are kept per CPU, so the table holds a CPU with native bf16 beside an AVX2-only one:

    python benchmarks/generation_dtype.py                         # → results/generation_dtype.{csv,md}
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/generation_dtype.py --videos 50
                    # the same machine restricted to AVX2 kernels: bf16 emulated, as on an AVX2-only CPU
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import torch

from vddlib.diffusion.stage import load_diffusion
from vddlib.evaluation.fidelity import recogniser
from vddlib.data.datasets import load_dataset
from vddlib.profile import load_profile, run_context
from vddlib.evaluation.train import predict_proba
from vddlib.diffusion.generate import precision, sample_latents
from vddlib.hardware import cpu_label, resolve_autocast
from vddlib.models.autoencoder import decode_latents
from vddlib.evaluation.results import keep_other_rows, write_table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="default")
    ap.add_argument("--videos", type=int, default=300)
    ap.add_argument("--out", default="results/generation_dtype")
    args = ap.parse_args()
    prof = load_profile(args.profile)
    splits = load_dataset(prof.dataset)
    work = run_context(prof).diffusion
    if not (work / "latte_ema").is_dir():
        raise SystemExit(f"No diffusion pair in {work}: run notebooks/01_finetune.ipynb first.")
    vae, latte = load_diffusion(work)
    rec = recogniser(splits["train"], prof.evaluation.train, work / "recogniser.safetensors")
    K = splits["train"].num_classes
    labels = torch.arange(args.videos) % K
    rows, ref = [], None
    cpu = cpu_label()
    for mode in ("no", "bf16"):
        cfg = dataclasses.replace(prof.generate, autocast=mode)
        t0 = time.perf_counter()
        lat = torch.cat([sample_latents(latte, labels[i:i + cfg.batch_size], list(range(i, min(i + cfg.batch_size, args.videos))), cfg)
                         for i in range(0, args.videos, cfg.batch_size)])
        t1 = time.perf_counter()
        with precision(cfg, "cpu"):
            videos = decode_latents(vae, lat)
        t2 = time.perf_counter()
        ref = videos if ref is None else ref
        hit = float((predict_proba(rec, videos).argmax(1) == labels).float().mean())
        rows.append({"cpu": cpu, "autocast": mode, "auto picks": "yes" if resolve_autocast("auto") == mode else "",
                     "videos": args.videos, "sample_s": round(t1 - t0, 1),
                     "decode_s": round(t2 - t1, 1), "videos_per_s": round(args.videos / (t2 - t0), 2),
                     "recognised_%": round(100 * hit, 1),
                     "mean_abs_pixel_change": round(float((videos.float() - ref.float()).abs().mean()), 2)})
        print(rows[-1])
    body = keep_other_rows(args.out, list(rows[0]), [[str(v) for v in r.values()] for r in rows])  # other CPUs stay
    note = (f"{prof.generate.sampler} {prof.generate.steps} steps, guidance {prof.generate.guidance_scale}, torch "
            f"{torch.__version__}, {os.cpu_count()} CPU cores. Pixel change: mean |bf16 − fp32| on uint8 frames. "
            "`auto picks`: what `generate.autocast: auto` resolves to on that CPU. AVX2 rows: the same machine with "
            "`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2` (bf16 emulated, as on an AVX2-only CPU).")
    write_table(args.out, list(rows[0]), body, preamble=note + "\n\n")


if __name__ == "__main__":
    main()
