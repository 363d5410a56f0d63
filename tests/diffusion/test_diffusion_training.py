"""Latte training: loss falls, resume after a kill is exact, two processes agree, train split only."""
from __future__ import annotations


import pytest
import torch
from safetensors.torch import load_file

from tests.launch import launch_two_processes
from vddlib.data.digits_motion import DigitsMotionConfig, make_digits_motion
from vddlib.diffusion.train import LatteTrainConfig, make_scheduler, read_train_log, train_latte, vlb_loss
from vddlib.diffusion.latents import encode_training_split, read_latents
from vddlib.models.autoencoder import build_small_vae, SmallVAEConfig
from vddlib.models.latte import LatteClassConditional



def toy_latents(n=16, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    base = torch.randn(classes, 1, 4, 1, 1, generator=g)
    return base[labels] + 0.3 * torch.randn(n, 4, 4, 8, 8, generator=g), labels


def small_cfg(**kw):
    return LatteTrainConfig(**{"size": "tiny", "steps": 6, "batch_size": 8, "checkpoint_every": 3,
                               "learn_sigma": False, "lr": 1e-3, "ema_decay": 0.9, **kw})


def test_loss_falls(tmp_path):
    x, y = toy_latents(32)
    r = train_latte(x, y, 3, small_cfg(steps=60, checkpoint_every=1000), tmp_path, progress=False)
    losses = r["losses"]
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10
    assert (tmp_path / "latte_ema" / "config.json").is_file() and (tmp_path / "latte").is_dir()
    assert read_train_log(tmp_path).shape == (60, 3)


def test_resume_after_a_kill_is_exact(tmp_path):
    x, y = toy_latents()
    full = train_latte(x, y, 3, small_cfg(learn_sigma=True), tmp_path / "a", progress=False)
    part = train_latte(x, y, 3, small_cfg(learn_sigma=True), tmp_path / "b", stop_after=5, progress=False)
    assert part["end"] == 5 and not (tmp_path / "b" / "latte").exists()       # killed at step 5, checkpoint at 3
    resumed = train_latte(x, y, 3, small_cfg(learn_sigma=True), tmp_path / "b", progress=False)
    assert resumed["start"] == 3 and resumed["steps_run"] == 3                  # steps 4-5 redone, nothing lost
    for sub in ("latte", "latte_ema"):
        a = LatteClassConditional.from_pretrained(tmp_path / "a" / sub).state_dict()
        b = LatteClassConditional.from_pretrained(tmp_path / "b" / sub).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), sub
    log = read_train_log(tmp_path / "b")
    assert log[:, 0].tolist() == [1, 2, 3, 4, 5, 6]                              # nothing doubled
    assert torch.allclose(torch.tensor(log[:, 1]), torch.tensor(read_train_log(tmp_path / "a")[:, 1]))


def test_interrupted_checkpoint_save_is_ignored(tmp_path):
    x, y = toy_latents()
    train_latte(x, y, 3, small_cfg(), tmp_path, stop_after=4, progress=False)
    (tmp_path / "checkpoints" / "tmp_step_0000006").mkdir()                     # a save cut short
    r = train_latte(x, y, 3, small_cfg(), tmp_path, progress=False)
    assert r["start"] == 3


def test_two_processes_hold_the_same_weights(tmp_path):
    p = launch_two_processes("ddp_worker.py", str(tmp_path), port=29531)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "rank 0 of 2 done" in p.stdout and "rank 1 of 2 done" in p.stdout
    r0, r1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    init = LatteClassConditional(sample_size=8, num_frames=4, in_channels=4, num_classes=3, learn_sigma=True,
                                 hidden_size=128, depth=4, num_heads=4, patch_size=2)
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    assert any(not torch.equal(r0[k], init.state_dict()[k]) for k in r0)       # they trained, together


def test_train_split_only(tmp_path):
    s = make_digits_motion(DigitsMotionConfig(train_per_class=2, test_per_class=2, seed=1))
    vae = build_small_vae(SmallVAEConfig(block_out_channels=(8, 8, 8), norm_num_groups=4))
    with pytest.raises(ValueError, match="train split only"):
        encode_training_split(vae, s["test"], tmp_path / "t.safetensors")
    encode_training_split(vae, s["train"], tmp_path / "train.safetensors")
    tensors, meta = read_latents(tmp_path / "train.safetensors")
    import json
    ids = json.loads(meta["ids"])
    assert meta["split"] == "train" and ids == s["train"].ids and not set(ids) & set(s["test"].ids)
    assert tensors["latents"].shape == (20, 8, 4, 8, 8)
    # the launcher's CLI refuses a latent file of another split
    from safetensors.torch import save_file
    save_file({"latents": tensors["latents"], "labels": tensors["labels"]}, str(tmp_path / "bad.safetensors"),
              metadata={**meta, "split": "test"})
    from vddlib.cli.train_latte import main
    with pytest.raises(SystemExit, match="train split only"):
        main(["--latents", str(tmp_path / "bad.safetensors"), "--out", str(tmp_path / "run")])


def test_vlb_is_small_for_the_true_posterior_variance():
    """With eps exact and the variance at its posterior value (v = -1), the KL term is ~0."""
    sch = make_scheduler()
    x0 = torch.rand(4, 2, 4, 4, 4) * 2 - 1
    t = torch.tensor([5, 100, 500, 900])
    noise = torch.randn_like(x0)
    xt = sch.add_noise(x0, noise, t)
    kl = vlb_loss(sch, x0, xt, t, noise, -torch.ones_like(x0))
    off = vlb_loss(sch, x0, xt, t, noise, torch.ones_like(x0))
    assert kl.abs().max() < 1e-6
    assert (off[:2] > 1e-4).all() and (off >= kl).all()     # at large t, beta_t ≈ the posterior variance
