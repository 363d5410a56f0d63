"""Selection: choose VPC videos per class from a pool. One interface, a registry by name.

A selector is called as `select(method, labels, vpc, seed=..., num_classes=..., **inputs)`
and returns, per class, the indices (into the pool) of the chosen videos: unique, within
their class, exactly VPC per class. `inputs` are plain arrays, so a selector works on any
user's pool (synthetic or real) and embedding matrix, scikit-learn style:

- `embeddings` (N, D): video embeddings (VideoMAE here) - tac_dt, herding, kcenter, dm_mmd, csta;
- `scores` (N, K): class probabilities (VideoMAE's head or a probe) - mae_score, csta;
- `latents` (N, T, C, h, w): autoencoder latents of the videos - vst_unet;
- method settings by keyword (e.g. `threshold=` for tac_dt, `config=` for vst_unet).

Registry names (the `method` column of results/eval_runs.csv): random, mae_score, csta,
dm_mmd, vst_unet, tac_dt, herding, kcenter. `selection_manifest` caches each selection as
JSON (indices, settings, seconds) and re-uses it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

SELECTORS: dict[str, Callable[..., dict[int, list[int]]]] = {}
# what each method reads from `inputs` (checked before running, so a missing input is a clear error)
NEEDS: dict[str, tuple[str, ...]] = {}
# methods that run on a fixed torch thread count of their own, so several selections may run at once in threads
THREADED: set[str] = set()
# each method's version: raised when the same settings select differently, so older saved manifests are redone
VERSIONS: dict[str, int] = {}


def register(name: str, needs: tuple[str, ...] = (), threaded: bool = False, version: int = 1):
    def deco(fn):
        SELECTORS[name] = fn
        NEEDS[name] = needs
        VERSIONS[name] = version
        if threaded:
            THREADED.add(name)
        return fn
    return deco


def _np(a) -> np.ndarray:
    return np.asarray(a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a)


def check_vpc(labels: np.ndarray, vpc: int, num_classes: int | None = None) -> None:
    """A clear error when VPC is not positive or exceeds some class's pool."""
    if vpc < 1:
        raise ValueError(f"VPC must be >= 1; got {vpc}")
    counts = np.bincount(labels, minlength=num_classes or 0)
    short = [(c, int(n)) for c, n in enumerate(counts) if n < vpc]
    if short:
        c, n = short[0]
        raise ValueError(f"VPC={vpc} exceeds the pool of class {c}, which has only {n} videos "
                         f"({len(short)} class(es) too small); choose VPC <= {int(counts.min())} "
                         "or generate a larger pool.")


def _classes(labels: np.ndarray, num_classes: int | None):
    return range(num_classes) if num_classes else [int(c) for c in np.unique(labels)]


def per_class(labels, vpc: int, num_classes: int | None, pick: Callable[[int, np.ndarray], np.ndarray]
              ) -> dict[int, list[int]]:
    """Apply `pick(c, idx_c) -> local positions` class by class; check and map back to pool indices."""
    labels = _np(labels).astype(int)
    check_vpc(labels, vpc, num_classes)
    out = {}
    for c in _classes(labels, num_classes):
        idx = np.flatnonzero(labels == c)
        local = np.asarray(pick(c, idx), dtype=int)
        if len(local) != vpc or len(set(local.tolist())) != vpc:
            raise RuntimeError(f"selector returned {len(local)} positions ({len(set(local.tolist()))} unique) "
                               f"for class {c}; expected {vpc}")
        out[int(c)] = sorted(idx[local].tolist())
    return out


def method_rng(method: str, seed: int) -> np.random.Generator:
    """A seeded generator of one method's own: two methods with the same seed draw independently."""
    import zlib

    return np.random.default_rng([seed, zlib.crc32(method.encode())])


def _l2(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


# ----------------------------------------------------------------------------- baselines
@register("random")
def select_random(labels, vpc: int, seed: int = 0, num_classes: int | None = None, **_) -> dict[int, list[int]]:
    """VPC videos per class drawn uniformly without replacement (numpy Generator, seeded)."""
    rng = np.random.default_rng(seed)
    return per_class(labels, vpc, num_classes, lambda c, idx: rng.choice(len(idx), vpc, replace=False))


@register("mae_score", needs=("scores",))
def select_mae_score(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, scores, **_):
    """The VPC videos with the highest VideoMAE probability for their conditioning class (ties: lower index)."""
    scores = _np(scores)
    return per_class(labels, vpc, num_classes,
                     lambda c, idx: np.argsort(-scores[idx, c], kind="stable")[:vpc])


@register("herding", needs=("embeddings",))
def select_herding(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings, **_):
    """Herding (Welling 2009; the VD codebase's coreset): greedily keep the running mean closest to the class mean."""
    emb = _l2(_np(embeddings))

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


@register("kcenter", needs=("embeddings",), version=2)     # 2: its own seeded draw
def select_kcenter(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings, **_):
    """K-Center greedy (Sener & Savarese 2018): a seeded first centre (drawn independently of Random's draws),
    then always the farthest video."""
    emb = _l2(_np(embeddings))
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


def mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """Biased squared MMD between samples x and y under an RBF kernel exp(-|a-b|^2 / (2 bw^2))."""
    from sklearn.metrics.pairwise import euclidean_distances

    def k(a, b):
        return np.exp(-euclidean_distances(a, b, squared=True) / (2 * bandwidth ** 2))
    return float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())


