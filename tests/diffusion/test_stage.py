"""The diffusion stage as the notebooks run it: the retrain and shipped paths."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from vddlib.data.hashing import data_hash
from vddlib.diffusion import stage as stages
from vddlib.profile import load_profile
from vddlib.data.digits_motion import DigitsMotionConfig, make_digits_motion
from vddlib.diffusion.train import LatteTrainConfig
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


def _finetune(prof, *args, **kw):
    return stages.finetune(prof.diffusion, prof.dataset, *args, **kw)


def test_finetune_trains_both_when_nothing_is_shipped(tmp_path, splits):
    rep = _finetune(tiny_profile(), splits, tmp_path, recognise=lambda v: torch.zeros(len(v), dtype=torch.long))
    assert rep["latte"].startswith("trained here: 3 steps") and rep["smoke_steps"] == 2
    assert rep["recogniser_on_decoded_test"] == 100 * splits["test"].class_counts()[0] / len(splits["test"])
    vae, latte = stages.load_diffusion(tmp_path)
    assert latte.config.num_classes == 10 and vae.config.latents_mean is not None
    assert json.loads((tmp_path / "finetune_report.json").read_text())["data_hash"] == data_hash(splits["train"])


def test_finetune_trains_latte_on_several_processes(tmp_path, splits):
    """diffusion.processes: 2 trains Latte through `accelerate launch -m vddlib.cli.train_latte` (two gloo processes
    here, one per GPU on a GPU machine) on the latent file the stage wrote, with the class names it records."""
    prof = tiny_profile()
    prof = dataclasses.replace(prof, diffusion=dataclasses.replace(prof.diffusion, processes=2))
    rep = _finetune(prof, splits, tmp_path)
    assert rep["latte"].startswith("trained here: 3 steps")
    run = json.loads((tmp_path / "latte_run" / "train_config.json").read_text())
    assert run["processes"] == 2 and run["steps"] == 3
    latte = stages.load_diffusion(tmp_path)[1]
    assert latte.config.class_names == splits["train"].class_names
    with pytest.raises(ValueError, match="diffusion.processes must be >= 1"):
        dataclasses.replace(prof.diffusion, processes=0)


def test_finetune_uses_the_shipped_pair(tmp_path, splits):
    first = tmp_path / "first"
    _finetune(tiny_profile(), splits, first)
    rep = _finetune(tiny_profile(shipped=str(first), smoke_batch=2), splits, tmp_path / "second")
    assert rep["latte"] == f"shipped: {first}"
    assert rep["smoke_batch"] == 2 and rep["smoke_steps"] == 2         # the smoke's own batch, not latte's 4
    a = stages.load_diffusion(first)[1].state_dict()
    b = stages.load_diffusion(tmp_path / "second")[1].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(FileNotFoundError, match="retrain: true"):
        _finetune(tiny_profile(shipped=str(tmp_path / "nothing")), splits, tmp_path / "third")


def test_load_diffusion_names_notebook_01(tmp_path):
    with pytest.raises(FileNotFoundError, match="01_finetune"):
        stages.load_diffusion(tmp_path)


def test_devices_are_checked_and_named(tmp_path, splits):
    with pytest.raises(ValueError, match="diffusion.device must be one of"):
        dataclasses.replace(load_profile("default").diffusion, device="gpu")
    prof = tiny_profile()
    two = dataclasses.replace(prof, generate=dataclasses.replace(prof.generate, processes=2),
                              diffusion=dataclasses.replace(prof.diffusion, work_dir=str(tmp_path / "none")))
    with pytest.raises(FileNotFoundError, match="01_finetune"):             # before any process is launched
        stages.generate(two.generate, stages.diffusion_dir(two.diffusion, "digits_motion"), tmp_path / "pool", ["a"])
    if not torch.cuda.is_available():
        gpu = dataclasses.replace(prof, diffusion=dataclasses.replace(prof.diffusion, device="cuda"))
        with pytest.raises(RuntimeError, match="diffusion.device is 'cuda' but torch sees no GPU"):
            _finetune(gpu, splits, tmp_path)


def test_finetune_encodes_a_real_split_shard_by_shard_with_a_given_autoencoder(tmp_path, monkeypatch):
    """With an autoencoder given (the paper's SD VAE) and its own clip, the diffusion model's train split is read
    and encoded one shard at a time (UCF101's is 28 GiB of frames at 256²): the autoencoder never sees more than a
    shard, the latent file is the whole split's, and each shard's latents are kept, not its frames. A second run
    decodes and encodes nothing; a replaced video file costs its own shard only."""
    import functools
    import os

    from tests import fixtures
    from vddlib.data import datasets, real
    from vddlib.data.datasets import diffusion_split, load_dataset
    from vddlib.data.video_io import ClipSpec
    from vddlib.diffusion import latents as latents_mod
    from vddlib.diffusion.latents import read_latents
    from vddlib.models.autoencoder import build_small_vae, encode_videos, fit_latent_stats, load_vae

    root = fixtures.ucf101(tmp_path / "ucf", per_split=3)             # 9 train videos, 3 classes
    prof = tiny_profile()
    dataset = dataclasses.replace(prof.dataset, name="ucf101", root=str(root), cache_dir=str(tmp_path / "cache"),
                                  clip=ClipSpec(frames=4, gap=2, resize=(40, 30), crop=16))
    vae = build_small_vae(SmallVAEConfig(block_out_channels=(8, 8, 8), norm_num_groups=4))
    splits = load_dataset(dataset)
    fit_latent_stats(vae, splits["train"].videos)
    vae.save_pretrained(tmp_path / "vae")
    clip = ClipSpec(frames=6, gap=1, resize=(64, 48), crop=32)
    prof = dataclasses.replace(prof, dataset=dataset, diffusion=dataclasses.replace(
        prof.diffusion, vae_path=str(tmp_path / "vae"), clip=clip, retrain=True))
    monkeypatch.setattr(datasets, "stream_real", functools.partial(datasets.stream_real, shard_size=4))
    encoded, decoded = [], []

    def counting_encode(vae, videos, **kw):
        encoded.append(len(videos))
        return encode_videos(vae, videos, **kw)

    def counting_decode(chunk, *a, **kw):
        decoded.append(len(chunk))
        return decode_shard(chunk, *a, **kw)

    decode_shard = real._decode_shard
    monkeypatch.setattr(latents_mod, "encode_videos", counting_encode)
    monkeypatch.setattr(real, "_decode_shard", counting_decode)
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    out = tmp_path / "out"
    rep = _finetune(prof, splits, out)
    assert encoded == decoded == [4, 4, 1] and rep["diffusion_clips"] == (6, 3, 32, 32)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == cached       # no 256² frames on disk
    assert len(list((out / "train_latents.shards").iterdir())) == 3
    whole = diffusion_split(dataset, clip, splits)                    # the same split, in memory at once
    tensors, meta = read_latents(out / "train_latents.safetensors")
    assert json.loads(meta["ids"]) == whole.ids and torch.equal(tensors["labels"], whole.labels)
    assert torch.allclose(tensors["latents"], encode_videos(load_vae(tmp_path / "vae"), whole.videos), atol=1e-5)

    encoded.clear(), decoded.clear()
    assert _finetune(prof, splits, out)["data_hash"] == rep["data_hash"]
    assert encoded == decoded == []                                   # resumed from the kept shards: no work
    # a replaced video: its shard alone is decoded and encoded again, and the hash moves
    victim = root / whole.ids[5]
    victim.write_bytes(next(p for p in (root / "UCF-101").rglob("*.avi") if p != victim).read_bytes())
    os.utime(victim, ns=(1, 1))
    again = _finetune(prof, splits, out)
    assert encoded == decoded == [4] and again["data_hash"] != rep["data_hash"]
    assert len(list((out / "train_latents.shards").iterdir())) == 3   # the replaced shard's old latents are gone


def test_a_killed_encoding_resumes_at_the_first_shard_not_encoded(tmp_path, monkeypatch):
    from tests import fixtures
    from vddlib.data.real import stream_real
    from vddlib.data.video_io import ClipSpec
    from vddlib.diffusion import latents as latents_mod
    from vddlib.diffusion.latents import encode_training_split, read_latents
    from vddlib.models.autoencoder import build_small_vae, encode_videos

    root = fixtures.ucf101(tmp_path / "ucf", per_split=3)
    stream = stream_real("ucf101", root, "train", ClipSpec(frames=4, gap=2, resize=(40, 30), crop=16),
                         cache_dir=None, shard_size=4)
    vae = build_small_vae(SmallVAEConfig(block_out_channels=(8, 8, 8), norm_num_groups=4))
    calls = []

    def dies_on_the_second_shard(vae, videos, **kw):
        calls.append(len(videos))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return encode_videos(vae, videos, **kw)

    monkeypatch.setattr(latents_mod, "encode_videos", dies_on_the_second_shard)
    with pytest.raises(KeyboardInterrupt):
        encode_training_split(vae, stream, tmp_path / "lat.safetensors", shards_dir=tmp_path / "shards")
    assert not (tmp_path / "lat.safetensors").exists() and len(list((tmp_path / "shards").iterdir())) == 1
    calls.clear()
    monkeypatch.setattr(latents_mod, "encode_videos", lambda vae, videos, **kw: calls.append(len(videos)) or
                        encode_videos(vae, videos, **kw))
    lat = encode_training_split(vae, stream, tmp_path / "lat.safetensors", shards_dir=tmp_path / "shards")
    assert calls == [4, 1] and lat["latents"].shape[0] == 9
    # the latent file is written a shard at a time and mapped, and holds what the split encoded whole gives
    whole = encode_training_split(vae, stream.collect(), tmp_path / "whole.safetensors")
    assert torch.equal(lat["latents"], whole["latents"]) and torch.equal(lat["labels"], whole["labels"])
    assert str(tmp_path / "lat.safetensors") in Path("/proc/self/maps").read_text()
    written, meta = read_latents(tmp_path / "lat.safetensors")
    assert torch.equal(written["latents"], whole["latents"]) and json.loads(meta["ids"]) == stream.collect().ids
    assert {k: meta[k] for k in ("split", "num_classes", "class_names")} == \
        {k: read_latents(tmp_path / "whole.safetensors")[1][k] for k in ("split", "num_classes", "class_names")}


def test_the_autoencoder_check_decodes_a_chunk_at_a_time_and_gives_the_figures_of_one_go(splits, monkeypatch):
    """The test split is encoded and decoded a chunk of videos at a time (Kinetics-400's is 11 GiB): never more
    than a chunk decoded at once; where the split is one chunk, the PSNR and the recogniser's share are those of the
    split done whole (the CPU default's figures do not move), and in several chunks they agree up to rounding."""
    from vddlib.models.autoencoder import build_small_vae, decode_latents, encode_videos, psnr

    torch.manual_seed(0)
    vae = build_small_vae(SmallVAEConfig(block_out_channels=(8, 8, 8), norm_num_groups=4)).eval()
    test = splits["test"]
    recognise = lambda v: (v.float().mean(dim=(1, 2, 3, 4)) * 7).long() % test.num_classes   # any fixed rule
    whole = decode_latents(vae, encode_videos(vae, test.videos))
    one_go = {"vae_test_psnr": psnr(whole, test.videos),
              "recogniser_on_decoded_test": float((recognise(whole) == test.labels).float().mean() * 100)}
    assert stages.autoencoder_check(vae, test, recognise, progress=False) == one_go
    sizes = []
    real_decode = stages.decode_latents
    monkeypatch.setattr(stages, "decode_latents", lambda vae, z: sizes.append(len(z)) or real_decode(vae, z))
    chunked = stages.autoencoder_check(vae, test, recognise, progress=False, chunk=3)
    assert sizes == [3] * (len(test) // 3) + ([len(test) % 3] if len(test) % 3 else [])
    assert chunked["vae_test_psnr"] == pytest.approx(one_go["vae_test_psnr"], abs=0.01)
    assert chunked["recogniser_on_decoded_test"] == pytest.approx(one_go["recogniser_on_decoded_test"])
    assert set(stages.autoencoder_check(vae, test, progress=False)) == {"vae_test_psnr"}
