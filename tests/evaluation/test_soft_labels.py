"""Soft labels: a teacher's logits carried by a set, fitted instead of the class labels, stored and queued."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from tests.fixtures import toy_videos
from vddlib.data.videoset import VideoSet
from vddlib.evaluation import soft_labels
from vddlib.evaluation.jobs import EvalJobs
from vddlib.evaluation.train import TrainConfig, predict_proba, soft_label_loss, train_evaluator

CFG = TrainConfig(model={"widths": [4, 8, 8, 8], "convs_per_block": [1, 1, 1, 1], "fc": 16, "norm": "batch"},
                  min_steps=80, max_steps=80, batch_size=12, shift=0)


def _acc(model, test: VideoSet) -> float:
    return float((predict_proba(model, test.videos).argmax(1) == test.labels).float().mean())


def test_soft_labels_teach_the_teachers_classes_where_the_hard_labels_are_wrong():
    train, test = toy_videos(12, seed=0), toy_videos(6, seed=1)
    wrong = (train.labels + 1) % 3                                   # every hard label names the wrong class
    teacher = 6.0 * torch.nn.functional.one_hot(train.labels, 3).float()   # a teacher that knows the classes
    corrupted = VideoSet(train.videos, wrong, train.class_names, soft=teacher)
    clean = train_evaluator(train, CFG, seed=0)                      # the true labels: what the task allows
    hard = train_evaluator(corrupted, CFG, seed=0)
    soft = train_evaluator(corrupted, dataclasses.replace(CFG, labels="soft"), seed=0)
    assert _acc(clean, test) > 0.8
    assert _acc(hard, test) < 0.4                                    # it learns the wrong names
    assert _acc(soft, test) >= _acc(clean, test) - 0.1               # the teacher's logits teach the true ones


def test_soft_label_loss_is_zero_at_the_teacher_and_positive_elsewhere():
    t = torch.randn(5, 4)
    assert float(soft_label_loss(t.clone(), t, 1.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(soft_label_loss(torch.zeros(5, 4), t, 2.0)) > 0


def test_a_set_carries_its_soft_labels_through_subset_save_and_load(tmp_path):
    vs = toy_videos(2)
    logits = torch.randn(len(vs), 3)
    s = soft_labels.with_soft_labels(vs, logits)
    sub = s.subset([4, 0])
    assert torch.equal(sub.soft, logits[[4, 0]])
    s.save(tmp_path / "s.safetensors")
    assert torch.equal(VideoSet.load(tmp_path / "s.safetensors").soft, logits)
    with pytest.raises(ValueError, match="do not fit"):
        soft_labels.with_soft_labels(vs, logits[:3])
    with pytest.raises(ValueError, match="soft must be teacher logits"):
        VideoSet(vs.videos, vs.labels, vs.class_names, soft=torch.zeros(len(vs), 2))


def test_soft_training_without_soft_labels_is_refused():
    vs = toy_videos(2)
    with pytest.raises(ValueError, match="no teacher logits"):
        train_evaluator(vs, dataclasses.replace(CFG, labels="soft"), 0)
    q = EvalJobs(toy_videos(1, seed=5), "toy")
    with pytest.raises(ValueError, match="without teacher logits"):
        q.add(vs, dataclasses.replace(CFG, labels="soft"), 0, pool="synthetic", method="random", vpc=2)
    with pytest.raises(ValueError, match="labels must be"):
        TrainConfig(labels="fuzzy")


def test_queued_soft_and_hard_runs_are_rows_of_their_own_with_their_storage(tmp_path):
    train, test = toy_videos(4), toy_videos(2, seed=3)
    s = soft_labels.with_soft_labels(train, 5.0 * torch.nn.functional.one_hot(train.labels, 3).float())
    cfg = dataclasses.replace(CFG, min_steps=2, max_steps=2)
    q = EvalJobs(test, "toy")
    for lab in ("hard", "soft"):
        q.add(s, dataclasses.replace(cfg, labels=lab), 0, pool="synthetic", method="random", vpc=4)
    hard, soft = q.run(1, tmp_path, progress=False)
    assert (hard["labels"], soft["labels"]) == ("hard", "soft")
    pixels = train.videos.numel() / 1e6
    assert hard["storage_mb"] == pytest.approx(pixels)
    assert soft["storage_mb"] == pytest.approx(pixels + len(train) * 3 * 2 / 1e6)   # + one fp16 logit per class
