"""Every speed default that a CPU feature could decide, timed against the plain setting on this CPU.

The defaults were chosen on a CPU with AVX-512 and native bf16; a CI machine of the same kind may have
AVX2 only. This times each choice both ways, one row per (CPU, setting), and keeps the rows of other
CPUs already in the table, so one file holds both kinds:

- sampling + decoding under bf16 autocast against fp32 (`generate.autocast`; `auto` picks per CPU),
- the C3D evaluator's training step on channels-last tensors against contiguous ones (one thread, as
  each of notebook 04's two processes runs),
- one DM iteration (random ConvNet3D, real and synthetic embeddings, backward) channels-last against contiguous.

    python benchmarks/cpu_defaults.py                                               # this CPU
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/cpu_defaults.py   # as an AVX2-only CPU
    → results/cpu_defaults.{csv,md}

The second line makes torch and oneDNN use only AVX2 kernels (bf16 then runs emulated), which is what an
AVX2-only CPU does; it does not make the rest of the machine slower, so absolute times stay this CPU's.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vddlib.profile import load_profile
from vddlib.evaluation.train import new_evaluator
from vddlib.hardware import cpu_label, cpu_model
from vddlib.models.convnet3d import ConvNet3D, ConvNet3DConfig
from vddlib.evaluation.results import keep_other_rows, write_table

CL = torch.channels_last_3d


def best_of(fn, repeats: int) -> float:
    fn()                                                     # warm-up: oneDNN picks and caches its kernels
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def evaluator_step(prof, layout) -> float:
    cfg = prof.evaluation.train
    dm = prof.dataset.digits_motion
    torch.manual_seed(0)
    model = new_evaluator(cfg, 10, dm.frames, dm.size)
    model = model.to(memory_format=layout)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(cfg.batch_size, 3, dm.frames, dm.size, dm.size).contiguous(memory_format=layout)
    y = torch.arange(cfg.batch_size) % 10

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return best_of(lambda: [step() for _ in range(5)], 3) / 5


def dm_iteration(prof, layout) -> float:
    d, dmc = prof.dataset.digits_motion, prof.ablation.dm
    cfg = ConvNet3DConfig(num_classes=10, frames=d.frames, size=d.size, depth=dmc.depth, width=dmc.width)
    real = torch.randn(10 * dmc.real_batch, 3, d.frames, d.size, d.size).contiguous(memory_format=layout)
    syn = torch.randn(10 * 5, 3, d.frames, d.size, d.size).contiguous(memory_format=layout).requires_grad_(True)

    def it():
        net = ConvNet3D(cfg).requires_grad_(False).to(memory_format=layout)
        with torch.no_grad():
            r = net.embed(real).flatten(1).mean(0)
        loss = ((net.embed(syn).flatten(1).mean(0) - r) ** 2).sum()
        loss.backward()
    return best_of(lambda: [it() for _ in range(3)], 3) / 3


def sampling(prof, autocast: str, videos: int) -> float:
    from vddlib.models.latte import LatteClassConditional
    from vddlib.diffusion.generate import GenerateConfig, sample_latents

    ship = Path(prof.diffusion.shipped) / "latte_ema"
    conf = json.loads((ship / "config.json").read_text())
    torch.manual_seed(0)
    # the shipped Latte's shapes with random weights: the speed, not the samples, is measured here
    model = LatteClassConditional.from_config(conf).eval()
    cfg = GenerateConfig(**{**prof.generate.__dict__, "autocast": autocast, "steps": 2})
    labels = torch.arange(videos) % 10
    return best_of(lambda: sample_latents(model, labels, list(range(videos)), cfg), 1) / (2 * videos)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="default")
    ap.add_argument("--videos", type=int, default=20, help="videos per sampling measurement")
    ap.add_argument("--out", default="results/cpu_defaults")
    args = ap.parse_args()
    prof = load_profile(args.profile)
    label = f"{cpu_model()}; {cpu_label()}"
    rows = []
    torch.set_num_threads(1)
    for what, fn in (("C3D evaluator train step (batch 32; 1 thread)", lambda lay: evaluator_step(prof, lay) * 1e3),
                     ("DM iteration (VPC 5; 1 thread)", lambda lay: dm_iteration(prof, lay) * 1e3)):
        cl, plain = fn(CL), fn(torch.contiguous_format)
        rows.append([label, what, "channels-last", f"{cl:.1f}", f"{plain:.1f}", f"{plain / cl:.2f}"])
        print(rows[-1])
    torch.set_num_threads(2)
    bf, fp = sampling(prof, "bf16", args.videos), sampling(prof, "no", args.videos)
    rows.append([label, "Latte sampling step per video (CFG: 2 forwards; 2 threads)", "bf16 autocast",
                 f"{bf * 1e3:.1f}", f"{fp * 1e3:.1f}", f"{fp / bf:.2f}"])
    print(rows[-1])
    header = ["cpu", "work", "default", "ms with it", "ms plain", "speed-up"]
    rows = keep_other_rows(args.out, header, rows)          # the other CPUs' rows stay
    note = (f"Each speed default against the plain setting, per CPU (torch {torch.__version__}; "
            "`benchmarks/cpu_defaults.py`). 'ms plain' is contiguous tensors or fp32; a speed-up below 1 "
            "means the default is slower on that CPU. AVX2 rows: the same machine with "
            "`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2` (and `MKL_ENABLE_INSTRUCTIONS=AVX2` on Intel). Rows that "
            "name no CPU model were measured on the AMD EPYC machines of earlier sessions, before the model was "
            "recorded.\n\n")
    write_table(args.out, header, rows, preamble=note)


if __name__ == "__main__":
    main()
