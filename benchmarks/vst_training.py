"""VST-UNet's training choices measured on the pool, by the objective it optimises (no evaluator trained).

For each VPC: the paper's objective (λ_d L_div + λ_r L_rep in the fixed latent space, the
paper's λ for the VPC; lower is better) of Random (5 seeds), of a greedy optimiser of the
objective (the near-best reference), and of VST-UNet trained with each gradient
(REINFORCE / relaxed Gumbel-softmax) × decode (sequential set-aware / the paper's top-k),
with its training time on one thread, the epochs run (early stop) and the mean objective
of its policy's draws before and after training (does training move the policy?).
Needs the pool of notebook 02.

    python benchmarks/vst_training.py            # → results/vst_training.{csv,md}
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from vddlib.profile import load_profile, run_context
from vddlib.data.pool import load_pool
from vddlib.hardware import cpu_label, cpu_model
from vddlib.selection.objective import class_space, greedy_selection, selection_objective
from vddlib.evaluation.results import write_table
from vddlib.selection import select
from vddlib.selection.vst import train_vst_unet


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="default")
    ap.add_argument("--vpcs", type=int, nargs="*", default=[1, 5, 10])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--out", default="results/vst_training")
    a = ap.parse_args()
    prof = load_profile(a.profile)
    path = run_context(prof).pool
    if not (path / "manifest.json").is_file():
        raise FileNotFoundError(f"No pool at {path}: run notebooks/02_generate.ipynb first.")
    pool, latents = load_pool(path, with_latents=True)
    labels = pool.labels.numpy()
    base = prof.selection.vst_unet
    body = []
    for vpc in a.vpcs:
        ld, lr_ = base.lambdas(vpc)
        obj = lambda sel: selection_objective(latents, labels, sel, ld, lr_)   # noqa: E731
        rand = [obj(select("random", labels, vpc, seed=s)) for s in range(5)]
        greedy = {c: np.flatnonzero(labels == c)[greedy_selection(class_space(latents[pool.labels == c]), vpc, ld, lr_)]
                  .tolist() for c in range(pool.num_classes)}
        body.append([vpc, "random (5 seeds)", f"{np.mean(rand):.4f}±{np.std(rand):.4f}", "", "", "", ""])
        body.append([vpc, "greedy optimiser", f"{obj(greedy):.4f}", "", "", "", ""])
        for gradient in ("reinforce", "relaxed"):
            for dec in ("sequential", "topk"):
                cfg = replace(base, gradient=gradient, decode=dec)
                vals, secs, epochs, d0, d1 = [], [], [], [], []
                for seed in range(a.seeds):
                    t0 = time.perf_counter()
                    res = train_vst_unet(latents, pool.labels, vpc, cfg, seed=seed, num_classes=pool.num_classes)
                    secs.append(time.perf_counter() - t0)
                    vals.append(obj(res.selection))
                    epochs.append(len(res.log))
                    d0.append(res.log[0]["draw_objective"])
                    d1.append(res.log[-1]["draw_objective"])
                gap = (np.mean(rand) - np.mean(vals)) / max(np.mean(rand) - obj(greedy), 1e-12)
                body.append([vpc, f"VST-UNet {gradient}, {dec}" + (" (default)" if cfg == base else ""),
                             f"{np.mean(vals):.4f}±{np.std(vals):.4f}", f"{100 * gap:.0f} %",
                             f"{np.mean(d0):.4f} → {np.mean(d1):.4f}", f"{np.mean(epochs):.0f}", f"{np.mean(secs):.1f}"])
                print(body[-1], flush=True)
    md = write_table(a.out, ["VPC", "selection", "objective (lower is better)", "gap to greedy closed",
                             "policy draws: before → after", "epochs", "s per training"], body,
                     f"VST-UNet's gradient and decode on the pool `{path.name}`, {a.seeds} seeds each: the paper's "
                     "objective in the fixed latent space (λ as the paper for the VPC), training on "
                     f"{base.threads} thread(s) of {cpu_model()} ({cpu_label()}; `python benchmarks/vst_training.py`).\n\n")
    print(md)


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
