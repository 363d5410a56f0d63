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
    with pytest.raises(ValueError, match="vpc must be at least 1"):
        select("random", LABELS, 0)


def test_empty_class_counts_as_too_small():
    with pytest.raises(ValueError, match="class 4"):
        select("random", LABELS, 1, num_classes=5)


def test_registry():
    assert "random" in SELECTORS
    with pytest.raises(KeyError, match="Unknown selection method 'vst'"):
        select("vst", LABELS, 1)


def test_unknown_settings_are_refused_listing_what_the_selector_takes():
    emb = np.random.default_rng(0).normal(size=(len(LABELS), 6))
    with pytest.raises(TypeError, match=r"unknown argument\(s\) \['treshold'\].*threshold"):
        select("tac_dt", LABELS, 1, embeddings=emb, treshold=0.01)
    with pytest.raises(TypeError, match=r"\['temperature'\].*no settings"):
        select("random", LABELS, 1, temperature=2)


def test_a_setting_by_name_overrides_the_defaults_and_the_config():
    from vddlib.selection.selectors.tac_dt import TacDTConfig

    emb = np.random.default_rng(0).normal(size=(len(LABELS), 6))
    by_name = select("tac_dt", LABELS, 2, seed=1, embeddings=emb, pca_dims=3, candidates=1)
    by_config = select("tac_dt", LABELS, 2, seed=1, embeddings=emb, config=TacDTConfig(pca_dims=3, candidates=1))
    over = select("tac_dt", LABELS, 2, seed=1, embeddings=emb, config=TacDTConfig(pca_dims=4), pca_dims=3,
                  candidates=1)
    assert by_name == by_config == over


def test_labels_may_be_any_hashable_values():
    names = np.array(["wave", "run", "jump", "sit"])[LABELS]
    by_name = select("random", list(names), 2, seed=3)
    assert set(by_name) == set(names) and all(names[i] == n for n, idx in by_name.items() for i in idx)
    ordered = np.array(["a", "b", "c", "d"])[LABELS]             # sorted names: class k is the k-th name
    by_index = select("random", LABELS, 2, seed=3)
    assert select("random", ordered, 2, seed=3) == {"abcd"[k]: v for k, v in by_index.items()}
    assert select("random", [("cls", int(k)) for k in LABELS], 2, seed=3) == {("cls", k): v for k, v in by_index.items()}
    with pytest.raises(ValueError, match="distinct values"):
        select("random", list(names), 1, num_classes=7)
