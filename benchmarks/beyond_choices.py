"""The evidence behind notebook 07's settings: the soft labels' temperature and the two extra evaluators' recipes.

On Random selections from the default pool (`--seeds` seeds, each its own selection and evaluator run, one
thread): top-1 and training seconds per run for
- soft labels at temperatures 1, 4 and 10 beside hard labels (C3D, VPC 5);
- ConvNet3D at the VD protocol's width 128 with dropout, and at width 32 with and without dropout, batch 32 and 16;
- TimeSformer at Table 5's width 64 and at width 32, batch 32 and 16.

    .venv/bin/python benchmarks/beyond_choices.py      # → results/beyond_choices.{csv,md}
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform

import numpy as np
import torch

from vddlib.config import REPO_ROOT
from vddlib.data.datasets import load_dataset
from vddlib.data.pool import load_pool
from vddlib.evaluation import fidelity, soft_labels
from vddlib.evaluation.results import write_table
from vddlib.evaluation.train import evaluate_runs
from vddlib.profile import load_profile, run_context
from vddlib.selection import flat_indices, select


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--vpc", type=int, default=5)
    ap.add_argument("--out", default="results/beyond_choices")
    a = ap.parse_args()
    os.chdir(REPO_ROOT)
    torch.set_num_threads(1)
    prof = load_profile("default")
    cfg, B = prof.evaluation.train, prof.beyond
    sp = load_dataset(prof.dataset)
    train, test = sp["train"], sp["test"]
    pool = load_pool(run_context(prof).pool)
    teacher = fidelity.recogniser(train, cfg, run_context(prof).diffusion / "recogniser.safetensors")   # notebook 01's
    pool = soft_labels.with_soft_labels(pool, soft_labels.predict_logits(teacher, pool.videos))
    tf = prof.ablation.transformer
    variants = [
        ("C3D, hard labels", cfg),
        *[(f"C3D, soft labels, T = {t:g}", dataclasses.replace(cfg, labels="soft", temperature=t)) for t in (1.0, 4.0, 10.0)],
        ("ConvNet3D width 128, dropout 0.5, lr 1e-3", dataclasses.replace(B.convnet3d, model={"width": 128, "dropout": 0.5}, lr=1e-3)),
        ("ConvNet3D width 32, dropout 0.5, lr 1e-3", dataclasses.replace(B.convnet3d, model={"width": 32, "dropout": 0.5}, lr=1e-3)),
        ("ConvNet3D width 32, no dropout, lr 3e-3, batch 32", dataclasses.replace(B.convnet3d, batch_size=32)),
        ("ConvNet3D width 32, no dropout, lr 3e-3, batch 16 (beyond.convnet3d)", B.convnet3d),
        ("TimeSformer width 64, batch 32 (Table 5's)", tf),
        ("TimeSformer width 32, batch 32", dataclasses.replace(B.timesformer, batch_size=32)),
        ("TimeSformer width 32, batch 16 (beyond.timesformer)", B.timesformer),
    ]
    body = []
    for name, c in variants:
        top1, secs = [], []
        for s in range(a.seeds):
            idx = flat_indices(select("random", pool.labels, a.vpc, seed=s, num_classes=pool.num_classes))
            (r,) = evaluate_runs(pool.subset(idx), test, c, [s], progress=False)
            top1.append(r["top1"])
            secs.append(r["train_s"])
        body.append([name, a.vpc, f"{np.mean(top1):.1f}±{np.std(top1):.1f}", f"{np.mean(secs):.2f}"])
        print(body[-1], flush=True)
    write_table(a.out, ["evaluator and labels", "VPC", "top-1 (%)", "train s/run"], body, preamble=(
        f"Random selections from the default pool, {a.seeds} seeds (each its own selection and run), one torch thread, "
        f"{platform.machine()} (ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', 'native')}), torch {torch.__version__}. Soft labels: the Full-real C3D "
        "teacher's logits.\n\n"))


if __name__ == "__main__":
    main()
