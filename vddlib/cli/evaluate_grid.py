"""Command line for `accelerate launch`: evaluate saved selections (notebook 03's manifests) on many processes.

    accelerate launch --num_processes 8 -m vddlib.cli.evaluate_grid --profile default
    accelerate launch --multi_gpu --num_processes 2 -m vddlib.cli.evaluate_grid --profile default   # 2 CPU processes (gloo)

Each process trains and tests its share of the (method, VPC, seed) grid; the main process
writes the gathered rows to results/eval_runs.csv. The rows do not depend on the process count.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from vddlib.config import load_dataset, load_profile
from vddlib.diffusion import close_accelerator, make_accelerator
from vddlib.evaluate import evaluate_selections
from vddlib.generate import load_pool
from vddlib.select import manifest_path


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="default")
    ap.add_argument("--pool", default=None, help="pool folder (default: the profile's synthetic pool)")
    ap.add_argument("--methods", nargs="*", default=None)
    ap.add_argument("--vpcs", nargs="*", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--results", default="results/eval_runs.csv")
    a = ap.parse_args(argv)
    from vddlib import stages

    prof = load_profile(a.profile)
    pool_path = Path(a.pool) if a.pool else stages.pool_dir(prof)
    methods = a.methods or list(prof.selection.methods)
    vpcs = a.vpcs or list(prof.evaluation.vpcs)
    seeds = range(a.runs or prof.evaluation.runs)
    paths = [manifest_path(prof.selection.manifests, prof.dataset.name, pool_path.name, m, v, s)
             for m in methods for v in vpcs for s in seeds]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"{len(missing)} selection manifest(s) missing, e.g. {missing[0]}: run "
                         "notebooks/03_select.ipynb (or vddlib.stages.make_selections) first.")
    acc = make_accelerator()
    test = load_dataset(prof.dataset)["test"]
    pool = load_pool(pool_path)
    rows = evaluate_selections(pool, test, prof.evaluation.train, [json.loads(p.read_text()) for p in paths],
                               dataset=prof.dataset.name, pool_name="synthetic", results_csv=a.results,
                               accelerator=acc, progress=acc.is_main_process,
                               device="cpu" if prof.evaluation.device == "cpu" else acc.device)
    if acc.is_main_process:
        print(f"{len(rows)} runs on {acc.num_processes} process(es) → {a.results}")
    close_accelerator(acc)


if __name__ == "__main__":
    main()
