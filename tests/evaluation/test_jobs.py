"""The evaluation queue (vddlib.evaluation.jobs): rows in job order, the same on two processes, resumable."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from tests.fixtures import grid_inputs
from tests.launch import launch_two_processes
from vddlib.evaluation import jobs as jobs_mod
from vddlib.evaluation.jobs import EvalJobs, balanced_order, expand_rows, read_done
from vddlib.evaluation.results import read_runs, upsert_runs
from vddlib.evaluation.train import evaluate_runs
from vddlib.selection.registry import flat_indices


def _queue(pool, test, cfg, manifests) -> EvalJobs:
    q = EvalJobs(test, "toy")
    for m in manifests:
        q.add(pool.subset(flat_indices(m["indices"])), cfg, m["seed"], pool="synthetic", method=m["method"], vpc=m["vpc"])
    return q


def test_queue_gives_the_rows_of_direct_evaluation_in_job_order(tmp_path):
    pool, test, cfg, manifests = grid_inputs()
    q = _queue(pool, test, cfg, manifests)
    rows = q.run(1, tmp_path, progress=False)
    key = lambda r: (r["method"], r["vpc"], r["seed"])
    assert [key(r) for r in rows] == [(m["method"], m["vpc"], m["seed"]) for m in manifests]
    for r, m in zip(rows, manifests):             # each row is that manifest's set trained and tested directly
        (direct,) = evaluate_runs(pool.subset(flat_indices(m["indices"])), test, cfg, [m["seed"]], progress=False)
        assert {k: r[k] for k in ("top1", "auc", "f1")} == {k: direct[k] for k in ("top1", "auc", "f1")}
        # the per-video predictions travel with the row, and their accuracy is the row's top-1
        assert r["pred"] == direct["pred"] and r["truth"] == test.labels.tolist()
        assert 100 * sum(p == t for p, t in zip(r["pred"], r["truth"])) / len(test) == pytest.approx(r["top1"])
    assert q.resolve([3, {"ready": 1}, 0]) == [rows[3], {"ready": 1}, rows[0]]


def test_queue_rows_do_not_depend_on_the_process_count(tmp_path):
    pool, test, cfg, manifests = grid_inputs()
    one = _queue(pool, test, cfg, manifests).run(1, tmp_path / "one", progress=False)
    q = _queue(pool, test, cfg, manifests)
    folder = q.write(tmp_path / "two")
    p = launch_two_processes("jobs_worker.py", str(folder), port=29541)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    trained = len(balanced_order(q.specs))
    assert f"rank 0 of 2: {trained} rows logged" in p.stdout
    assert len(list(folder.glob("done_rank*.jsonl"))) == 2          # both processes did a share
    two = expand_rows(q.specs, read_done(folder))
    for i, r in enumerate(one):
        for m in ("top1", "top5", "auc", "f1"):
            assert two[i][m] == pytest.approx(r[m], abs=1e-9), (i, m)


def test_queue_resumes_skipping_logged_rows_and_redoing_a_cut_line(tmp_path, monkeypatch):
    pool, test, cfg, manifests = grid_inputs()
    q = _queue(pool, test, cfg, manifests)
    folder = q.write(tmp_path)
    assert q.write(tmp_path) == folder                           # the same queue → the same folder
    logged = {"job": 2, "dataset": "toy", "pool": "synthetic", "method": "x", "vpc": 1, "classifier": "c3d",
              "seed": 0, "top1": 77.0, "top5": 100.0, "auc": 0.9, "f1": 0.5, "train_s": 0.0}
    (folder / "done_rank0.jsonl").write_text(json.dumps(logged) + "\n" + '{"job": 5, "top1": 1')   # killed mid-line
    calls = []
    real = jobs_mod.evaluate_runs
    monkeypatch.setattr(jobs_mod, "evaluate_runs", lambda *a, **k: calls.append(1) or real(*a, **k))
    rows = q.run(1, tmp_path, progress=False)
    trained = len(balanced_order(q.specs))
    assert q.specs[2]["same_as"] == 2 and q.specs[5]["same_as"] == 5
    assert len(calls) == trained - 1 and rows[2]["top1"] == 77.0 and len(rows) == 8   # job 2 kept, job 5 redone
    calls.clear()
    assert q.run(1, tmp_path, progress=False) == rows and not calls       # a finished queue trains nothing


def test_queue_checks_its_inputs():
    pool, test, cfg, _ = grid_inputs()
    q = EvalJobs(test, "toy")
    other = pool.subset([0, 1])
    other.class_names = [n + "'" for n in other.class_names]
    with pytest.raises(ValueError, match="other classes"):
        q.add(other, cfg, 0, pool="p", method="m", vpc=1)
    assert q.add(pool.subset([0]), cfg, 0, pool="p", method="m", vpc=1) == 0
    assert q.add(pool.subset([0]), cfg, 0, pool="p", method="m", vpc=1) == 0 and len(q) == 1   # one job
    assert q.add(pool.subset([0]), cfg, 1, pool="p", method="m", vpc=1) == 1
    assert len(q.sets) == 1                                    # a set trained with two seeds is stored once
    with pytest.raises(ValueError, match="different training sets"):
        q.add(pool.subset([1]), cfg, 0, pool="p", method="m", vpc=1)
    with pytest.raises(RuntimeError, match="run\\(\\) first"):
        q.resolve([0])


def test_identical_trainings_run_once_and_keep_their_own_keys(tmp_path, monkeypatch):
    pool, test, cfg, _ = grid_inputs()
    q = EvalJobs(test, "toy")
    same = pool.subset([0, 6, 12])
    a = q.add(same, cfg, 0, pool="synthetic", method="tac_dt", vpc=1)
    b = q.add(pool.subset([0, 6, 12]), cfg, 0, pool="synthetic", method="herding", vpc=1)   # same videos and seed
    c = q.add(same, cfg, 1, pool="synthetic", method="herding", vpc=1)                        # another seed: trains
    calls = []
    real = jobs_mod.evaluate_runs
    monkeypatch.setattr(jobs_mod, "evaluate_runs", lambda *a_, **k: calls.append(1) or real(*a_, **k))
    rows = q.run(1, tmp_path, progress=False)
    assert len(calls) == 2 and len(rows) == 3
    assert rows[a]["method"] == "tac_dt" and rows[b]["method"] == "herding"
    assert {k: rows[a][k] for k in ("top1", "auc", "f1", "seed")} == {k: rows[b][k] for k in ("top1", "auc", "f1", "seed")}
    assert balanced_order(q.specs) in ([a, c], [c, a])


def test_queue_refuses_another_test_split(tmp_path):
    from vddlib.evaluation.jobs import run_queue

    pool, test, cfg, manifests = grid_inputs()
    folder = _queue(pool, test, cfg, manifests[:1]).write(tmp_path)
    other = test.subset(list(range(len(test) - 1)))
    with pytest.raises(ValueError, match="another test split"):
        run_queue(folder, other, progress=False)


def test_balanced_order_splits_the_work_evenly():
    specs = [{"steps": s, "n": 32, "cfg": {"batch_size": 32}} for s in (400, 150, 150, 150, 150, 10, 10, 400)]
    order = balanced_order(specs)
    assert sorted(order) == list(range(8))
    half = len(order) // 2
    work = lambda ids: sum(specs[i]["steps"] for i in ids)
    assert abs(work(order[:half]) - work(order[half:])) <= 150
    assert torch.tensor(order).unique().numel() == 8


def test_a_grid_of_manifests_gives_one_row_each_in_the_results_csv(tmp_path):
    """The grid of notebook 04: one queued job per manifest, rows keyed by (method, VPC, seed), and a rerun of
    the same grid replaces its rows in the CSV instead of adding them."""
    pool, test, cfg, manifests = grid_inputs()
    csv = tmp_path / "eval_runs.csv"
    upsert_runs(csv, _queue(pool, test, cfg, manifests).run(1, tmp_path / "q", progress=False))
    first = read_runs(csv)
    key = lambda r: (r["method"], r["vpc"], r["seed"])
    assert sorted(map(key, first)) == sorted((m["method"], m["vpc"], m["seed"]) for m in manifests)
    upsert_runs(csv, _queue(pool, test, cfg, manifests).run(1, tmp_path / "q", progress=False))
    again = read_runs(csv)
    assert len(again) == len(manifests)
    assert {key(r): r["top1"] for r in again} == {key(r): r["top1"] for r in first}


def test_a_mapped_real_split_is_read_from_its_split_file_not_copied_into_the_queue(tmp_path):
    """Full real trains on the whole cached split: the queue points at its split file (Kinetics-400's train split
    is 135 GiB) and gives the rows a copy gives; a subset of it is copied as any set; a rebuilt cache that moved
    the file is followed on the next run, and a queue whose file is gone says so."""
    from safetensors import safe_open

    from tests import fixtures
    from vddlib.data.real import load_real
    from vddlib.data.video_io import ClipSpec

    spec = ClipSpec(frames=4, gap=2, resize=(40, 30), crop=24)
    root = fixtures.ucf101(tmp_path / "ucf")
    train, _ = load_real("ucf101", root, "train", spec, cache_dir=tmp_path / "cache")
    test, _ = load_real("ucf101", root, "test", spec, cache_dir=None)
    _, _, cfg, _ = grid_inputs()
    q = EvalJobs(test, "ucf101")
    jobs_mod.queue_full(q, train, cfg, [0], "real")
    q.add(train.subset([0, 2, 4]), cfg, 0, pool="real", method="some", vpc=1)
    folder = q.write(tmp_path / "jobs")
    doc = json.loads((folder / "jobs.json").read_text())
    assert list(doc["files"]) == ["0"] and doc["files"]["0"]["path"] == str(Path(train.meta["file"]).resolve())
    with safe_open(str(folder / "videos.safetensors"), framework="pt") as f:
        assert sorted(f.keys()) == ["labels_0", "labels_1", "videos_1"]      # the split's videos are not copied
    rows = q.run(1, tmp_path / "jobs", progress=False)
    copy = EvalJobs(test, "ucf101")
    plain = dataclasses.replace(train, videos=train.videos.clone(), meta={})
    jobs_mod.queue_full(copy, plain, cfg, [0], "real")
    copy.add(train.subset([0, 2, 4]), cfg, 0, pool="real", method="some", vpc=1)
    assert copy._mapped_files() == {}
    again = copy.run(1, tmp_path / "copy", progress=False)
    metrics = lambda rs: [{k: r[k] for k in ("method", "top1", "auc", "f1")} for r in rs]
    assert metrics(rows) == metrics(again)
    # a rebuilt cache (another short-clip rule, and no short clips: the same videos) writes a new split file and
    # removes the old one; the queue as written then says so, and the same queue asked for again follows the file
    moved, _ = load_real("ucf101", root, "train", spec, cache_dir=tmp_path / "cache", short_clips="skip")
    assert moved.meta["file"] != train.meta["file"] and not Path(train.meta["file"]).exists()
    (folder / "done_rank0.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="videos of .*, which is gone or changed"):
        jobs_mod.run_jobs(folder, test, [0], progress=False)
    q2 = EvalJobs(test, "ucf101")
    jobs_mod.queue_full(q2, moved, cfg, [0], "real")
    q2.add(moved.subset([0, 2, 4]), cfg, 0, pool="real", method="some", vpc=1)
    assert q2.write(tmp_path / "jobs") == folder
    assert metrics(q2.run(1, tmp_path / "jobs", progress=False)) == metrics(rows)
