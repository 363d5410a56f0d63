"""The selection stage: every selector's invariants, the set losses, TAC-DT's clustering, the knapsack,
Plackett-Luce, VST-UNet's symmetry, and manifests that are re-used."""
from __future__ import annotations

import dataclasses

import itertools
import json
import math

import numpy as np
import pytest
import torch

from vddlib.selection.objective import class_space, greedy_selection, set_objective, soft_objective
from vddlib.models.csta import CSTAConfig
from vddlib.models.vst_unet import VSTUNet
from vddlib.selection import select
from vddlib.selection.manifests import manifest_path, selection_manifest
from vddlib.selection.registry import SELECTORS, flat_indices
from vddlib.selection.selectors.csta import knapsack
from vddlib.selection.selectors.tac_dt import representatives, tac_dt_clusters
from vddlib.selection.vst import VSTConfig, relaxed_draw, sequential_draw, train_vst_unet

K, N = 3, 12


def toy_pool(seed: int = 0):
    """3 classes × 12 videos: embeddings in per-class blobs, scores, small latents."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(K), N)
    emb = rng.normal(size=(K * N, 16)) + 3.0 * np.eye(16)[labels]
    scores = rng.dirichlet(np.ones(K), size=K * N)
    latents = torch.from_numpy(rng.normal(size=(K * N, 4, 4, 4, 4)).astype(np.float32))
    teacher = rng.dirichlet(np.ones(K), size=K * N)
    return labels, {"embeddings": emb, "scores": scores, "latents": latents, "teacher": teacher}


_VST = dict(widths=(8, 8), embed_dim=8, epochs=2, samples=2, draws=4)
FAST = {"vst_unet": {"config": VSTConfig(**_VST)},
        "vst_unet_faithful": {"config": SELECTORS["vst_unet_faithful"].settings(base=VSTConfig(**_VST))},
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
    for m in ("random", "kcenter", "tac_dt", "vst_unet"):
        kw = {**inputs, **FAST.get(m, {})}
        draws = {tuple(flat_indices(select(m, labels, 4, seed=s, **kw))) for s in range(5)}
        assert len(draws) > 1, m


def test_kcenter_draws_its_first_centre_independently_of_random():
    labels, inputs = toy_pool()
    same = [select("kcenter", labels, 1, seed=s, **inputs) == select("random", labels, 1, seed=s) for s in range(5)]
    assert not all(same)


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


# ----------------------------------------------------------------------------- the objective by hand
def test_objective_by_hand():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    sp = class_space(x)
    # diversity: cosines (0,1)=0, (0,2)=(1,2)=1/sqrt(2); mean over the 3 pairs
    assert set_objective(sp, torch.tensor([[0, 1, 2]]), 1.0, 0.0).item() == pytest.approx(2 / math.sqrt(2) / 3)
    assert set_objective(sp, torch.tensor([[2]]), 1.0, 0.0).item() == 0.0            # one video: no pairs
    # representativeness, mean squared error: from {0}, video 1 is (1+1)/2 = 1 away, video 2 (0+1)/2 = 0.5
    assert set_objective(sp, torch.tensor([[0]]), 0.0, 1.0).item() == pytest.approx(1 - math.exp(-(0 + 1 + 0.5) / 3))
    assert set_objective(sp, torch.tensor([[0, 1, 2]]), 0.0, 1.0).item() == pytest.approx(0.0)
    # one-hot soft picks give the hard objective; a batch of sets is scored set by set
    sets = torch.tensor([[0, 2], [1, 2]])
    onehot = torch.nn.functional.one_hot(sets, 3).double()
    assert torch.allclose(soft_objective(sp, onehot, 0.3, 1.0), set_objective(sp, sets, 0.3, 1.0))


def test_greedy_selection_at_vpc1_is_the_medoid():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(30, 6)))
    sp = class_space(x)
    assert greedy_selection(sp, 1, 0.0, 0.1) == [int(sp.mse.mean(1).argmin())]


def test_sequential_draw_probabilities_sum_to_one_and_repulsion_spreads_the_picks():
    logits = torch.tensor([0.3, -1.0, 2.0, 0.5], dtype=torch.float64)
    kern = torch.eye(4, dtype=torch.float64)
    kern[0, 3] = kern[3, 0] = 1.0                      # videos 0 and 3 are twins
    total = 0.0
    for p in itertools.permutations(range(4), 2):
        # the log-probability of an order: replay it as a forced draw
        lp = 0.0
        near, left = torch.zeros(4, dtype=torch.float64), list(range(4))
        for j in p:
            cur = logits - 2.0 * near
            lp += (cur[j] - torch.logsumexp(cur[left], 0)).item()
            left.remove(j)
            near = torch.maximum(near, kern[j])
        total += math.exp(lp)
    assert total == pytest.approx(1.0, abs=1e-9)
    gen = torch.Generator().manual_seed(0)
    lg = logits.clone().requires_grad_()
    beta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    sets, logp = sequential_draw(lg, kern, beta, 2, 500, gen)
    assert all(len(set(s)) == 2 for s in sets.tolist())
    logp.sum().backward()
    assert torch.isfinite(lg.grad).all() and beta.grad is not None
    twins = lambda b: np.mean([set(s) == {0, 3} for s in sequential_draw(logits, kern, b, 2, 2000, gen)[0].tolist()])
    assert twins(20.0) < 0.01 < twins(0.0)            # a strong repulsion never takes both twins
    soft = relaxed_draw(logits, kern, 2.0, 3, 7, 0.5, gen)
    assert soft.shape == (7, 3, 4) and torch.allclose(soft.sum(2), torch.ones(7, 3, dtype=torch.float64))


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


@pytest.mark.parametrize("gradient", ["reinforce", "relaxed"])
def test_vst_training_learns_the_classes_and_logs_its_objective(gradient):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat_interleave(10)
    lat = torch.randn(30, 4, 4, 4, 4, generator=g)
    lat[torch.arange(30), :, labels] += 2.0                     # class c lights up latent channel c
    res = train_vst_unet(lat, labels, 2, VSTConfig(widths=(8, 8), embed_dim=8, epochs=60, patience=60,
                                                   gradient=gradient, lr=3e-3, samples=4, draws=4), seed=0)
    assert len(res.log) == 60 and res.log[-1]["ce"] < 0.6 * res.log[0]["ce"]
    best = min(e["objective"] for e in res.log)                # the kept selection is the best epoch's
    assert res.log[res.best_epoch]["objective"] == best
    for c in range(3):                                 # per-class probabilities, VPC picks of the class
        assert res.probs[labels.numpy() == c].sum() == pytest.approx(1.0, abs=1e-6)
        assert len(res.selection[c]) == 2 and all(labels[i] == c for i in res.selection[c])


def test_vst_stops_early_when_the_objective_stalls():
    labels = torch.arange(2).repeat_interleave(6)
    lat = torch.randn(12, 2, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    res = train_vst_unet(lat, labels, 2, VSTConfig(widths=(8, 8), embed_dim=8, epochs=50, patience=3, samples=2,
                                                   draws=2), seed=0)
    assert len(res.log) == res.best_epoch + 4 < 50


def test_vst_batching_of_classes_does_not_change_the_selection(monkeypatch):
    """Classes go through the network together (capped per call); unequal class sizes too; same result."""
    import vddlib.selection.vst as vst

    g = torch.Generator().manual_seed(1)
    labels = torch.cat([torch.zeros(7), torch.ones(7), torch.full((5,), 2)]).long()   # class 2 is smaller
    lat = torch.randn(19, 4, 4, 4, 4, generator=g)
    cfg = VSTConfig(widths=(8, 8), embed_dim=8, epochs=4, samples=4, draws=4)
    together = train_vst_unet(lat, labels, 2, cfg, seed=0)
    monkeypatch.setattr(vst, "MAX_CALL_ELEMENTS", 1)                       # one class per call
    alone = train_vst_unet(lat, labels, 2, cfg, seed=0)
    assert np.allclose(together.probs, alone.probs, atol=1e-5) and together.selection == alone.selection


def test_paper_lambdas_by_vpc():
    cfg = VSTConfig()
    assert cfg.lambdas(1) == (0.0, 0.1) and cfg.lambdas(5) == (0.1, 1.0) and cfg.lambdas(10) == (0.1, 1.0)
    assert VSTConfig(lambda_d=0.0, lambda_r=0.0).lambdas(5) == (0.0, 0.0)
    with pytest.raises(ValueError, match="VSTConfig.gradient"):
        VSTConfig(gradient="magic")
    with pytest.raises(ValueError, match="VSTConfig.decode"):
        VSTConfig(decode="beam")
    with pytest.raises(ValueError, match="samples >= 2"):
        VSTConfig(samples=1)


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
    monkeypatch.setitem(SELECTORS, "random", dataclasses.replace(SELECTORS["random"], fn=boom))
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
    # a method whose same settings now select differently (a raised version) redoes older manifests
    k1 = selection_manifest(tmp_path, "toy", "pool", "kcenter", labels, 2, 0, embeddings=inputs["embeddings"])
    assert k1["settings"] == {"version": 2}
    path = manifest_path(tmp_path, "toy", "pool", "kcenter", 2, 0)
    old = json.loads(path.read_text())
    old["settings"] = {}
    path.write_text(json.dumps(old))
    assert not selection_manifest(tmp_path, "toy", "pool", "kcenter", labels, 2, 0, embeddings=inputs["embeddings"])["reused"]


def test_stored_fp16_latents_mapped_select_as_they_do_read_as_fp32(tmp_path):
    """load_pool maps a pool's latents as stored (fp16) instead of reading them whole as fp32: VST-UNet, the
    objective and the per-video measures give the same results from the mapped file, and a manifest made from the
    fp32 copy is re-used (the inputs hash is that of the values)."""
    from vddlib.files import map_raw
    from vddlib.selection.objective import selection_objective
    from vddlib.selection.stage import per_video_measures

    labels, inputs = toy_pool()
    (tmp_path / "latents.f16").write_bytes(inputs["latents"].half().numpy().tobytes())
    mapped = map_raw(tmp_path / "latents.f16", inputs["latents"].shape, "float16")
    assert mapped.dtype == torch.float16
    as_fp32 = mapped.float()
    cfg = FAST["vst_unet"]["config"]
    a = train_vst_unet(as_fp32, torch.from_numpy(labels), 2, cfg, seed=0)
    b = train_vst_unet(mapped, torch.from_numpy(labels), 2, cfg, seed=0)
    assert a.selection == b.selection and np.array_equal(a.probs, b.probs)
    picks = {c: v for c, v in a.selection.items()}
    assert selection_objective(mapped, labels, picks, 0.5, 0.5) == selection_objective(as_fp32, labels, picks, 0.5, 0.5)
    proba = torch.full((len(labels), K), 1.0 / K)
    pa, pb = (per_video_measures(proba, torch.from_numpy(labels), x) for x in (as_fp32, mapped))
    assert np.array_equal(pa["norm_pct"], pb["norm_pct"])
    first = selection_manifest(tmp_path / "m", "toy", "pool", "vst_unet", labels, 2, 0, latents=as_fp32,
                               num_classes=K, config=cfg)
    again = selection_manifest(tmp_path / "m", "toy", "pool", "vst_unet", labels, 2, 0, latents=mapped,
                               num_classes=K, config=cfg)
    assert not first["reused"] and again["reused"] and again["indices"] == first["indices"]



def test_early_stop_keeps_the_best_epoch_and_stops_after_patience():
    from vddlib.selection.vst import EarlyStop

    e = EarlyStop(patience=2)
    assert not e.stop(5.0, {0: [1]}, 0) and not e.stop(4.0, {0: [2]}, 1)
    assert not e.stop(4.0, {0: [3]}, 2)                                   # equal is not better
    assert e.stop(4.5, {0: [4]}, 3) and (e.best, e.selection, e.epoch) == (4.0, {0: [2]}, 1)


def test_class_terms_put_the_class_term_where_the_settings_say():
    import torch.nn.functional as F

    from vddlib.selection.vst import class_terms

    score, logits = torch.tensor([0.5, -0.5]), torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    s, loss, ce = class_terms(score, logits, 0, VSTConfig())
    logp = F.log_softmax(logits, dim=1)[:, 0]
    assert torch.equal(s, score.double()) and loss.item() == pytest.approx(-logp.mean().item()) == ce
    s, loss, _ = class_terms(score, logits, 0, VSTConfig(ce="none", ce_logit=True))
    assert torch.allclose(s, (score + logp).double()) and loss.item() == 0.0


@pytest.mark.parametrize("gradient", ["reinforce", "relaxed"])
def test_set_loss_steps_the_policy_towards_sets_with_a_better_objective(gradient):
    """Two twins (0, 1) and a far video (2): with only diversity weighed, a pair holding a twin and the far video
    beats the twin pair, so one step down the set loss moves probability off the twin pair."""
    from vddlib.selection.vst import set_loss

    x = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    space = class_space(x)
    cfg = VSTConfig(gradient=gradient, samples=64)
    s = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64, requires_grad=True)
    beta = torch.tensor(0.0, dtype=torch.float64)
    term, drawn = set_loss(s, space, beta, 2, cfg, 1.0, 0.0, torch.Generator().manual_seed(0))
    term.backward()
    assert np.isfinite(drawn)
    def twin_pair(logits):                       # Plackett-Luce (β = 0): the twins drawn in either order
        p = torch.softmax(logits, 0)
        return float(p[0] * p[1] / (1 - p[0]) + p[1] * p[0] / (1 - p[1]))

    stepped = (s - 0.5 * s.grad).detach()
    assert twin_pair(stepped) < twin_pair(s.detach())
