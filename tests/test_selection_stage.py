"""The selection stage around the selectors: the VideoMAE embedder (train, save, load, features, probe),
the profile's selection section, and the evaluation grid split over two processes."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from tests.launch import launch_two_processes
from vddlib.data.videoset import VideoSet
from vddlib.embeddings import (VideoMAETrainConfig, build_videomae, load_videomae, pool_features, train_videomae,
                               videomae_features)
from vddlib.evaluate import TrainConfig, evaluate_selections
from vddlib.results import read_runs
from vddlib.select import select

TINY = VideoMAETrainConfig(patch_size=8, tubelet_size=2, hidden_size=32, layers=1, heads=2, intermediate_size=32,
                           steps=30, batch_size=8, lr=3e-3)


def toy_videos(n_per_class: int = 6, classes: int = 3, seed: int = 0) -> VideoSet:
    """Class c: a bright square that moves right (0), down (1) or stays (2), on noise."""
    g = torch.Generator().manual_seed(seed)
    v = (torch.rand(n_per_class * classes, 4, 3, 16, 16, generator=g) * 60).to(torch.uint8)
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    for i, c in enumerate(labels.tolist()):
        y, x = torch.randint(0, 4, (2,), generator=g).tolist()
        for t in range(4):
            dy, dx = [(0, 3 * t), (3 * t, 0), (0, 0)][c]
            v[i, t, :, y + dy:y + dy + 4, x + dx:x + dx + 4] = 255
    return VideoSet(v, labels, [f"c{k}" for k in range(classes)], [f"v{i}" for i in range(len(v))], {"split": "train"})


def test_videomae_trains_saves_and_loads(tmp_path):
    train = toy_videos()
    model = train_videomae(train, TINY, progress=False)
    emb, probs = videomae_features(model, train.videos)
    assert emb.shape == (18, 32) and probs.shape == (18, 3)
    assert torch.allclose(probs.sum(1), torch.ones(18), atol=1e-5)
    model.save_pretrained(str(tmp_path / "vm"), safe_serialization=True)
    assert (tmp_path / "vm" / "model.safetensors").is_file()
    emb2, _ = videomae_features(load_videomae(tmp_path / "vm"), train.videos)
    assert torch.allclose(emb, emb2, atol=1e-5)


def test_videomae_learns():
    train = toy_videos(10)
    untrained = build_videomae(3, 4, 16, TINY)
    trained = train_videomae(train, VideoMAETrainConfig(**{**TINY.__dict__, "steps": 150, "lr": 1e-3}), progress=False)
    acc = lambda m: float((videomae_features(m, train.videos)[1].argmax(1) == train.labels).float().mean())
    assert acc(trained) > max(0.6, acc(untrained) + 0.2)


def test_a_shipped_embedder_is_used_only_for_its_own_data_and_settings(tmp_path, monkeypatch):
    import vddlib.embeddings as emb_mod
    from vddlib.embeddings import embedder, shipped_matches

    train = toy_videos()
    cfg = VideoMAETrainConfig(**{**TINY.__dict__, "steps": 5})
    first = embedder(train, cfg, tmp_path / "a", "data1")                  # trains and caches, with its train info
    (shipped,) = (tmp_path / "a").iterdir()
    assert shipped_matches(shipped, cfg, "data1")
    assert not shipped_matches(shipped, cfg, "data2")                       # other data
    assert not shipped_matches(shipped, VideoMAETrainConfig(**{**cfg.__dict__, "steps": 6}), "data1")  # other settings
    trained = []
    real_train = emb_mod.train_videomae
    monkeypatch.setattr(emb_mod, "train_videomae", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    used = embedder(train, cfg, tmp_path / "b", "data1", shipped=shipped)
    assert trained == [] and (tmp_path / "b" / shipped.name / "model.safetensors").is_file()
    assert all(torch.equal(p, q) for p, q in zip(first.parameters(), used.parameters()))
    embedder(train, cfg, tmp_path / "c", "data2", shipped=shipped)         # the data differ: trained here instead
    assert trained == [1]


def test_missing_videomae_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No VideoMAE weights at .*config.json missing.*videomae_path"):
        load_videomae(tmp_path / "nowhere")


def test_pool_features_cache_and_probe(tmp_path):
    train = toy_videos()
    pool = toy_videos(seed=1)
    model = train_videomae(train, TINY, progress=False)
    f1 = pool_features(model, pool, tmp_path / "f.safetensors")
    mtime = (tmp_path / "f.safetensors").stat().st_mtime_ns
    f2 = pool_features(model, pool, tmp_path / "f.safetensors")
    assert np.array_equal(f1["embeddings"], f2["embeddings"])
    assert (tmp_path / "f.safetensors").stat().st_mtime_ns == mtime            # re-used, not rewritten
    retrained = train_videomae(train, VideoMAETrainConfig(**{**TINY.__dict__, "steps": 5}), progress=False)
    f_new = pool_features(retrained, pool, tmp_path / "f.safetensors")      # another embedder: recomputed
    assert not np.array_equal(f_new["embeddings"], f1["embeddings"])
    # a backbone whose head has other classes (a pretrained VideoMAE-v2): a probe on the train embeddings scores
    other = build_videomae(7, 4, 16, TINY)
    with pytest.raises(ValueError, match="pass the real train split"):
        pool_features(other, pool, tmp_path / "g.safetensors")
    f3 = pool_features(other, pool, tmp_path / "g.safetensors", train=train)
    assert f3["scores"].shape == (18, 3)
    sel = select("mae_score", pool.labels, 2, scores=f3["scores"])
    assert all(len(v) == 2 for v in sel.values())


def test_selection_profile_validation(tmp_path):
    from vddlib.config import load_profile

    prof = load_profile("default")
    assert set(prof.selection.methods) == {"random", "mae_score", "csta", "dm_mmd", "vst_unet", "tac_dt", "herding",
                                           "kcenter"}
    assert prof.selection.settings("tac_dt")["linkage"] in ("ward", "single", "average", "complete")
    bad = tmp_path / "bad.yaml"
    bad.write_text("selection:\n  methods: [random, best]\n")
    with pytest.raises(ValueError, match=r"selection.methods: unknown \['best'\]"):
        load_profile(str(bad))
    bad.write_text("selection:\n  vst_unet:\n    mixing: sideways\n")
    with pytest.raises(ValueError, match="VSTConfig.mixing"):
        load_profile(str(bad))


# ----------------------------------------------------------------------------- the grid on two processes
def grid_inputs():
    pool, test = toy_videos(6, seed=2), toy_videos(4, seed=3)
    cfg = TrainConfig(classifier="c3d", model={"widths": [4, 4, 8, 8], "convs_per_block": [1, 1, 1, 1], "fc": 8,
                                               "norm": "batch"}, min_steps=3, max_steps=3,
                      batch_size=4)
    manifests = [{"method": m, "vpc": v, "seed": s,
                  "indices": select(m, pool.labels, v, seed=s, embeddings=pool.videos.flatten(1).float().numpy())}
                 for m in ("random", "herding") for v in (1, 2) for s in (0, 1)]
    return pool, test, cfg, manifests


def test_grid_rows_do_not_depend_on_the_process_count(tmp_path):
    pool, test, cfg, manifests = grid_inputs()
    one = evaluate_selections(pool, test, cfg, manifests, dataset="toy", pool_name="synthetic", progress=False)
    assert len(one) == 8 and len({(r["method"], r["vpc"], r["seed"]) for r in one}) == 8
    p = launch_two_processes("grid_worker.py", str(tmp_path), port=29533)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "rank 0 of 2 done with 8 rows" in p.stdout and "rank 1 of 2 done with 8 rows" in p.stdout
    two = read_runs(tmp_path / "rows.csv")
    key = lambda r: (r["method"], r["vpc"], r["seed"])
    assert sorted(map(key, two)) == sorted(map(key, one))
    by = {key(r): r for r in two}
    for r in one:
        for m in ("top1", "top5", "auc", "f1"):
            assert by[key(r)][m] == pytest.approx(r[m], abs=1e-3), (key(r), m)     # the CSV keeps 4 decimals
