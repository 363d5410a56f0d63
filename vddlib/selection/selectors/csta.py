"""CSTA-style selection: an attention CNN scores each video, a knapsack fills VPC slots (the paper's baseline)."""
from __future__ import annotations

import numpy as np

from ...models.csta import CSTAConfig, csta_importance
from ..registry import as_numpy, check_vpc, per_class, register


def knapsack(values, weights, capacity: int) -> list[int]:
    """0/1 knapsack by dynamic programming: the item set of largest total value within `capacity`."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=int)
    if (weights < 1).any() or capacity < 0:
        raise ValueError("knapsack needs positive integer weights and a non-negative capacity")
    n = len(values)
    best = np.zeros((n + 1, capacity + 1))
    for i in range(1, n + 1):
        w, v = weights[i - 1], values[i - 1]
        best[i] = best[i - 1]
        if w <= capacity:
            best[i, w:] = np.maximum(best[i - 1, w:], best[i - 1, :capacity + 1 - w] + v)
    chosen, c = [], capacity
    for i in range(n, 0, -1):
        if best[i, c] != best[i - 1, c]:
            chosen.append(i - 1)
            c -= weights[i - 1]
    return sorted(chosen)


@register("csta", needs=("embeddings", "scores"), settings=CSTAConfig, display="CSTA")
def select_csta(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings, scores,
                config=None, **_):
    """CSTA-style: an attention CNN over each class's (videos × D) embedding image scores every video
    (trained to predict the VideoMAE class score), then a 0/1 knapsack with capacity VPC clips."""
    labels_np = as_numpy(labels).astype(int)
    check_vpc(labels_np, vpc, num_classes)
    imp = csta_importance(as_numpy(embeddings), as_numpy(scores), labels_np, config or CSTAConfig(), seed)
    # every video is one clip of equal length: weight 1 each, capacity VPC (values > 0 fill it)
    return per_class(labels_np, vpc, num_classes,
                     lambda c, idx: knapsack(imp[idx] + 1e-6, np.ones(len(idx), dtype=int), vpc))
