"""K-Center greedy: a coreset that covers the class's embeddings."""
from __future__ import annotations

import numpy as np

from ..registry import as_numpy, l2_normalise, method_rng, per_class, register


@register("kcenter", needs=("embeddings",), version=2, display="K-Center", randomised=1)   # 2: its own seeded draw
def select_kcenter(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings, **_):
    """K-Center greedy (Sener & Savarese 2018): a seeded first centre (drawn independently of Random's draws),
    then always the farthest video."""
    emb = l2_normalise(as_numpy(embeddings))
    rng = method_rng("kcenter", seed)

    def pick(c, idx):
        x = emb[idx]
        chosen = [int(rng.integers(len(idx)))]
        dmin = np.linalg.norm(x - x[chosen[0]], axis=1)
        for _ in range(vpc - 1):
            dmin[chosen] = -1.0
            i = int(np.argmax(dmin))
            chosen.append(i)
            dmin = np.minimum(dmin, np.linalg.norm(x - x[i], axis=1))
        return chosen
    return per_class(labels, vpc, num_classes, pick)
