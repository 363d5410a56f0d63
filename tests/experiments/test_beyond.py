"""Notebook 07's studies: settings, queueing (controls, reuse of 04's rows) and the tables and verdicts they render."""
from __future__ import annotations

import pytest
import torch

from tests.fixtures import toy_videos
from vddlib.evaluation.jobs import EvalJobs
from vddlib.evaluation.train import TrainConfig
from vddlib.experiments import beyond
from vddlib.experiments.beyond import BeyondSettings


def r(method, vpc, top1, seed=0, clf="c3d", labels="hard", pool="synthetic", mb=1.0):
    return {"dataset": "d", "pool": pool, "method": method, "vpc": vpc, "classifier": clf, "labels": labels,
            "seed": seed, "top1": top1, "top5": 90.0, "auc": 80.0, "f1": 40.0, "storage_mb": mb, "train_s": 1.0}


def two_seeds(method, vpc, a, b, **kw):
    return [r(method, vpc, a, seed=0, **kw), r(method, vpc, b, seed=1, **kw)]


def test_settings_are_checked():
    with pytest.raises(ValueError, match="unknown selector"):
        BeyondSettings(methods=("random", "nope"))
    with pytest.raises(ValueError, match="must include 'random'"):
        BeyondSettings(cross_methods=("tac_dt", "herding"))
    with pytest.raises(ValueError, match="'hard' and/or 'soft'"):
        BeyondSettings(cross_labels=("hard", "fuzzy"))
    with pytest.raises(ValueError, match=r"beyond.studies: unknown \['cross'\]"):
        BeyondSettings(studies=("labels", "cross"))
    b = BeyondSettings()
    main = TrainConfig()
    assert b.evaluator(main, "c3d", "hard") == main                     # C3D hard: exactly the main protocol's
    soft = b.evaluator(main, "convnet3d", "soft")
    assert soft.classifier == "convnet3d" and soft.labels == "soft" and soft.temperature == b.temperature


def test_label_table_scores_each_method_by_its_gain_over_random_under_soft_labels(tmp_path):
    rows = (two_seeds("random", 5, 40, 42) + two_seeds("tac_dt", 5, 50, 52)           # hard: +10 over Random
            + two_seeds("random", 5, 55, 57, labels="soft") + two_seeds("tac_dt", 5, 55.5, 57.5, labels="soft"))
    md = beyond.label_table(rows, tmp_path / "t", ["random", "tac_dt"], [5])
    line = next(l for l in md.splitlines() if "| tac_dt |" in l)
    cells = [c.strip() for c in line.split("|")[1:-1]]
    assert cells[:7] == ["5", "tac_dt", "51.00±1.41 (n=2)", "56.50±1.41 (n=2)", "+5.50", "+10.00", "+0.50"]
    assert cells[7].startswith("cannot tell")                            # +0.5 on 2 seeds: no claim
    assert (tmp_path / "t.csv").is_file()


def test_goal_lines_report_the_best_method_against_randoms_std_and_the_soft_vpc10_ratio():
    rows = (two_seeds("random", 1, 20, 22) + two_seeds("tac_dt", 1, 25, 27.2) + two_seeds("herding", 1, 21, 23)
            + two_seeds("random", 1, 20, 30, labels="soft") + two_seeds("tac_dt", 1, 26, 28, labels="soft")
            + two_seeds("tac_dt", 10, 80, 82, labels="soft"))
    lines = beyond.goal_lines(rows, ["c3d", "convnet3d"], [1], ["random", "tac_dt", "herding"], 90.0, 10)
    # paired by seed: +5.0 and +5.2 → +5.1 [+3.8, +6.4] (t, df 1)
    assert "c3d, hard labels, VPC 1: the best, tac_dt" in lines[0] and "+5.10 [+3.83, +6.37] (n=2): better" in lines[0]
    assert "(n=2): cannot tell" in lines[1]                              # soft: +6 and -2
    assert lines[2] == "convnet3d, hard labels, VPC 1: not measured"
    assert "= 90 % of Full real" in lines[-1] and "met" in lines[-1] and "not met" not in lines[-1]


def test_cross_table_and_ranking_agreement_flag_a_reversed_order(tmp_path):
    rows = (two_seeds("random", 5, 40, 40) + two_seeds("tac_dt", 5, 45, 45) + two_seeds("herding", 5, 42, 42)
            + two_seeds("random", 5, 30, 30, clf="convnet3d") + two_seeds("tac_dt", 5, 25, 25, clf="convnet3d")
            + two_seeds("herding", 5, 20, 20, clf="convnet3d"))
    md = beyond.cross_table(rows, tmp_path / "x", ["c3d", "convnet3d"], ["random", "tac_dt", "herding"], [5],
                            labels=("hard",))
    assert "tac_dt > herding > random | yes" in md and "random > tac_dt > herding | no" in md
    (line,) = beyond.ranking_agreement(rows, ["c3d", "convnet3d"], ["random", "tac_dt", "herding"], [5], ("hard",))
    assert "tau with C3D (hard) = -0.33" in line


