"""Does the generator copy its training videos, and do selectors prefer the copies?

For each synthetic video, the distance to its nearest real *training* video; the reference is
the same distance for real *test* videos, which the generator never saw. A synthetic video
closer to the training set than almost every test video (under the test distances' 5th
percentile, by default) is a near-copy. `audit` compares each selection's share of near-copies
with the whole pool's, so a selector that prefers copies shows. Distances are computed in any
feature space (pixels, autoencoder latents, an evaluator's features), batched, exactly.
"""
from __future__ import annotations

import numpy as np
import torch


def nearest(queries, reference, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each query row's nearest reference row (Euclidean), batched over the queries."""
    q = torch.as_tensor(np.asarray(queries, dtype=np.float32)).flatten(1)
    r = torch.as_tensor(np.asarray(reference, dtype=np.float32)).flatten(1)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} features, the reference {r.shape[1]}: they must share a space")
    r2 = (r * r).sum(1)
    dist, idx = [], []
    for i in range(0, len(q), batch):
        qb = q[i:i + batch]
        d2 = (qb * qb).sum(1, keepdim=True) - 2 * qb @ r.T + r2
        m, k = d2.clamp_min(0).min(1)
        dist.append(m.sqrt())
        idx.append(k)
    return torch.cat(dist).numpy(), torch.cat(idx).numpy()


def audit(pool_features, train_features, test_features, selections: dict[str, list[int]],
          quantile: float = 0.05) -> list[dict]:
    """One row per selection and one for the whole pool: median distance to the nearest training video, the share
    of near-copies (closer than the `quantile` of real test videos' nearest-training distances), and the median
    ratio of each video's nearest-training to nearest-test distance (about 1 when the generator favours the
    videos it was trained on no more than unseen ones of the same distribution; well under 1 when it copies)."""
    d_pool, _ = nearest(pool_features, train_features)
    d_pool_test, _ = nearest(pool_features, test_features)
    d_test, _ = nearest(test_features, train_features)
    ratio = d_pool / np.maximum(d_pool_test, 1e-12)
    threshold = float(np.quantile(d_test, quantile))
    rows = [{"set": "real test (reference)", "videos": len(d_test), "median_distance": float(np.median(d_test)),
             "near_copies": float(np.mean(d_test < threshold)), "threshold": threshold, "train_test_ratio": float("nan")},
            {"set": "whole pool", "videos": len(d_pool), "median_distance": float(np.median(d_pool)),
             "near_copies": float(np.mean(d_pool < threshold)), "threshold": threshold,
             "train_test_ratio": float(np.median(ratio))}]
    for name, idx in selections.items():
        idx = np.asarray(idx, dtype=int)
        d = d_pool[idx]
        rows.append({"set": name, "videos": len(d), "median_distance": float(np.median(d)),
                     "near_copies": float(np.mean(d < threshold)), "threshold": threshold,
                     "train_test_ratio": float(np.median(ratio[idx]))})
    return rows

