"""Training VST-UNet (§3.1, Algorithm 1) and reading its selection.

L = L_ce + λ_d L_div + λ_r L_rep, with the paper's λ per VPC unless set (VPC=1: λ_r=0.1,
λ_d=0; VPC 5/10: λ_r=1, λ_d=0.1). Choices the paper leaves open, each switchable:

- **What L_ce classifies** (`ce`): "class" - every video's conditioning class, from its
  embedding, with one network shared by all classes; the selection logit of video i is
  its score-head logit plus log p(class | video i), so a video the network cannot tell
  apart from other classes is less likely chosen. "none" drops L_ce (ablation).
- **How gradients pass the top-k choice** (`gradient`):
  "reinforce" (default, as the DR-DSN summariser the paper cites): a set of VPC videos is
  drawn from the Plackett-Luce distribution of the selection logits (Gumbel top-k), its
  reward is -(λ_d L_div + λ_r L_rep) on the (detached) embeddings, and the policy gradient
  with a running baseline moves the logits; the embeddings take the same two losses on
  the epoch's top-VPC set directly (the paper: the top-VPC of each epoch feed the losses).
  "soft": a relaxed selection w = VPC·softmax(logits) weights soft forms of both losses,
  so their gradients reach the logits.
- **How the videos axis is mixed** (`mixing` of the network): "attention" (order-free),
  "conv" (order-dependent) or "none".

The final selection is the argsort of the per-class probabilities (softmax of the
selection logits over the class's videos).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .losses import (diversity_loss, representativeness_loss, soft_diversity_loss,
                     soft_representativeness_loss)
from .models.vst_unet import MIXING, VSTUNet

# The paper's loss weights by VPC (Table 1 settings): VPC=1: λ_r=0.1, λ_d=0; VPC 5, 10: λ_r=1, λ_d=0.1.
PAPER_LAMBDAS = {1: (0.0, 0.1)}
PAPER_LAMBDAS_DEFAULT = (0.1, 1.0)


@dataclass
class VSTConfig:
    widths: tuple[int, int] = (32, 64)
    embed_dim: int = 64
    mixing: str = "attention"      # "attention" | "conv" | "none"
    gradient: str = "reinforce"    # "reinforce" | "soft"
    ce: str = "class"              # "class" | "none"
    lambda_d: float | None = None  # None: the paper's value for the VPC
    lambda_r: float | None = None
    epochs: int = 60               # optimiser steps; each passes over every class (one class's pool = one input)
    subpool: int = 0               # >0: each step sees a random sub-pool of this many videos per class (0: all)
    lr: float = 1e-3
    samples: int = 4               # Plackett-Luce sets drawn per step (reinforce)
    tau: float = 0.1               # soft-min temperature of the soft representativeness
    reward_space: str = "network"  # reinforce's set reward on: "network" embeddings, or the fixed "latents"
    advantage: str = "ema"         # reinforce's baseline: "ema" (running mean per class) or "normalized"
                                   # (the step's draws: mean-centred, divided by their std)

    def __post_init__(self) -> None:
        self.widths = tuple(self.widths)
        if self.mixing not in MIXING:
            raise ValueError(f"VSTConfig.mixing must be one of {MIXING}; got {self.mixing!r}")
        if self.gradient not in ("reinforce", "soft"):
            raise ValueError(f"VSTConfig.gradient must be 'reinforce' or 'soft'; got {self.gradient!r}")
        if self.advantage not in ("ema", "normalized"):
            raise ValueError(f"VSTConfig.advantage must be 'ema' or 'normalized'; got {self.advantage!r}")
        if self.reward_space not in ("network", "latents"):
            raise ValueError(f"VSTConfig.reward_space must be 'network' or 'latents'; got {self.reward_space!r}")
        if self.ce not in ("class", "none"):
            raise ValueError(f"VSTConfig.ce must be 'class' or 'none'; got {self.ce!r}")
        if self.epochs < 1 or self.lr <= 0 or self.samples < 1 or self.subpool < 0:
            raise ValueError("VSTConfig: epochs, lr and samples must be positive")

    def lambdas(self, vpc: int) -> tuple[float, float]:
        """(λ_d, λ_r) for this VPC: the configured values, else the paper's."""
        d, r = PAPER_LAMBDAS.get(vpc, PAPER_LAMBDAS_DEFAULT)
        return (d if self.lambda_d is None else self.lambda_d, r if self.lambda_r is None else self.lambda_r)


