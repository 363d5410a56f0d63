"""Selection: choose VPC videos per class from a pool. One interface, a registry by name.

A selector is called as `select(labels, vpc, seed=..., **inputs)` and returns, per class,
the indices (into the pool) of the chosen videos: unique, within their class, exactly
VPC per class. Random is the first method; the paper's selectors join the registry.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

SELECTORS: dict[str, Callable[..., dict[int, list[int]]]] = {}


def register(name: str):
    def deco(fn):
        SELECTORS[name] = fn
        return fn
    return deco


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


@register("random")
def select_random(labels, vpc: int, seed: int = 0, num_classes: int | None = None, **_) -> dict[int, list[int]]:
    """VPC videos per class drawn uniformly without replacement (numpy Generator, seeded)."""
    labels = np.asarray(labels.numpy() if isinstance(labels, torch.Tensor) else labels)
    check_vpc(labels, vpc, num_classes)
    rng = np.random.default_rng(seed)
    classes = range(num_classes) if num_classes else np.unique(labels)
    return {int(c): sorted(rng.choice(np.flatnonzero(labels == c), vpc, replace=False).tolist()) for c in classes}


def select(method: str, labels, vpc: int, seed: int = 0, **inputs) -> dict[int, list[int]]:
    """Run a registered selector by name."""
    if method not in SELECTORS:
        raise KeyError(f"Unknown selection method {method!r}; choose one of {sorted(SELECTORS)}")
    return SELECTORS[method](labels, vpc, seed=seed, **inputs)


def flat_indices(per_class: dict[int, list[int]]) -> list[int]:
    """Per-class indices → one list (classes in order)."""
    return [i for c in sorted(per_class) for i in per_class[c]]
