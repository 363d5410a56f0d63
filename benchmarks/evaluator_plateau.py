"""Where the evaluator's accuracy stops rising, and what reaches it in fewer CPU-seconds with less spread.

The protocol trains a fresh C3D on each selected set for a step budget. The paper's evaluators are trained to
convergence; ours stopped at 150 steps for every VPC set. This study holds the *selection* fixed (selection seed
0 of Random and Herding, the committed manifests of the default pool) and varies only the evaluator: its seed
(`--seeds` of them) and its recipe. So each cell's std is the evaluator's own spread, which no amount of pairing
between methods removes.

    .venv/bin/python benchmarks/evaluator_plateau.py --study budget   # top-1 against steps, VPC 1/5/10
    .venv/bin/python benchmarks/evaluator_plateau.py --study recipe   # at one budget: lr, warm-up, batch, SWA, ...
    .venv/bin/python benchmarks/evaluator_plateau.py --study custom --recipes "steps=600,lr=3e-3,warmup=0.1"

Rows are appended to results/evaluator_plateau_runs.csv as each run ends (a rerun skips the rows there, so a
killed study resumes); the tables results/evaluator_plateau.{csv,md} are rendered from all rows. Each run uses one
thread (`--threads`), as notebook 04's processes do; run two studies side by side on two cores.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from vddlib.config import REPO_ROOT
from vddlib.data.datasets import load_dataset
from vddlib.data.pool import load_pool
from vddlib.data.selections import load_manifests, manifest_indices
from vddlib.evaluation.results import markdown_table, write_table
from vddlib.evaluation.stats import summary
from vddlib.evaluation.train import evaluate_runs
from vddlib.hardware import cpu_model
from vddlib.profile import load_profile, run_context

RUNS = "results/evaluator_plateau_runs.csv"
COLUMNS = ["cpu", "study", "recipe", "method", "vpc", "selection_seed", "eval_seed", "steps", "top1", "train_s",
           "config"]


def budget_recipes(base, budgets):
    return {f"{s} steps": replace(base, min_steps=s, max_steps=s) for s in budgets}


def recipe_recipes(base, steps):
    """Variants at one budget, each changing one thing (the name says what)."""
    b = replace(base, min_steps=steps, max_steps=steps)
    half = replace(base, min_steps=steps // 2, max_steps=steps // 2)
    return {
        f"{steps} steps (lr 1e-3)": b,
        f"{steps} steps, lr 2e-3, warm-up 10 %": replace(b, lr=2e-3, warmup=0.1),
        f"{steps} steps, lr 4e-3, warm-up 10 %": replace(b, lr=4e-3, warmup=0.1),
        f"{steps // 2} steps, lr 4e-3, warm-up 10 %": replace(half, lr=4e-3, warmup=0.1),
        f"{steps} steps, batch 16": replace(b, batch_size=16),
        f"{steps // 2} steps, batch 64": replace(half, batch_size=64),
        f"{steps} steps, SWA last 25 %": replace(b, average=0.25),
        f"{steps} steps, label smoothing 0.1": replace(b, label_smoothing=0.1),
        f"{steps} steps, shift 4 px": replace(b, shift=4),
        f"{steps} steps, shift 0 px": replace(b, shift=0),
    }


def parse_recipe(base, text: str):
    """'steps=600,lr=3e-3,warmup=0.1' → the base config with those fields (`steps` sets min and max steps)."""
    fields = {}
    for part in text.split(","):
        k, v = part.split("=")
        k = k.strip()
        if k == "steps":
            fields["min_steps"] = fields["max_steps"] = int(v)
        else:
            cur = getattr(base, k)
            fields[k] = type(cur)(v) if not isinstance(cur, bool) else v.lower() in ("1", "true", "yes")
    return replace(base, **fields)


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def render(rows: list[dict], stem: str) -> str:
    """Per (study, recipe, method, VPC): top-1 mean ± std (n) over evaluator seeds and seconds per run."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["cpu"], r["study"], r["recipe"], r["method"], int(r["vpc"])), []).append(r)
    body = []
    for (cpu, study, recipe, method, vpc), rs in sorted(groups.items(), key=lambda kv: (
            kv[0][0], kv[0][1], kv[0][3], kv[0][4], float(kv[1][0]["steps"]), kv[0][2])):
        s = summary([float(r["top1"]) for r in rs])
        body.append([cpu, study, recipe, method, vpc, rs[0]["steps"], s.cell(1),
                     f"{s.std:.2f}" if s.n > 1 else "-", f"{np.mean([float(r['train_s']) for r in rs]):.1f}"])
    md = write_table(stem, ["cpu", "study", "recipe", "method", "VPC", "steps", "top-1 (%)",
                            "evaluator std", "train s/run"], body,
                     preamble="Top-1 (%) of one fixed selection per (method, VPC) (selection seed 0, the default "
                              "pool), mean ± sample std (n) over evaluator seeds: the std is the evaluator's own "
                              "spread. `benchmarks/evaluator_plateau.py`; each run on one thread.\n\n")
    spread = spread_table(groups)
    if spread:
        extra = ("\n**The evaluator's own spread at VPC 5** (recipes with at least 6 seeds on each fixed selection): "
                 "the pooled sample std of Random's and Herding's runs, and variance × seconds (lower: more "
                 "resolution per CPU-second).\n\n" + markdown_table(SPREAD_HEADER, spread))
        md += extra
        Path(stem).with_suffix(".md").write_text(Path(stem).with_suffix(".md").read_text() + extra)
    return md


