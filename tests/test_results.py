"""results/eval_runs.csv: columns, upsert without duplicates, tables rendered from it."""
from __future__ import annotations

import csv

import pytest

from vddlib.results import COLUMNS, read_runs, summarize_runs, upsert_runs, write_summary_table


def row(method="random", vpc=1, seed=0, top1=50.0, **kw):
    return {"dataset": "d", "pool": "real", "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
            "top1": top1, "top5": 90.0, "auc": 80.0, "f1": 45.0, "train_s": 1.5, **kw}


def test_upsert_replaces_rows_with_the_same_key(tmp_path):
    p = tmp_path / "r.csv"
    upsert_runs(p, [row(seed=0), row(seed=1)])
    upsert_runs(p, [row(seed=1, top1=70.0), row(vpc=5)])
    rows = read_runs(p)
    assert len(rows) == 3
    assert {(r["vpc"], r["seed"]): r["top1"] for r in rows} == {(1, 0): 50.0, (1, 1): 70.0, (5, 0): 50.0}
    with open(p) as f:
        assert next(csv.reader(f)) == COLUMNS
    assert not list(tmp_path.glob("*.tmp"))


def test_incomplete_row_and_foreign_csv_are_errors(tmp_path):
    r = row()
    del r["f1"]
    with pytest.raises(ValueError, match="f1"):
        upsert_runs(tmp_path / "r.csv", [r])
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        read_runs(tmp_path / "x.csv")


def test_summary_mean_and_std(tmp_path):
    rows = [row(seed=s, top1=t) for s, t in enumerate([40.0, 50.0, 60.0])]
    (s,) = summarize_runs(rows)
    assert s["runs"] == 3 and s["top1"] == pytest.approx(50.0) and s["top1_std"] == pytest.approx(8.164966, 1e-5)
    md = write_summary_table(rows + [row(method="full", vpc=0)], tmp_path / "t",
                             reference={("full", 0, "real"): {"top1": (60.14, 0.95)}})
    lines = md.splitlines()
    assert "| real | full | all | c3d |" in lines[2] and "60.14±0.95" in lines[2]     # full first
    assert "50.00±8.16" in lines[3]
    assert (tmp_path / "t.csv").read_text().count("\n") == 3
