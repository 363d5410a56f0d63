"""Queued evaluations: collect training sets first, then train and test all of them in one go.

Notebook 05 asks for about a hundred evaluator trainings spread over many studies. Each
study queues its sets (`EvalJobs.add`: the videos to train on, the evaluator config, the
seed and the row's keys); `run` then evaluates the whole queue, in this process or on
several processes with `accelerate launch` (`vddlib.cli.evaluate_jobs`), which split it
with `split_between_processes`, exactly as notebook 04's grid. A row depends only on its
job, so the rows are the same whatever the process count.

`run` is resumable: the queue is written once (each distinct training set's videos once,
as safetensors; the jobs as JSON)
into a folder named by its content hash, each finished row is appended to a per-process
log there, and a rerun of the same queue skips the rows already logged.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch
from filelock import FileLock, Timeout
from safetensors import safe_open
from ..logs import bar, log

from ..data.hashing import data_hash
from ..data.selections import check_manifest, manifest_indices
from ..data.videoset import VideoSet
from ..files import map_raw, save_tensors, write_text
from ..launch import accelerate_launch
from .train import TrainConfig, evaluate_runs, result_row


class EvalJobs:
    """A queue of (training set, evaluator config, seed) → one row of results each."""

    def __init__(self, test: VideoSet, dataset: str) -> None:
        self.test, self.dataset = test, dataset
        self.sets: list[VideoSet] = []            # distinct training sets (Full real's 5 seeds share one)
        self._set_ids: dict[str, int] = {}
        self.specs: list[dict] = []
        self.rows: dict[int, dict] = {}
        self._ids: dict[str, int] = {}
        self._runs: dict[str, int] = {}           # (set, config, seed) → the job that trains it

    def __len__(self) -> int:
        return len(self.specs)

    def add(self, train: VideoSet, cfg: TrainConfig, seed: int, *, pool: str, method: str, vpc: int) -> int:
        """Queue one evaluation; returns its job id (`resolve` turns ids into rows after `run`).

        The same row queued twice (same keys, config, seed and videos) is one job. Two rows whose
        training is identical (the same videos, config and seed: e.g. two selectors that pick the
        same videos) are trained once; the second takes the first's metrics under its own keys.
        """
        if train.class_names != self.test.class_names:
            raise ValueError("A queued training set indexes other classes than the test split; build both from "
                             "the same dataset.")
        if cfg.labels == "soft" and train.soft is None:
            raise ValueError(f"A soft-label evaluation ({pool}, {method}, VPC {vpc}) was queued for a set without "
                             "teacher logits; give it some with vddlib.evaluation.soft_labels.with_soft_labels.")
        digest = data_hash(train)
        if digest not in self._set_ids:
            self._set_ids[digest] = len(self.sets)
            self.sets.append(train)
        spec = {"cfg": cfg.key(), "seed": int(seed), "pool": pool, "method": method,
                "vpc": int(vpc), "n": len(train), "steps": cfg.steps_for(len(train))}
        key = json.dumps(spec, sort_keys=True)
        if key in self._ids:        # two studies asking for the same row (a Table 6 cell of the λ grid) share it
            if self.specs[self._ids[key]]["set"] != self._set_ids[digest]:
                raise ValueError(f"Two different training sets are queued as the same row ({pool}, {method}, "
                                 f"VPC {vpc}, seed {seed}); give the variants different names.")
            return self._ids[key]
        run_key = json.dumps([spec["cfg"], spec["seed"], self._set_ids[digest]], sort_keys=True)
        job = len(self.specs)
        self.specs.append({**spec, "set": self._set_ids[digest], "same_as": self._runs.setdefault(run_key, job)})
        self._ids[key] = job
        return job

    def resolve(self, items: list) -> list[dict]:
        """Rows for a list of job ids and ready rows (as `ablate.queue_variant` returns), in order."""
        missing = [i for i in items if isinstance(i, int) and i not in self.rows]
        if missing:
            raise RuntimeError(f"Jobs {missing[:5]} have no rows yet: call EvalJobs.run() first.")
        return [self.rows[i] if isinstance(i, int) else i for i in items]

    def _key(self) -> str:
        h = hashlib.sha256(json.dumps(self.specs, sort_keys=True).encode())
        for digest in self._set_ids:                  # in set order (dicts keep insertion order)
            h.update(digest.encode())
        return h.hexdigest()[:16]

    def write(self, work_dir: str | Path) -> Path:
        """The queue as files (jobs.json + videos.safetensors) in work_dir/<content hash>/; returns that folder."""
        folder = Path(work_dir) / self._key()
        if not (folder / "jobs.json").is_file():
            folder.mkdir(parents=True, exist_ok=True)
            tensors, seen = {}, set()

            def own(t):                   # safetensors refuses tensors that share memory (sets made from one another)
                t = t.contiguous()
                if t.data_ptr() in seen:
                    t = t.clone()
                seen.add(t.data_ptr())
                return t

            files = self._mapped_files()
            for i, s in enumerate(self.sets):
                if str(i) not in files:            # a split or pool mapped from its file is read from there
                    tensors[f"videos_{i}"] = own(s.videos)
                tensors[f"labels_{i}"] = own(s.labels)
                if s.soft is not None:
                    tensors[f"soft_{i}"] = own(s.soft)
            save_tensors(folder / "videos.safetensors", tensors)
            doc = {"dataset": self.dataset, "class_names": list(self.test.class_names), "test": data_hash(self.test),
                   "files": files, "jobs": self.specs}
            write_text(folder / "jobs.json", json.dumps(doc, indent=1))   # written last: marks a complete queue
        else:                             # the same queue again: its files may have moved (a rebuilt cache)
            doc = json.loads((folder / "jobs.json").read_text())
            if doc.get("files") and any(not _file_whole(r) for r in doc["files"].values()):
                files = self._mapped_files()
                if set(files) == set(doc["files"]):
                    doc["files"] = files
                    write_text(folder / "jobs.json", json.dumps(doc, indent=1))
        return folder

    def _mapped_files(self) -> dict[str, dict]:
        """{set id: its file} for the queued sets that are a cached real split or a finished pool as mapped (Full
        real, Full syn): the queue reads them from there instead of copying them (Kinetics-400's train split is
        135 GiB, its pool 23 GiB)."""
        from ..data.mapped import file_of

        out = {}
        for digest, i in self._set_ids.items():
            ref = file_of(self.sets[i], digest)
            if ref is not None:
                out[str(i)] = ref
        return out

    def run(self, processes: int = 1, work_dir: str | Path = "artifacts/jobs", profile: str = "default",
            progress: bool = True, device: str | torch.device = "cpu") -> list[dict]:
        """Evaluate every queued job not evaluated yet; returns all rows in job order.

        processes > 1 launches `vddlib.cli.evaluate_jobs` with `accelerate launch` (the test
        split and the device come from `profile`); 1 runs here, on `device`.
        """
        if not self.specs:
            return []
        folder = self.write(work_dir)
        if processes > 1:
            log.info("evaluate %d queued sets on %d processes (accelerate launch)", len(self.specs), processes)
            accelerate_launch("vddlib.cli.evaluate_jobs", ["--jobs", str(folder), "--profile", profile], processes)
        else:
            log.info("evaluate %d queued sets here (%s)", len(self.specs), device)
            run_queue(folder, self.test, progress=progress, device=device)
        done = expand_rows(self.specs, read_done(folder))
        if len(done) != len(self.specs):
            raise RuntimeError(f"{len(self.specs) - len(done)} of {len(self.specs)} jobs in {folder} have no row; "
                               "run again to finish them (finished rows are kept).")
        self.rows = done
        return [done[i] for i in range(len(self.specs))]


def _file_whole(ref: dict) -> bool:
    p = Path(ref["path"])
    return p.is_file() and p.stat().st_size == math.prod(ref["shape"])


def _map_file(ref: dict, folder: Path) -> torch.Tensor:
    if not _file_whole(ref):
        raise FileNotFoundError(f"The queue in {folder} trains on the videos of {ref['path']}, which is gone or "
                                "changed (the dataset cache was rebuilt or moved, or the pool moved). Run the "
                                "notebook (or EvalJobs.run) again: it points the queue at the file as it is now.")
    return map_raw(ref["path"], ref["shape"])


def read_done(folder: str | Path) -> dict[int, dict]:
    """Rows logged so far in a queue folder, by job id."""
    done = {}
    for log in sorted(Path(folder).glob("done_rank*.jsonl")):
        for line in log.read_text().splitlines():
            if line.strip():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:              # a line cut short by a kill: that job runs again
                    continue
                done[int(r.pop("job"))] = r
    return done


def expand_rows(specs: list[dict], done: dict[int, dict]) -> dict[int, dict]:
    """The trained rows plus, for each job that repeats another's training, that job's metrics under its own keys."""
    out = dict(done)
    for i, spec in enumerate(specs):
        src = spec.get("same_as", i)
        if src != i and src in done:
            out[i] = {**done[src], "pool": spec["pool"], "method": spec["method"], "vpc": spec["vpc"]}
    return out


def balanced_order(specs: list[dict]) -> list[int]:
    """Ids of the jobs to train (not those repeating another's training), ordered so that contiguous equal
    splits (split_between_processes) get similar work."""
    runners = [i for i in range(len(specs)) if specs[i].get("same_as", i) == i]
    by_cost = sorted(runners, key=lambda i: (-specs[i]["steps"] * min(specs[i]["n"], specs[i]["cfg"]["batch_size"]), i))
    return by_cost[0::2] + by_cost[1::2]


def run_jobs(folder: str | Path, test: VideoSet, ids: list[int], rank: int = 0, progress: bool = True,
             device: str | torch.device = "cpu") -> None:
    """Train and test the given jobs of a queue folder, skipping logged ones; rows go to done_rank<rank>.jsonl.

    A job is trained only by the process that holds its claim (a file lock in `claims/`, released when that process
    ends, killed or not): a second `vddlib evaluate` of the same grid trains the jobs nobody holds, then waits for
    the ones another process holds and takes over any whose holder died without a row. Rows are appended under the
    queue's log lock, so two writers never interleave a line."""
    folder = Path(folder)
    doc = json.loads((folder / "jobs.json").read_text())
    if doc["class_names"] != list(test.class_names) or doc["test"] != data_hash(test):
        raise ValueError(f"The queue in {folder} was made against another test split than the one given; "
                         "evaluate it with the profile (and dataset cache) that made it.")
    todo = [i for i in ids if i not in read_done(folder)]
    log_path = folder / f"done_rank{rank}.jsonl"
    (folder / "claims").mkdir(exist_ok=True)
    with safe_open(str(folder / "videos.safetensors"), framework="pt") as f:

        def train_one(i: int) -> None:
            spec = doc["jobs"][i]
            k = spec["set"]
            soft = f.get_tensor(f"soft_{k}") if f"soft_{k}" in f.keys() else None
            ref = doc.get("files", {}).get(str(k))
            videos = _map_file(ref, folder) if ref else f.get_tensor(f"videos_{k}")
            train = VideoSet(videos, f.get_tensor(f"labels_{k}"), doc["class_names"], soft=soft)
            cfg = TrainConfig(**spec["cfg"])
            (r,) = evaluate_runs(train, test, cfg, [spec["seed"]], progress=False, device=device)
            row = result_row(doc["dataset"], spec["pool"], spec["method"], spec["vpc"], cfg.classifier, r)
            append_row(log_path, {"job": i, **row})

        held = []
        for i in bar(todo, desc=f"evaluate {len(todo)} queued sets", show=progress):
            claim = FileLock(str(folder / "claims" / f"job{i}.lock"))
            try:
                claim.acquire(timeout=0)
            except Timeout:                                  # another process is training it
                held.append(i)
                continue
            try:
                if i not in read_done(folder):              # not finished by another process in the meantime
                    train_one(i)
            finally:
                claim.release()
        for i in held:                                      # wait for the other process's row; train it if none came
            with FileLock(str(folder / "claims" / f"job{i}.lock")):
                if i not in read_done(folder):
                    train_one(i)


def append_row(log_path: Path, row: dict) -> None:
    """Append one JSON line to a queue's log under the queue's log lock (a line cut by a kill stays alone)."""
    with FileLock(str(log_path.parent / "done.lock")), open(log_path, "a+b") as out:
        if out.seek(0, 2):                                  # not empty: look at its last byte only
            out.seek(-1, 2)
            if out.read(1) != b"\n":
                out.write(b"\n")
        out.write((json.dumps(row) + "\n").encode())


def run_queue(folder: str | Path, test: VideoSet, accelerator=None, progress: bool = True,
              device: str | torch.device = "cpu") -> None:
    """Evaluate a queue folder; with a multi-process `accelerator`, each process takes its share."""
    specs = json.loads((Path(folder) / "jobs.json").read_text())["jobs"]
    if accelerator is not None and accelerator.num_processes > 1:
        with accelerator.split_between_processes(balanced_order(specs)) as mine:
            run_jobs(folder, test, list(mine), rank=accelerator.process_index, progress=progress, device=device)
        accelerator.wait_for_everyone()
    else:
        run_jobs(folder, test, sorted(balanced_order(specs)), progress=progress, device=device)


def queue_full(jobs: EvalJobs, train: VideoSet, cfg: TrainConfig, seeds, pool: str) -> list[int]:
    """Queue the whole set once per seed (Full real / Full syn): method `full`, VPC 0."""
    return [jobs.add(train, cfg, s, pool=pool, method="full", vpc=0) for s in seeds]


def queue_manifests(jobs: EvalJobs, pool_set: VideoSet, manifests: list[dict], cfg: TrainConfig, pool: str,
                    method: str | None = None) -> list[int]:
    """Queue one evaluation per saved selection of `pool_set`, seeded by the selection's seed; rows take the
    manifest's method (or `method`, e.g. a variant's name) and VPC. Each manifest is checked against the pool's labels
    first (`check_manifest`): a hand-edited or stale one is refused, never evaluated."""
    labels = pool_set.labels.tolist()                      # once, not per manifest (a paper pool has 40,000)
    for m in manifests:
        check_manifest(m, f"the {m.get('method')} selection (VPC {m.get('vpc')}, seed {m.get('seed')}) of pool {pool}",
                       labels)
    return [jobs.add(pool_set.subset(manifest_indices(m)), cfg, int(m["seed"]), pool=pool,
                     method=method or m["method"], vpc=int(m["vpc"])) for m in manifests]
