"""Training VST-UNet (§3.1, Algorithm 1) and reading its selection.

L = L_ce + λ_d L_div + λ_r L_rep, with the paper's λ per VPC unless set (VPC=1: λ_r=0.1,
λ_d=0; VPC 5/10: λ_r=1, λ_d=0.1). L_div and L_rep are measured in a *fixed* space, each
video's autoencoder latents (`vddlib.selection.objective`), never on features the network reshapes:
otherwise the network can please them by moving its embedding instead of its choice.
Each class's input is its whole pool of N_c videos, as in the paper; one optimiser step
visits every class (one class per step lets the shared class head chase that class).

Choices the paper leaves open, each switchable in `VSTConfig`:

- **What L_ce classifies** (`ce`): "class" - every video's conditioning class, from the
  network's embedding, one network shared by all classes: it shapes the trunk that
  scores the videos. "none" drops it. `ce_logit` (off by default; an ablation) adds
  log p(class | video) to the selection logit.
- **The selection policy.** The network's per-video logits s_i define a sequential
  Plackett-Luce draw of VPC videos: at each pick, video i's logit is
  s_i - β · max_{j picked} k(i, j), k the fixed space's kernel (1 for a twin), so a pick
  lowers the chance of its near-duplicates; β is learned (from `repulsion`; 0 gives the
  plain Plackett-Luce of softmax(s)).
- **How gradients pass the discrete choice** (`gradient`):
  "reinforce": `samples` draws per class per step, each scored by the objective, with a
  normalised advantage (the step's draws: mean-centred, divided by their std);
  "relaxed": the same draw relaxed (Gumbel-softmax at each pick, temperature `tau`), with
  the objective of the soft picks differentiated directly.
- **Decoding the selection** (`decode`): "topk" - the paper's top-VPC probabilities
  softmax(s); "sequential" - the policy's most likely sequential pick and `draws` of its
  samples, keeping the one with the best objective (set-aware: top-k of a per-video score
  takes near-duplicates together).
- **When to stop**: every epoch decodes the selection from that epoch's forward pass and
  logs its objective (mean over classes); training stops after `patience` epochs without a
  better one, or at `epochs`, and the best epoch's selection is returned.

Training runs on `threads` torch threads (1 by default): weight-gradient sums are ordered
by the thread count, and training amplifies a last-bit difference into other picks, so a
fixed count makes a seeded selection the same on every machine.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from ..logs import bar

from .objective import ClassSpace, class_space, set_objective, soft_objective
from ..models.vst_unet import MIXING, VSTUNet

# The paper's loss weights by VPC (Table 1 settings): VPC=1: λ_r=0.1, λ_d=0; VPC 5, 10: λ_r=1, λ_d=0.1.
PAPER_LAMBDAS = {1: (0.0, 0.1)}
PAPER_LAMBDAS_DEFAULT = (0.1, 1.0)
GRADIENTS = ("reinforce", "relaxed")
DECODES = ("sequential", "topk")


@dataclass
class VSTConfig:
    widths: tuple[int, int] = (8, 16)
    embed_dim: int = 64
    mixing: str = "attention"      # "attention" | "conv" | "none"
    gradient: str = "reinforce"    # "reinforce" | "relaxed"
    decode: str = "sequential"     # "sequential" (set-aware) | "topk" (the paper's)
    ce: str = "class"              # "class" | "none"
    ce_logit: bool = False         # add log p(class | video) to the selection logit (ablation)
    lambda_d: float | None = None  # None: the paper's value for the VPC
    lambda_r: float | None = None
    epochs: int = 18               # at most this many optimiser steps, each over every class's whole pool
    patience: int = 6              # stop after this many epochs without a better decoded objective
    lr: float = 1e-2
    samples: int = 32              # policy draws per class per step
    tau: float = 0.5               # Gumbel-softmax temperature (relaxed)
    repulsion: float = 4.0         # initial β of the sequential pick (learned); 0: plain Plackett-Luce, fixed
    draws: int = 64                # sequential decode: policy samples scored besides its most likely pick
    threads: int = 1               # torch threads while training (selections equal on every machine)

    def __post_init__(self) -> None:
        self.widths = tuple(self.widths)
        for name, allowed in (("mixing", MIXING), ("gradient", GRADIENTS), ("decode", DECODES), ("ce", ("class", "none"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"VSTConfig.{name} must be one of {allowed}; got {getattr(self, name)!r}")
        if self.epochs < 1 or self.patience < 1 or self.lr <= 0 or self.samples < 2 or self.threads < 1:
            raise ValueError("VSTConfig: epochs, patience, lr and threads must be positive and samples >= 2 "
                             "(the advantage is normalised over a step's draws)")
        if self.tau <= 0 or self.repulsion < 0 or self.draws < 0:
            raise ValueError("VSTConfig: tau must be positive, repulsion and draws non-negative")

    def lambdas(self, vpc: int) -> tuple[float, float]:
        """(λ_d, λ_r) for this VPC: the configured values, else the paper's."""
        d, r = PAPER_LAMBDAS.get(vpc, PAPER_LAMBDAS_DEFAULT)
        return (d if self.lambda_d is None else self.lambda_d, r if self.lambda_r is None else self.lambda_r)


