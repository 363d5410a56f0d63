"""Fidelity measures: the recogniser (trained once, a shipped copy used only when it matches), the Fréchet distance."""
from __future__ import annotations

import pytest
import torch

from vddlib.data.digits_motion import DigitsMotionConfig, make_digits_motion
from vddlib.evaluation import fidelity
from vddlib.evaluation.train import TrainConfig


@pytest.fixture(scope="module")
def splits():
    return make_digits_motion(DigitsMotionConfig(train_per_class=2, test_per_class=2, seed=2))


def test_recogniser_is_trained_once(tmp_path, splits, monkeypatch):
    cfg = TrainConfig(model=dict(widths=(8, 8, 8, 8), convs_per_block=(1, 1, 1, 1), fc=16, norm="batch"),
                      min_steps=3, max_steps=3)
    a = fidelity.recogniser(splits["train"], cfg, tmp_path / "r.safetensors")
    monkeypatch.setattr(fidelity, "train_evaluator", lambda *a, **k: pytest.fail("retrained"))
    b = fidelity.recogniser(splits["train"], cfg, tmp_path / "r.safetensors")
    assert fidelity.recognition(a, splits["test"]) == fidelity.recognition(b, splits["test"])
    assert fidelity.embed(b, splits["test"].videos).shape == (20, 16)


def test_a_shipped_recogniser_is_used_only_if_its_metadata_match(tmp_path, splits, monkeypatch):
    cfg = TrainConfig(model=dict(widths=(8, 8, 8, 8), convs_per_block=(1, 1, 1, 1), fc=16, norm="batch"),
                      min_steps=3, max_steps=3)
    shipped = tmp_path / "shipped.safetensors"
    a = fidelity.recogniser(splits["train"], cfg, shipped)
    real_train = fidelity.train_evaluator
    trained = []
    monkeypatch.setattr(fidelity, "train_evaluator", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    b = fidelity.recogniser(splits["train"], cfg, tmp_path / "work" / "r.safetensors", shipped=shipped)
    assert trained == [] and (tmp_path / "work" / "r.safetensors").is_file()       # copied, not trained
    assert fidelity.recognition(a, splits["test"]) == fidelity.recognition(b, splits["test"])
    fidelity.recogniser(splits["train"], cfg, tmp_path / "other" / "r.safetensors", seed=1, shipped=shipped)
    assert trained == [1]                                   # another seed: the shipped file does not match


def test_frechet_distance():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g)
    b = torch.randn(4000, 3, generator=g)
    assert fidelity.frechet_distance(a, b) < 0.02
    assert fidelity.frechet_distance(a, b + 2.0) == pytest.approx(12.0, rel=0.05)     # |Δμ|² = 3·2²
