"""What notebook 04 concludes is computed from the results rows (so a rerun never leaves a finding stale)."""
from __future__ import annotations

import pytest

from vddlib.evaluation import findings
from vddlib.evaluation.results import upsert_runs


def row(pool, method, vpc, seed, top1):
    return {"dataset": "d", "pool": pool, "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
            "top1": top1, "top5": 90.0, "auc": 80.0, "f1": top1, "train_s": 1.0}


@pytest.fixture
def rows():
    out = []
    for s in range(3):
        out += [row("real", "full", 0, s, 86 + s), row("synthetic", "full", 0, s, 72 + s),
                row("real", "random", 1, s, 20 + s), row("real", "random", 5, s, 50 + s),
                row("synthetic", "random", 1, s, 22 + 2 * s), row("synthetic", "random", 5, s, 44 + s),
                row("synthetic", "good", 1, s, 30 + s), row("synthetic", "good", 5, s, 44 + s),
                row("synthetic", "bad", 1, s, 10 + s), row("synthetic", "bad", 5, s, 44.5 + s)]
    return out


def test_runs_of_filters_by_dataset_classifier_seeds_and_columns(tmp_path, rows):
    csv = tmp_path / "runs.csv"
    upsert_runs(csv, rows + [{**row("real", "full", 0, 0, 1.0), "dataset": "other"}])
    got = findings.runs_of(csv, "d", "c3d", [0, 1], method=("full", "random"))
    assert len(got) == 2 * 6 and all(r["seed"] in (0, 1) and r["method"] in ("full", "random") for r in got)
    assert len(findings.runs_of(csv, "d", "c3d", [0, 1, 2], pool="synthetic", method="good")) == 6


def test_against_random_and_verdicts(rows):
    s4 = findings.by_method_vpc([r for r in rows if r["pool"] == "synthetic" and r["method"] != "full"])
    body = {(b[0], b[1]): b for b in findings.against_random(s4, ["random", "good", "bad"], [1, 5])}
    assert body[(1, "good")][4] == "yes" and body[(1, "bad")][4] == "no" and body[(5, "good")][4] == "no"
    assert ("random", 1) not in {(b[1], b[0]) for b in body.values()}
    lines = findings.verdicts(s4, ["good", "bad"], [1, 5], [r for r in rows if r["pool"] == "real"])
    assert lines[0].startswith("good VPC 1: 31.0 against Random 24.0") and "above by more than one std" in lines[0]
    assert "below by more than one std" in lines[2] and "level within one std" in lines[3]
    assert lines[-1] == "Random sets of real videos VPC 1: 21.0, VPC 5: 51.0; Random sets from the pool VPC 1: 24.0, VPC 5: 45.0"


def test_full_ratio_and_calibration(rows):
    assert findings.full_ratio(rows).startswith("Full syn / Full real = 73.0 / 87.0 = 0.84")
    assert "not both measured" in findings.full_ratio([r for r in rows if r["pool"] == "real"])
    grid = [r for r in rows if r["pool"] == "synthetic" and r["method"] != "full"]
    checks = findings.calibration_checks(rows, grid, [0, 1, 2], [1, 5], ["random", "good", "bad"], 10, embedded=True)
    assert all(checks.values()), checks
    checks = findings.calibration_checks(rows, grid[:-1], [0, 1, 2], [1, 5], ["random", "good", "bad"], 10, embedded=True)
    assert not checks["selection grid complete (methods × VPCs × seeds)"]


def test_objective_and_accuracy_ranks(tmp_path):
    q = tmp_path / "q.csv"
    q.write_text("method,VPC,objective,confidence\nrandom,1,0.5,0.6\ngood,1,0.4,0.9\nbad,1,0.3,0.1\n")
    quality = findings.read_quality(q)
    s4 = {("random", 1): {"top1": 20.0, "top1_std": 1.0}, ("good", 1): {"top1": 30.0, "top1_std": 1.0},
          ("bad", 1): {"top1": 10.0, "top1_std": 1.0}}
    points, lines = findings.objective_and_accuracy(quality, s4, ["random", "good", "bad"], [1])
    assert points["VPC 1"][0] == ("random", 0.5, 20.0, 0.0, 1.0)          # (method, objective, top-1, their stds)
    assert "with a better objective -0.50" in lines[0] and "confidence +1.00" in lines[0] and "best objective: bad" in lines[0]
    with pytest.raises(FileNotFoundError, match="03_select"):
        findings.read_quality(tmp_path / "absent.csv")
