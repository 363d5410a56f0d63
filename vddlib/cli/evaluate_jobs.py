"""Command line for `accelerate launch`: evaluate a queue written by `vddlib.evaluation.jobs.EvalJobs` on many processes.

    accelerate launch --multi_gpu --num_processes 2 -m vddlib.cli.evaluate_jobs --jobs artifacts/jobs/<hash> --profile default

Each process trains and tests its share of the queue (`split_between_processes` over a
cost-balanced order) and logs each finished row in the queue folder; a rerun skips the
logged ones. The test split and the device are the profile's.
"""
from __future__ import annotations

import argparse

from vddlib.data.datasets import load_dataset
from vddlib.diffusion.train import close_accelerator, make_accelerator
from vddlib.evaluation.jobs import read_done, run_queue
from vddlib.profile import load_profile


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", required=True, help="a queue folder written by EvalJobs.write")
    ap.add_argument("--profile", default="default")
    a = ap.parse_args(argv)
    prof = load_profile(a.profile)
    acc = make_accelerator()
    test = load_dataset(prof.dataset)["test"]
    run_queue(a.jobs, test, accelerator=acc, progress=acc.is_main_process,
              device="cpu" if prof.evaluation.device == "cpu" else acc.device)
    if acc.is_main_process:
        print(f"{len(read_done(a.jobs))} rows on {acc.num_processes} process(es) in {a.jobs}")
    close_accelerator(acc)


if __name__ == "__main__":
    main()
