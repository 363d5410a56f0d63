"""The paper's protocol through the one runner: select → queue → train and test per seed → rows in the CSV."""
from __future__ import annotations

import pytest

from vddlib.data.digits_motion import DigitsMotionConfig, make_digits_motion
from vddlib.evaluation.jobs import EvalJobs
from vddlib.evaluation.results import read_runs, upsert_runs
from vddlib.evaluation.train import TrainConfig
from vddlib.selection import flat_indices, select

TINY = TrainConfig(model=dict(widths=(8, 8, 8, 8), convs_per_block=(1, 1, 1, 1), fc=16, norm="batch"),
                   min_steps=3, max_steps=3, batch_size=8)


@pytest.fixture(scope="module")
def data():
    return make_digits_motion(DigitsMotionConfig(train_per_class=3, test_per_class=2, seed=9))


def protocol(data, method: str, vpc: int, seeds, csv, work) -> list[dict]:
    """Seed s draws the selection and trains the evaluator (the paper's runs); vpc 0 is the whole set."""
    train, test = data["train"], data["test"]
    q = EvalJobs(test, "digits-motion")
    for s in seeds:
        subset = train if vpc == 0 else train.subset(flat_indices(
            select(method, train.labels, vpc, seed=s, num_classes=train.num_classes)))
        q.add(subset, TINY, s, pool="real", method=method, vpc=vpc)
    rows = q.run(1, work, progress=False)
    upsert_runs(csv, rows)
    return rows


def test_rows_written_and_rerun_replaces(tmp_path, data):
    csv = tmp_path / "eval_runs.csv"
    protocol(data, "random", 2, [0, 1], csv, tmp_path / "q")
    protocol(data, "full", 0, [0, 1], csv, tmp_path / "q")
    first = read_runs(csv)
    assert len(first) == 4
    protocol(data, "random", 2, [0, 1], csv, tmp_path / "q2")
    again = read_runs(csv)
    assert len(again) == 4
    key = lambda r: (r["method"], r["seed"])
    assert [(key(r), r["top1"]) for r in sorted(first, key=key)] == [(key(r), r["top1"]) for r in sorted(again, key=key)]
    assert all(r["classifier"] == "c3d" and r["train_s"] > 0 for r in again)


def test_vpc_larger_than_class(tmp_path, data):
    with pytest.raises(ValueError, match="exceeds the pool of class"):
        protocol(data, "random", 4, [0], tmp_path / "x.csv", tmp_path / "q")
