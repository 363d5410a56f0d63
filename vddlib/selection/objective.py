"""The paper's selection objective (§3.1, Eqs. 1-2), measured in a fixed space of the videos.

Each video of a class is one fixed vector: its autoencoder latents, flattened. Nothing that
is trained reshapes this space, so a better score can only come from choosing better videos.

- L_div (Eq. 1): the mean pairwise cosine similarity of the selected videos (lower: more
  diverse); a set of one has no pairs and scores 0.
- L_rep (Eq. 2): R = exp(-mean_t min_{i in S} d(x_t, x_i)) with d the mean squared error
  between two videos' latents, as the paper writes. R is a reward in (0, 1] (1 when every
  video has a selected twin); the loss is 1 - R (minimising R itself would push the
  selection away from the class).

objective(S) = λ_d L_div(S) + λ_r (1 - R(S)): lower is better. `ClassSpace` holds one class's
pairwise matrices so that many candidate sets (policy draws, random baselines) cost one
gather each.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class ClassSpace:
    """One class's videos in the fixed space: cosine similarities, mean squared errors and a kernel (n, n)."""
    sim: torch.Tensor
    mse: torch.Tensor
    kernel: torch.Tensor       # exp(-mse / median mse): 1 for a twin, ~0 far away (the sequential pick's repulsion)

    def __len__(self) -> int:
        return len(self.sim)


def class_space(x: torch.Tensor) -> ClassSpace:
    """x (n, ...) one class's videos (e.g. latents (n, T, C, h, w)) → their pairwise matrices, in float64."""
    x = x.reshape(len(x), -1).double()
    z = F.normalize(x, dim=1)
    sq = (x * x).sum(1)
    mse = ((sq[:, None] + sq[None, :] - 2 * x @ x.T) / x.shape[1]).clamp_min(0.0)
    mse.fill_diagonal_(0.0)
    off = mse[~torch.eye(len(x), dtype=torch.bool)]
    scale = float(off.median()) if len(off) else 1.0
    return ClassSpace(z @ z.T, mse, torch.exp(-mse / max(scale, 1e-12)))


def set_objective(space: ClassSpace, sets: torch.Tensor, lambda_d: float, lambda_r: float) -> torch.Tensor:
    """The objective of each set: sets (B, k) local indices → (B,) (lower is better)."""
    sets = torch.as_tensor(sets, dtype=torch.long)
    b, k = sets.shape
    out = torch.zeros(b, dtype=torch.float64)
    if lambda_d and k > 1:
        s = space.sim[sets[:, :, None], sets[:, None, :]]                       # (B, k, k)
        out = out + lambda_d * (s.sum((1, 2)) - s.diagonal(dim1=1, dim2=2).sum(1)) / (k * (k - 1))
    if lambda_r:
        nearest = space.mse[:, sets].min(dim=2).values                          # (n, B)
        out = out + lambda_r * (1.0 - torch.exp(-nearest.mean(0)))
    return out


def soft_objective(space: ClassSpace, picks: torch.Tensor, lambda_d: float, lambda_r: float) -> torch.Tensor:
    """The objective of relaxed sets: picks (B, k, n), each row a distribution over the videos
    (one-hot rows give `set_objective` exactly) → (B,)."""
    b, k, n = picks.shape
    sim, mse = space.sim.to(picks.dtype), space.mse.to(picks.dtype)
    out = picks.new_zeros(b)
    if lambda_d and k > 1:
        s = picks @ sim @ picks.transpose(1, 2)                                 # (B, k, k) expected similarities
        out = out + lambda_d * (s.sum((1, 2)) - s.diagonal(dim1=1, dim2=2).sum(1)) / (k * (k - 1))
    if lambda_r:
        d = picks @ mse                                                         # (B, k, n): expected d(x_t, pick j)
        out = out + lambda_r * (1.0 - torch.exp(-d.min(dim=1).values.mean(1)))
    return out


def greedy_selection(space: ClassSpace, k: int, lambda_d: float, lambda_r: float) -> list[int]:
    """A greedy optimiser of the objective: add, k times, the video that lowers it most (ties: lower index)."""
    chosen: list[int] = []
    for _ in range(k):
        rest = [i for i in range(len(space)) if i not in chosen]
        cand = torch.tensor([chosen + [i] for i in rest])
        chosen.append(rest[int(torch.argmin(set_objective(space, cand, lambda_d, lambda_r)))])
    return chosen


def random_objectives(space: ClassSpace, k: int, lambda_d: float, lambda_r: float, n_sets: int,
                      seed: int = 0) -> np.ndarray:
    """The objective of `n_sets` uniformly random k-sets (the baseline a selector must beat)."""
    rng = np.random.default_rng(seed)
    sets = torch.from_numpy(np.stack([rng.choice(len(space), k, replace=False) for _ in range(n_sets)]))
    return set_objective(space, sets, lambda_d, lambda_r).numpy()


def selection_objective(x: torch.Tensor, labels, per_class: dict, lambda_d: float, lambda_r: float) -> float:
    """Mean over classes of the objective of a selection {class: pool indices}; x (N, ...) the fixed space."""
    labels = np.asarray(labels)
    vals = []
    for c, chosen in per_class.items():
        idx = np.flatnonzero(labels == int(c))
        local = torch.tensor([[int(np.flatnonzero(idx == i)[0]) for i in chosen]])
        vals.append(float(set_objective(class_space(x[torch.from_numpy(idx)]), local, lambda_d, lambda_r)[0]))
    return float(np.mean(vals))


def greedy_objective(x: torch.Tensor, labels, vpc: int, lambda_d: float, lambda_r: float) -> float:
    """The objective of the greedy optimiser's selection, averaged over classes (the near-best reference beside
    every selector); each class's pairwise space is built once, for the greedy search and its score."""
    labels = np.asarray(labels)
    vals = []
    for c in np.unique(labels):
        space = class_space(x[torch.from_numpy(np.flatnonzero(labels == c))])
        picks = torch.tensor([greedy_selection(space, vpc, lambda_d, lambda_r)])
        vals.append(float(set_objective(space, picks, lambda_d, lambda_r)[0]))
    return float(np.mean(vals))
