"""Pilot for issue 40 (one-off): the teacher-guided selectors against Random, VPC 1 and 5, paired by seed, hard labels,
on the default pool and/or the second (next-seed) pool. Needs the artifacts of a default run (artifacts/ of this tree).
Usage: python benchmarks/teacher_pilot.py OUT_DIR RUNS [synthetic,second] [methods,...] [keeps,...|none]
       [methods the keeps apply to,...] [their VPCs,...]
       python benchmarks/teacher_pilot.py report OUT_DIR [OUT_DIR ...]   (results/teacher_pilot.{csv,md}: every arm
       each folder's runs hold, against Random from the same pool, paired by seed, Holm over them all)
       python benchmarks/teacher_pilot.py confirm 5-14 OUT_DIR [OUT_DIR ...]   (results/teacher_confirm.*: the same
       for seeds 5-14 only, made by `teacher_pilot.py OUT_DIR 5-14 ...`)
RUNS: a count (seeds 0..RUNS-1) or a range of seeds, e.g. 5-14. PROCESSES=2 evaluates on two processes (as 04).
The runs behind results/teacher_pilot.*: OUT (default pool) and OUT2 (second pool) made by
  teacher_pilot.py OUT 5 synthetic teacher_conf,tac_dt_faithful,herding_faithful,vst_unet_ce,random 0.25,0.75
  teacher_pilot.py OUT 5 synthetic tac_dt_faithful,herding_faithful,random 0.25 tac_dt_faithful,herding_faithful 1,5
  teacher_pilot.py OUT 5 synthetic vst_unet_faithful,random none
  teacher_pilot.py OUT2 5 second teacher_conf,tac_dt_faithful,herding_faithful,random none
  teacher_pilot.py OUT2 5 second tac_dt_faithful,herding_faithful,random 0.25 tac_dt_faithful,herding_faithful 1,5
  teacher_pilot.py OUT2 5 second vst_unet_faithful,random none
(vst_unet_ce was VST-UNet with ce_logit=True, a method then; its rows stay in OUT's runs.)"""
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from vddlib.data.datasets import load_dataset
from vddlib.evaluation import fidelity, findings
from vddlib.evaluation.jobs import EvalJobs, queue_manifests
from vddlib.evaluation.results import read_runs, upsert_runs
from vddlib.evaluation.train import predict_proba
from vddlib.experiments import resolution
from vddlib.profile import load_profile, run_context
from vddlib.selection import stage


def report(outs, stem: str = "teacher_pilot", seeds=range(5), note: str = "It chose 08's arms (seeds 0-4, "
           "which 08 evaluates too); results/teacher_confirm.md tests them on fresh seeds.") -> None:
    """results/<stem>.{csv,md}: every arm of the folders' runs (one pool per folder) against Random, seeds `seeds`,
    Holm over the whole family."""
    from vddlib.config import REPO_ROOT
    from vddlib.evaluation.results import read_runs, write_table

    by_pool = {}
    for out in outs:
        for r in read_runs(Path(out) / "eval_runs.csv"):
            if r["seed"] in seeds:
                by_pool.setdefault(r["pool"], []).append(r)
    arms = sorted({r["method"] for rows in by_pool.values() for r in rows} - {"random"})
    body = resolution.headline_rows(resolution.headline(by_pool, arms, "random", (1, 5)))
    print(write_table(REPO_ROOT / "results" / stem, resolution.HEADLINE_HEADER, body, preamble=(
        "Issue 40 (benchmarks/teacher_pilot.py): the teacher-guided selectors against Random from the same pool, "
        "digits-motion, C3D, hard labels, top-1 (%), paired by seed, Holm over the whole family (both pools); "
        "`-keepK`: the faithful selector keeping each class's K most teacher-confident share (default 0.5). Intel "
        "Xeon, native. "
        f"Seeds {min(seeds)}-{max(seeds)}. {note}\n\n")))


