"""The memorisation audit finds near-copies of training videos and a selector that prefers them."""
from __future__ import annotations

import numpy as np
import pytest

from vddlib.evaluation.memorisation import audit, nearest


def test_nearest_is_exact():
    rng = np.random.default_rng(0)
    ref, q = rng.normal(size=(50, 7)), rng.normal(size=(9, 7))
    d, i = nearest(q, ref, batch=4)
    brute = np.linalg.norm(q[:, None] - ref[None], axis=2)
    assert np.array_equal(i, brute.argmin(1)) and np.allclose(d, brute.min(1), atol=1e-4)
    with pytest.raises(ValueError, match="share a space"):
        nearest(q, ref[:, :3])


def test_a_selector_that_prefers_copies_shows():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(200, 16))
    test = rng.normal(size=(100, 16))                               # never seen: typical distances to train
    pool = rng.normal(size=(100, 16))
    pool[:10] = train[:10] + 0.01 * rng.normal(size=(10, 16))       # ten near-copies of training videos
    rows = {r["set"]: r for r in audit(pool, train, test, {"copier": list(range(5)), "random": list(range(50, 55))})}
    assert rows["whole pool"]["near_copies"] == pytest.approx(0.10 + 0.05 * 0.9, abs=0.05)   # copies + 5 % of the rest
    assert rows["copier"]["near_copies"] == 1.0 and rows["random"]["near_copies"] <= 0.2
    assert rows["copier"]["median_distance"] < 0.2 * rows["real test (reference)"]["median_distance"]