SPREAD_HEADER = ["cpu", "recipe", "steps", "mean top-1 (Random, Herding)", "pooled evaluator std", "n per set",
                 "train s/run", "variance × s"]


def spread_table(groups: dict) -> list[list]:
    """Per recipe with >= 6 seeds on both VPC 5 selections: the pooled evaluator std and its cost."""
    by = {}
    for (cpu, _, recipe, method, vpc), rs in groups.items():
        if vpc == 5 and method in ("random", "herding") and len(rs) >= 6:
            by.setdefault((cpu, recipe), {})[method] = rs
    body = []
    for (cpu, recipe), sets in sorted(by.items()):
        if len(sets) < 2:
            continue
        ss = {m: summary([float(r["top1"]) for r in rs]) for m, rs in sets.items()}
        pooled = float(np.sqrt(np.mean([s.std ** 2 for s in ss.values()])))
        secs = float(np.mean([float(r["train_s"]) for rs in sets.values() for r in rs]))
        body.append([cpu, recipe, sets["random"][0]["steps"], f"{ss['random'].mean:.1f}, {ss['herding'].mean:.1f}",
                     f"{pooled:.2f}", min(s.n for s in ss.values()), f"{secs:.1f}", f"{pooled ** 2 * secs:.0f}"])
    return body


