"""The embedded dataset: balance, disjoint glyphs, determinism, cache, validation."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from vddlib.data.digits_motion import CLASSES, DigitsMotionConfig, glyph_split, load_digits_motion, make_digits_motion

SMALL = DigitsMotionConfig(train_per_class=6, test_per_class=4, seed=3)


@pytest.fixture(scope="module")
def small():
    return make_digits_motion(SMALL)


def test_shapes_and_balance(small):
    tr, te = small["train"], small["test"]
    assert tr.videos.shape == (60, 8, 3, 32, 32) and tr.videos.dtype == torch.uint8
    assert te.videos.shape == (40, 8, 3, 32, 32)
    assert tr.class_counts() == [6] * 10 and te.class_counts() == [4] * 10
    assert tr.class_names == list(CLASSES)


def test_train_and_test_glyphs_are_disjoint(small):
    _, train_pool, test_pool = glyph_split()
    assert not set(train_pool) & set(test_pool)
    assert set(small["train"].meta["glyph_ids"]) <= set(train_pool.tolist())
    assert set(small["test"].meta["glyph_ids"]) <= set(test_pool.tolist())


def test_seeded_and_deterministic(small):
    again = make_digits_motion(SMALL)
    assert torch.equal(again["train"].videos, small["train"].videos)
    assert torch.equal(again["test"].labels, small["test"].labels)
    other = make_digits_motion(DigitsMotionConfig(train_per_class=6, test_per_class=4, seed=4))
    assert not torch.equal(other["train"].videos, small["train"].videos)


def test_videos_move(small):
    """Every class changes over time, and no frame pair is identical (it is a video, not a still)."""
    v = small["train"].videos.float()
    diff = (v[:, 1:] - v[:, :-1]).abs().mean(dim=(1, 2, 3, 4))
    assert diff.min() > 1.0


def test_frames_count_setting():
    s = make_digits_motion(DigitsMotionConfig(train_per_class=1, test_per_class=1, frames=16))
    assert s["train"].videos.shape[1] == 16


def test_translation_classes_move_their_way():
    """The glyph's brightness centroid moves right for translate_right, left for translate_left
    (measured on clean renders: no distractor, background or noise)."""
    cfg = DigitsMotionConfig(train_per_class=20, test_per_class=1, distractor_alpha=0.0,
                             background_contrast=0.0, noise_std=0.0, seed=1)
    tr = make_digits_motion(cfg)["train"]
    xs = torch.arange(32, dtype=torch.float32)
    for name, sign in (("translate_right", 1), ("translate_left", -1)):
        idx = tr.indices_of(CLASSES.index(name))
        v = tr.videos[idx].float().amax(dim=2)                    # (n, T, H, W)
        v = v - v.amin(dim=(2, 3), keepdim=True)
        cx = (v.sum(2) * xs).sum(-1) / v.sum(dim=(2, 3))          # (n, T)
        assert (sign * (cx[:, -1] - cx[:, 0]) > 0).float().mean() > 0.8, name


def test_cache_roundtrip(tmp_path):
    a = load_digits_motion(SMALL, tmp_path)
    files = sorted(p.name for p in tmp_path.rglob("*.safetensors"))
    assert files == ["test.safetensors", "train.safetensors"]
    b = load_digits_motion(SMALL, tmp_path)
    assert torch.equal(a["train"].videos, b["train"].videos) and a["train"].meta == b["train"].meta


@pytest.mark.parametrize("bad", [dict(frames=2), dict(size=8), dict(distractor_alpha=1.5),
                                 dict(context_p=-0.1), dict(train_per_class=0)])
def test_bad_config_names_the_field(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        DigitsMotionConfig(**bad)



def test_the_cached_splits_are_the_same_bytes_whatever_code_path_mkl_takes(tmp_path):
    """MKL picks its code path by the CPU, and its AVX-512 path (Intel CPUs) rounds a few rendered pixels otherwise
    (at 20 videos per class, both splits differ). The cache is rendered with MKL's reproducible mode, so processes
    that run MKL's AVX-512 and AVX2 paths cache the same bytes (on a CPU without AVX-512 both runs take AVX2)."""
    import os
    import subprocess
    import sys

    cfg = DigitsMotionConfig(train_per_class=20, test_per_class=20)
    code = ("import sys, json; from vddlib.data.digits_motion import DigitsMotionConfig, load_digits_motion; "
            "from vddlib.data.hashing import data_hash; s = load_digits_motion(DigitsMotionConfig(**json.loads("
            "sys.argv[1])), sys.argv[2]); print(data_hash(s['train']), data_hash(s['test']))")
    hashes = {}
    for path in ("AVX512", "AVX2"):
        env = {**os.environ, "MKL_CBWR": path}
        out = subprocess.run([sys.executable, "-c", code, json.dumps(dataclasses.asdict(cfg)), str(tmp_path / path)],
                             env=env, capture_output=True, text=True, check=True).stdout
        hashes[path] = out.split()
    assert hashes["AVX512"] == hashes["AVX2"]
