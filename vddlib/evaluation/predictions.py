"""Per-video predictions of every evaluator run, beside `eval_runs.csv`, keyed by its row.

An accuracy is a mean over the test videos; its interval should carry the test split's sampling error as well as
the seeds', and a reader should be able to see which videos a set fails on. So each run's predicted class per
test video is kept in `<results csv stem>_preds.safetensors` (uint8 while there are under 256 classes: 1 kB a run
on digits-motion's 1,000 test videos), one tensor per row under the row's key, and each dataset's test labels once
(`truth|<dataset>`). Rows of the CSV without predictions (written before they were kept) simply have none.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from ..files import save_tensors

TRUTH = "truth|"


def preds_path(csv_path: str | Path) -> Path:
    """`results/eval_runs.csv` → `results/eval_runs_preds.safetensors`."""
    p = Path(csv_path)
    return p.with_name(p.stem + "_preds.safetensors")


def row_key(row: dict, key_columns) -> str:
    return "|".join(str(row[k]) for k in key_columns)


def _small(values) -> torch.Tensor:
    a = np.asarray(values)
    return torch.from_numpy(a.astype(np.uint8 if a.max(initial=0) < 256 and a.min(initial=0) >= 0 else np.int16))


def read_predictions(csv_path: str | Path) -> dict[str, np.ndarray]:
    """{row key or 'truth|<dataset>': int array}; empty when none are stored."""
    p = preds_path(csv_path)
    if not p.is_file():
        return {}
    return {k: v.numpy().astype(np.int64) for k, v in load_file(str(p)).items()}


def write_predictions(csv_path: str | Path, rows: list[dict], key_columns, keep: set[str]) -> None:
    """Store the `pred` (and `truth`) of the given rows; entries whose row is not in `keep` (the CSV's keys after
    this write) are dropped, so a replaced row never leaves stale predictions."""
    new = {row_key(r, key_columns): r["pred"] for r in rows if r.get("pred") is not None}
    truths = {f"{TRUTH}{r['dataset']}": r["truth"] for r in rows if r.get("truth") is not None}
    old = read_predictions(csv_path)
    stale = [k for k in old if not k.startswith(TRUTH) and k not in keep]
    if not new and not truths and not stale:
        return
    for k, t in truths.items():
        if k in old and (len(old[k]) != len(t) or np.any(old[k] != np.asarray(t))):
            # another test split under the same dataset name: the old predictions no longer index it
            ds = k[len(TRUTH):]
            old = {o: v for o, v in old.items() if o == k or not o.startswith(f"{ds}|")}
    tensors = {k: _small(v) for k, v in old.items() if k.startswith(TRUTH) or k in keep}
    tensors.update({k: _small(v) for k, v in truths.items()})
    tensors.update({k: _small(v) for k, v in new.items() if k in keep})
    save_tensors(preds_path(csv_path), tensors)


def correct_by_seed(preds: dict[str, np.ndarray], key_columns, **row) -> dict[int, np.ndarray]:
    """{seed: bool per test video} of the runs matching `row` (every key column but `seed`), where stored."""
    truth = preds.get(f"{TRUTH}{row['dataset']}")
    if truth is None:
        return {}
    prefix = "|".join(str(row[k]) for k in key_columns if k != "seed")
    out = {}
    for k, v in preds.items():
        head, _, seed = k.rpartition("|")
        if head == prefix and len(v) == len(truth):
            out[int(seed)] = v == truth
    return out
