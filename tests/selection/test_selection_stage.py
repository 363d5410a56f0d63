"""The selection stage around the selectors: the VideoMAE embedder (train, save, load, features, probe),
and the profile's selection section."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from tests.fixtures import toy_videos
from vddlib.data.videoset import VideoSet
from vddlib.selection.embeddings import VideoMAETrainConfig, build_videomae, load_videomae, pool_features, train_videomae, videomae_features
from vddlib.selection import select

TINY = VideoMAETrainConfig(patch_size=8, tubelet_size=2, hidden_size=32, layers=1, heads=2, intermediate_size=32,
                           steps=30, batch_size=8, lr=3e-3)


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
    import vddlib.selection.embeddings as emb_mod
    from vddlib.selection.embeddings import embedder, shipped_matches

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
    from vddlib.profile import load_profile

    prof = load_profile("default")
    assert set(prof.selection.methods) == {"random", "mae_score", "csta", "dm_mmd", "vst_unet", "tac_dt", "herding",
                                           "kcenter", "teacher_conf", "tac_dt_faithful", "herding_faithful",
                                           "vst_unet_faithful"}
    assert prof.selection.settings("tac_dt")["config"].linkage in ("ward", "single", "average", "complete")
    bad = tmp_path / "bad.yaml"
    bad.write_text("selection:\n  methods: [random, best]\n")
    with pytest.raises(ValueError, match=r"selection.methods: unknown \['best'\]"):
        load_profile(str(bad))
    bad.write_text("selection:\n  vst_unet:\n    mixing: sideways\n")
    with pytest.raises(ValueError, match="VSTConfig.mixing"):
        load_profile(str(bad))


# ----------------------------------------------------------------------------- the grid on two processes


def test_missing_manifests_name_what_is_missing_and_what_is_there(tmp_path):
    import json as _json

    from vddlib.data.selections import load_manifests, manifest_path

    p = manifest_path(tmp_path, "ds", "poolA", "random", 1, 0)
    p.parent.mkdir(parents=True)
    p.write_text(_json.dumps({"method": "random", "vpc": 1, "seed": 0, "n_pool": 3, "indices": {"0": [1]}}))
    assert load_manifests(tmp_path, "ds", "poolA", ["random"], [1], [0])[0]["method"] == "random"
    with pytest.raises(FileNotFoundError) as e:
        load_manifests(tmp_path, "ds", "poolA", ["random", "tac_dt"], [1], [0, 1])
    msg = str(e.value)
    assert "3 of 4" in msg and "tac_dt/vpc1_seed0" in msg and "methods found there: ['random']" in msg
    assert "same profile, runs, vpcs and methods" in msg
