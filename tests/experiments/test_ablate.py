"""Notebook 05's library: DM, named selector variants, pool sizes, row re-use and the ablation profile."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import yaml

from vddlib.experiments import ablate
from vddlib.evaluation.jobs import EvalJobs
from vddlib.experiments.ablate import AblationSettings
from vddlib.profile import load_profile
from vddlib.data.videoset import VideoSet
from vddlib.data.augment import to_uint8
from vddlib.experiments.dm import DMConfig, distill_dm, dm_set
from vddlib.data.augment import prepare_videos
from vddlib.evaluation.train import TrainConfig
from vddlib.evaluation.results import read_runs, upsert_runs


def tiny_set(classes=3, per_class=4, frames=4, size=16, seed=0) -> VideoSet:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(per_class)
    videos = torch.randint(0, 256, (classes * per_class, frames, 3, size, size), generator=g, dtype=torch.uint8)
    videos[:, :, 0] = (labels * 60).view(-1, 1, 1, 1).to(torch.uint8)       # class in the red channel
    return VideoSet(videos, labels, [f"c{i}" for i in range(classes)])


SMALL_DM = DMConfig(iterations=3, real_batch=4, depth=2, width=8)


def test_pixel_round_trip_is_exact():
    vs = tiny_set()
    assert torch.equal(to_uint8(prepare_videos(vs.videos)), vs.videos)


def test_dm_starts_from_real_videos_and_learns_them():
    vs = tiny_set()
    frozen, _ = distill_dm(vs, 2, seed=0, cfg=dataclasses.replace(SMALL_DM, lr=1e-12), progress=False)
    assert frozen.class_counts() == [2, 2, 2] and frozen.videos.dtype == torch.uint8
    real = {tuple(v.flatten()[:64].tolist()) for v in vs.videos}
    assert all(tuple(v.flatten()[:64].tolist()) in real for v in frozen.videos)      # initialised from real videos
    moved, losses = distill_dm(vs, 2, seed=0, cfg=dataclasses.replace(SMALL_DM, lr=1e3), progress=False)
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert not torch.equal(moved.videos, frozen.videos)                            # pixels were optimised
    again, _ = distill_dm(vs, 2, seed=0, cfg=dataclasses.replace(SMALL_DM, lr=1e3), progress=False)
    assert torch.equal(again.videos, moved.videos)                                 # seeded


def test_dm_errors_and_cache(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="at least VPC=5"):
        distill_dm(tiny_set(), 5, 0, SMALL_DM, progress=False)
    with pytest.raises(ValueError, match="iterations"):
        DMConfig(iterations=0)
    first = dm_set(tiny_set(), 1, 0, SMALL_DM, tmp_path, progress=False)
    monkeypatch.setattr("vddlib.experiments.dm.distill_dm", lambda *a, **k: pytest.fail("a cached DM set was distilled again"))
    second = dm_set(tiny_set(), 1, 0, SMALL_DM, tmp_path, progress=False)
    assert torch.equal(first.videos, second.videos) and first.labels.tolist() == second.labels.tolist()


def test_per_class_prefix_and_join_keep_inputs_aligned():
    a, b = tiny_set(per_class=4, seed=0), tiny_set(per_class=3, seed=1)
    ia = {"embeddings": np.arange(len(a), dtype=float)[:, None], "latents": torch.arange(len(a)).float()}
    ib = {"embeddings": 100 + np.arange(len(b), dtype=float)[:, None], "latents": 100 + torch.arange(len(b)).float()}
    p, ip = ablate.per_class_prefix(a, ia, 2)
    assert p.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert ip["embeddings"][:, 0].tolist() == [0, 1, 4, 5, 8, 9] and ip["latents"].tolist() == [0, 1, 4, 5, 8, 9]
    assert torch.equal(p.videos[2], a.videos[4])
    with pytest.raises(ValueError, match="N_c=5 exceeds"):
        ablate.per_class_prefix(a, ia, 5)
    j, ij = ablate.pool_of_size(a, ia, (b, ib), 6)
    assert j.class_counts() == [6, 6, 6]
    assert ij["embeddings"][:6, 0].tolist() == [0, 1, 2, 3, 100, 101]              # a's class-0 videos, then b's
    assert torch.equal(j.videos[4], b.videos[0]) and ij["latents"][6].item() == 4
    with pytest.raises(ValueError, match="extra pool"):
        ablate.pool_of_size(a, ia, None, 6)


def test_lambda_variant_names_the_profile_weights_as_the_default():
    prof = load_profile("default")
    d, r = prof.selection.vst_unet.lambdas(5)
    assert ablate.lambda_variant(prof.selection, d, r, 5)[0] == "vst_unet"
    name, settings = ablate.lambda_variant(prof.selection, 0.0, 10.0, 5)
    assert name == "vst_unet-ld0-lr10"
    assert settings["config"].lambdas(5) == (0.0, 10.0) and settings["config"].epochs == prof.selection.vst_unet.epochs
    assert ablate.lambda_variant(prof.selection, 0.0, 0.1, 1)[0] == "vst_unet"                  # the paper's VPC-1 weights


def _row(method, vpc, seed, top1=50.0, pool="synthetic"):
    return {"dataset": "digits-motion", "pool": pool, "method": method, "vpc": vpc, "classifier": "c3d", "seed": seed,
            "top1": top1, "top5": 90.0, "auc": 80.0, "f1": 40.0, "train_s": 1.0}


def test_known_rows_needs_every_vpc_and_seed(tmp_path):
    csv = tmp_path / "runs.csv"
    upsert_runs(csv, [_row("m", 5, 0), _row("m", 5, 1), _row("m", 1, 0)])
    assert ablate.known_rows([csv], "digits-motion", "synthetic", "m", "c3d", [5], [0, 1]) is not None
    assert ablate.known_rows([csv], "digits-motion", "synthetic", "m", "c3d", [1, 5], [0, 1]) is None
    assert ablate.known_rows([csv], "digits-motion", "real", "m", "c3d", [5], [0]) is None
    assert ablate.known_rows([tmp_path / "absent.csv", csv], "digits-motion", "synthetic", "m", "c3d", [1], [0])[0]["vpc"] == 1


def test_queue_variant_reuses_rows_and_selects_into_its_own_folder(tmp_path, monkeypatch):
    from vddlib.evaluation import jobs as jobs_mod

    prof = load_profile("default")
    prof = dataclasses.replace(prof, selection=dataclasses.replace(prof.selection, manifests=str(tmp_path / "sel")))
    pool, test = tiny_set(), tiny_set(seed=3)
    inputs = {"embeddings": np.random.default_rng(0).normal(size=(len(pool), 5))}
    done = tmp_path / "eval.csv"
    upsert_runs(done, [_row("herding", 1, 0, top1=12.5)])
    monkeypatch.setattr(jobs_mod, "evaluate_runs", lambda *a, **k: pytest.fail("re-evaluated known rows"))
    out = tmp_path / "abl.csv"

    def evaluate_variant(**kw):              # queue, evaluate in this process, collect: notebook 05's three steps
        jobs = EvalJobs(test, prof.dataset.name)
        items = ablate.queue_variant(jobs, prof.selection, pool, inputs, dataset=prof.dataset.name, pool_name="p",
                                     pool_label="synthetic", seeds=[0], cfg=TrainConfig(), **kw)
        jobs.run(1, tmp_path / "jobs", progress=False)
        return ablate.collect(jobs, items, out)

    rows = evaluate_variant(name="herding", method="herding", vpcs=[1], reuse_from=[done])
    assert [r["top1"] for r in rows] == [12.5] and read_runs(out)[0]["top1"] == 12.5
    seen = []

    def fake_runs(train, test, cfg, seeds, **k):
        seen.append(train)
        return [{"seed": seeds[0], "top1": 33.0, "top5": 90.0, "auc": 0.5, "f1": 0.1, "train_s": 0.0}]

    monkeypatch.setattr(jobs_mod, "evaluate_runs", fake_runs)
    rows = evaluate_variant(name="kc-x", method="kcenter", vpcs=[2])
    (trained,) = seen
    assert rows[0]["method"] == "kc-x" and rows[0]["vpc"] == 2 and rows[0]["top1"] == 33.0
    assert trained.class_counts() == [2] * pool.num_classes
    assert (tmp_path / "sel" / "digits-motion" / "p" / "kc-x" / "vpc2_seed0.json").is_file()
    again = ablate.variant_manifests(prof.selection, prof.dataset.name, pool, inputs, "p", "kc-x", "kcenter", [2], [0])
    assert again[0]["reused"]
    chosen = pool.subset(np.concatenate([again[0]["indices"][c] for c in sorted(again[0]["indices"], key=int)]))
    assert torch.equal(chosen.videos, trained.videos)      # the queue trains on exactly the selected videos


def test_comparison_table_writes_labels_and_reference(tmp_path):
    rows = [_row("a", 5, s, top1=40.0 + s) for s in range(3)] + [_row("b", 5, s, top1=30.0) for s in range(3)]
    md, summary = ablate.comparison_table(rows, tmp_path / "t", label=lambda s: s["method"].upper(),
                                          reference=lambda s: {"top1": (41.0, 1.0)} if s["method"] == "a" else None)
    assert [s["label"] for s in summary] == ["A", "B"]
    # 3 runs a setting: exploratory, means with n and no ± (the paper's cells keep theirs)
    assert md.startswith("*Exploratory*: 3 run(s)") and "| 41.00 (n=3) |" in md and "41.0±1.0 (n=5)" in md
    assert "| B |" in md
    five = [_row("a", 5, s, top1=40.0 + s) for s in range(5)]
    md5, _ = ablate.comparison_table(five, tmp_path / "v", label=lambda s: s["method"])
    assert not md5.startswith("*Exploratory*") and "42.00±1.58 (n=5)" in md5
    assert (tmp_path / "t.csv").read_text().splitlines()[1].startswith("A,synthetic,5,c3d,3,41.0000")
    md, _ = ablate.comparison_table(rows, tmp_path / "u", label=lambda s: s["method"],
                                    extra={"objective": lambda s: "0.5" if s["method"] == "a" else "0.7"})
    assert "| objective |" in md.splitlines()[2] and "| 0.7 |" in md
    assert (tmp_path / "u.csv").read_text().splitlines()[0].endswith(",objective")


def test_exploratory_cells_show_no_spread(tmp_path, monkeypatch):
    """One or a few runs a setting print the mean and n, never '±0.00' (a std of one run is not zero, it is absent)."""
    assert ablate.objective_cell((0.53431, float("nan")), 1) == "0.5343 (n=1)"
    assert ablate.objective_cell((0.53431, 0.0123), 5) == "0.5343±0.0123 (n=5)"
    cells = {(0, 0): [_row("vst_unet-ld0-lr0", 5, 0, top1=53.7)],
             (0, 1): [_row("vst_unet-ld0-lr10", 5, s, top1=58.0 + s) for s in range(5)]}
    monkeypatch.setattr(ablate, "collect", lambda jobs, items, csv=None: items)   # the queue's rows, as collected
    grid, std, got, body = ablate.lambda_grid(None, cells, (0.0,), (0.0, 10.0), tmp_path / "r.csv")
    assert body == [["0", "53.70 (n=1)", "60.00±1.58 (n=5)"]] and grid[0, 0] == 53.7 and np.isnan(std[0, 0])
    assert len(got) == 6


def test_ablation_profile_validation(tmp_path):
    from vddlib.evaluation.train import EvalProtocol

    with pytest.raises(ValueError, match="evaluation.processes"):
        EvalProtocol(processes=0)
    assert load_profile("default").evaluation.processes == 2 and load_profile("paper_ucf101").evaluation.processes == 1
    with pytest.raises(ValueError, match="n_cs"):
        AblationSettings(vpc=5, n_cs=(4, 100))
    with pytest.raises(ValueError, match="unknown selector"):
        AblationSettings(real_methods=("random", "magic"))
    with pytest.raises(ValueError, match=r"ablation.studies: unknown \['lamda'\]"):
        AblationSettings(studies=("lambda", "lamda"))
    raw = yaml.safe_load(open("params/default.yaml"))
    raw["ablation"] = {"runs": 2, "transformer": {"lr": 0.01}, "dm": {"iterations": 7}}
    p = tmp_path / "x.yaml"
    p.write_text(yaml.safe_dump(raw))
    prof = load_profile(str(p))
    assert prof.ablation.runs == 2 and prof.ablation.dm.iterations == 7
    assert prof.ablation.transformer.classifier == "timesformer" and prof.ablation.transformer.lr == 0.01
    raw["ablation"] = {"dm": {"width": 0}}
    p.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="DMConfig"):
        load_profile(str(p))


def test_tac_dt_on_mapped_fp16_latents_selects_as_on_their_fp32_copy(tmp_path):
    """TAC-DT on the autoencoder latents reads them flattened as stored (a pool's fp16, mapped, not copied whole)."""
    from vddlib.files import map_raw
    from vddlib.selection import select

    g = torch.Generator().manual_seed(0)
    labels = np.repeat(np.arange(3), 12)
    lat = torch.randn(36, 4, 4, 4, 4, generator=g) * 300 + torch.from_numpy(labels).float()[:, None, None, None, None]
    (tmp_path / "latents.f16").write_bytes(lat.half().numpy().tobytes())       # squares of these overflow fp16
    mapped = map_raw(tmp_path / "latents.f16", lat.shape, "float16")
    flat = ablate.flat_latents(mapped)
    assert flat.dtype == np.float16 and np.shares_memory(flat, mapped.numpy())
    assert np.array_equal(ablate.flat_latents(mapped.float()), flat.astype(np.float32))
    for seed in (0, 1):
        assert (select("tac_dt", labels, 3, seed=seed, embeddings=flat)
                == select("tac_dt", labels, 3, seed=seed, embeddings=ablate.flat_latents(mapped.float())))


def _pool_inputs(pool: VideoSet, seed: int, right: float) -> dict:
    """Selector inputs of a tiny pool; the teacher recognises a video's class with probability `right` (even pool
    positions) or 1 - `right` (odd)."""
    rng = np.random.default_rng(seed)
    lab = pool.labels.numpy()
    p = np.where(np.arange(len(lab)) % 2 == 0, right, 1 - right)
    teacher = np.full((len(lab), pool.num_classes), 0.0)
    teacher[np.arange(len(lab)), lab] = p
    teacher[np.arange(len(lab)), (lab + 1) % pool.num_classes] += 1 - p
    return {"embeddings": rng.normal(size=(len(lab), 6)), "teacher": teacher,
            "latents": torch.from_numpy(rng.normal(size=(len(lab), 2, 2, 2, 2))).float()}


def test_pool_fidelity_keeps_the_recognised_and_reports_every_pool(tmp_path, monkeypatch):
    from vddlib.evaluation import jobs as jobs_mod

    prof = load_profile("default")
    sel = dataclasses.replace(prof.selection, manifests=str(tmp_path / "sel"))
    main, extra = tiny_set(per_class=4, seed=0), tiny_set(per_class=4, seed=1)
    mi, ei = _pool_inputs(main, 0, 0.9), _pool_inputs(extra, 1, 0.6)
    kept, ki = ablate.recognised_part(*ablate.join_pools(main, mi, extra, ei), 4)
    assert kept.class_counts() == [4, 4, 4]
    conf = ki["teacher"][np.arange(12), kept.labels.numpy()]
    assert sorted(conf.tolist()) == [0.6] * 6 + [0.9] * 6      # main's and extra's confident halves; never the 0.1/0.4
    with pytest.raises(ValueError, match="teacher"):
        ablate.recognised_part(main, {"embeddings": mi["embeddings"]}, 2)

    trained = []

    def fake_runs(train, test, cfg, seeds, **k):
        trained.append(len(train))
        return [{"seed": seeds[0], "top1": float(len(train)) + seeds[0], "top5": 90.0, "auc": 0.5, "f1": 0.1,
                 "train_s": 0.0}]

    monkeypatch.setattr(jobs_mod, "evaluate_runs", fake_runs)
    guided = {1.0: tiny_set(per_class=4, seed=5), 4.0: tiny_set(per_class=4, seed=6)}
    abl = AblationSettings(vpc=1, n_cs=(2,), guidance_scales=(1.0, 2.0, 4.0), fidelity_methods=("random", "teacher_conf"))
    jobs = EvalJobs(tiny_set(seed=3), prof.dataset.name)
    common = dict(dataset=prof.dataset.name, cfg=TrainConfig(), seeds=[0, 1], reuse_from=[])
    syn = dict(pool=main, inputs=mi, pool_name="p", pool_label="synthetic")
    study, pools = ablate.queue_pool_fidelity(
        jobs, abl, sel, syn, common, 2.0, lambda s: (guided[s], _pool_inputs(guided[s], int(s), 0.7), f"g{s:g}"),
        lambda: (extra, ei))
    assert [(p.label, p.guidance, p.generated) for p in pools] == [
        ("synthetic", 2.0, 4), ("synthetic-cfg1", 1.0, 4), ("synthetic-cfg4", 4.0, 4), ("synthetic-recognised", 2.0, 8)]
    jobs.run(1, tmp_path / "jobs", progress=False)
    full = jobs.resolve([i for p in pools for i in p.full_items])
    rows = ablate.collect(jobs, study.items, tmp_path / "abl.csv")
    assert len(full) == 4 * 2 and len(rows) == 4 * 2 * 2 and sorted(set(trained)) == [3, 12]   # VPC 1 sets, pools
    header, body, lines = ablate.pool_fidelity_rows(pools, full, rows, abl.fidelity_methods, 1)
    assert header[-2:] == ["random VPC 1", "teacher_conf VPC 1"] and len(body) == 4
    agreement = {r[0]: float(r[3]) for r in body}
    assert agreement["synthetic"] == 50.0 and agreement["synthetic-recognised"] == 100.0   # kept: every one recognised
    assert body[0][7].startswith("12.50") and len(lines) == 4 and "teacher_conf − random" in lines[0]