def plackett_luce_logp(logits: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """log P(order) under Plackett-Luce: items drawn one by one without replacement, each ∝ exp(logit)."""
    k = len(order)
    drawn_at = torch.full((len(logits),), k, dtype=torch.long, device=logits.device)   # k: never drawn
    drawn_at[order] = torch.arange(k, device=logits.device)
    taken = drawn_at[None, :] < torch.arange(k, device=logits.device)[:, None]       # row j: drawn before j
    rest = torch.logsumexp(logits.expand(k, -1).masked_fill(taken, float("-inf")), dim=1)
    return (logits[order] - rest).sum()


def plackett_luce_sample(logits: torch.Tensor, k: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """k distinct items drawn in order from PL(softmax(logits)) by Gumbel top-k; and the log-probability of the draw."""
    u = torch.rand(logits.shape, generator=gen).clamp(1e-20, 1 - 1e-7).to(logits.device)
    order = torch.topk(logits.detach() - torch.log(-torch.log(u)), k).indices
    return order, plackett_luce_logp(logits, order)


def _selection_logits(score: torch.Tensor, logits: torch.Tensor, c: int, cfg: VSTConfig
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p(c | video), selection logits): the score head, plus log p(c | video) when L_ce classifies the class."""
    logp_cls = F.log_softmax(logits, dim=1)[:, c]
    return logp_cls, score + (logp_cls if cfg.ce == "class" else 0.0)


# Latent elements per batched call (2^25: 16k default-profile videos, 512 of the paper's 16×4×32×32).
MAX_CALL_ELEMENTS = 1 << 25


def _forward_groups(net: VSTUNet, latents: torch.Tensor, picks: list[torch.Tensor], device) -> list[tuple]:
    """The network's outputs for each class's pick of videos; picks of equal size share batched calls
    (as many classes per call as fit MAX_CALL_ELEMENTS, at least one)."""
    out: list[tuple | None] = [None] * len(picks)
    by_size: dict[int, list[int]] = {}
    for i, idx in enumerate(picks):
        by_size.setdefault(len(idx), []).append(i)
    per_video = latents[0].numel()
    for n, members in by_size.items():
        per_call = max(1, MAX_CALL_ELEMENTS // max(1, n * per_video))
        for start in range(0, len(members), per_call):
            chunk = members[start:start + per_call]
            x = latents[torch.cat([picks[i] for i in chunk])].to(device)
            score, logits, emb = net(x, groups=len(chunk))
            for j, i in enumerate(chunk):
                out[i] = (score[j * n:(j + 1) * n], logits[j * n:(j + 1) * n], emb[j * n:(j + 1) * n])
    return out


def _set_loss(emb: torch.Tensor, sel: torch.Tensor, ld: float, lr_: float) -> torch.Tensor:
    out = emb.new_zeros(())
    if ld:
        out = out + ld * diversity_loss(emb[sel])
    if lr_:
        out = out + lr_ * representativeness_loss(emb, emb[sel])
    return out


def train_vst_unet(latents: torch.Tensor, labels: torch.Tensor, vpc: int, cfg: VSTConfig, seed: int,
                   num_classes: int | None = None, progress: bool = False, log: list | None = None,
                   device: str | torch.device = "cpu") -> np.ndarray:
    """Train one VST-UNet on every class's latent pool; return each video's selection probability (N,).

    latents (N, T, C, h, w), labels (N,). Seeded: init, class order and sampled sets.
    `log`, if given, receives one dict per epoch (losses, mean reward).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    labels = labels.long()
    K = num_classes or int(labels.max()) + 1
    groups = [torch.nonzero(labels == c)[:, 0] for c in range(K)]
    groups = [g for g in groups if len(g)]
    ld, lr_ = cfg.lambdas(vpc)
    net = VSTUNet(latents.shape[2], K, cfg.widths, cfg.embed_dim, cfg.mixing).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr)
    baseline = {}
    # the fixed space for rewards: each video's latents, flattened and L2-normalised
    fixed = F.normalize(latents.flatten(1).float(), dim=1) if cfg.reward_space == "latents" else None
    for epoch in tqdm(range(cfg.epochs), desc=f"VST-UNet vpc={vpc} seed={seed}", disable=not progress):
        # One optimiser step per epoch over every class: a step on one class alone lets the class head
        # chase the last class seen (its bias), so L_ce would teach nothing.
        stats = {"ce": 0.0, "set": 0.0, "reward": 0.0}
        total = torch.zeros((), device=device)
        picks = []
        for gi in torch.randperm(len(groups), generator=gen).tolist():
            idx = groups[gi]
            if 0 < cfg.subpool < len(idx):                 # a sub-pool (mini-batch of the set), still one class
                idx = idx[torch.randperm(len(idx), generator=gen)[:max(cfg.subpool, vpc + 1)]]
            picks.append(idx)
        # every class through the network at once (each mixed only with itself), then the per-class losses
        for idx, (score, logits, emb) in zip(picks, _forward_groups(net, latents, picks, device)):
            c = int(labels[idx[0]])
            logp_cls, sel_logits = _selection_logits(score, logits, c, cfg)
            loss = -logp_cls.mean() if cfg.ce == "class" else emb.new_zeros(())
            stats["ce"] += float(-logp_cls.detach().mean())
            if cfg.gradient == "soft":
                w = vpc * torch.softmax(sel_logits, 0)
                set_loss = emb.new_zeros(())
                if ld:
                    set_loss = set_loss + ld * soft_diversity_loss(emb, w)
                if lr_:
                    set_loss = set_loss + lr_ * soft_representativeness_loss(emb, w, cfg.tau)
                loss = loss + set_loss
            else:
                top = torch.topk(sel_logits.detach(), vpc).indices
                set_loss = _set_loss(emb, top, ld, lr_)          # the epoch's top-VPC set shapes the embeddings
                loss = loss + set_loss
                if ld or lr_:
                    pg = emb.new_zeros(())
                    e = emb.detach() if cfg.reward_space == "network" else fixed[idx].to(device)
                    draws = [plackett_luce_sample(sel_logits, vpc, gen) for _ in range(cfg.samples)]
                    rewards = [-float(_set_loss(e, sel, ld, lr_)) for sel, _ in draws]
                    if cfg.advantage == "normalized" and cfg.samples > 1:
                        # the step's own draws are the baseline, and their spread the scale
                        r = np.asarray(rewards)
                        adv = (r - r.mean()) / (r.std() + 1e-6)
                    else:                                       # a running mean per class
                        adv = []
                        for reward in rewards:
                            b = baseline.get(c, reward)
                            adv.append(reward - b)
                            baseline[c] = 0.9 * b + 0.1 * reward
                    for (sel, logp), a in zip(draws, adv):
                        pg = pg - float(a) * logp
                    stats["reward"] += float(np.mean(rewards))
                    loss = loss + pg / cfg.samples
            stats["set"] += float(set_loss.detach())
            total = total + loss / len(groups)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        if log is not None:
            log.append({"epoch": epoch, **{k: v / len(groups) for k, v in stats.items()}})
    probs = np.zeros(len(labels), dtype=np.float64)
    net.eval()
    with torch.no_grad():
        for idx, (score, logits, _) in zip(groups, _forward_groups(net, latents, groups, device)):
            c = int(labels[idx[0]])
            _, sel_logits = _selection_logits(score, logits, c, cfg)
            probs[idx.numpy()] = torch.softmax(sel_logits, 0).double().cpu().numpy()
    return probs
