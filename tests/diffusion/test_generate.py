"""Pool generation: shards + manifest, resume after an interrupted shard, process split, per-video seeds."""
from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from vddlib.data.pool import load_pool
from vddlib.data.videoset import VideoSet
from vddlib.diffusion.generate import GenerateConfig, generate_pool, sample_latents, video_seed
from vddlib.models.autoencoder import SmallVAEConfig, build_small_vae, load_vae
from vddlib.models.latte import LatteClassConditional

CLASSES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    vae = build_small_vae(SmallVAEConfig(block_out_channels=(8, 8, 8), norm_num_groups=4)).eval()
    latte = LatteClassConditional(sample_size=8, num_frames=4, in_channels=4, num_classes=3, hidden_size=32, depth=2,
                                  num_heads=2, learn_sigma=False).eval()
    with torch.no_grad():
        for p in latte.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return vae, latte


CFG = GenerateConfig(per_class=3, guidance_scale=2.0, steps=3, batch_size=2, shard_size=4, seed=5, autocast="no")


def test_pool_layout_and_manifest(tmp_path, pair):
    vae, latte = pair
    m = generate_pool(latte, vae, CLASSES, CFG, tmp_path, progress=False)
    doc = json.loads(m.read_text())
    assert doc["n_videos"] == 9 and doc["n_shards"] == 3
    assert [e["class"] for e in doc["videos"]] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [e["seed"] for e in doc["videos"]] == [video_seed(CFG, g) for g in range(9)]
    assert doc["config"]["sampler"] == "dpmsolver++"
    pool, lat = load_pool(tmp_path, with_latents=True)
    assert pool.videos.shape == (9, 4, 3, 32, 32) and lat.shape == (9, 4, 4, 8, 8)
    assert pool.class_counts() == [3, 3, 3] and pool.meta["split"] == "synthetic"


