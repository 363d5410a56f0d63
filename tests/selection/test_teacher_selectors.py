"""Class-faithful selectors on a pool with planted off-class videos: one in five videos of each class looks like
another class (its embedding and latent sit in that class's blobs) and the teacher says so. A faithful selector
never picks them; Random does; and the base selector's own job (spreading over the class's blobs) survives."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.fixtures import blob_pool
from vddlib.selection import SELECTORS, select
from vddlib.selection.selectors.teacher import faithful_part
from vddlib.selection.stage import SelectionSettings
from vddlib.selection.vst import VSTConfig

CLASSES, BLOBS, PER_BLOB = 4, 5, 8


@pytest.fixture(scope="module")
def planted():
    p = blob_pool(classes=CLASSES, blobs=BLOBS, per_blob=PER_BLOB, seed=1)
    rng = np.random.default_rng(0)
    labels, n = p["labels"], len(p["labels"])
    off = np.zeros(n, dtype=bool)
    emb, lat = p["embeddings"].copy(), p["latents"].clone()
    teacher = np.full((n, CLASSES), 0.02)
    teacher[np.arange(n), labels] = rng.uniform(0.5, 0.95, n)          # genuine videos: recognised, more or less
    for c in range(CLASSES):
        own = np.flatnonzero(labels == c)
        for i in rng.choice(own, len(own) // 5, replace=False):       # planted: looks like the next class
            donor = rng.choice(np.flatnonzero(labels == (c + 1) % CLASSES))
            emb[i], lat[i], off[i] = emb[donor], lat[donor], True
            teacher[i] = 0.02
            teacher[i, (c + 1) % CLASSES], teacher[i, c] = 0.9, 0.04
    return {"labels": labels, "blob": p["blob"], "off": off, "embeddings": emb, "latents": lat,
            "teacher": teacher / teacher.sum(1, keepdims=True), "scores": teacher}


def _picked_off(sel: dict, off: np.ndarray) -> int:
    return int(sum(off[i] for idx in sel.values() for i in idx))


def _blobs_covered(sel: dict, blob: np.ndarray) -> float:
    return float(np.mean([len({int(blob[i]) for i in idx}) for idx in sel.values()]))


def test_the_faithful_part_keeps_each_class_s_most_confident_share():
    labels = np.repeat(np.arange(2), 10)
    conf = np.r_[np.linspace(0, 1, 10), np.linspace(1, 0, 10)]
    kept = faithful_part(labels, conf, 0.3, vpc=2)
    assert kept.tolist() == [7, 8, 9, 10, 11, 12]
    assert len(faithful_part(labels, conf, 0.1, vpc=4)) == 8                  # never fewer than VPC per class


def test_teacher_confidence_avoids_the_planted_videos_random_does_not(planted):
    inputs = {k: planted[k] for k in ("teacher",)}
    for seed in range(3):
        assert _picked_off(select("teacher_conf", planted["labels"], 5, seed=seed, **inputs), planted["off"]) == 0
    assert sum(_picked_off(select("random", planted["labels"], 5, seed=s), planted["off"]) for s in range(3)) > 0


@pytest.mark.parametrize("base", ["tac_dt", "herding"])
def test_a_faithful_selector_avoids_the_planted_videos_and_still_spreads_over_the_blobs(planted, base):
    labels, off, blob = planted["labels"], planted["off"], planted["blob"]
    inputs = {"embeddings": planted["embeddings"], "teacher": planted["teacher"]}
    faithful = [select(f"{base}_faithful", labels, 5, seed=s, keep=0.6, **inputs) for s in range(3)]
    plain = [select(base, labels, 5, seed=s, embeddings=planted["embeddings"]) for s in range(3)]
    assert all(_picked_off(f, off) == 0 for f in faithful)
    conf = [select("teacher_conf", labels, 5, teacher=planted["teacher"])]
    # what the base is for survives: the faithful picks spread over the class's blobs, more than confidence alone
    assert np.mean([_blobs_covered(f, blob) for f in faithful]) > np.mean([_blobs_covered(f, blob) for f in conf])
    assert np.mean([_blobs_covered(f, blob) for f in faithful]) >= 4.5
    assert all(_picked_off(p, off) > 0 for p in plain)          # the base alone takes a planted cluster for a blob


def test_vst_unet_faithful_trains_on_the_faithful_part_only(planted):
    cfg = VSTConfig(widths=(8, 8), embed_dim=16, epochs=8, patience=8)
    labels, off = planted["labels"], planted["off"]
    sel = select("vst_unet_faithful", labels, 3, seed=0, latents=planted["latents"], teacher=planted["teacher"],
                 config=SELECTORS["vst_unet_faithful"].settings(keep=0.5, base=cfg))
    assert _picked_off(sel, off) == 0 and all(len(v) == 3 and all(labels[i] == c for i in v) for c, v in sel.items())


def test_a_faithful_selector_is_set_from_the_profile_and_refuses_a_bad_share():
    sel = SelectionSettings.from_dict({"tac_dt_faithful": {"keep": 0.3, "base": {"pca_dims": 4}}}, "test.yaml")
    cfg = sel.settings("tac_dt_faithful")["config"]
    assert cfg.keep == 0.3 and cfg.base.pca_dims == 4 and cfg.base.candidates == 3      # the base's own defaults
    # the base's section of the profile is where a faithful selector's base settings start (a paper profile sets
    # VST-UNet once); its own `base` goes on top
    sel = SelectionSettings.from_dict({"vst_unet": {"epochs": 3, "lr": 0.02},
                                       "vst_unet_faithful": {"base": {"epochs": 5}}}, "test.yaml")
    cfg = sel.settings("vst_unet_faithful")["config"]
    assert (cfg.keep, cfg.base.epochs, cfg.base.lr) == (0.5, 5, 0.02) and sel.settings("vst_unet")["config"].epochs == 3
    sel = SelectionSettings.from_dict({"tac_dt": {"pca_dims": 7}}, "test.yaml")
    assert sel.settings("tac_dt_faithful")["config"].base.pca_dims == 7
    assert SelectionSettings.from_dict({}, "t.yaml").settings("tac_dt_faithful")["config"].base.pca_dims == 50
    with pytest.raises(ValueError, match="keep is the share"):
        SelectionSettings.from_dict({"herding_faithful": {"keep": 1.5}}, "test.yaml")
    assert SELECTORS["vst_unet_faithful"].randomised == SELECTORS["vst_unet"].randomised
    assert "teacher" in SELECTORS["tac_dt_faithful"].needs


def test_a_teacher_that_does_not_cover_the_classes_is_refused(planted):
    with pytest.raises(ValueError, match="teacher must be"):
        select("teacher_conf", planted["labels"], 1, teacher=planted["teacher"][:, :2])
