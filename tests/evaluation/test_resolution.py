"""The protocol's resolution on real evaluator runs: it calls no difference between two Random arms, and it finds
a planted bad selector with the default run count.

Both use digits-motion's real train split as the pool (no generation needed) and the default profile's evaluator
and run count; the planted selector picks, per class, the videos the shipped Full-real recogniser is least sure of.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vddlib.data.datasets import load_dataset
from vddlib.evaluation import stats
from vddlib.evaluation.fidelity import recogniser
from vddlib.evaluation.train import evaluate_runs, predict_proba
from vddlib.profile import load_profile
from vddlib.selection import select
from vddlib.selection.registry import flat_indices


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    prof = load_profile("default")
    splits = load_dataset(prof.dataset)
    return prof, splits["train"], splits["test"]


def _top1(train, test, cfg, picks_and_seeds) -> dict[int, float]:
    """{run: top-1} for each (run, selected indices, seed)."""
    return {run: evaluate_runs(train.subset(idx), test, cfg, [seed], progress=False)[0]["top1"]
            for run, idx, seed in picks_and_seeds}


def _random(train, vpc, seed):
    return flat_indices(select("random", train.labels, vpc, seed=seed, num_classes=train.num_classes))


def test_two_random_arms_with_independent_seeds_cannot_tell(setting):
    prof, train, test = setting
    runs = range(prof.evaluation.runs)
    a = _top1(train, test, prof.evaluation.train, [(r, _random(train, 1, r), r) for r in runs])
    b = _top1(train, test, prof.evaluation.train, [(r, _random(train, 1, 1000 + r), 1000 + r) for r in runs])
    c = stats.paired(a, b, names=("random", "random (other seeds)"))
    assert c.n == prof.evaluation.runs
    assert c.verdict.startswith("cannot tell"), c.sentence()


def test_a_planted_bad_selector_is_detected_as_worse_than_random(setting, tmp_path):
    prof, train, test = setting
    cfg, vpc, runs = prof.evaluation.train, 5, range(prof.evaluation.runs)
    rec = recogniser(train, cfg, tmp_path / "recogniser.safetensors",
                     shipped="checkpoints/digits-motion/recogniser.safetensors")
    p = predict_proba(rec, train.videos)
    sure = p[torch.arange(len(train)), train.labels].numpy()
    labels = train.labels.numpy()
    least_sure = [int(i) for c in range(train.num_classes)
                  for i in np.flatnonzero(labels == c)[np.argsort(sure[labels == c], kind="stable")[:vpc]]]
    planted = _top1(train, test, cfg, [(r, least_sure, r) for r in runs])
    rnd = _top1(train, test, cfg, [(r, _random(train, vpc, r), r) for r in runs])
    c = stats.paired(planted, rnd, names=("least sure", "random"))
    assert c.verdict == "worse", c.sentence()
