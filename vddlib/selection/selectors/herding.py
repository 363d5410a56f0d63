"""Herding: the coreset baseline of the prior video-distillation codebase."""
from __future__ import annotations

import numpy as np

from ..registry import as_numpy, l2_normalise, per_class, register


@register("herding", needs=("embeddings",), display="Herding")
def select_herding(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings, **_):
    """Herding (Welling 2009; the VD codebase's coreset): greedily keep the running mean closest to the class mean."""
    emb = l2_normalise(as_numpy(embeddings))

    def pick(c, idx):
        x = emb[idx]
        mu, chosen, acc = x.mean(0), [], np.zeros(x.shape[1])
        for k in range(1, vpc + 1):
            d = np.linalg.norm(mu[None] - (acc[None] + x) / k, axis=1)
            d[chosen] = np.inf
            i = int(np.argmin(d))
            chosen.append(i)
            acc += x[i]
        return chosen
    return per_class(labels, vpc, num_classes, pick)
