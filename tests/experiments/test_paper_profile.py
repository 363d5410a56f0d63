"""The paper profiles: each loads, builds on the meta device with the paper's shapes (no weights, no data),
plans the right amount of work, and names every missing local file with where to get it."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from vddlib.profile import load_profile
from vddlib.data.real import DATASETS
from vddlib.experiments.plan import plan

PAPER = {"paper_miniucf": "miniucf", "paper_ucf101": "ucf101", "paper_hmdb51": "hmdb51",
         "paper_kinetics400": "kinetics400", "paper_ssv2": "ssv2"}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_profile_plans_the_papers_shapes_on_the_meta_device(name):
    prof = load_profile(name)
    ds = PAPER[name]
    K = DATASETS[ds].classes
    p = plan(prof)
    assert p["classes"] == K
    assert p["diffusion_clip"] == [16, 3, 256, 256] and p["latent"] == [16, 4, 32, 32]
    # Latte-XL/2 with learn_sigma: 2×4 output channels; ~674 M parameters (the label table grows with K)
    assert p["latte"]["size"] == "XL/2" and p["latte"]["output"] == [16, 8, 32, 32]
    assert 673.0 < p["latte"]["params_M"] < 675.0
    assert abs(p["vae_params_M"] - 83.65) < 0.01                       # Stable Diffusion's VAE
    assert p["videomae"]["embedding_dim"] == 1408 and p["videomae"]["input"] == [16, 3, 224, 224]
    assert p["evaluator"]["input"] == [3, 16, 112, 112] and p["evaluator"]["logits"] == [K]
    assert p["vst_network"]["scores"] == [100] and p["vst_network"]["input"] == [100, 16, 4, 32, 32]
    assert p["pool_videos"] == 100 * K                                  # Table 1's "generated" column
    assert p["selections"] == 8 * 3 * 5 and p["evaluator_trainings"] == 8 * 3 * 5 + 10
    assert p["accuracy"] == ("top5" if ds in ("kinetics400", "ssv2") else "top1")
    assert prof.generate.guidance_scale == 7.0                           # Latte's; the sampler: results/sampler_quality.md
    assert prof.generate.sampler == "sde-dpmsolver++" and prof.generate.steps == 25
    assert prof.evaluation.runs == 5 and prof.evaluation.train.optimizer == "sgd"


def test_paper_table1_pool_sizes():
    sizes = {n: plan(load_profile(n))["pool_videos"] for n in ("paper_ucf101", "paper_kinetics400", "paper_ssv2")}
    assert sizes == {"paper_ucf101": 10_100, "paper_kinetics400": 40_000, "paper_ssv2": 17_400}


def test_plan_gives_the_host_memory_and_disk_the_data_takes():
    """Clips are decoded one shard (512 videos) at a time; the evaluators' splits (uint8 16 × 112²: 588 KiB a
    video) are memory-mapped from their split files, and so are Latte's latents (fp32 16 × 4 × 32²: 256 KiB);
    Latte's own 256² clips are not cached on disk when the autoencoder is given (the paper's SD VAE): their
    latents are. While a split's file is written, its shards are on disk too."""
    ucf, k400 = plan(load_profile("paper_ucf101")), plan(load_profile("paper_kinetics400"))
    video, clip256, latent = 3 * 16 * 112 ** 2, 3 * 16 * 256 ** 2, 16 * 4 * 32 ** 2 * 4
    n_train = DATASETS["ucf101"].train
    n = n_train + DATASETS["ucf101"].test
    assert ucf["host_gib"]["evaluator_clip_shard"] * 2**30 == pytest.approx(512 * video)
    assert ucf["mapped_gib"]["evaluator_splits"] * 2**30 == pytest.approx(n * video)
    assert ucf["mapped_gib"]["latte_latents"] * 2**30 == pytest.approx(n_train * latent)
    assert ucf["host_gib"]["latte_latents"] == 0
    assert ucf["host_gib"]["diffusion_clip_shard"] * 2**30 == pytest.approx(512 * clip256)      # not the 28 GiB split
    assert ucf["disk_gib"]["clip_cache"] * 2**30 == pytest.approx(n * video)
    assert ucf["disk_gib"]["clip_cache_peak"] * 2**30 == pytest.approx((n + n_train) * video)
    assert ucf["disk_gib"]["latte_latents"] == pytest.approx(2 * ucf["mapped_gib"]["latte_latents"])
    own = load_profile("paper_ucf101")
    own.diffusion.vae_path = ""                                          # an autoencoder trained on the clips
    assert plan(own)["disk_gib"]["clip_cache"] * 2**30 == pytest.approx(n * video + n_train * clip256)
    assert plan(own)["disk_gib"]["clip_cache_peak"] * 2**30 == pytest.approx(n * video + 2 * n_train * clip256)
    # the pool's videos and latents (fp16, as stored) are mapped from their files too; on disk the pool is
    # briefly twice its size while its shards are assembled
    assert ucf["mapped_gib"]["pool_videos"] * 2**30 == pytest.approx(10_100 * video)
    assert ucf["mapped_gib"]["pool_latents"] * 2**30 == pytest.approx(10_100 * latent // 2)
    assert "pool_latents" not in ucf["host_gib"]
    assert ucf["disk_gib"]["pool"] * 2**30 == pytest.approx(10_100 * (video + latent // 2))
    assert ucf["disk_gib"]["pool_peak"] == pytest.approx(2 * ucf["disk_gib"]["pool"])
    assert k400["mapped_gib"]["evaluator_splits"] > 128                 # more than the lent GPU machine's memory,
    assert k400["mapped_gib"]["latte_latents"] > 50                     # 57 GiB, mapped too
    assert sum(k400["host_gib"].values()) < 4                           # which the host need not hold; what it
    #                                                                     holds, every stage's at once, is 1.8 GiB
    assert plan(load_profile("default"))["host_gib"]["diffusion_clip_shard"] == 0    # digits-motion: one clip


def test_default_plan_matches_the_models_it_trains():
    p = plan(load_profile("default"))
    assert p["latent"] == [8, 4, 8, 8] and p["classes"] == 10 and p["pool_videos"] == 1000
    assert p["evaluator"]["logits"] == [10] and p["videomae"]["embedding_dim"] == 128


def test_missing_inputs_are_all_named_with_where_to_get_them(tmp_path):
    prof = load_profile("paper_ucf101")
    prof.dataset.root = str(tmp_path / "nowhere")
    prof.diffusion.vae_path = str(tmp_path / "vae")
    prof.diffusion.init_from = str(tmp_path / "ucf101.pt")
    prof.selection.videomae_path = str(tmp_path / "videomae")
    with pytest.raises(FileNotFoundError) as e:
        prof.check_inputs()
    msg = str(e.value)
    assert "4 missing input(s)" in msg
    for part in ("dataset.root", "nowhere", "sd-vae-ft-ema", "ucf101.pt", "maxin-cn/Latte", "VideoMAEv2",
                 "videomae/config.json"):
        assert part in msg, part


def test_split_files_are_checked_and_present_files_pass(tmp_path):
    prof = load_profile("paper_ucf101")
    root = tmp_path / "ucf"
    (root / "UCF-101").mkdir(parents=True)
    prof.dataset.root = str(root)
    vae = tmp_path / "vae"
    vae.mkdir()
    (vae / "config.json").write_text("{}")
    prof.diffusion.vae_path, prof.diffusion.init_from, prof.selection.videomae_path = str(vae), "", ""
    with pytest.raises(FileNotFoundError, match="classInd.txt"):          # the split files are missing
        prof.check_inputs()
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n")
    (lists / "trainlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n")
    (lists / "testlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\n")
    checked = prof.check_inputs()
    assert any("ucf101/train" in c for c in checked) and any(str(vae) in c for c in checked)


def test_default_profile_needs_no_files():
    assert load_profile("default").check_inputs() == []


def test_evaluation_device_and_accuracy_are_validated():
    from vddlib.evaluation.train import EvalProtocol

    with pytest.raises(ValueError, match="evaluation.accuracy"):
        EvalProtocol(accuracy="top3")
    with pytest.raises(ValueError, match="evaluation.device"):
        EvalProtocol(device="tpu")
    assert dataclasses.replace(EvalProtocol(), device="auto").device == "auto"


def test_videomae_input_is_fitted_to_the_models_frames_and_size():
    from vddlib.selection.embeddings import fit_to_model, videomae_v2_giant_config

    x = torch.rand(2, 8, 3, 112, 112)
    y = fit_to_model(x, videomae_v2_giant_config(5))
    assert y.shape == (2, 16, 3, 224, 224)


def test_the_first_stage_checks_the_paths_before_any_work(tmp_path):
    from vddlib.diffusion import stage as stages

    prof = load_profile("paper_miniucf")
    prof.dataset.root = str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="missing input"):
        stages.finetune(prof.diffusion, prof.dataset, {}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_pool_is_fitted_to_the_evaluators_clip_when_diffusion_works_larger():
    for name in ("paper_ucf101", "paper_miniucf", "paper_hmdb51", "paper_kinetics400", "paper_ssv2"):
        prof = load_profile(name)
        assert prof.diffusion.clip.crop == 256 and prof.dataset.clip.crop == 112
        assert prof.generate.video_size == 112, name           # decoded 256² videos are resized for C3D
        assert prof.generate.video_frames in (0, prof.dataset.clip.frames)
    default = load_profile("default")
    assert default.generate.video_size == 0 and default.generate.video_frames == 0


def test_diffusion_split_decodes_the_diffusion_clip_of_the_train_files(tmp_path):
    from tests import fixtures
    from vddlib.data.datasets import diffusion_split, load_dataset
    from vddlib.data.video_io import ClipSpec

    root = fixtures.ucf101(tmp_path / "ucf")
    prof = load_profile("paper_ucf101")
    prof.dataset.root, prof.dataset.cache_dir = str(root), str(tmp_path / "cache")
    prof.dataset.clip = ClipSpec(frames=4, gap=2, resize=(64, 48), crop=32)
    prof.diffusion.clip = ClipSpec(frames=6, gap=1, resize=(64, 48), crop=48, start="random")
    splits = load_dataset(prof.dataset)
    d = diffusion_split(prof.dataset, prof.diffusion.clip, splits)
    assert tuple(d.videos.shape[1:]) == (6, 3, 48, 48) and tuple(splits["train"].videos.shape[1:]) == (4, 3, 32, 32)
    assert d.ids == splits["train"].ids                      # the same train files, never the test ones
    assert set(d.ids).isdisjoint(splits["test"].ids)
    prof.diffusion.clip = None
    assert diffusion_split(prof.dataset, prof.diffusion.clip, splits) is splits["train"]
