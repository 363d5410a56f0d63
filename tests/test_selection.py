"""The selection stage: every selector's invariants, the set losses, TAC-DT's clustering, the knapsack,
Plackett-Luce, VST-UNet's symmetry, and manifests that are re-used."""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from vddlib.losses import (diversity_loss, representativeness, representativeness_loss, soft_diversity_loss,
                           soft_representativeness_loss)
from vddlib.models.csta import CSTAConfig
from vddlib.models.vst_unet import VSTUNet
from vddlib.select import (SELECTORS, flat_indices, knapsack, manifest_path, representatives, select,
                           selection_manifest, tac_dt_clusters)
from vddlib.vst import VSTConfig, plackett_luce_logp, plackett_luce_sample, train_vst_unet

K, N = 3, 12


def toy_pool(seed: int = 0):
    """3 classes × 12 videos: embeddings in per-class blobs, scores, small latents."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(K), N)
    emb = rng.normal(size=(K * N, 16)) + 3.0 * np.eye(16)[labels]
    scores = rng.dirichlet(np.ones(K), size=K * N)
    latents = torch.from_numpy(rng.normal(size=(K * N, 4, 4, 4, 4)).astype(np.float32))
    return labels, {"embeddings": emb, "scores": scores, "latents": latents}


FAST = {"vst_unet": {"config": VSTConfig(widths=(8, 8), embed_dim=8, epochs=2, samples=2)},
        "csta": {"config": CSTAConfig(dim=8, channels=2, epochs=2)}}


@pytest.mark.parametrize("method", sorted(SELECTORS))
@pytest.mark.parametrize("vpc", [1, 4])
def test_selector_invariants_and_seeding(method, vpc):
    labels, inputs = toy_pool()
    kw = {**inputs, **FAST.get(method, {})}
    a = select(method, labels, vpc, seed=0, num_classes=K, **kw)
    assert sorted(a) == list(range(K))
    for c, idx in a.items():
        assert len(idx) == vpc and len(set(idx)) == vpc, (method, c, idx)
        assert all(labels[i] == c for i in idx)
    assert a == select(method, labels, vpc, seed=0, num_classes=K, **kw)      # deterministic by seed
    with pytest.raises(ValueError, match="exceeds the pool of class 0"):
        select(method, labels, N + 1, seed=0, num_classes=K, **kw)


def test_missing_and_mismatched_inputs_are_clear_errors():
    labels, inputs = toy_pool()
    with pytest.raises(ValueError, match=r"'tac_dt' needs \['embeddings'\]"):
        select("tac_dt", labels, 1)
    with pytest.raises(ValueError, match="embeddings has 5 rows but there are 36 labels"):
        select("herding", labels, 1, embeddings=inputs["embeddings"][:5])
    with pytest.raises(KeyError, match="Unknown selection method"):
        select("best", labels, 1)


def test_seeded_methods_vary_with_the_seed():
    labels, inputs = toy_pool()
    for m in ("random", "kcenter"):
        draws = {tuple(flat_indices(select(m, labels, 2, seed=s, **inputs))) for s in range(6)}
        assert len(draws) > 1, m


def test_mae_score_takes_the_top_scores():
    labels, inputs = toy_pool()
    sel = select("mae_score", labels, 2, scores=inputs["scores"])
    for c, idx in sel.items():
        own = inputs["scores"][labels == c, c]
        assert sorted(inputs["scores"][idx, c]) == sorted(np.sort(own)[-2:])


def test_herding_first_pick_is_closest_to_the_mean():
    labels, inputs = toy_pool()
    e = inputs["embeddings"] / np.linalg.norm(inputs["embeddings"], axis=1, keepdims=True)
    sel = select("herding", labels, 1, embeddings=inputs["embeddings"])
    for c, (i,) in sel.items():
        m = np.flatnonzero(labels == c)
        assert i == m[np.argmin(np.linalg.norm(e[m] - e[m].mean(0), axis=1))]


# ----------------------------------------------------------------------------- losses by hand
def test_diversity_by_hand():
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # cosines: (1,2)=0, (1,3)=(2,3)=1/sqrt(2) → mean over 3 pairs
    assert diversity_loss(e).item() == pytest.approx((0 + 2 / math.sqrt(2)) / 3, abs=1e-6)
    assert diversity_loss(e[:1]).item() == 0.0
    # the soft form with a 0/1 weight equals the hard form on the chosen rows
    assert soft_diversity_loss(e, torch.tensor([1.0, 0.0, 1.0])).item() == pytest.approx(diversity_loss(e[[0, 2]]).item())


def test_representativeness_by_hand():
    all_e = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # the selected [1, 0] is at distance 0 from itself and sqrt(2) from [0, 1]
    assert representativeness(all_e, all_e[:1]).item() == pytest.approx(math.exp(-math.sqrt(2) / 2), abs=1e-6)
    assert representativeness_loss(all_e, all_e).item() == pytest.approx(0.0, abs=1e-6)
    # soft form: with all weight on video 0 it matches the hard form on {0}
    soft = soft_representativeness_loss(all_e, torch.tensor([1.0, 0.0]), tau=0.1)
    assert soft.item() == pytest.approx(representativeness_loss(all_e, all_e[:1]).item(), abs=1e-4)


def test_plackett_luce_probabilities_sum_to_one():
    logits = torch.tensor([0.3, -1.0, 2.0, 0.5])
    total = sum(math.exp(plackett_luce_logp(logits, torch.tensor(p)).item())
                for p in itertools.permutations(range(4), 2))
    assert total == pytest.approx(1.0, abs=1e-6)
    order, logp = plackett_luce_sample(logits.requires_grad_(), 3, torch.Generator().manual_seed(0))
    assert len(set(order.tolist())) == 3
    logp.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_plackett_luce_logp_is_the_sequential_definition():
    """The vectorised log-probability equals drawing one by one: logit - logsumexp over the items left."""
    torch.manual_seed(1)
    logits = torch.randn(12)
    order = torch.tensor([7, 2, 11, 0, 5])
    expect, left = 0.0, list(range(12))
    for j in order.tolist():
        expect += logits[j].item() - torch.logsumexp(logits[left], 0).item()
        left.remove(j)
    assert plackett_luce_logp(logits, order).item() == pytest.approx(expect, abs=1e-5)
    assert plackett_luce_logp(logits, order[:1]).item() == pytest.approx(torch.log_softmax(logits, 0)[7].item(), abs=1e-6)


# ----------------------------------------------------------------------------- TAC-DT
def test_tac_dt_finds_known_clusters():
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 30)
    emb = 0.05 * rng.normal(size=(90, 20)) + np.eye(20)[truth * 5]
    for linkage in ("ward", "single"):
        got = tac_dt_clusters(emb, 3, linkage=linkage)
        # the same partition up to names
        assert len({(a, b) for a, b in zip(truth, got)}) == 3, linkage
    reps = representatives(emb, tac_dt_clusters(emb, 3))
    assert sorted(truth[reps]) == [0, 1, 2]
    sel = select("tac_dt", np.zeros(90, dtype=int), 3, embeddings=emb)
    assert sorted(truth[sel[0]]) == [0, 1, 2]                    # one video per cluster


def test_representative_is_most_similar_to_the_cluster_mean():
    emb = np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]])
    assert representatives(emb, np.zeros(3, dtype=int)) == [1]


# ----------------------------------------------------------------------------- knapsack
def test_knapsack_is_optimal_on_small_cases():
    rng = np.random.default_rng(1)
    for _ in range(30):
        n = int(rng.integers(1, 8))
        v, w, cap = rng.random(n), rng.integers(1, 6, n), int(rng.integers(0, 12))
        best = max((sum(v[list(s)]) for r in range(n + 1) for s in itertools.combinations(range(n), r)
                    if sum(w[list(s)]) <= cap), default=0.0)
        got = knapsack(v, w, cap)
        assert sum(w[got]) <= cap and sum(v[got]) == pytest.approx(best)


def test_knapsack_with_unit_weights_is_top_k():
    v = np.array([0.1, 0.9, 0.5, 0.7])
    assert knapsack(v, np.ones(4, dtype=int), 2) == [1, 3]
    with pytest.raises(ValueError, match="positive integer weights"):
        knapsack(v, np.zeros(4, dtype=int), 2)


# ----------------------------------------------------------------------------- VST-UNet
def test_vst_unet_attention_is_order_free_and_conv_is_not():
    torch.manual_seed(0)
    x = torch.randn(6, 4, 4, 8, 8)
    perm = torch.randperm(6)
    for mixing, free in (("attention", True), ("none", True), ("conv", False)):
        net = VSTUNet(4, 3, (8, 8), 8, mixing, heads=2)
        for m in net.modules():                      # the mixers start at zero; wake them to test the symmetry
            if hasattr(m, "out"):
                torch.nn.init.normal_(m.out.weight)
        s, logits, emb = net(x)
        s2, logits2, emb2 = net(x[perm])
        assert s.shape == (6,) and logits.shape == (6, 3) and emb.shape == (6, 8)
        assert torch.allclose(s[perm], s2, atol=1e-5) == free, mixing


def test_vst_unet_groups_give_the_outputs_of_one_call_per_class():
    torch.manual_seed(0)
    x = torch.randn(3 * 5, 4, 4, 8, 8)                 # three classes' pools of 5 videos, one after the other
    for mixing in ("attention", "conv", "none"):
        net = VSTUNet(4, 3, (8, 8), 8, mixing, heads=2)
        for m in net.modules():
            if hasattr(m, "out"):
                torch.nn.init.normal_(m.out.weight)
        grouped = net(x, groups=3)
        alone = [net(x[i * 5:(i + 1) * 5]) for i in range(3)]
        for k in range(3):
            assert torch.allclose(grouped[k], torch.cat([a[k] for a in alone]), atol=1e-5), (mixing, k)
        assert not torch.allclose(grouped[0], net(x)[0], atol=1e-3) or mixing == "none"   # one group of 15 mixes all
    with pytest.raises(ValueError, match="equal size"):
        net(x[:14], groups=3)


def test_vst_unet_mixes_across_videos():
    torch.manual_seed(0)
    net = VSTUNet(4, 3, (8, 8), 8, "attention", heads=2)
    for m in net.modules():
        if hasattr(m, "out"):
            torch.nn.init.normal_(m.out.weight)
    x = torch.randn(5, 4, 4, 8, 8)
    y = x.clone()
    y[4] += 3.0                                       # change only video 4 ...
    assert not torch.allclose(net(x)[0][0], net(y)[0][0])   # ... and video 0's score moves


@pytest.mark.parametrize("gradient", ["reinforce", "soft"])
def test_vst_training_learns_the_classes(gradient):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat_interleave(10)
    lat = torch.randn(30, 4, 4, 4, 4, generator=g)
    lat[torch.arange(30), :, labels] += 2.0                     # class c lights up latent channel c
    log = []
    probs = train_vst_unet(lat, labels, 2, VSTConfig(widths=(8, 8), embed_dim=8, epochs=80, gradient=gradient,
                                                     lr=3e-3, subpool=6), seed=0, log=log)
    assert log[-1]["ce"] < 0.6 * log[0]["ce"]
    for c in range(3):                                 # per-class probabilities
        assert probs[labels.numpy() == c].sum() == pytest.approx(1.0, abs=1e-6)


def test_vst_batching_of_classes_does_not_change_the_selection(monkeypatch):
    """Classes go through the network together (capped per call); unequal class sizes too; same result."""
    import vddlib.vst as vst

    g = torch.Generator().manual_seed(1)
    labels = torch.cat([torch.zeros(7), torch.ones(7), torch.full((5,), 2)]).long()   # class 2 is smaller
    lat = torch.randn(19, 4, 4, 4, 4, generator=g)
    cfg = VSTConfig(widths=(8, 8), embed_dim=8, epochs=4, subpool=6)
    together = train_vst_unet(lat, labels, 2, cfg, seed=0)
    monkeypatch.setattr(vst, "MAX_CALL_ELEMENTS", 1)                       # one class per call
    alone = train_vst_unet(lat, labels, 2, cfg, seed=0)
    assert np.allclose(together, alone, atol=1e-5)


def test_paper_lambdas_by_vpc():
    cfg = VSTConfig()
    assert cfg.lambdas(1) == (0.0, 0.1) and cfg.lambdas(5) == (0.1, 1.0) and cfg.lambdas(10) == (0.1, 1.0)
    assert VSTConfig(lambda_d=0.0, lambda_r=0.0).lambdas(5) == (0.0, 0.0)
    with pytest.raises(ValueError, match="VSTConfig.gradient"):
        VSTConfig(gradient="magic")


# ----------------------------------------------------------------------------- manifests
def test_manifest_is_written_and_reused(tmp_path, monkeypatch):
    labels, inputs = toy_pool()
    m1 = selection_manifest(tmp_path, "toy", "pool", "random", labels, 2, 0, settings={"a": 1}, num_classes=K)
    path = manifest_path(tmp_path, "toy", "pool", "random", 2, 0)
    assert path.name == "vpc2_seed0.json" and path.parent.name == "random" and not m1["reused"]
    doc = json.loads(path.read_text())
    assert doc["settings"] == {"a": 1} and doc["seconds"] >= 0 and len(flat_indices(
        {int(c): v for c, v in doc["indices"].items()})) == 2 * K

    def boom(*a, **k):
        raise AssertionError("recomputed a saved selection")
    monkeypatch.setitem(SELECTORS, "random", boom)
    m2 = selection_manifest(tmp_path, "toy", "pool", "random", labels, 2, 0, settings={"a": 1}, num_classes=K)
    assert m2["reused"] and m2["indices"] == m1["indices"]
    with pytest.raises(AssertionError, match="recomputed"):      # other settings: not the same selection
        selection_manifest(tmp_path, "toy", "pool", "random", labels, 2, 0, settings={"a": 2}, num_classes=K)
    # a method that reads embeddings is redone when the embeddings change
    monkeypatch.undo()
    h1 = selection_manifest(tmp_path, "toy", "pool", "herding", labels, 2, 0, embeddings=inputs["embeddings"])
    again = selection_manifest(tmp_path, "toy", "pool", "herding", labels, 2, 0, embeddings=inputs["embeddings"])
    changed = selection_manifest(tmp_path, "toy", "pool", "herding", labels, 2, 0,
                                 embeddings=inputs["embeddings"] + 1e-3)
    assert not h1["reused"] and again["reused"] and not changed["reused"]


@pytest.mark.parametrize("space,advantage", [("latents", "ema"), ("network", "normalized")])
def test_vst_reward_space_and_advantage_switches_run_and_are_validated(space, advantage):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(2).repeat_interleave(6)
    lat = torch.randn(12, 2, 4, 4, 4, generator=g)
    cfg = VSTConfig(widths=(8, 8), embed_dim=8, epochs=3, samples=3, reward_space=space, advantage=advantage)
    a = train_vst_unet(lat, labels, 2, cfg, seed=0)
    assert np.allclose([a[labels.numpy() == c].sum() for c in range(2)], 1.0)
    assert np.array_equal(a, train_vst_unet(lat, labels, 2, cfg, seed=0))          # seeded
    with pytest.raises(ValueError, match="reward_space"):
        VSTConfig(reward_space="pixels")
    with pytest.raises(ValueError, match="advantage"):
        VSTConfig(advantage="none")