def test_motion_table_measures_what_a_control_keeps_above_chance(tmp_path):
    rows = (two_seeds("full", 0, 90, 90, pool="real") + two_seeds("full", 0, 10, 10, pool="real/shuffled")
            + two_seeds("full", 0, 50, 50, pool="real/still"))
    md = beyond.motion_table(rows, tmp_path / "m", [("real", "full", 0)], "c3d", chance=10.0)
    assert "| Full real | real | all | 90.00±0.00 (n=2) | 10.00±0.00 (n=2) | 50.00±0.00 (n=2) | 0.00 | 0.50 |" in md


def test_storage_points_put_latents_at_their_own_megabytes():
    rows = two_seeds("tac_dt", 1, 30, 32, mb=0.25) + two_seeds("tac_dt", 5, 50, 52, mb=1.25)
    pts = beyond.storage_points(rows, classes=10, latent_mb_per_video=0.004, decoder_mb=1.0)
    assert pts["tac_dt"][0] == [0.25, 1.25] and pts["tac_dt"][1] == [31.0, 51.0]
    assert pts["tac_dt (latents)"][0] == pytest.approx([1.04, 1.2])      # 10 or 50 videos × 4 kB + the decoder
    assert beyond.storage_points(rows, classes=10, labels="soft") == {}


def test_controls_keep_the_frames_and_labels_and_lose_the_motion(tmp_path):
    pool, test = toy_videos(4), toy_videos(2, seed=3)
    manifests = [{"method": "random", "vpc": 2, "seed": 1, "indices": {"0": [0, 1], "1": [4, 5], "2": [8, 9]}}]
    cfg = TrainConfig(model={"widths": [4, 4, 4, 4], "convs_per_block": [1, 1, 1, 1], "fc": 8, "norm": "batch"},
                      min_steps=1, max_steps=1)
    q = EvalJobs(test, "toy")
    beyond.queue_controls(q, pool, manifests, cfg, "synthetic")
    assert [(s["pool"], s["method"], s["vpc"], s["seed"]) for s in q.specs] == [
        ("synthetic/shuffled", "random", 2, 1), ("synthetic/still", "random", 2, 1)]
    shuffled, still = q.sets
    original = pool.subset([0, 1, 4, 5, 8, 9])
    assert torch.equal(shuffled.labels, original.labels)
    for a, b in zip(shuffled.videos, original.videos):                 # the same frames, in another order
        assert not torch.equal(a, b)
        assert sorted(f.sum().item() for f in a) == sorted(f.sum().item() for f in b)
    assert all(torch.equal(v[0], v[t]) for v in still.videos for t in range(v.shape[0]))
    beyond.queue_full_controls(q, pool, cfg, [0, 1], "real")
    assert [s["pool"] for s in q.specs[2:]] == ["real/shuffled"] * 2 + ["real/still"] * 2
    assert (q.write(tmp_path) / "jobs.json").is_file()               # the sets share their labels' memory


def test_without_rows_reuses_what_notebook_04_already_measured():
    rows = [r("tac_dt", 5, 50, seed=0), r("tac_dt", 5, 50, seed=1, labels="soft")]
    mans = [{"method": "tac_dt", "vpc": 5, "seed": s} for s in (0, 1)]
    assert beyond.without_rows(rows, mans, "synthetic", "c3d", "hard") == [mans[1]]
    assert beyond.without_rows(rows, mans, "synthetic", "c3d", "soft") == [mans[0]]
    assert beyond.without_rows(rows, mans, "synthetic", "convnet3d", "hard") == mans


def test_memorisation_table_flags_a_copying_selector(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    train, test, pool = rng.normal(size=(100, 8)), rng.normal(size=(100, 8)), rng.normal(size=(50, 8))
    pool[:5] = train[:5] + 0.01 * rng.normal(size=(5, 8))
    mans = [{"method": "copier", "vpc": 5, "seed": 0, "indices": {"0": [0, 1, 2, 3, 4]}},
            {"method": "random", "vpc": 5, "seed": 0, "indices": {"0": [20, 21, 22, 23, 24]}}]
    audit = beyond.memorisation_rows(pool, train, test, mans, 0.05)
    rows = {a["set"]: a for a in audit}
    assert rows["copier VPC 5"]["train_test_ratio"] < 0.1 < 0.5 < rows["random VPC 5"]["train_test_ratio"]
    md = beyond.memorisation_table(audit, tmp_path / "mem", "toy space")
    assert "| copier VPC 5 | 5 |" in md and "| 100.0 |" in md


def test_selections_are_those_of_the_studies_run():
    """Notebook 07 makes and evaluates the selections of the studies a profile lists, no others."""
    kw = dict(methods=("random", "tac_dt"), soft_vpcs=(5,), large_vpcs=(50,), cross_methods=("random", "herding"),
              cross_vpcs=(1,), control_methods=("kcenter",), control_vpc=10)
    assert BeyondSettings(studies=("labels",), **kw).selections() == (["random", "tac_dt"], [5])
    assert BeyondSettings(studies=("large",), **kw).selections() == (["random", "tac_dt"], [50])
    assert BeyondSettings(studies=("evaluators", "motion"), **kw).selections() == (["herding", "kcenter", "random"], [1, 10])
    assert BeyondSettings(studies=(), **kw).selections() == ([], [])
