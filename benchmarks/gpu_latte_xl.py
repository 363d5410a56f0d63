"""Paper-size Latte-XL/2 on a GPU: training step time (bf16 autocast) and sampling videos/s.

    python benchmarks/gpu_latte_xl.py --out results/gpu_latte_xl.json
Random latents of the paper's shape (16×4×32×32); no weights or data needed.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from vddlib.diffusion.train import diffusion_loss, make_scheduler
from vddlib.diffusion.generate import GenerateConfig, sample_latents
from vddlib.models.latte import LATTE_SIZES, LatteClassConditional


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="results/gpu_latte_xl.json")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--gen-batch", type=int, default=16)
    ap.add_argument("--gen-steps", type=int, default=20)
    a = ap.parse_args()
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = True
    m = LatteClassConditional(sample_size=32, num_frames=16, num_classes=101, learn_sigma=True, **LATTE_SIZES["XL/2"]).to(dev)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0)
    sch = make_scheduler()
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(a.batch, 16, 4, 32, 32, device=dev)
    y = torch.randint(0, 101, (a.batch,), device=dev)
    torch.cuda.reset_peak_memory_stats()
    for i in range(a.steps + 3):
        if i == 3:
            torch.cuda.synchronize()
            t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = diffusion_loss(m, sch, x0, y, g)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    step_s = (time.perf_counter() - t) / a.steps
    train_peak = torch.cuda.max_memory_allocated() / 2**30
    del opt
    m.eval()
    torch.cuda.reset_peak_memory_stats()
    cfg = GenerateConfig(per_class=1, guidance_scale=7.0, steps=a.gen_steps, sampler="dpmsolver++")
    labels = torch.arange(a.gen_batch) % 101
    with torch.autocast("cuda", dtype=torch.bfloat16):
        sample_latents(m, labels[:2], [0, 1], cfg, dev)
        torch.cuda.synchronize()
        t = time.perf_counter()
        sample_latents(m, labels, list(range(a.gen_batch)), cfg, dev)
        torch.cuda.synchronize()
    gen_s = time.perf_counter() - t
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "params_M": sum(p.numel() for p in m.parameters()) / 1e6, "train_batch": a.batch,
           "train_step_s": step_s, "train_videos_per_s": a.batch / step_s, "train_peak_GiB": train_peak,
           "gen_batch": a.gen_batch, "gen_steps": a.gen_steps, "gen_cfg": 7.0, "gen_latent_videos_per_s": a.gen_batch / gen_s,
           "gen_peak_GiB": torch.cuda.max_memory_allocated() / 2**30}
    print(json.dumps(res, indent=2))
    open(a.out, "w").write(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
