"""Set losses of VST-UNet (§3.1, Eqs. 2-3): diversity and representativeness of a selection.

Both take embeddings of one class's videos. Hard forms take the selected rows (the
top-VPC of an epoch); soft forms take a weight per video (a relaxed selection) so that
gradients reach the selection scores.

- Diversity (Eq. 2): mean pairwise cosine similarity of the selected embeddings; lower is
  more diverse, so it is minimised as it stands. A set of one has no pairs: 0.
- Representativeness (Eq. 3): R = exp(-mean_t min_{i in S} |x_t - x_i|_2), as in the DR-DSN
  summariser, is a reward in (0, 1] (1 when every video has a selected twin). The loss
  minimised is 1 - R; the paper writes R in the loss sum, and minimising R itself would
  push the selection *away* from the class, so we read it as this reward. Embeddings are
  L2-normalised first so that distances lie in [0, 2] and exp(-.) does not vanish.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def diversity_loss(selected: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity over the k(k-1) ordered pairs of selected embeddings (k, D)."""
    k = selected.shape[0]
    if k < 2:
        return selected.sum() * 0.0
    z = F.normalize(selected, dim=1)
    sim = z @ z.T
    return (sim.sum() - sim.diagonal().sum()) / (k * (k - 1))


def representativeness(all_emb: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
    """exp(-mean_t min_{i in S} |x_t - x_i|) over L2-normalised embeddings: 1 = every video covered."""
    a, s = F.normalize(all_emb, dim=1), F.normalize(selected, dim=1)
    return torch.exp(-torch.cdist(a, s).min(dim=1).values.mean())


def representativeness_loss(all_emb: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
    """1 - representativeness (minimised)."""
    return 1.0 - representativeness(all_emb, selected)


def soft_diversity_loss(emb: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Diversity with a weight per video: sum_{i!=j} w_i w_j cos_ij / sum_{i!=j} w_i w_j."""
    z = F.normalize(emb, dim=1)
    sim = z @ z.T
    ww = w[:, None] * w[None, :]
    off = 1.0 - torch.eye(len(w), dtype=emb.dtype)
    return (ww * sim * off).sum() / (ww * off).sum().clamp_min(1e-12)


def soft_representativeness_loss(emb: torch.Tensor, w: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """1 - exp(-mean_t softmin_i d_ti), where video i's share of the soft minimum grows with its weight w_i."""
    z = F.normalize(emb, dim=1)
    d = torch.cdist(z, z)
    a = torch.softmax(-d / tau + torch.log(w.clamp_min(1e-12))[None, :], dim=1)
    return 1.0 - torch.exp(-(a * d).sum(1).mean())
