"""Notebook 08's study: the pilot sizes the runs, the family is Holm-adjusted, each verdict meets the other pool's."""
from __future__ import annotations

import pytest

from vddlib.evaluation import stats
from vddlib.experiments import resolution


def row(method, vpc, seed, top1, pool="synthetic"):
    return {"dataset": "d", "pool": pool, "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
            "top1": top1, "top5": 90.0, "auc": 80.0, "f1": top1, "storage_mb": 1.0, "train_s": 1.0}


NOISE = (0.0, 3.0, -2.0, 1.0, -2.0)          # sd of these: 2.12


def pilot():
    rows = []
    for s, e in enumerate(NOISE):
        rows += [row("random", 1, s, 20.0), row("random", 5, s, 40.0),
                 row("tac_dt", 1, s, 21.0 + e), row("tac_dt", 5, s, 39.0 + 2 * e),
                 row("herding", 1, s, 25.0), row("herding", 5, s, 42.0), row("kcenter", 1, s, 15.0)]
    return rows


def test_best_baseline_and_the_runs_the_pilot_asks_for():
    rows = pilot()
    assert resolution.best_baseline(rows, ("kcenter", "herding", "csta"), (1, 5)) == "herding"   # kcenter lacks VPC 5
    with pytest.raises(ValueError, match="notebook 04"):
        resolution.best_baseline(rows, ("csta",), (1, 5))
    runs, need = resolution.plan_runs(rows, ["tac_dt"], "random", (1, 5), half_width=2.0, max_runs=40)
    sd = stats.summary(NOISE).std                                        # VPC 1: sd 2.12; VPC 5: twice that
    assert [(m, v) for m, v, *_ in need] == [("tac_dt", 1), ("tac_dt", 5)]
    assert need[0][2] == pytest.approx(sd) and need[1][2] == pytest.approx(2 * sd)
    assert need[0][3] == stats.runs_needed(sd, 2.0) and runs == need[1][3] == stats.runs_needed(2 * sd, 2.0)
    assert resolution.plan_runs(rows, ["tac_dt"], "random", (1, 5), 2.0, max_runs=6)[0] == 6      # the cap
    # an arm 04's grid leaves out (evaluation.methods) has no pilot: it asks for the cap; no baseline runs: refused
    runs, need = resolution.plan_runs(rows, ["tac_dt", "csta"], "random", (1,), 2.0, 10)
    assert runs == 10 and need[1][0] == "csta" and need[1][3] == 10 and need[1][2] != need[1][2]     # nan
    with pytest.raises(ValueError, match="notebook 04"):
        resolution.plan_runs([r for r in rows if r["method"] != "random"], ["tac_dt"], "random", (1,), 2.0, 10)


def test_headline_is_one_holm_family_over_both_pools_with_the_other_verdict_beside():
    rows = pilot()
    second = [{**r, "pool": resolution.SECOND_POOL, "top1": r["top1"] + (3 if r["method"] == "herding" else 0)}
              for r in rows]
    res = resolution.headline({"synthetic": rows, resolution.SECOND_POOL: second}, ["tac_dt", "herding"], "random",
                              (1, 5))
    assert len(res) == 2 * 2 * 2
    ps = [c.p for *_, c in res]
    assert [c.p_holm for *_, c in res] == pytest.approx(stats.holm(ps), nan_ok=True)
    body = {(r[0], r[1], r[2]): r for r in resolution.headline_rows(res)}
    tac = body[("synthetic", 1, "tac_dt − random")]
    assert tac[3] == 5 and tac[9].startswith("cannot tell") and tac[10] == "cannot tell"
    # herding is +5 / +2 with no spread on the default pool: a constant difference, no t test; the other pool's
    # verdict is that of the same comparison there
    assert body[(resolution.SECOND_POOL, 5, "herding − random")][10] == body[("synthetic", 5, "herding − random")][9].split(" (")[0]
    lines = resolution.resolution_summary(res, 2.0, 5, 5, [("tac_dt", 5, 4.2, 19)])
    assert "goal ±2): not met" in lines[0] and "tac_dt VPC 5 (pilot sd 4.2: 19 runs)" in lines[1]


def test_missing_leaves_out_the_runs_that_already_have_rows():
    mans = [{"method": "random", "vpc": 1, "seed": s} for s in range(3)]
    rows = [row("random", 1, 0, 20.0), row("random", 1, 1, 20.0, pool=resolution.SECOND_POOL)]
    assert [m["seed"] for m in resolution.missing(mans, rows, "synthetic", ("random",))] == [1, 2]
    # a default-pool row of an arm 04's grid leaves out is an earlier run's: trained again
    assert [m["seed"] for m in resolution.missing(mans, rows, "synthetic", ("tac_dt",))] == [0, 1, 2]
    # the second pool's rows in the results file are never trusted: a key does not say which pool content made them
    # (a pool sampled on another CPU kept the first CPU's rows); the queue's own log skips what it trained
    assert [m["seed"] for m in resolution.missing(mans, rows, resolution.SECOND_POOL, ("random",))] == [0, 1, 2]