@register("dm_mmd", needs=("embeddings",))
def select_dm_mmd(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings,
                  n_init: int = 10, **_):
    """DM-MMD: k-means (VPC clusters) on the class's embeddings, `n_init` seeded restarts; each gives the
    videos nearest the centroids; keep the candidate set with the least MMD to the whole class."""
    from sklearn.cluster import KMeans
    from sklearn.metrics.pairwise import euclidean_distances

    emb = _l2(_np(embeddings))

    def pick(c, idx):
        x = emb[idx]
        d_all = euclidean_distances(x, x)
        bw = float(np.median(d_all[np.triu_indices(len(x), 1)])) if len(x) > 1 else 1.0   # median heuristic
        best, best_m = None, np.inf
        for r in range(n_init):
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


# ----------------------------------------------------------------------------- TAC-DT
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
    x = _l2(emb)
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
    x = _l2(emb)
    out = []
    for c in np.unique(clusters):
        m = np.flatnonzero(clusters == c)
        mean = x[m].mean(0)
        near = m[np.argsort(-(x[m] @ mean), kind="stable")[:max(1, candidates)]]
        out.append(int(near[0] if rng is None else near[rng.integers(len(near))]))
    return out


@register("tac_dt", needs=("embeddings",), version=2)       # 2: redrawn per seed
def select_tac_dt(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings,
                  pca_dims: int = 50, threshold: float = 0.5, linkage: str = "ward", knn: int = 5,
                  candidates: int = 3, **_):
    """TAC-DT (§3.2): training-free; VPC clusters of the class's embeddings, one representative each.

    Each seed is its own selection, as the paper redoes it in every run: BIRCH reads the class's
    videos in a seeded order, and each cluster's representative is drawn among its `candidates`
    members nearest the cluster mean (candidates=1: TAC-SUM's single most central member)."""
    emb = _np(embeddings)
    rng = method_rng("tac_dt", seed)
    return per_class(labels, vpc, num_classes, lambda c, idx: representatives(
        emb[idx], tac_dt_clusters(emb[idx], vpc, pca_dims, threshold, linkage, knn, order=rng.permutation(len(idx))),
        rng, candidates))


# ----------------------------------------------------------------------------- CSTA
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


@register("csta", needs=("embeddings", "scores"))
def select_csta(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, embeddings, scores,
                config=None, **_):
    """CSTA-style: an attention CNN over each class's (videos × D) embedding image scores every video
    (trained to predict the VideoMAE class score), then a 0/1 knapsack with capacity VPC clips."""
    from .models.csta import CSTAConfig, csta_importance

    labels_np = _np(labels).astype(int)
    check_vpc(labels_np, vpc, num_classes)
    imp = csta_importance(_np(embeddings), _np(scores), labels_np, config or CSTAConfig(), seed)
    # every video is one clip of equal length: weight 1 each, capacity VPC (values > 0 fill it)
    return per_class(labels_np, vpc, num_classes,
                     lambda c, idx: knapsack(imp[idx] + 1e-6, np.ones(len(idx), dtype=int), vpc))


# ----------------------------------------------------------------------------- VST-UNet
@register("vst_unet", needs=("latents",), threaded=True, version=2)   # 2: the fixed-space objective
def select_vst_unet(labels, vpc: int, seed: int = 0, num_classes: int | None = None, *, latents,
                    config=None, **_):
    """VST-UNet (§3.1): one network trained on all classes' latent pools, then its decoded selection per class
    (`config.decode`: set-aware sequential pick, or the paper's top-VPC probabilities)."""
    from .vst import VSTConfig, train_vst_unet

    labels_np = _np(labels).astype(int)
    check_vpc(labels_np, vpc, num_classes)
    lat = latents if isinstance(latents, torch.Tensor) else torch.from_numpy(np.asarray(latents))
    res = train_vst_unet(lat.float(), torch.from_numpy(labels_np), vpc, config or VSTConfig(), seed,
                         num_classes=num_classes)
    chosen = per_class(labels_np, vpc, num_classes, lambda c, idx: np.searchsorted(idx, np.asarray(res.selection[int(c)])))
    return chosen, {"log": res.log, "best_epoch": res.best_epoch}      # the training log goes into the manifest


