"""Random: VPC videos per class drawn uniformly without replacement (the paper's baseline)."""
from __future__ import annotations

import numpy as np

from ..registry import per_class, register


@register("random", display="Random", randomised=1)
def select_random(labels, vpc: int, seed: int = 0, num_classes: int | None = None, **_) -> dict[int, list[int]]:
    """VPC videos per class drawn uniformly without replacement (numpy Generator, seeded)."""
    rng = np.random.default_rng(seed)
    return per_class(labels, vpc, num_classes, lambda c, idx: rng.choice(len(idx), vpc, replace=False))