def same_stored_video(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to what fp16 storage and the order of float sums allow: a tolerance relative to each video's
    magnitude (fp16 keeps 11 significant bits, so one rounding step is 2^-11 of the value; a video sampled alone
    and in a batch may differ by a few of those before rounding, more on CPUs whose kernels differ)."""
    scale = b.abs().amax().clamp_min(1.0)
    return bool(((a - b).abs() <= 4e-3 * scale).all())


def test_a_video_regenerates_alone(tmp_path, pair):
    vae, latte = pair
    generate_pool(latte, vae, CLASSES, CFG, tmp_path, progress=False)
    _, lat = load_pool(tmp_path, with_latents=True)
    alone = sample_latents(latte, torch.tensor([1]), [video_seed(CFG, 4)], CFG)
    assert same_stored_video(alone[0].half().float(), lat[4])
    # the tolerance still tells videos apart: another seed of the same class, or the same seed of another class
    other_seed = sample_latents(latte, torch.tensor([1]), [video_seed(CFG, 5)], CFG)
    other_class = sample_latents(latte, torch.tensor([2]), [video_seed(CFG, 4)], CFG)
    assert not same_stored_video(other_seed[0].half().float(), lat[4])
    assert not same_stored_video(other_class[0].half().float(), lat[4])


def test_autocast_auto_resolves_by_what_the_cpu_can_do(monkeypatch):
    """'auto' is bf16 only where the CPU has native bf16 as torch reports it (or on a GPU); AVX2-only → fp32."""
    from vddlib import hardware as gen
    from vddlib.diffusion.generate import precision

    def cpu(avx512_bf16, amx, capability, onednn_bf16):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: onednn_bf16)

    cpu(False, False, "AVX2", False)                       # AMD EPYC with AVX2 only: bf16 would be emulated
    assert not gen.native_bf16() and gen.resolve_autocast("auto", "cpu") == "no"
    assert gen.resolve_autocast("auto", "cuda") == "bf16"
    assert gen.resolve_autocast("bf16", "cpu") == "bf16"   # forced choices stay forced
    cpu(False, False, "AVX512", True)                      # AVX-512 without its BF16 extension: still emulated
    assert gen.resolve_autocast("auto", "cpu") == "no"
    cpu(True, False, "AVX512", True)                       # avx512_bf16
    assert gen.native_bf16() and gen.resolve_autocast("auto", "cpu") == "bf16"
    assert gen.resolve_autocast("no", "cpu") == "no"
    cpu(False, True, "AVX512", True)                       # AMX
    assert gen.resolve_autocast("auto", "cpu") == "bf16"
    cpu(True, False, "AVX2", True)                         # the instructions, but torch told not to use them
    assert gen.resolve_autocast("auto", "cpu") == "no"
    assert not torch.is_autocast_enabled("cpu")
    with precision(GenerateConfig(autocast="auto"), "cpu"):
        assert not torch.is_autocast_enabled("cpu")        # fp32 here: the context is a no-op
    cpu(True, False, "AVX512", True)
    with precision(GenerateConfig(autocast="auto"), "cpu"):
        assert torch.is_autocast_enabled("cpu")


def test_pool_folder_and_manifest_name_the_resolved_precision(tmp_path, pair, monkeypatch):
    from vddlib import hardware
    from vddlib.diffusion.stage import pool_dir as _pool_dir
    from vddlib.profile import load_profile

    def pool_dir(p, device=None):
        return _pool_dir(p.diffusion, p.generate, p.dataset.name, device)

    default = load_profile("default")
    monkeypatch.setattr(hardware, "native_bf16", lambda: True)
    assert default.generate.autocast == "no" and pool_dir(default, "cpu").name.endswith("_fp32")   # any CPU: fp32
    prof = dataclasses.replace(default, generate=dataclasses.replace(default.generate, autocast="auto"))
    monkeypatch.setattr(hardware, "native_bf16", lambda: False)
    assert pool_dir(prof, "cpu").name.endswith("_fp32")
    vae, latte = pair
    generate_pool(latte, vae, CLASSES, dataclasses.replace(CFG, autocast="auto"), tmp_path, progress=False)
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc["config"]["autocast"] == "auto" and doc["precision"] == "no"
    monkeypatch.setattr(hardware, "native_bf16", lambda: True)
    assert pool_dir(prof, "cpu").name.endswith("_bf16")
    # without a device named, the folder is the one generate.device makes: a GPU's pool is bf16 on any CPU
    monkeypatch.setattr(hardware, "native_bf16", lambda: False)
    gpu = dataclasses.replace(prof, generate=dataclasses.replace(prof.generate, device="cuda"))
    assert pool_dir(gpu).name.endswith("_bf16") and pool_dir(prof).name.endswith("_fp32")


def test_pool_videos_are_fitted_to_the_evaluators_clip(tmp_path, pair):
    from vddlib.diffusion.generate import fit_videos

    v = torch.randint(0, 256, (2, 4, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(fit_videos(v), v)
    w = fit_videos(v, frames=2, size=16)
    assert w.shape == (2, 2, 3, 16, 16) and w.dtype == torch.uint8
    flat = torch.full((1, 4, 3, 32, 32), 77, dtype=torch.uint8)
    assert torch.equal(fit_videos(flat, 2, 16), torch.full((1, 2, 3, 16, 16), 77, dtype=torch.uint8))
    assert torch.equal(fit_videos(v, frames=2)[:, 1], v[:, 3])     # first and last frames kept
    vae, latte = pair
    generate_pool(latte, vae, CLASSES, dataclasses.replace(CFG, video_frames=2, video_size=16), tmp_path, progress=False)
    pool, lat = load_pool(tmp_path, with_latents=True)
    assert pool.videos.shape == (9, 2, 3, 16, 16) and lat.shape == (9, 4, 4, 8, 8)   # latents as sampled


@pytest.mark.parametrize("sampler", ["ddpm", "sde-dpmsolver++"])
def test_stochastic_samplers_regenerate_a_video_alone_despite_fresh_noise_each_step(pair, sampler):
    """Latte's own sampler (DDPM) and SDE-DPM-Solver++ draw noise every step; each video's comes from its own seed."""
    _, latte = pair
    cfg = GenerateConfig(per_class=2, guidance_scale=2.0, steps=4, sampler=sampler, seed=1)
    batch = sample_latents(latte, torch.tensor([0, 1, 2]), [11, 12, 13], cfg)
    alone = sample_latents(latte, torch.tensor([1]), [12], cfg)
    # within float32 rounding of the latents' magnitude (hundreds here): a matrix product may round otherwise for
    # one video than for three (MKL's AVX2 path on an Intel CPU: 1e-4 apart on values of 500)
    scale = batch[1].abs().amax().clamp_min(1.0)
    assert ((alone[0] - batch[1]).abs() <= 1e-5 * scale).all()
    other = sample_latents(latte, torch.tensor([1]), [14], cfg)
    assert not ((other[0] - batch[1]).abs() <= 1e-2 * scale).all()


def test_interrupted_shard_is_redone_and_finished_ones_are_kept(tmp_path, pair):
    vae, latte = pair
    ref = tmp_path / "ref"
    generate_pool(latte, vae, CLASSES, CFG, ref, progress=False)
    run = tmp_path / "run"
    generate_pool(latte, vae, CLASSES, CFG, run, progress=False, stop_after_shards=1)   # killed after shard 0
    assert not (run / "manifest.json").exists()
    (run / "shard_00001.safetensors.tmp").write_bytes(b"half a shard")                    # killed mid-write
    before = (run / "shard_00000.safetensors").stat().st_mtime_ns
    generate_pool(latte, vae, CLASSES, CFG, run, progress=False, stop_after_shards=1)   # killed after shard 1
    assert (run / "shard_00000.safetensors").stat().st_mtime_ns == before                 # not redone
    assert sorted(p.name for p in run.glob("shard_*")) == ["shard_00000.safetensors", "shard_00001.safetensors"]
    generate_pool(latte, vae, CLASSES, CFG, run, progress=False)
    assert (run / "manifest.json").read_text() == (ref / "manifest.json").read_text()
    assert same_pool(load_pool(ref, with_latents=True), load_pool(run, with_latents=True), exact=True)


def same_pool(a, b, exact=False) -> bool:
    """Two (pool, latents) pairs hold the same videos: bytewise, or up to fp16 storage and one grey level."""
    (pa, la), (pb, lb) = a, b
    if pa.ids != pb.ids or not torch.equal(pa.labels, pb.labels):
        return False
    if exact:
        return torch.equal(pa.videos, pb.videos) and torch.equal(la, lb)
    return same_stored_video(la, lb) and int((pa.videos.int() - pb.videos.int()).abs().max()) <= 2


def test_a_finished_pool_is_one_mapped_file_and_is_not_generated_again(tmp_path, pair):
    """The shards are assembled into videos.u8 (mapped when loaded) and latents.f16, and go; the videos and
    latents are the shards' own; generating again makes nothing; a pool of shards only is assembled when loaded."""
    vae, latte = pair
    generate_pool(latte, vae, CLASSES, CFG, tmp_path / "run", progress=False, stop_after_shards=3)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["latents.f16", "made_by.json", "manifest.json", "videos.json",
                                                     "videos.u8"]
    pool, lat = load_pool(run, with_latents=True)
    maps = Path("/proc/self/maps").read_text()
    assert str((run / "videos.u8").resolve()) in maps and pool.meta["file"] == str(run / "videos.u8")
    # the latents are mapped as stored (fp16), not read whole as fp32
    assert str((run / "latents.f16").resolve()) in maps
    assert lat.dtype == torch.float16 and (run / "latents.f16").stat().st_size == lat.numel() * 2
    # Full syn: the evaluation queue reads the pool from its file; a selection from it is copied as any set
    from safetensors import safe_open

    from vddlib.evaluation.jobs import EvalJobs, queue_full
    from vddlib.evaluation.train import TrainConfig

    test = VideoSet(torch.zeros((3, *pool.videos.shape[1:]), dtype=torch.uint8), torch.arange(3), CLASSES)
    q = EvalJobs(test, "digits")
    queue_full(q, pool, TrainConfig(), [0], "synthetic")
    q.add(pool.subset([0, 4, 8]), TrainConfig(), 0, pool="synthetic", method="some", vpc=1)
    folder = q.write(tmp_path / "jobs")
    assert json.loads((folder / "jobs.json").read_text())["files"] == {
        "0": {"path": str((run / "videos.u8").resolve()), "shape": list(pool.videos.shape)}}
    with safe_open(str(folder / "videos.safetensors"), framework="pt") as f:
        assert sorted(f.keys()) == ["labels_0", "labels_1", "videos_1"]
    # the same pool kept as shards (an older pool, or one killed before its assembly) is assembled when loaded
    old = tmp_path / "old"
    shutil.copytree(run, old)
    for p in ("videos.u8", "videos.json", "latents.f16"):
        (old / p).unlink()
    tensors = {}
    for k, g in enumerate(torch.arange(9).split(CFG.shard_size)):
        tensors[k] = {"latents": lat[g].half(), "videos": pool.videos[g].clone(), "labels": pool.labels[g],
                      "global_index": g}
        save_file(tensors[k], old / f"shard_{k:05d}.safetensors")
    assert same_pool(load_pool(old, with_latents=True), (pool, lat), exact=True)
    assert not list(old.glob("shard_*"))
    stamp = (run / "videos.u8").stat().st_mtime_ns
    calls = []
    monkey = lambda *a, **k: calls.append(1)
    import vddlib.diffusion.generate as gen
    real, gen.sample_latents = gen.sample_latents, monkey
    try:
        generate_pool(latte, vae, CLASSES, CFG, run, progress=False)
    finally:
        gen.sample_latents = real
    assert not calls and (run / "videos.u8").stat().st_mtime_ns == stamp
    # other weights: the folder is emptied, assembled files included
    with torch.no_grad():
        other = copy.deepcopy(latte)
        next(other.parameters()).add_(1.0)
    with pytest.warns(UserWarning, match="other weights made"):
        generate_pool(other, vae, CLASSES, CFG, run, progress=False, stop_after_shards=1)
    assert not (run / "videos.u8").exists() and not (run / "manifest.json").exists()


class FakeRank:
    """Stands in for an Accelerator of `world` processes; the ranks run one after another."""

    def __init__(self, rank, world):
        self.process_index, self.num_processes, self.device = rank, world, torch.device("cpu")

    def wait_for_everyone(self):
        pass


def test_processes_split_shards_and_the_manifest_is_the_same(tmp_path, pair):
    vae, latte = pair
    generate_pool(latte, vae, CLASSES, CFG, tmp_path / "one", progress=False)
    two = tmp_path / "two"
    generate_pool(latte, vae, CLASSES, CFG, two, accelerator=FakeRank(1, 2), progress=False)
    assert sorted(p.name for p in two.glob("shard_*")) == ["shard_00001.safetensors"]     # rank 1: odd shards
    generate_pool(latte, vae, CLASSES, CFG, two, accelerator=FakeRank(0, 2), progress=False)
    assert (two / "manifest.json").read_text() == (tmp_path / "one" / "manifest.json").read_text()
    assert same_pool(load_pool(two, with_latents=True), load_pool(tmp_path / "one", with_latents=True), exact=True)


def test_bad_generation_input():
    with pytest.raises(ValueError, match="N_c.*must be >= 1.*generate.per_class"):
        GenerateConfig(per_class=0)
    with pytest.raises(ValueError, match="sampler"):
        GenerateConfig(sampler="euler")
    with pytest.raises(ValueError, match="autocast must be one of"):
        GenerateConfig(autocast="fp16")
    with pytest.raises(ValueError, match="video_frames and video_size"):
        GenerateConfig(video_size=-1)
    with pytest.raises(ValueError, match="GenerateConfig.device must be one of"):
        GenerateConfig(device="gpu")
    with pytest.raises(ValueError, match="GenerateConfig.processes must be >= 1"):
        GenerateConfig(processes=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the error of a machine without a GPU")
def test_a_gpu_pool_without_a_gpu_names_the_setting(tmp_path, pair):
    vae, latte = pair
    with pytest.raises(RuntimeError, match="generate.device is 'cuda' but torch sees no GPU"):
        generate_pool(latte, vae, CLASSES, dataclasses.replace(CFG, device="cuda"), tmp_path, progress=False)


def test_launched_processes_write_the_pool_of_one_process(tmp_path, pair):
    """generate.processes: 2 runs `accelerate launch` (two gloo processes here, one per GPU on a GPU machine);
    the pool is the one a single process writes: the same manifest, the same videos in the same shards."""
    from vddlib.checksums import write_sums
    from vddlib.diffusion.generate import launch_pool
    from vddlib.diffusion.stage import load_diffusion

    vae, latte = pair
    weights = tmp_path / "weights"
    for name, model in (("vae", vae), ("latte_ema", latte)):
        model.save_pretrained(weights / name)
        write_sums(weights / name)
    settings = {"latte": "weights/latte_ema"}
    two = launch_pool(weights, CLASSES, dataclasses.replace(CFG, processes=2), tmp_path / "two", settings=settings,
                      port=29537).parent
    v, m = load_diffusion(weights)
    generate_pool(m, v, CLASSES, CFG, tmp_path / "one", settings=settings, progress=False)
    assert (two / "manifest.json").read_text() == (tmp_path / "one" / "manifest.json").read_text()
    assert same_pool(load_pool(two, with_latents=True), load_pool(tmp_path / "one", with_latents=True))


def test_missing_vae_folder_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="sd-vae-ft-ema.*01_finetune"):
        load_vae(tmp_path / "nowhere")


def test_missing_pool_names_the_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="02_generate"):
        load_pool(tmp_path)


def test_a_truncated_pool_file_names_the_fix(tmp_path, pair):
    vae, latte = pair
    generate_pool(latte, vae, CLASSES, CFG, tmp_path, progress=False)
    with open(tmp_path / "videos.u8", "r+b") as f:
        f.truncate(100)
    with pytest.raises(FileNotFoundError, match=r"videos\.u8, latents\.f16\) is truncated.*delete the folder"):
        load_pool(tmp_path)
