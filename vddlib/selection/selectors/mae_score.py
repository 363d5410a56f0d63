"""MAE-Score: the videos VideoMAE finds most typical of their class (the paper's baseline)."""
from __future__ import annotations

import numpy as np

from ..registry import as_numpy, per_class, register


@register("mae_score", needs=("scores",), display="MAE-Score")
def select_mae_score(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, scores, **_):
    """The VPC videos with the highest VideoMAE probability for their conditioning class (ties: lower index)."""
    scores = as_numpy(scores)
    return per_class(labels, vpc, num_classes,
                     lambda c, idx: np.argsort(-scores[idx, c], kind="stable")[:vpc])