# ----------------------------------------------------------------------------- the interface
def select(method: str, labels, vpc: int, seed: int = 0, **inputs) -> dict[int, list[int]]:
    """Run a registered selector by name: {class: pool indices}."""
    return select_with_info(method, labels, vpc, seed, **inputs)[0]


def select_with_info(method: str, labels, vpc: int, seed: int = 0, **inputs) -> tuple[dict[int, list[int]], dict]:
    """Run a registered selector by name: its selection and what it reports about it (e.g. VST-UNet's training
    log; {} for most). A selector returns the selection, or (selection, info)."""
    if method not in SELECTORS:
        raise KeyError(f"Unknown selection method {method!r}; choose one of {sorted(SELECTORS)}")
    missing = [k for k in NEEDS[method] if inputs.get(k) is None]
    if missing:
        raise ValueError(f"Selector {method!r} needs {missing}; pass them as keyword arrays "
                         "(embeddings/scores: vddlib.embeddings.pool_features; latents: load_pool(with_latents=True))")
    n = len(labels)
    for k in ("embeddings", "scores", "latents"):
        if inputs.get(k) is not None and len(inputs[k]) != n:
            raise ValueError(f"{k} has {len(inputs[k])} rows but there are {n} labels: they must index the same pool")
    out = SELECTORS[method](labels, vpc, seed=seed, **inputs)
    return out if isinstance(out, tuple) else (out, {})


def flat_indices(per_class: dict[int, list[int]]) -> list[int]:
    """Per-class indices → one list (classes in order)."""
    return [i for c in sorted(per_class) for i in per_class[c]]


def manifest_indices(manifest: dict) -> list[int]:
    """A saved selection's pool indices as one list (its JSON keys the classes as strings)."""
    return flat_indices({int(c): v for c, v in manifest["indices"].items()})


def _jsonable(o):
    from dataclasses import asdict, is_dataclass

    return asdict(o) if is_dataclass(o) else str(o)


def inputs_hash(labels, arrays: dict) -> str:
    """sha1 of the labels and the named input arrays (what a selection depends on besides its settings)."""
    import hashlib

    h = hashlib.sha1(np.ascontiguousarray(_np(labels)).astype(np.int64).tobytes())
    for k in sorted(arrays):
        h.update(k.encode())
        h.update(np.ascontiguousarray(_np(arrays[k])).tobytes())
    return h.hexdigest()[:16]


def manifest_path(root: str | Path, dataset: str, pool: str, method: str, vpc: int, seed: int) -> Path:
    """results/selections/<dataset>/<pool>/<method>/vpc<k>_seed<s>.json"""
    return Path(root) / dataset / pool / method / f"vpc{vpc}_seed{seed}.json"


def selection_manifest(root: str | Path, dataset: str, pool: str, method: str, labels, vpc: int, seed: int,
                       settings: dict | None = None, name: str | None = None, **inputs) -> dict:
    """Select (or re-use the saved selection with the same settings); the manifest is written atomically.

    Returns the manifest: {"indices": {class: [...]}, "settings", "seconds", "info" (if the selector reports
    any, e.g. VST-UNet's per-epoch objective), ...}. A saved
    manifest is re-used only if its settings and a hash of the labels and of the inputs the
    method reads are the same, so a changed pool or embedder never re-uses a stale selection.
    """
    path = manifest_path(root, dataset, pool, name or method, vpc, seed)     # name: a variant's own folder
    settings = json.loads(json.dumps(settings or {}, default=_jsonable))
    if VERSIONS.get(method, 1) > 1:
        settings["version"] = VERSIONS[method]
    digest = inputs_hash(labels, {k: inputs[k] for k in NEEDS.get(method, ()) if inputs.get(k) is not None})
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("settings") == settings and saved.get("inputs_hash") == digest:
            saved["indices"] = {int(c): v for c, v in saved["indices"].items()}
            saved["reused"] = True
            return saved
    t0 = time.perf_counter()
    chosen, info = select_with_info(method, labels, vpc, seed=seed, **inputs)
    man = {"dataset": dataset, "pool": pool, "method": method, "name": name or method, "vpc": vpc, "seed": seed, "n_pool": len(labels),
           "inputs_hash": digest, "settings": settings, "seconds": round(time.perf_counter() - t0, 4),
           "indices": {str(c): v for c, v in chosen.items()}, **({"info": info} if info else {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(man, indent=1))
    tmp.replace(path)
    man["indices"] = chosen
    man["reused"] = False
    return man
