"""Every stage is callable from Python with its own settings objects and no YAML file: fine-tune, generate,
select and evaluate chained on a tiny digits-motion split, each handed only the settings and folders it uses."""
from __future__ import annotations

import numpy as np

from vddlib.data.datasets import DatasetConfig, load_dataset
from vddlib.data.digits_motion import DigitsMotionConfig
from vddlib.data.pool import load_pool
from vddlib.diffusion.generate import GenerateConfig
from vddlib.diffusion.stage import DiffusionSettings, diffusion_dir, finetune, generate, pool_dir
from vddlib.diffusion.train import LatteTrainConfig
from vddlib.evaluation.jobs import EvalJobs, queue_manifests
from vddlib.evaluation.train import TrainConfig
from vddlib.models.autoencoder import SmallVAEConfig
from vddlib.selection.embeddings import VideoMAETrainConfig
from vddlib.selection.stage import SelectionSettings, make_selections, selection_inputs


def test_the_stages_run_from_plain_settings(tmp_path):
    dataset = DatasetConfig(digits_motion=DigitsMotionConfig(train_per_class=2, test_per_class=2, seed=4),
                            cache_dir=str(tmp_path / "data"))
    diffusion = DiffusionSettings(vae_steps=2, vae_batch=4, smoke_steps=1,
                                  vae=SmallVAEConfig(block_out_channels=(8, 8, 8), norm_num_groups=4),
                                  latte=LatteTrainConfig(size="tiny", steps=2, batch_size=4, checkpoint_every=2,
                                                         learn_sigma=False),
                                  work_dir=str(tmp_path / "diffusion"), pools_dir=str(tmp_path / "pools"))
    gen = GenerateConfig(per_class=3, steps=2, batch_size=10, shard_size=10)
    sel = SelectionSettings(methods=("random", "tac_dt"), manifests=str(tmp_path / "selections"),
                            videomae=VideoMAETrainConfig(steps=2, batch_size=4), work_dir=str(tmp_path / "selection"))
    splits = load_dataset(dataset)

    work = diffusion_dir(diffusion, dataset.name)
    report = finetune(diffusion, dataset, splits, work)
    assert report["latte"].startswith("trained here: 2 steps") and (work / "latte_ema" / "config.json").is_file()

    path = pool_dir(diffusion, gen, dataset.name)
    assert path.parent == tmp_path / "pools" / dataset.name and "_nc3_seed0_" in path.name
    generate(gen, work, path, splits["train"].class_names, progress=False)
    pool = load_pool(path)
    assert pool.class_counts() == [3] * splits["train"].num_classes

    pool, inputs, info = selection_inputs(sel, dataset.name, splits["train"], path)
    assert info["embedding_dim"] == 128 and inputs["latents"].shape[0] == len(pool)
    mans = make_selections(sel, dataset.name, pool, inputs, vpcs=[1, 2], seeds=[0], pool_name=path.name,
                           progress=False)
    assert [(m["method"], m["vpc"]) for m in mans] == [("random", 1), ("random", 2), ("tac_dt", 1), ("tac_dt", 2)]
    assert (tmp_path / "selections" / dataset.name / path.name / "tac_dt" / "vpc2_seed0.json").is_file()

    jobs = EvalJobs(splits["test"], dataset.name)
    queue_manifests(jobs, pool, mans[:1], TrainConfig(min_steps=2, max_steps=2, batch_size=8), "synthetic")
    (row,) = jobs.run(1, tmp_path / "jobs", progress=False)
    assert row["method"] == "random" and row["vpc"] == 1 and 0.0 <= row["top1"] <= 100.0
    assert np.isfinite(row["f1"]) and row["pool"] == "synthetic"


def test_the_run_context_takes_the_notebooks_parameters_else_the_profiles():
    from vddlib.profile import load_profile, run_context

    prof = load_profile("default")
    run = run_context(prof)
    assert run.seeds == tuple(range(prof.evaluation.runs)) and run.vpcs == tuple(prof.evaluation.vpcs)
    assert run.methods == tuple(prof.selection.methods) and run.device == "cpu"
    assert run.pool == pool_dir(prof.diffusion, prof.generate, "digits-motion")
    assert run.diffusion == diffusion_dir(prof.diffusion, "digits-motion")
    assert run_context(prof, runs_of="ablation").seeds == tuple(range(prof.ablation.runs))
    mine = run_context(prof, runs=2, vpcs=[5], methods=["random"], processes=3)
    assert (mine.seeds, mine.vpcs, mine.methods, mine.processes) == ((0, 1), (5,), ("random",), 3)