def main() -> None:
    if sys.argv[1] == "report":
        return report(sys.argv[2:])
    if sys.argv[1] == "confirm":         # the pre-registered arms on fresh seeds: results/teacher_confirm.*
        a, _, b = sys.argv[2].partition("-")
        return report(sys.argv[3:], "teacher_confirm", range(int(a), int(b) + 1),
                      "The arms 08 names, on seeds the pilot (seeds 0-4) that chose them never saw: the confirmation.")
    out = Path(sys.argv[1])
    a, _, b = sys.argv[2].partition("-")              # RUNS: a count (seeds 0..RUNS-1) or a range "5-14"
    seeds = list(range(int(a), int(b) + 1)) if b else list(range(int(a)))
    which = sys.argv[3].split(",") if len(sys.argv) > 3 else ["synthetic"]
    methods = sys.argv[4].split(",") if len(sys.argv) > 4 else ["teacher_conf", "tac_dt_faithful", "herding_faithful",
                                                                   "mae_score", "random"]
    KEEPS = ([] if sys.argv[5] == "none" else [float(x) for x in sys.argv[5].split(",")]) if len(sys.argv) > 5 else [0.25, 0.75]
    KEEP_METHODS = sys.argv[6].split(",") if len(sys.argv) > 6 else ["tac_dt_faithful"]
    KEEP_VPCS = [int(v) for v in sys.argv[7].split(",")] if len(sys.argv) > 7 else [5]
    out.mkdir(parents=True, exist_ok=True)
    prof = load_profile("default")
    run = run_context(prof, None, None, None, None, "evaluation")
    sel = prof.selection
    sel.manifests = str(out / "selections")
    dataset, cfg = run.dataset, prof.evaluation.train
    splits = load_dataset(prof.dataset)
    train, test = splits["train"], splits["test"]
    rec = fidelity.recogniser(train, cfg, run.diffusion / "recogniser.safetensors")
    pools = {}
    if "synthetic" in which:
        pool, inputs, _ = stage.selection_inputs(sel, dataset, train, run.pool)
        pools["synthetic"] = (pool, inputs, run.pool.name)
    if "second" in which:
        pools[resolution.SECOND_POOL] = resolution.second_pool(prof.diffusion, prof.generate, sel, dataset, train)
    csv = out / "eval_runs.csv"
    q = EvalJobs(test, dataset)
    info = {}
    for name, (pool, inputs, folder) in pools.items():
        inputs = {**inputs, "teacher": predict_proba(rec, pool.videos).numpy()}
        t = inputs["teacher"]
        info[name] = {"recognised": float((t.argmax(1) == pool.labels.numpy()).mean())}
        t0 = time.perf_counter()
        mans = stage.make_selections(sel, dataset, pool, inputs, [1, 5], seeds, folder, methods=methods,
                                     progress=False)
        for m in KEEP_METHODS:
            for keep in KEEPS:
                cfgk = dataclasses.replace(sel.settings(m)["config"], keep=keep)
                mans += stage.make_selections(sel, dataset, pool, inputs, KEEP_VPCS, seeds, folder,
                                              methods=[m], progress=False, name=f"{m}-keep{keep:g}",
                                              settings={"config": cfgk})
        info[name]["select_s"] = round(time.perf_counter() - t0, 1)
        lab = pool.labels.numpy()
        for m in methods:
            for v in (1, 5):
                picks = [i for x in mans if x["method"] == m and x["vpc"] == v for idx in x["indices"].values() for i in idx]
                info[name][f"{m}@{v} recognised"] = round(float((t[picks].argmax(1) == lab[picks]).mean()), 3)
        have = read_runs(csv) if csv.exists() else []
        queue_manifests(q, pool, resolution.missing(mans, have, name, methods), cfg, name)
    t0 = time.perf_counter()
    upsert_runs(csv, q.run(int(os.environ.get("PROCESSES", "1")), out / "jobs", profile="default", device="cpu"))
    print(f"{len(q)} evaluations in {time.perf_counter() - t0:.0f} s")
    print(json.dumps(info, indent=1))
    arms = [m for m in methods if m != "random"] + [f"{m}-keep{k:g}" for m in KEEP_METHODS for k in KEEPS]
    rows = {name: findings.runs_of(csv, dataset, cfg.classifier, seeds, pool=name, vpc=(1, 5)) for name in pools}
    for p, v, c in resolution.headline(rows, arms, "random", (1, 5)):
        print(f"{p}, VPC {v}: {c.sentence()}")


if __name__ == "__main__":
    main()
