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
                row("synthetic", "bad", 1, s, 10 + s), row("synthetic", "bad", 5, s, 44.5 + s + (-2, 3, -1)[s])]
    return out


def test_runs_of_filters_by_dataset_classifier_seeds_and_columns(tmp_path, rows):
    csv = tmp_path / "runs.csv"
    upsert_runs(csv, rows + [{**row("real", "full", 0, 0, 1.0), "dataset": "other"}])
    got = findings.runs_of(csv, "d", "c3d", [0, 1], method=("full", "random"))
    assert len(got) == 2 * 6 and all(r["seed"] in (0, 1) and r["method"] in ("full", "random") for r in got)
    assert len(findings.runs_of(csv, "d", "c3d", [0, 1, 2], pool="synthetic", method="good")) == 6


def test_against_random_and_verdicts(rows):
    s4 = findings.by_method_vpc([r for r in rows if r["pool"] == "synthetic" and r["method"] != "full"])
    comps = {c.a: c for c in findings.against_random(s4, ["random", "good", "bad"], [1, 5])}
    assert set(comps) == {"good VPC 1", "bad VPC 1", "good VPC 5", "bad VPC 5"}          # Random is the baseline
    # good VPC 1: differences 8, 7, 6 (mean 7, sd 1): t interval 7 ± 4.3027/√3, Holm over the 4 comparisons
    g = comps["good VPC 1"]
    assert (g.diff, g.low, g.high) == pytest.approx((7.0, 7 - 2.484138, 7 + 2.484138), abs=1e-5)
    assert g.p < g.p_holm <= 4 * g.p                                                   # adjusted over the family
    assert g.verdict == "better" and comps["bad VPC 1"].verdict == "worse"
    assert comps["good VPC 5"].verdict.startswith("cannot tell") and comps["bad VPC 5"].verdict.startswith("cannot tell")
    body = findings.comparison_rows(list(comps.values()))
    assert body[0][0] == "good VPC 1 − random VPC 1" and body[0][1] == 3 and body[0][2] == "+7.00 [+4.52, +9.48]"
    # a repeated selection is that method's test again: left out of the family
    assert "good VPC 1" not in {c.a for c in findings.against_random(s4, ["random", "good", "bad"], [1, 5],
                                                                      same_as={("good", 1): "bad"})}
    lines = findings.verdicts(s4, ["good", "bad"], [1, 5], [r for r in rows if r["pool"] == "real"])
    assert lines[0].startswith("good VPC 1: 31.0 against Random 24.0, +7.0 [+4.5, +9.5] (n=3") and lines[0].endswith(": better")
    assert lines[1].endswith("worse") and "cannot tell (detectable: " in lines[3]
    assert lines[-1].startswith("Random sets of real videos minus Random sets from the pool: VPC 1: 21.0 − 24.0 = -3.0")


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
    assert "with a better objective -0.50 (permutation p 1" in lines[0] and "confidence +1.00 (p 0.33)" in lines[0]
    assert "best objective: bad" in lines[0]
    # every pairing of 3 points: rho = +1 in 1 of 6 orders and -1 in 1 → two-sided p = 2/6
    assert findings.rank_correlation([1, 2, 3], [4, 5, 6]) == pytest.approx((1.0, 1 / 3))
    with pytest.raises(FileNotFoundError, match="03_select"):
        findings.read_quality(tmp_path / "absent.csv")


def test_identical_selections_name_the_earlier_method_once():
    from vddlib.data.selections import identical_selections

    def man(method, vpc, seed, idx):
        return {"method": method, "vpc": vpc, "seed": seed, "indices": {"0": idx[:1], "1": idx[1:]}}

    ms = [man("dm_mmd", 1, s, [3, 7]) for s in (0, 1)] + [man("herding", 1, s, [3, 7]) for s in (0, 1)]
    ms += [man("kcenter", 1, 0, [3, 7]), man("kcenter", 1, 1, [4, 7])]            # differs at seed 1
    ms += [man("herding", 5, 0, [3, 7]), man("dm_mmd", 5, 0, [1, 2])]
    assert identical_selections(ms) == {("herding", 1): "dm_mmd"}


def test_rank_correlation_p_is_the_exact_permutation_p():
    import itertools

    import numpy as np
    from scipy.stats import spearmanr

    x, y = [1, 3, 2, 5, 4, 7, 6], [2, 1, 4, 3, 7, 5, 6]
    rho, p = findings.rank_correlation(x, y)
    every = [spearmanr(perm, y)[0] for perm in itertools.permutations(x)]           # all 5,040 orders of x
    assert rho == pytest.approx(spearmanr(x, y)[0])
    assert p == pytest.approx(np.mean(np.abs(every) >= abs(rho) - 1e-12))
    # 8 methods (notebook 04's grid): every one of 8! orders, in bounded memory and time
    assert 0 < findings.rank_correlation([1, 3, 2, 5, 4, 7, 6, 8], [2, 1, 4, 3, 6, 5, 8, 7])[1] < 0.1
