"""Cost accounting (notebook 06): stage times from papermill metadata, FLOP counts, peak memory, scaling fits."""
from __future__ import annotations

import json

import numpy as np
import torch

from vddlib.profile import load_profile
from vddlib.experiments.cost import count_flops, loglog_slope, peak_memory, selection_scaling, stage_flops, stage_seconds


def test_stage_seconds_sum_tagged_cells_from_papermill_metadata(tmp_path):
    nb = {"metadata": {"papermill": {"duration": 12.5}}, "cells": [
        {"cell_type": "code", "metadata": {"tags": ["stage-select"], "papermill": {"duration": 3.0}}},
        {"cell_type": "code", "metadata": {"tags": ["stage-select", "other"], "papermill": {"duration": 4.0}}},
        {"cell_type": "code", "metadata": {"papermill": {"duration": 5.0}}},
        {"cell_type": "markdown", "metadata": {}}]}
    p = tmp_path / "03_select.ipynb"
    p.write_text(json.dumps(nb))
    assert stage_seconds([p, tmp_path / "absent.ipynb"]) == {"notebook:03_select": 12.5, "stage-select": 7.0}


def test_flops_of_a_linear_layer_are_two_per_multiply_add():
    lin = torch.nn.Linear(8, 4, bias=False)
    x = torch.randn(3, 8, requires_grad=True)
    assert count_flops(lambda: lin(x)) == 2 * 3 * 8 * 4
    assert count_flops(lambda: lin(x).sum().backward()) == 3 * (2 * 3 * 8 * 4)   # forward + grad input + grad weight


def test_stage_flops_scale_with_the_work_done():
    prof = load_profile("default")
    a = {s.stage: s for s in stage_flops(prof, 100, 1000, 1000, {1: 5, 5: 5}, 2)}
    b = {s.stage: s for s in stage_flops(prof, 200, 1000, 1000, {1: 10, 5: 5}, 2)}
    assert b["diffusion fine-tune (Latte)"].total == 2 * a["diffusion fine-tune (Latte)"].total
    assert b["evaluate (VPC 1)"].total == 2 * a["evaluate (VPC 1)"].total
    # a VPC-5 run trains on batches of 32, a VPC-1 run on one batch of 10, both for min_steps
    assert a["evaluate (VPC 5)"].unit_flops > 2 * a["evaluate (VPC 1)"].unit_flops
    assert all(s.total > 0 for s in a.values())


def test_latte_step_flops_are_linear_in_the_batch():
    """stage_flops counts Latte at batch 8 and scales to the profile's batch: that must be exact."""
    from vddlib.diffusion.train import diffusion_loss, make_scheduler
    from vddlib.models.latte import LATTE_SIZES, LatteClassConditional

    m = LatteClassConditional(sample_size=8, num_frames=4, in_channels=4, num_classes=3, learn_sigma=False,
                              **LATTE_SIZES["tiny"])
    sch = make_scheduler()

    def step(b):
        z, y = torch.randn(b, 4, 4, 8, 8), torch.randint(0, 3, (b,))
        return count_flops(lambda: diffusion_loss(m, sch, z, y, torch.Generator().manual_seed(0)).backward())
    assert step(8) == 4 * step(2) > 0


def test_loglog_slope_recovers_the_power():
    x = np.array([10, 20, 40, 80])
    assert abs(loglog_slope(x, 3e-3 * x ** 2) - 2.0) < 1e-9
    assert abs(loglog_slope(x, np.full(4, 1e-6))) < 1e-9          # below the timer floor: flat


def test_selection_scaling_rows_cover_both_axes():
    rows = selection_scaling(load_profile("default"), n_cs=(10, 20), classes=(2, 3), base_classes=2, base_nc=10,
                             methods=["random", "tac_dt"], progress=False)
    assert len(rows) == 2 * 4
    assert {(r["axis"], r["value"]) for r in rows} == {("n_c", 10), ("n_c", 20), ("classes", 2), ("classes", 3)}
    assert all(r["seconds"] >= 0 for r in rows)


def test_selection_scaling_times_the_shared_point_once():
    rows = selection_scaling(load_profile("default"), n_cs=(10, 20), classes=(2, 3), base_classes=2, base_nc=10,
                             methods=["random", "tac_dt"], progress=False)
    at = {(r["method"], r["axis"], r["value"]): r for r in rows}
    for m in ("random", "tac_dt"):         # n_c = 10 at 2 classes is classes = 2 at N_c = 10: one timing
        assert at[(m, "n_c", 10)]["seconds"] == at[(m, "classes", 2)]["seconds"]
        assert at[(m, "n_c", 20)]["n_c"] == 20 and at[(m, "classes", 3)]["classes"] == 3


def test_peak_memory_of_a_unit_is_measured_in_a_fresh_process():
    mem = peak_memory("default", units=("evaluator", "vst_network"), workers=2)    # two fresh processes at once
    assert set(mem) == {"evaluator", "vst_network"}
    for m in mem.values():
        assert 50 < m["base"] <= m["peak"] < 8000