def figure(rows: list[dict], path: str) -> None:
    """Top-1 against the step budget per (method, VPC): the budget study at lr 1e-3 as lines, the warm-up recipes at
    lr 3e-3 (batch 32, no averaging) as dashed references; mean ± sample std over evaluator seeds."""
    from vddlib import figures

    def series(keep) -> dict[str, tuple]:
        out: dict[str, dict[int, list[float]]] = {}
        for r in rows:
            if keep(r):
                out.setdefault(f"{r['method']} VPC {r['vpc']}", {}).setdefault(int(r["steps"]), []).append(float(r["top1"]))
        res = {}
        for name in sorted(out, key=lambda n: (int(n.split()[-1]), n)):
            xs = sorted(out[name])
            ss = [summary(out[name][x]) for x in xs]
            res[name] = (xs, [s.mean for s in ss], [0.0 if s.n < 2 else s.std for s in ss])
        return res

    def cfg(r):
        return json.loads(r["config"])
    base = series(lambda r: r["study"] == "budget")
    warm = series(lambda r: r["study"] != "budget" and cfg(r)["lr"] == 3e-3 and cfg(r)["warmup"] > 0
                  and cfg(r)["batch_size"] == 32 and cfg(r)["average"] == 0)
    figures.line_plot(base, path, "evaluator steps (log scale)", "top-1 (%) on the real test split",
                      "one fixed selection per line; lr 1e-3 (solid), lr 3e-3 + warm-up (dashed)", logx=True,
                      refs={f"{k} (lr 3e-3)": v for k, v in warm.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", choices=["budget", "recipe", "custom"], default="budget")
    ap.add_argument("--recipes", nargs="+", default=[], help="custom: e.g. 'steps=600,lr=3e-3,warmup=0.1'")
    ap.add_argument("--profile", default="default")
    ap.add_argument("--methods", nargs="+", default=["random", "herding"], help="also full_real, full_syn")
    ap.add_argument("--vpcs", type=int, nargs="+", default=[1, 5, 10])
    ap.add_argument("--budgets", type=int, nargs="+", default=[150, 300, 600, 1200, 2400])
    ap.add_argument("--steps", type=int, default=600, help="the recipe study's budget")
    ap.add_argument("--seeds", type=int, default=4, help="evaluator seeds per cell")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--manifests", default="results/selections", help="the committed selections of the default run")
    ap.add_argument("--out", default="results/evaluator_plateau")
    ap.add_argument("--figure", default="figures/evaluator_plateau.png")
    a = ap.parse_args()
    os.chdir(REPO_ROOT)
    torch.set_num_threads(a.threads)
    prof = load_profile(a.profile)
    prof.set_output_dirs()
    cfg = prof.evaluation.train
    test = load_dataset(prof.dataset)["test"]
    pool_path = run_context(prof).pool
    pool = load_pool(pool_path)
    if a.study == "custom":
        recipes = {r: parse_recipe(cfg, r) for r in a.recipes}
    else:
        recipes = budget_recipes(cfg, a.budgets) if a.study == "budget" else recipe_recipes(cfg, a.steps)
    runs_path = Path(RUNS)
    cpu = cpu_model()
    done = {(r["cpu"], r["study"], r["recipe"], r["method"], r["vpc"], r["eval_seed"]) for r in read_rows(runs_path)}
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    # cheap cells first, so a short run still covers every (method, VPC) at the small budgets
    todo = [(name, c, m, v, s) for s in seeds for name, c in sorted(recipes.items(), key=lambda kv: kv[1].max_steps)
            for v in a.vpcs for m in a.methods
            if (cpu, a.study, name, m, str(v), str(s)) not in done]
    sets = {}
    for m in a.methods:
        for v in a.vpcs:
            if m in ("full_real", "full_syn"):         # the whole real train split or the whole pool (VPC: ignored)
                sets[m, v] = load_dataset(prof.dataset)["train"] if m == "full_real" else pool
                continue
            (man,) = load_manifests(a.manifests, prof.dataset.name, pool_path.name, [m], [v], [0])
            sets[m, v] = pool.subset(manifest_indices(man))
    print(f"{len(todo)} runs to do on {cpu} ({a.threads} thread(s))", flush=True)
    new_file = not runs_path.is_file()
    with runs_path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new_file:
            w.writeheader()
        for name, c, m, v, s in todo:
            t0 = time.perf_counter()
            (r,) = evaluate_runs(sets[m, v], test, c, [s], progress=False)
            w.writerow({"cpu": cpu, "study": a.study, "recipe": name, "method": m, "vpc": v, "selection_seed": 0,
                        "eval_seed": s, "steps": c.steps_for(len(sets[m, v])), "top1": f"{r['top1']:.4f}",
                        "train_s": f"{r['train_s']:.2f}", "config": json.dumps(asdict(c), sort_keys=True)})
            f.flush()
            print(f"{name:40s} {m:8s} VPC {v:2d} seed {s}: {r['top1']:.1f} % ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    rows = read_rows(runs_path)
    print(render(rows, a.out))
    figure([r for r in rows if r["cpu"] == cpu], a.figure)


if __name__ == "__main__":
    main()
