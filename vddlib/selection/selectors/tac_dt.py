"""TAC-DT (§3.2): training-free selection by temporal-aware clustering of video embeddings (TAC-SUM's steps)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..registry import as_numpy, l2_normalise, method_rng, per_class, register


def tac_dt_clusters(emb: np.ndarray, k: int, pca_dims: int = 50, threshold: float = 0.5,
                    linkage: str = "ward", knn: int = 5, order: np.ndarray | None = None) -> np.ndarray:
    """TAC-SUM's clustering on one class: L2 → PCA → standardise → BIRCH sub-clusters → agglomerative merge
    to k clusters under a connectivity graph. Returns one label per row of `emb`.

    `order`: the order BIRCH reads the rows in (a permutation; None: as given). BIRCH builds its
    tree one point at a time, so the order changes its sub-clusters, and through the
    connectivity graph the final clusters: a seeded order makes each run its own selection.

    Standardising is one scale for all components (mean variance 1), not one per component:
    scaling each principal component to unit variance would blow the noise components up to
    the size of the informative ones and erase the clusters (TAC-SUM standardises after a
    3-D manifold projection, where that does not arise).

    TAC-SUM links frames by their BIRCH sub-cluster and by time; videos of a pool have no
    time order, so here a k-nearest-neighbour graph takes the place of temporal adjacency.
    """
    from sklearn.cluster import AgglomerativeClustering, Birch
    from sklearn.decomposition import PCA
    from sklearn.neighbors import kneighbors_graph
    from scipy.sparse import csr_matrix

    n = len(emb)
    if k >= n:
        return np.arange(n)
    x = l2_normalise(emb)
    x = PCA(n_components=min(pca_dims, n - 1, x.shape[1]), svd_solver="full").fit_transform(x)
    x = x - x.mean(0)
    x = x / max(float(np.sqrt((x ** 2).mean())), 1e-12)
    order = np.arange(n) if order is None else np.asarray(order)
    t = threshold
    while True:                                        # a threshold that leaves >= k sub-clusters
        sub = np.empty(n, dtype=int)
        sub[order] = Birch(threshold=t, n_clusters=None).fit(x[order]).labels_
        if len(np.unique(sub)) >= k or t < 1e-3:
            break
        t /= 2
    same = csr_matrix((sub[:, None] == sub[None, :]).astype(np.float64))
    conn = same + kneighbors_graph(x, min(knn, n - 1), include_self=False)
    conn = ((conn + conn.T) > 0).astype(np.float64)
    import warnings
    with warnings.catch_warnings():                    # an unconnected graph is completed by sklearn: fine
        warnings.simplefilter("ignore")
        return AgglomerativeClustering(n_clusters=k, linkage=linkage, connectivity=conn).fit(x).labels_


def representatives(emb: np.ndarray, clusters: np.ndarray, rng: np.random.Generator | None = None,
                    candidates: int = 1) -> list[int]:
    """Per cluster, the member most cosine-similar to the cluster's mean embedding (TAC-SUM step 6); with `rng`,
    one drawn uniformly among its `candidates` most similar members (each run its own selection)."""
    x = l2_normalise(emb)
    out = []
    for c in np.unique(clusters):
        m = np.flatnonzero(clusters == c)
        mean = x[m].mean(0)
        near = m[np.argsort(-(x[m] @ mean), kind="stable")[:max(1, candidates)]]
        out.append(int(near[0] if rng is None else near[rng.integers(len(near))]))
    return out


@dataclass
class TacDTConfig:
    """TAC-DT's clustering (TAC-SUM's steps; see `tac_dt_clusters`); profile: selection.tac_dt."""

    pca_dims: int = 50
    threshold: float = 0.5
    linkage: str = "ward"
    knn: int = 5
    candidates: int = 3    # each run's representative: drawn among the cluster's members this near its mean

    def __post_init__(self) -> None:
        if self.linkage not in ("ward", "single", "average", "complete"):
            raise ValueError(f"selection.tac_dt.linkage must be ward, single, average or complete; got {self.linkage!r}")
        if self.pca_dims < 1 or self.threshold <= 0 or self.knn < 1 or self.candidates < 1:
            raise ValueError("selection.tac_dt: pca_dims, threshold, knn and candidates must be positive")


@register("tac_dt", needs=("embeddings",), settings=TacDTConfig, version=2, display="TAC-DT", randomised=1)  # 2: redrawn per seed
def select_tac_dt(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings,
                  config: TacDTConfig | None = None, **_):
    """TAC-DT (§3.2): training-free; VPC clusters of the class's embeddings, one representative each.

    Each seed is its own selection, as the paper redoes it in every run: BIRCH reads the class's
    videos in a seeded order, and each cluster's representative is drawn among its `config.candidates`
    members nearest the cluster mean (candidates=1: TAC-SUM's single most central member)."""
    cfg = config or TacDTConfig()
    emb = as_numpy(embeddings)
    rng = method_rng("tac_dt", seed)
    return per_class(labels, vpc, num_classes, lambda c, idx: representatives(
        emb[idx], tac_dt_clusters(emb[idx], vpc, cfg.pca_dims, cfg.threshold, cfg.linkage, cfg.knn,
                                  order=rng.permutation(len(idx))), rng, cfg.candidates))
