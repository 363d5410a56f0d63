"""Table 7 and the scaling table are built from what the run recorded: manifests, eval_runs.csv, stage timings."""
from __future__ import annotations

import dataclasses
import json

from vddlib.evaluation.results import upsert_runs
from vddlib.experiments import cost
from vddlib.profile import load_profile


def test_table7_sums_select_and_evaluate_seconds_over_runs(tmp_path):
    prof = load_profile("default")
    prof = dataclasses.replace(prof, selection=dataclasses.replace(prof.selection, manifests=str(tmp_path / "sel"),
                                                                  methods=("random", "tac_dt")),
                               diffusion=dataclasses.replace(prof.diffusion, shipped=""))
    csv = tmp_path / "runs.csv"
    rows = [{"dataset": "digits-motion", "pool": "synthetic", "method": "tac_dt", "vpc": 5, "classifier": "c3d",
             "seed": s, "top1": 40.0, "top5": 80.0, "auc": 80.0, "f1": 40.0, "train_s": 2.0} for s in range(6)]
    upsert_runs(csv, rows)
    for s in range(5):
        p = tmp_path / "sel" / "digits-motion" / "pool" / "tac_dt" / f"vpc5_seed{s}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"seconds": 0.25}))
    ev = cost.evaluator_seconds(csv, "digits-motion", "c3d", runs=5)
    assert ev == {("synthetic", "tac_dt", 5): [2.0] * 5}                  # seed 5 is beyond the profile's runs
    table, by_method = cost.table7_rows(prof, {"stage-generate": 12.0, "notebook:02_generate": 30.0}, ev, "pool",
                                        ["notebooks/02_generate.ipynb"])
    assert by_method == [{"method": "tac_dt", "vpc": 5, "select_s": 1.25, "evaluate_s": 10.0, "runs": 5}]
    assert ["tac_dt (select + evaluate)", 5, "11", "select 1.2 s + evaluate 10.0 s over 5 runs"] in table
    assert ["generate pool", "-", "12", "100 videos per class, dpmsolver++ 10 steps"] in table
    assert ["notebook 02_generate (whole)", "-", "30", "papermill wall time"] in table


def test_scaling_series_slopes():
    rows = [{"method": "m", "axis": "n_c", "value": v, "seconds": 0.01 * v} for v in (100, 200, 400)]
    series, slopes = cost.scaling_series(rows, ["m"], "n_c")
    assert abs(slopes["m"] - 1.0) < 1e-9 and list(series) == ["m (slope 1.00)"]
