"""Evaluators: output shapes at default and paper sizes, loss falls in a few steps, training protocol."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vddlib.data.digits_motion import DigitsMotionConfig, make_digits_motion
from vddlib.evaluation.train import TrainConfig, evaluate_runs, predict_proba, train_evaluator
from vddlib.models import build_evaluator

SMALL_MODELS = {
    "c3d": dict(widths=(8, 16, 16, 16), convs_per_block=(1, 1, 1, 1), fc=32, norm="batch"),
    "convnet3d": dict(width=16),
    "timesformer": dict(patch_size=8, hidden_size=32, depth=2, heads=2),
}


@pytest.fixture(scope="module")
def data():
    return make_digits_motion(DigitsMotionConfig(train_per_class=4, test_per_class=3, seed=5))


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
def test_output_shape(name):
    m = build_evaluator(name, 10, 8, 32, **SMALL_MODELS[name])
    assert m(torch.randn(3, 3, 8, 32, 32)).shape == (3, 10)


def test_paper_c3d_shape_and_size():
    """The reference C3D on 3×16×112×112: fc6 takes 512·1·4·4 = 8192 features; ~78 M parameters with 101 classes."""
    with torch.device("meta"):
        m = build_evaluator("c3d", 101, 16, 112)
        out = m(torch.empty(2, 3, 16, 112, 112))
    assert out.shape == (2, 101)
    assert m.head[1].in_features == 8192
    assert 77e6 < sum(p.numel() for p in m.parameters()) < 80e6


def test_paper_convnet3d_shape():
    with torch.device("meta"):
        m = build_evaluator("convnet3d", 50, 16, 112)
        assert m(torch.empty(2, 3, 16, 112, 112)).shape == (2, 50)


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
def test_loss_falls_in_a_few_steps(name, data):
    torch.manual_seed(0)
    tr = data["train"]
    m = build_evaluator(name, 10, 8, 32, **{**SMALL_MODELS[name], **({"dropout": 0.0} if name != "timesformer" else {})})
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    x = (tr.videos[:16].permute(0, 2, 1, 3, 4).float() / 255 - 0.45) / 0.25
    y = tr.labels[:16]
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses


def test_unknown_evaluator_and_setting():
    with pytest.raises(KeyError, match="Unknown evaluator 'swin'"):
        build_evaluator("swin", 10, 8, 32)
    with pytest.raises(ValueError, match="no setting"):
        build_evaluator("c3d", 10, 8, 32, depth=3)
    with pytest.raises(ValueError, match="TrainConfig.classifier"):
        TrainConfig(classifier="resnet")


def test_step_budget_scales_with_set_size():
    cfg = TrainConfig(batch_size=32, epochs=10, min_steps=50, max_steps=300)
    assert cfg.steps_for(10) == 50 and cfg.steps_for(320) == 100 and cfg.steps_for(10_000) == 300
    # a set smaller than the batch trains in one batch, so an epoch is one step (VPC 1 of the VD protocol)
    assert TrainConfig(batch_size=256, epochs=500, min_steps=1, max_steps=10**5).steps_for(101) == 500


def test_training_is_seeded_and_deterministic(data):
    cfg = TrainConfig(model=SMALL_MODELS["c3d"], min_steps=5, max_steps=5, batch_size=8)
    a = evaluate_runs(data["train"], data["test"], cfg, [0, 1], progress=False)
    b = evaluate_runs(data["train"], data["test"], cfg, [0, 1], progress=False)
    assert [r["top1"] for r in a] == [r["top1"] for r in b] and [r["auc"] for r in a] == [r["auc"] for r in b]
    m0 = train_evaluator(data["train"], cfg, 0)
    m1 = train_evaluator(data["train"], cfg, 0)
    for p, q in zip(m0.parameters(), m1.parameters()):
        assert torch.equal(p, q)
    p0 = predict_proba(m0, data["test"].videos)
    assert p0.shape == (30, 10) and torch.allclose(p0.sum(1), torch.ones(30))


def test_evaluator_learns_digits_motion():
    """A real (small) learning check: 240 training videos lift test top-1 well above chance (10 %)."""
    s = make_digits_motion(DigitsMotionConfig(train_per_class=24, test_per_class=10, seed=7))
    cfg = TrainConfig(model=dict(widths=(16, 32, 64, 64), convs_per_block=(1, 1, 1, 1), fc=128, norm="batch"),
                      min_steps=120, max_steps=120)
    (run,) = evaluate_runs(s["train"], s["test"], cfg, [0], progress=False)
    assert run["top1"] > 30, run


def test_mismatched_sets_are_an_error(data):
    from vddlib.data.videoset import VideoSet
    tr = data["train"]
    other = VideoSet(tr.videos[:, :4].contiguous(), tr.labels, tr.class_names)
    with pytest.raises(ValueError, match="differ in"):
        evaluate_runs(other, data["test"], TrainConfig(), [0], progress=False)


def test_warm_up_rises_linearly_then_follows_the_schedule_and_none_keeps_the_old_cosine():
    import math

    from vddlib.evaluation.train import lr_factor

    plain = TrainConfig()
    assert [lr_factor(plain, s, 100) for s in (0, 50, 99)] == pytest.approx(
        [1.0, 0.5, 0.5 * (1 + math.cos(math.pi * 99 / 100))])                   # as before warm-up existed
    warm = TrainConfig(warmup=0.1)
    assert [lr_factor(warm, s, 100) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert lr_factor(warm, 10, 100) == pytest.approx(1.0) and lr_factor(warm, 55, 100) == pytest.approx(0.5)
    step = TrainConfig(schedule="step", warmup=0.2)
    assert lr_factor(step, 20, 100) == 1.0 and lr_factor(step, 60, 100) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="warmup and average"):
        TrainConfig(average=1.0)


def test_weight_averaging_tests_the_mean_weights_with_their_own_batch_norm_statistics(data):
    cfg = TrainConfig(model=SMALL_MODELS["c3d"], min_steps=20, max_steps=20, batch_size=8)
    last = train_evaluator(data["train"], cfg, seed=0)
    avg = train_evaluator(data["train"], TrainConfig(**{**cfg.__dict__, "average": 0.5}), seed=0)
    w_last = dict(last.named_parameters())
    assert any(not torch.equal(p, w_last[n]) for n, p in avg.named_parameters())     # other weights
    bn = next(m for m in avg.modules() if isinstance(m, torch.nn.BatchNorm3d))
    assert bn.num_batches_tracked > 0 and not torch.equal(
        bn.running_mean, next(m for m in last.modules() if isinstance(m, torch.nn.BatchNorm3d)).running_mean)
    p = predict_proba(avg, data["test"].videos)
    assert torch.isfinite(p).all() and p.shape == (len(data["test"]), 10)
