"""Latte-XL/2 training memory estimated on a CPU: batch × activation-checkpointing ratio, against the 40 GiB goal.

    .venv/bin/python benchmarks/latte_memory.py
writes results/latte_memory.{csv,md}. The estimate (benchmarks/throughput.py.estimate_train_memory)
counts the weights' training state and the tensors autograd saves under bf16 autocast (CUDA's policy); the one
GPU measurement we have (results/gpu_smoke.md: batch 16, no checkpointing, 116.5 GiB peak) checks it.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import estimate_train_memory  # noqa: E402
from vddlib.evaluation.results import write_table  # noqa: E402
from vddlib.models.latte import LATTE_SIZES  # noqa: E402

MEASURED = {(False, 16, 0.0): 116.5}   # results/gpu_smoke.md (H200, torch 2.11, bf16, batch 16, eager)


def main() -> None:
    t0 = time.perf_counter()
    cfg = dict(sample_size=32, num_frames=16, in_channels=4, num_classes=101, learn_sigma=True, **LATTE_SIZES["XL/2"])
    header = ["compile", "batch", "checkpoint_ratio", "checkpointed_blocks", "static_gib", "activations_gib",
              "total_gib", "fits_40_gib", "measured_peak_gib"]
    body, pair = [], {}
    for compile_ in (False, True):
        for batch in (8, 16, 32, 64):
            for ratio in (0.0, 0.5, 0.71, 0.75, 0.86, 1.0):
                e = estimate_train_memory(cfg, batch, ratio, compile=compile_)
                pair[compile_] = e
                body.append(["yes" if compile_ else "no", batch, ratio, round(ratio * cfg["depth"]),
                             round(e["static_gib"], 1), round(e["activations_gib"], 1), round(e["total_gib"], 1),
                             "yes" if e["total_gib"] <= 40 else "no", MEASURED.get((compile_, batch, ratio), "-")])
                print(body[-1], flush=True)
    pre = (f"Written by `.venv/bin/python benchmarks/latte_memory.py` on a CPU ({time.perf_counter() - t0:.0f} s): "
           f"Latte-XL/2 ({e['params_M']:.1f} M parameters) on 16 × 4 × 32² latents, bf16 autocast, fp32 weights. "
           "`static_gib`: weights, gradients, AdamW moments and the EMA (20 bytes per parameter); `activations_gib`: "
           "what autograd saves under CUDA's autocast policy, counted on a 2- and 4-block model and on 1 and 2 videos "
           f"and scaled (one block pair: {1024 * pair[False]['pair_gib_per_video']:.0f} MiB per video eager, "
           f"{1024 * pair[True]['pair_gib_per_video']:.0f} MiB compiled, and {1024 * e['pair_gib_fixed']:.0f} MiB of "
           "bf16 weight copies per step whatever the batch); a checkpointed block keeps only its input. `compile`: "
           "blocks compiled before counting, so a block saves what torch.compile's partitioner kept (it recomputes "
           "the norms and element-wise work in backward instead); counted with the CPU's compiler, to be checked "
           "against a GPU. Kernels' transient buffers are not counted. `measured_peak_gib`: "
           "torch.cuda.max_memory_allocated on an H200 (results/gpu_smoke.md).\n\n")
    write_table("results/latte_memory", header, body, pre)


if __name__ == "__main__":
    main()