@dataclass
class VSTResult:
    """What a training gives: the selection {class: pool indices}, each video's probability softmax(s) within
    its class (N,), the per-epoch log and the epoch whose selection was kept."""
    selection: dict[int, list[int]]
    probs: np.ndarray
    log: list[dict] = field(default_factory=list)
    best_epoch: int = 0


def _gumbel(shape, gen: torch.Generator) -> torch.Tensor:
    u = torch.rand(shape, generator=gen, dtype=torch.float64).clamp(1e-20, 1 - 1e-12)
    return -torch.log(-torch.log(u))


def sequential_draw(logits: torch.Tensor, kernel: torch.Tensor, beta: torch.Tensor | float, k: int, m: int,
                    gen: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """m sets of k videos from the sequential Plackett-Luce policy (gen None: its single most likely pick,
    greedily); returns the sets (m, k) and their log-probabilities (m,), differentiable in logits and beta."""
    n = len(logits)
    taken = torch.zeros(m, n, dtype=torch.bool)
    near = torch.zeros(m, n, dtype=logits.dtype)
    logp = logits.new_zeros(m)
    sets = []
    for _ in range(k):
        cur = (logits[None, :] - beta * near).masked_fill(taken, float("-inf"))
        noise = 0.0 if gen is None else _gumbel((m, n), gen).to(logits.dtype)
        o = torch.argmax(cur.detach() + noise, dim=1)
        logp = logp + torch.log_softmax(cur, dim=1).gather(1, o[:, None])[:, 0]
        taken = taken.scatter(1, o[:, None], True)      # a new tensor: the last one is in the graph
        near = torch.maximum(near, kernel[o].to(logits.dtype))
        sets.append(o)
    return torch.stack(sets, 1), logp


def relaxed_draw(logits: torch.Tensor, kernel: torch.Tensor, beta: torch.Tensor | float, k: int, m: int,
                 tau: float, gen: torch.Generator) -> torch.Tensor:
    """The sequential draw relaxed: at each pick a Gumbel-softmax over the videos; returns picks (m, k, n)."""
    n = len(logits)
    kern = kernel.to(logits.dtype)
    left = logits.new_ones(m, n)                     # soft "not yet taken"
    near = logits.new_zeros(m, n)
    picks = []
    for _ in range(k):
        cur = logits[None, :] - beta * near + torch.log(left.clamp_min(1e-6))
        a = torch.softmax((cur + _gumbel((m, n), gen).to(logits.dtype)) / tau, dim=1)
        picks.append(a)
        left = (left - a).clamp_min(0.0)
        near = torch.maximum(near, a @ kern)
    return torch.stack(picks, 1)


def decode(logits: torch.Tensor, space: ClassSpace, beta: float, k: int, how: str, draws: int,
           ld: float, lr_: float, gen: torch.Generator) -> tuple[list[int], float]:
    """One class's selection (local indices) and its objective: top-k of the logits, or the best of the
    policy's most likely sequential pick and `draws` of its samples."""
    logits = logits.detach().double()
    if how == "topk":
        cands = torch.topk(logits, k).indices[None]
    else:
        cands = sequential_draw(logits, space.kernel, beta, k, 1, None)[0]
        if draws:
            cands = torch.cat([cands, sequential_draw(logits, space.kernel, beta, k, draws, gen)[0]])
    obj = set_objective(space, cands, ld, lr_)
    best = int(torch.argmin(obj))
    return cands[best].tolist(), float(obj[best])


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
            x = latents[torch.cat([picks[i] for i in chunk])].to(device, torch.float32)   # a pool's are stored fp16
            score, logits, emb = net(x, groups=len(chunk))
            for j, i in enumerate(chunk):
                out[i] = (score[j * n:(j + 1) * n], logits[j * n:(j + 1) * n], emb[j * n:(j + 1) * n])
    return out


_LOCK = threading.Lock()
_THREADS = {"users": 0, "before": 0, "n": 0}


@contextmanager
def torch_threads(n: int):
    """Run the block on n torch threads, then restore the count. Trainings may run in several Python threads
    at once (`make_selections`): the first to enter records the count, each sets it for itself (under OpenMP a
    thread's count can be its own), the last to leave restores the count from before."""
    with _LOCK:
        if _THREADS["users"] == 0:
            _THREADS["before"], _THREADS["n"] = torch.get_num_threads(), n
        elif _THREADS["n"] != n:
            raise RuntimeError(f"VST-UNet trainings running at once must use the same thread count; "
                               f"one uses {_THREADS['n']}, another asks for {n}")
        _THREADS["users"] += 1
        torch.set_num_threads(n)
    try:
        yield
    finally:
        with _LOCK:
            _THREADS["users"] -= 1
            if _THREADS["users"] == 0:
                torch.set_num_threads(_THREADS["before"])


def train_vst_unet(latents: torch.Tensor, labels: torch.Tensor, vpc: int, cfg: VSTConfig, seed: int,
                   num_classes: int | None = None, progress: bool = False,
                   device: str | torch.device = "cpu") -> VSTResult:
    """Train one VST-UNet on every class's whole latent pool and decode its selection of `vpc` per class.

    latents (N, T, C, h, w), labels (N,). Seeded: the network's init and every draw.
    """
    with torch_threads(cfg.threads):
        return _train(latents, labels, vpc, cfg, seed, num_classes, progress, device)


def class_terms(score: torch.Tensor, logits: torch.Tensor, c: int, cfg: VSTConfig) -> tuple[torch.Tensor, torch.Tensor, float]:
    """One class's selection logits (float64, on the CPU), its L_ce (what `ce` classifies) and that loss's value."""
    logp_cls = F.log_softmax(logits, dim=1)[:, c]
    s = (score + logp_cls if cfg.ce_logit else score).cpu().double()
    loss = -logp_cls.mean() if cfg.ce == "class" else score.new_zeros(())
    return s, loss, float(-logp_cls.detach().mean())


def set_loss(s: torch.Tensor, space: ClassSpace, beta: torch.Tensor, vpc: int, cfg: VSTConfig, ld: float, lr_: float,
             gen: torch.Generator) -> tuple[torch.Tensor, float]:
    """λ_d L_div + λ_r L_rep through the discrete choice, for one class: the term added to its loss and the mean
    objective of the step's draws. REINFORCE: −(normalised advantage × log-probability) over `samples` policy
    draws; relaxed: the objective of Gumbel-softmax picks, differentiated directly."""
    if cfg.gradient == "reinforce":
        sets, logp = sequential_draw(s, space.kernel, beta, vpc, cfg.samples, gen)
        r = -set_objective(space, sets, ld, lr_)
        adv = (r - r.mean()) / (r.std() + 1e-8)
        return -(adv * logp).mean(), float(-r.mean())
    soft = soft_objective(space, relaxed_draw(s, space.kernel, beta, vpc, cfg.samples, cfg.tau, gen), ld, lr_)
    return soft.mean(), float(soft.detach().mean())


@dataclass
class EarlyStop:
    """Keeps the best epoch's selection by its decoded objective (lower is better); says stop after `patience`
    epochs without a better one."""
    patience: int
    best: float = np.inf
    selection: dict | None = None
    epoch: int = 0

    def stop(self, objective: float, selection: dict, epoch: int) -> bool:
        if objective < self.best - 1e-9:
            self.best, self.selection, self.epoch = objective, selection, epoch
            return False
        return epoch - self.epoch >= self.patience


def _train(latents, labels, vpc, cfg, seed, num_classes, progress, device) -> VSTResult:
    gen = torch.Generator().manual_seed(seed)
    labels = labels.long()
    K = num_classes or int(labels.max()) + 1
    groups = [torch.nonzero(labels == c)[:, 0] for c in range(K)]
    groups = [g for g in groups if len(g)]
    classes = [int(labels[g[0]]) for g in groups]
    spaces = [class_space(latents[g]) for g in groups]
    ld, lr_ = cfg.lambdas(vpc)
    with _LOCK:                                        # the global generator seeds the init; another thread may use it
        torch.manual_seed(seed)
        net = VSTUNet(latents.shape[2], K, cfg.widths, cfg.embed_dim, cfg.mixing).to(device)
    net = net.to(memory_format=torch.channels_last_3d)
    # β = softplus(ρ) >= 0, learned with the network; repulsion 0 keeps the plain Plackett-Luce policy
    rho = nn.Parameter(torch.tensor(float(np.log(np.expm1(cfg.repulsion))) if cfg.repulsion else 0.0))
    params = list(net.parameters()) + ([rho] if cfg.repulsion else [])
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    use_set = bool(ld or lr_) and vpc < min(len(g) for g in groups)
    early = EarlyStop(cfg.patience)
    log: list[dict] = []
    pbar = bar(range(cfg.epochs), desc=f"VST-UNet vpc={vpc} seed={seed}", show=progress)
    for epoch in pbar:
        beta = F.softplus(rho) if cfg.repulsion else rho.new_zeros(())
        total = torch.zeros((), device=device)
        ce_sum, draw_obj, picked, objs = 0.0, [], {}, []
        for c, idx, space, (score, logits, _) in zip(classes, groups, spaces,
                                                     _forward_groups(net, latents, groups, device)):
            s, loss, ce = class_terms(score, logits, c, cfg)
            ce_sum += ce
            # this epoch's selection, decoded before the step (what early stopping compares)
            local, obj = decode(s, space, float(beta.detach()), vpc, cfg.decode, cfg.draws, ld, lr_, gen)
            picked[c], objs = idx[local].tolist(), objs + [obj]
            if use_set:
                term, drawn = set_loss(s, space, beta, vpc, cfg, ld, lr_, gen)
                loss = loss + term.to(loss.dtype)
                draw_obj.append(drawn)
            total = total + loss / len(groups)
        mean_obj = float(np.mean(objs))
        log.append({"epoch": epoch, "objective": mean_obj, "draw_objective": float(np.mean(draw_obj)) if draw_obj else
                    float("nan"), "ce": ce_sum / len(groups), "beta": float(beta.detach())})
        if early.stop(mean_obj, picked, epoch) or epoch == cfg.epochs - 1:
            break                                          # the last epoch's decode is logged; no step after it
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
    pbar.close()
    return VSTResult({c: sorted(v) for c, v in early.selection.items()}, _probabilities(net, latents, labels, classes,
                                                                                         groups, cfg, device),
                     log, early.epoch)


@torch.no_grad()
def _probabilities(net, latents, labels, classes, groups, cfg: VSTConfig, device) -> np.ndarray:
    """Each video's probability softmax(s) within its class, from the trained network."""
    probs = np.zeros(len(labels), dtype=np.float64)
    net.eval()
    for c, idx, (score, logits, _) in zip(classes, groups, _forward_groups(net, latents, groups, device)):
        s = score + F.log_softmax(logits, dim=1)[:, c] if cfg.ce_logit else score
        probs[idx.numpy()] = torch.softmax(s.double(), 0).cpu().numpy()
    return probs
