"""The diffusion stage as the notebooks run it: retrain and shipped paths, recogniser cache, Fréchet distance."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from vddlib import stages
from vddlib.config import load_profile
from vddlib.data.digits_motion import DigitsMotionConfig, make_digits_motion
from vddlib.diffusion import LatteTrainConfig
from vddlib.evaluate import TrainConfig
from vddlib.models.autoencoder import SmallVAEConfig


@pytest.fixture(scope="module")
def splits():
    return make_digits_motion(DigitsMotionConfig(train_per_class=2, test_per_class=2, seed=2))


def tiny_profile(shipped="", smoke_batch=0):
    p = load_profile("default")
    d = dataclasses.replace(p.diffusion, shipped=shipped, retrain=False, vae_steps=2, vae_batch=4,
                            vae=SmallVAEConfig(block_out_channels=(8, 8, 8), norm_num_groups=4),
                            latte=LatteTrainConfig(size="tiny", steps=3, batch_size=4, checkpoint_every=3,
                                                   learn_sigma=False), smoke_steps=2, smoke_batch=smoke_batch)
    return dataclasses.replace(p, diffusion=d)


def test_finetune_trains_both_when_nothing_is_shipped(tmp_path, splits):
    rep = stages.finetune(tiny_profile(), splits, tmp_path)
    assert rep["latte"].startswith("trained here: 3 steps") and rep["smoke_steps"] == 2
    vae, latte = stages.load_diffusion(tmp_path)
    assert latte.config.num_classes == 10 and vae.config.latents_mean is not None
    assert json.loads((tmp_path / "finetune_report.json").read_text())["data_hash"] == stages.data_hash(splits["train"])


def test_finetune_uses_the_shipped_pair(tmp_path, splits):
    first = tmp_path / "first"
    stages.finetune(tiny_profile(), splits, first)
    rep = stages.finetune(tiny_profile(shipped=str(first), smoke_batch=2), splits, tmp_path / "second")
    assert rep["latte"] == f"shipped: {first}"
    assert rep["smoke_batch"] == 2 and rep["smoke_steps"] == 2         # the smoke's own batch, not latte's 4
    a = stages.load_diffusion(first)[1].state_dict()
    b = stages.load_diffusion(tmp_path / "second")[1].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(FileNotFoundError, match="retrain: true"):
        stages.finetune(tiny_profile(shipped=str(tmp_path / "nothing")), splits, tmp_path / "third")


def test_load_diffusion_names_notebook_01(tmp_path):
    with pytest.raises(FileNotFoundError, match="01_finetune"):
        stages.load_diffusion(tmp_path)


def test_recogniser_is_trained_once(tmp_path, splits, monkeypatch):
    cfg = TrainConfig(model=dict(widths=(8, 8, 8, 8), convs_per_block=(1, 1, 1, 1), fc=16, norm="batch"),
                      min_steps=3, max_steps=3)
    a = stages.recogniser(splits["train"], cfg, tmp_path / "r.safetensors")
    monkeypatch.setattr(stages, "train_evaluator", lambda *a, **k: pytest.fail("retrained"))
    b = stages.recogniser(splits["train"], cfg, tmp_path / "r.safetensors")
    assert stages.recognition(a, splits["test"]) == stages.recognition(b, splits["test"])
    assert stages.embed(b, splits["test"].videos).shape == (20, 16)


def test_a_shipped_recogniser_is_used_only_if_its_metadata_match(tmp_path, splits, monkeypatch):
    cfg = TrainConfig(model=dict(widths=(8, 8, 8, 8), convs_per_block=(1, 1, 1, 1), fc=16, norm="batch"),
                      min_steps=3, max_steps=3)
    shipped = tmp_path / "shipped.safetensors"
    a = stages.recogniser(splits["train"], cfg, shipped)
    real_train = stages.train_evaluator
    trained = []
    monkeypatch.setattr(stages, "train_evaluator", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    b = stages.recogniser(splits["train"], cfg, tmp_path / "work" / "r.safetensors", shipped=shipped)
    assert trained == [] and (tmp_path / "work" / "r.safetensors").is_file()       # copied, not trained
    assert stages.recognition(a, splits["test"]) == stages.recognition(b, splits["test"])
    stages.recogniser(splits["train"], cfg, tmp_path / "other" / "r.safetensors", seed=1, shipped=shipped)
    assert trained == [1]                                   # another seed: the shipped file does not match


def test_frechet_distance():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=g)
    b = torch.randn(4000, 3, generator=g)
    assert stages.frechet_distance(a, b) < 0.02
    assert stages.frechet_distance(a, b + 2.0) == pytest.approx(12.0, rel=0.05)     # |Δμ|² = 3·2²
