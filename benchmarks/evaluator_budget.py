"""What the evaluator's cost buys: accuracy and seconds per run for cheaper C3D settings.

The default pipeline's time is mostly evaluator training (notebook 04: 145 runs; the ablations
of issue 6 add more), so the 20-minute budget hinges on it. For each variant, Random selections
at VPC 1 / 5 / 10 from the real train split and from the synthetic pool are evaluated with
`--seeds` seeds; the table gives mean top-1 and mean training seconds per run.

    .venv/bin/python benchmarks/evaluator_budget.py     # → results/evaluator_budget.{csv,md}
"""
from __future__ import annotations

import argparse
import os
from dataclasses import replace

import numpy as np
import torch

from vddlib.config import REPO_ROOT
from vddlib.data.datasets import load_dataset
from vddlib.profile import load_profile, run_context
from vddlib.evaluation.train import evaluate_runs
from vddlib.data.pool import load_pool
from vddlib.evaluation.results import write_table
from vddlib.selection import select
from vddlib.selection.registry import flat_indices


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="results/evaluator_budget")
    a = ap.parse_args()
    os.chdir(REPO_ROOT)
    prof = load_profile("default")
    cfg = prof.evaluation.train
    sp = load_dataset(prof.dataset)
    train, test = sp["train"], sp["test"]
    pool = load_pool(run_context(prof).pool)
    half = {**cfg.model, "widths": [8, 16, 32, 64]}
    variants = {"default (widths 16-32-64-64, batch 32, >=150 steps)": cfg,
                "widths 8-16-32-64": replace(cfg, model=half),
                "widths 8-16-32-64, batch 16, >=200 steps": replace(cfg, model=half, batch_size=16, min_steps=200),
                "batch 16, >=200 steps": replace(cfg, batch_size=16, min_steps=200),
                "widths 8-16-32-64, >=100 steps": replace(cfg, model=half, min_steps=100)}
    sets = [("real", train, 1), ("real", train, 5), ("synthetic", pool, 5), ("synthetic", pool, 10)]
    body = []
    for name, c in variants.items():
        line, secs = [name], []
        for pool_name, vs, vpc in sets:
            acc = []
            for seed in range(a.seeds):
                sub = vs.subset(flat_indices(select("random", vs.labels, vpc, seed=seed, num_classes=vs.num_classes)))
                (r,) = evaluate_runs(sub, test, c, [seed], progress=False)
                acc.append(r["top1"])
                secs.append(r["train_s"])
            line.append(f"{np.mean(acc):.1f}±{np.std(acc):.1f}")
        line.append(f"{np.mean(secs):.2f}")
        body.append(line)
        print(line, flush=True)
    write_table(a.out, ["evaluator"] + [f"Random {p} VPC {v}" for p, _, v in sets] + ["train s/run"], body,
                preamble=f"Top-1 (%) of Random selections, mean ± std over {a.seeds} seeds; {os.cpu_count()} CPU "
                         f"cores, torch {torch.__version__}.\n\n")


if __name__ == "__main__":
    main()
