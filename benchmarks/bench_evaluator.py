"""Evaluator speed on this machine: one run's time by training-set size, and torch.func ensembling.

Later stages train ~150 evaluators in the default run, so this measures what one costs:
training at the default profile's step budget for VPC 1 / 5 / 10 and the full split,
testing on the 1,000-video test split, and whether training 5 seeds in one vectorised
pass (torch.func.stack_module_state + vmap) beats 5 sequential runs.

    .venv/bin/python benchmarks/bench_evaluator.py      # writes results/bench_evaluator.{csv,md}
"""
from __future__ import annotations

import copy
import os
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from vddlib.config import REPO_ROOT
from vddlib.data.datasets import load_dataset
from vddlib.profile import load_profile
from vddlib.data.augment import prepare_videos
from vddlib.evaluation.train import predict_proba, train_evaluator
from vddlib.models import build_evaluator
from vddlib.evaluation.results import markdown_table
from vddlib.files import write_text
from vddlib.selection import select
from vddlib.selection.registry import flat_indices


def time_steps(model, x, y, steps=10) -> float:
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    for i in range(steps + 3):
        if i == 3:
            t = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps


def time_vmap_steps(models, xs, ys, steps=10) -> float:
    params, buffers = stack_module_state(models)
    params = {k: v.detach().requires_grad_() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")

    def f(p, b, x):
        return functional_call(base, (p, b), (x,))

    opt = torch.optim.AdamW(params.values(), 1e-3)
    for i in range(steps + 3):
        if i == 3:
            t = time.perf_counter()
        out = vmap(f, randomness="different")(params, buffers, xs)
        loss = F.cross_entropy(out.flatten(0, 1), ys.flatten()) * len(models)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps


def main() -> None:
    os.chdir(REPO_ROOT)
    prof = load_profile("default")
    cfg = prof.evaluation.train
    splits = load_dataset(prof.dataset)
    train, test = splits["train"], splits["test"]
    rows = []
    for vpc in (1, 5, 10, 0):
        subset = train if vpc == 0 else train.subset(flat_indices(select("random", train.labels, vpc, seed=0)))
        t = time.perf_counter()
        model = train_evaluator(subset, cfg, seed=0)
        t_train = time.perf_counter() - t
        t = time.perf_counter()
        predict_proba(model, test.videos, cfg.eval_batch_size)
        t_test = time.perf_counter() - t
        rows.append(["one run", "all" if vpc == 0 else vpc, cfg.steps_for(len(subset)), f"{t_train:.2f}",
                     f"{t_test:.2f}", f"{t_train + t_test:.2f}"])
        print(rows[-1], flush=True)

    # 5 seeds: sequential steps vs one vmap pass, at the batch sizes of VPC=1 and of larger sets.
    K = 5
    for bs in (10, 32):
        torch.manual_seed(0)
        x = prepare_videos(train.videos[:bs])
        y = train.labels[:bs]
        models = [build_evaluator(cfg.classifier, 10, 8, 32, **cfg.model) for _ in range(K)]
        seq = sum(time_steps(m, x, y) for m in models)
        try:
            vec = f"{time_vmap_steps(models, x.expand(K, *x.shape).contiguous(), y.expand(K, bs)):.3f}"
        except Exception as e:          # report, don't hide, if vmap cannot batch a layer
            vec = f"failed: {type(e).__name__}"
        rows.append([f"{K} seeds, one step", f"batch {bs}", "-", f"sequential {seq:.3f}", f"vmap {vec}", "-"])
        print(rows[-1], flush=True)

    header = ["what", "VPC / batch", "steps", "train s", "test s (1,000 videos)", "total s"]
    md = (f"Evaluator `{cfg.classifier}` {cfg.model}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPU cores.\n\n" + markdown_table(header, rows))
    write_text("results/bench_evaluator.md", md)
    write_text("results/bench_evaluator.csv", "\n".join(",".join(map(str, r)) for r in [header] + rows) + "\n")
    print(md)


if __name__ == "__main__":
    main()
