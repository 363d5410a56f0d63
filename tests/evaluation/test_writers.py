"""Two writers at once (issue 38): two processes adding rows to one results file lose none, and two processes
evaluating one queue train no job twice."""
from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp

from tests.fixtures import grid_inputs
from vddlib.evaluation.jobs import EvalJobs, balanced_order, read_done, run_jobs
from vddlib.evaluation.results import read_runs, upsert_runs
from vddlib.selection.registry import flat_indices


def _row(writer: int, i: int) -> dict:
    return {"dataset": "toy", "pool": "synthetic", "method": f"w{writer}", "vpc": 1, "classifier": "c3d",
            "labels": "hard", "seed": i, "top1": float(i), "top5": 100.0, "auc": 0.5, "f1": 0.1,
            "storage_mb": 0.0, "train_s": 0.0}


def _race(target, args_list, timeout: float = 300) -> None:
    """Start one real process per argument tuple, release them together (`start` event, the target's first
    argument after the tuple), and wait for all of them to end cleanly."""
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=target, args=(*args, start)) for args in args_list]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout)
        assert p.exitcode == 0


def _add_rows(path: str, writer: int, n: int, start) -> None:
    start.wait()
    for i in range(n):
        upsert_runs(path, [_row(writer, i)])


def test_two_processes_adding_rows_to_one_results_file_lose_none(tmp_path):
    path = tmp_path / "eval_runs.csv"
    _race(_add_rows, [(str(path), w, 150) for w in (0, 1)])
    rows = read_runs(path)
    assert len(rows) == 300
    assert sorted((r["method"], r["seed"]) for r in rows) == sorted((f"w{w}", i) for w in (0, 1) for i in range(150))


def _queue():
    pool, test, cfg, manifests = grid_inputs()
    cfg = dataclasses.replace(cfg, min_steps=40, max_steps=40)         # long enough for the two to overlap
    q = EvalJobs(test, "toy")
    for m in manifests:
        q.add(pool.subset(flat_indices(m["indices"])), cfg, m["seed"], pool="synthetic", method=m["method"],
              vpc=m["vpc"])
    return q, test


def _evaluate(folder: str, start) -> None:
    import torch

    torch.set_num_threads(1)
    q, test = _queue()
    start.wait()
    run_jobs(folder, test, sorted(balanced_order(q.specs)), progress=False)


def test_two_processes_evaluating_one_queue_train_each_job_once(tmp_path):
    q, _ = _queue()
    folder = q.write(tmp_path)
    _race(_evaluate, [(str(folder),), (str(folder),)])
    lines = [json.loads(x) for x in (folder / "done_rank0.jsonl").read_text().splitlines() if x.strip()]
    trained = [r["job"] for r in lines]                     # each line is one training
    assert sorted(trained) == sorted(balanced_order(q.specs))         # every job once: none lost, none twice
    assert set(read_done(folder)) == set(balanced_order(q.specs))


def test_a_garbage_row_names_the_file_and_line(tmp_path):
    path = tmp_path / "eval_runs.csv"
    upsert_runs(path, [_row(0, 0), _row(0, 1)])
    text = path.read_text().splitlines()
    text[2] = text[2].replace(",1.0000,", ",abc,", 1)
    path.write_text("\n".join(text) + "\n")
    try:
        read_runs(path)
    except ValueError as e:
        assert str(path) in str(e) and "line 3" in str(e) and "abc" in str(e)
    else:
        raise AssertionError("a garbage row was read")


def test_a_study_not_run_removes_its_own_earlier_outputs_only(tmp_path):
    from vddlib.evaluation.results import study_not_run, write_table

    res, fig = tmp_path / "results", tmp_path / "figures"
    fig.mkdir()
    for stem in ("ablation_lambda_sweep", "table6"):
        write_table(res / stem, ["a"], [["1"]])
        (fig / f"{stem}.png").write_bytes(b"png")
    line = study_not_run(res, fig, ["ablation_lambda_sweep"], "ablation.studies", "lambda")
    assert "`ablation.studies` does not list `lambda`" in line and "PROFILE=extended" in line
    assert sorted(p.name for p in res.iterdir()) == ["table6.csv", "table6.md"]
    assert [p.name for p in fig.iterdir()] == ["table6.png"]
