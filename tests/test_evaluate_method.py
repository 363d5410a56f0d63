"""evaluate_method: selection → training → test, rows in the results CSV."""
from __future__ import annotations

import pytest

from vddlib.data.digits_motion import DigitsMotionConfig, make_digits_motion
from vddlib.evaluate import TrainConfig, evaluate_method
from vddlib.results import read_runs

TINY = TrainConfig(model=dict(widths=(8, 8, 8, 8), convs_per_block=(1, 1, 1, 1), fc=16, norm="batch"),
                   min_steps=3, max_steps=3, batch_size=8)


@pytest.fixture(scope="module")
def data():
    return make_digits_motion(DigitsMotionConfig(train_per_class=3, test_per_class=2, seed=9))


def test_rows_written_and_rerun_replaces(tmp_path, data):
    csv = tmp_path / "eval_runs.csv"
    kw = dict(dataset="digits-motion", pool="real", seeds=[0, 1], results_csv=csv, progress=False)
    evaluate_method(data["train"], data["test"], TINY, method="random", vpc=2, **kw)
    evaluate_method(data["train"], data["test"], TINY, method="full", vpc=0, **kw)
    first = read_runs(csv)
    assert len(first) == 4
    evaluate_method(data["train"], data["test"], TINY, method="random", vpc=2, **kw)
    again = read_runs(csv)
    assert len(again) == 4
    key = lambda r: (r["method"], r["seed"])
    assert [(key(r), r["top1"]) for r in sorted(first, key=key)] == [(key(r), r["top1"]) for r in sorted(again, key=key)]
    assert all(r["classifier"] == "c3d" and r["train_s"] > 0 for r in again)


def test_vpc_larger_than_class(data):
    with pytest.raises(ValueError, match="exceeds the pool of class"):
        evaluate_method(data["train"], data["test"], TINY, dataset="d", pool="real", method="random", vpc=4,
                        seeds=[0], progress=False)
