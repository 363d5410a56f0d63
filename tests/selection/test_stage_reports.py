"""What notebook 03 reports about the selections, before any evaluator: timings, checks, per-video measures."""
from __future__ import annotations

import numpy as np
import torch

from vddlib.selection import select
from vddlib.selection.objective import class_space, greedy_objective, greedy_selection, set_objective
from vddlib.evaluation.findings import objective_findings
from vddlib.selection.stage import (class_picks, per_video_measures, quality_rows,
                                    selection_checks, timing_rows)


def manifests(labels, methods=("random", "kcenter"), vpcs=(1, 2), seeds=(0, 1)):
    emb = np.random.default_rng(0).normal(size=(len(labels), 4))
    return [{"method": m, "vpc": v, "seed": s, "seconds": 0.5,
             "indices": select(m, labels, v, seed=s, embeddings=emb)} for m in methods for v in vpcs for s in seeds]


def test_timing_rows_and_checks():
    labels = np.repeat(np.arange(3), 8)
    mans = manifests(labels)
    assert timing_rows(mans, ["random", "kcenter"], 3)[0] == ["random", 4, "2.00", "0.500", "0.1667"]
    checks = selection_checks(mans, labels, ["random", "kcenter"], [1, 2], [0, 1], 3)
    assert all(checks.values()), checks
    mans[0]["indices"][0] = [mans[0]["indices"][1][0]]             # a video of class 1 picked for class 0
    assert not selection_checks(mans, labels, ["random", "kcenter"], [1, 2], [0, 1], 3)[
        "every selection: VPC distinct videos of its own class, for every class"]


def test_class_picks_are_positions_within_the_class():
    labels = np.repeat(np.arange(3), 8)
    mans = manifests(labels)
    picks = class_picks(mans, labels, 2, 2, 0)
    chosen = next(m for m in mans if m["method"] == "random" and m["vpc"] == 2 and m["seed"] == 0)["indices"][2]
    assert picks["random"] == [i - 16 for i in chosen]


def test_per_video_measures():
    labels = torch.tensor([0, 0, 0, 1, 1])
    proba = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
    latents = torch.tensor([1.0, 3.0, 2.0, 5.0, 4.0]).view(5, 1, 1, 1, 1)
    m = per_video_measures(proba, labels, latents)
    assert m["recognised"].tolist() == [True, False, True, True, False]
    assert np.allclose(m["confidence"], [0.9, 0.2, 0.6, 0.7, 0.5])
    assert m["norm_pct"].tolist() == [0.0, 1.0, 0.5, 1.0, 0.0]


def test_greedy_objective_is_the_greedy_selection_and_beats_random_sets():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 2, 2, 2, 2, generator=g)
    labels = np.repeat(np.arange(2), 15)
    val = greedy_objective(x, labels, 3, 0.1, 1.0)
    per = []
    for c in range(2):
        sp = class_space(x[torch.from_numpy(np.flatnonzero(labels == c))])
        per.append(float(set_objective(sp, torch.tensor([greedy_selection(sp, 3, 0.1, 1.0)]), 0.1, 1.0)[0]))
        rand = set_objective(sp, torch.stack([torch.randperm(15, generator=g)[:3] for _ in range(50)]), 0.1, 1.0)
        assert per[-1] <= float(rand.min())
    assert abs(val - np.mean(per)) < 1e-6


def test_quality_rows_and_findings():
    by_seed = {"random": {0: 0.49, 1: 0.51, 2: 0.50}, "vst_unet": {0: 0.30, 1: 0.31, 2: 0.29},
               "tac_dt": {0: 0.40, 1: 0.60, 2: 0.52}}                   # tac_dt: lower on average, not by seed
    quality = [{"method": m, "vpc": 1, "seeds": 3, "objective": sum(o.values()) / 3, "objective_std": 0.01,
                "objective_by_seed": o, "recognised": 0.8, "confidence": 0.7, "norm_pct": 0.5, "diversity": 0.3,
                "coverage_dist": 0.6} for m, o in by_seed.items()]
    assert [r[0] for r in quality_rows(quality)] == ["vst_unet", "random", "tac_dt"]      # by objective
    lines = objective_findings(quality, {1: 0.25}, ["random", "vst_unet", "tac_dt"], [1])
    assert lines[0].endswith("(paired by seed, 95 % interval below 0, Holm over the methods): vst_unet")
    assert "80 % of the gap from Random to greedy" in lines[1]
