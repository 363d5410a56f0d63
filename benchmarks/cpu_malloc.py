"""glibc malloc settings for PyTorch on CPU (scripts/cpu_env.sh): seconds with and without, same results.

Each variant runs in a fresh process (malloc reads its settings at start-up): one C3D evaluator run at
VPC 1 and at VPC 5 (the profile's evaluator, one thread, as notebook 04's processes) with its test pass
on 1,000 videos, and one VST-UNet training (two threads, as notebook 03). A hash of the trained weights
shows that the arithmetic is the same.

    .venv/bin/python benchmarks/cpu_malloc.py        # → results/cpu_malloc.{csv,md}
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python benchmarks/cpu_malloc.py \
        --out results/cpu_malloc_avx2                  # the same, restricted to AVX2 kernels (an AVX2-only CPU)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import hashlib, json, time, torch
from vddlib.profile import load_profile
from vddlib.data.videoset import VideoSet
from vddlib.evaluation.train import predict_proba, train_evaluator
from vddlib.selection.vst import train_vst_unet
prof = load_profile("default")
g = torch.Generator().manual_seed(0)
names = [str(i) for i in range(10)]
test = torch.randint(0, 255, (1000, 8, 3, 32, 32), dtype=torch.uint8, generator=g)
out, h = {}, hashlib.sha1()
torch.set_num_threads(1)
for n in (10, 50):
    vs = VideoSet(torch.randint(0, 255, (n, 8, 3, 32, 32), dtype=torch.uint8, generator=g),
                  torch.arange(10).repeat_interleave(n // 10), names)
    t0 = time.perf_counter(); m = train_evaluator(vs, prof.evaluation.train, 0); t1 = time.perf_counter()
    p = predict_proba(m, test, 100); t2 = time.perf_counter()
    out[f"c3d VPC {n // 10} train s"], out[f"c3d VPC {n // 10} test s"] = t1 - t0, t2 - t1
    h.update(p.numpy().tobytes())
torch.set_num_threads(2)
lat, lab = torch.randn(1000, 8, 4, 8, 8, generator=g), torch.arange(10).repeat_interleave(100)
t0 = time.perf_counter(); probs = train_vst_unet(lat, lab, 5, prof.selection.vst_unet, seed=0, num_classes=10)
out["VST-UNet training s"] = time.perf_counter() - t0
h.update(probs.tobytes())
out["hash"] = h.hexdigest()[:12]
print(json.dumps(out))
"""

KEYS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def run(tuned: bool, repo: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    cmd = [sys.executable, "-c", CHILD]
    if tuned:
        cmd = ["bash", "-c", f'source scripts/cpu_env.sh && exec "{sys.executable}" -c "$0"', CHILD]
    r = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    import argparse

    import torch

    from vddlib.config import REPO_ROOT
    from vddlib.evaluation.results import write_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="results/cpu_malloc", help="table stem, relative to the repository")
    args = ap.parse_args()

    repo = str(REPO_ROOT)
    rows = {"glibc defaults": run(False, repo), "scripts/cpu_env.sh": run(True, repo)}
    keys = [k for k in rows["glibc defaults"] if k != "hash"]
    body = [[name] + [f"{r[k]:.2f}" for k in keys] + [r["hash"]] for name, r in rows.items()]
    base, tuned = rows["glibc defaults"], rows["scripts/cpu_env.sh"]
    body.append(["speed-up"] + [f"{base[k] / tuned[k]:.2f}x" for k in keys] +
                ["same" if base["hash"] == tuned["hash"] else "DIFFERENT"])
    md = write_table(os.path.join(repo, args.out), ["malloc"] + keys + ["results hash"], body,
                     preamble=f"One fresh process per row, {os.cpu_count()} CPU cores, torch kernels at "
                              f"{torch.backends.cpu.get_cpu_capability()}.\n\n")
    print(md)


if __name__ == "__main__":
    main()
