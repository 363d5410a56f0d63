"""Random selection: invariants, determinism, and VPC larger than a class."""
from __future__ import annotations

import numpy as np
import pytest

from vddlib.selection import select
from vddlib.selection.registry import SELECTORS, flat_indices


LABELS = np.repeat(np.arange(4), [5, 7, 6, 5])


@pytest.mark.parametrize("vpc", [1, 3, 5])
def test_random_invariants(vpc):
    per_class = select("random", LABELS, vpc, seed=0, num_classes=4)
    assert sorted(per_class) == [0, 1, 2, 3]
    for c, idx in per_class.items():
        assert len(idx) == vpc and len(set(idx)) == vpc
        assert all(LABELS[i] == c for i in idx)
    flat = flat_indices(per_class)
    assert len(flat) == 4 * vpc and len(set(flat)) == len(flat)


def test_random_is_seeded():
    assert select("random", LABELS, 2, seed=3) == select("random", LABELS, 2, seed=3)
    draws = {tuple(flat_indices(select("random", LABELS, 2, seed=s))) for s in range(10)}
    assert len(draws) > 5


def test_vpc_larger_than_a_class_is_a_clear_error():
    with pytest.raises(ValueError, match=r"VPC=6 exceeds the pool of class 0, which has only 5 videos.*VPC <= 5"):
        select("random", LABELS, 6)
    with pytest.raises(ValueError, match="VPC must be >= 1"):
        select("random", LABELS, 0)


def test_empty_class_counts_as_too_small():
    with pytest.raises(ValueError, match="class 4"):
        select("random", LABELS, 1, num_classes=5)


def test_registry():
    assert "random" in SELECTORS
    with pytest.raises(KeyError, match="Unknown selection method 'vst'"):
        select("vst", LABELS, 1)
