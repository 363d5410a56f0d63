"""DM-MMD: k-means representatives whose set is closest to the class in MMD (the paper's baseline)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..registry import as_numpy, l2_normalise, per_class, register


def mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """Biased squared MMD between samples x and y under an RBF kernel exp(-|a-b|^2 / (2 bw^2))."""
    from sklearn.metrics.pairwise import euclidean_distances

    def k(a, b):
        return np.exp(-euclidean_distances(a, b, squared=True) / (2 * bandwidth ** 2))
    return float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())


@dataclass
class DMMMDConfig:
    """DM-MMD's settings (profile: selection.dm_mmd)."""

    restarts: int = 10         # seeded k-means restarts; the set of least MMD is kept

    def __post_init__(self) -> None:
        if self.restarts < 1:
            raise ValueError(f"selection.dm_mmd.restarts must be >= 1; got {self.restarts}")


@register("dm_mmd", needs=("embeddings",), settings=DMMMDConfig, display="DM-MMD")
def select_dm_mmd(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings,
                  config: DMMMDConfig | None = None, **_):
    """DM-MMD: k-means (VPC clusters) on the class's embeddings, `config.restarts` seeded restarts; each gives the
    videos nearest the centroids; keep the candidate set with the least MMD to the whole class."""
    from sklearn.cluster import KMeans
    from sklearn.metrics.pairwise import euclidean_distances

    restarts = (config or DMMMDConfig()).restarts
    emb = l2_normalise(as_numpy(embeddings))

    def pick(c, idx):
        x = emb[idx]
        d_all = euclidean_distances(x, x)
        bw = float(np.median(d_all[np.triu_indices(len(x), 1)])) if len(x) > 1 else 1.0   # median heuristic
        best, best_m = None, np.inf
        for r in range(restarts):
            km = KMeans(vpc, n_init=1, random_state=seed * 1000 + r).fit(x)
            dist = euclidean_distances(x, km.cluster_centers_)
            cand = []
            for j in np.argsort(dist.min(0)):          # centroids with the closest member first
                for i in np.argsort(dist[:, j]):
                    if i not in cand:
                        cand.append(int(i))
                        break
            m = mmd2(x[cand], x, max(bw, 1e-6))
            if m < best_m:
                best, best_m = cand, m
        return best

    # One class is a few hundred points: OpenMP/BLAS threads cost more than they save (7x faster on one thread
    # here, the same picks). Limits only this call, not torch's threads elsewhere.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return per_class(labels, vpc, num_classes, pick)
