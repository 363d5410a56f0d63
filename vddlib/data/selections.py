"""Selections as data: the manifest files the selection stage writes, read by evaluation and the experiments.

results/selections/<dataset>/<pool>/<method or variant>/vpc<k>_seed<s>.json holds a
selection's pool indices per class, its settings, a hash of the inputs its method read, and
the seconds it took. Reading one needs no selector.
"""
from __future__ import annotations

import json
from pathlib import Path


def flat_indices(per_class: dict) -> list[int]:
    """Per-class indices → one list (classes in order; JSON's string keys are read as integers)."""
    per_class = {int(c): v for c, v in per_class.items()}
    return [i for c in sorted(per_class) for i in per_class[c]]


def manifest_indices(manifest: dict) -> list[int]:
    """A saved selection's pool indices as one list."""
    return flat_indices(manifest["indices"])


def manifest_path(root: str | Path, dataset: str, pool: str, method: str, vpc: int, seed: int) -> Path:
    """results/selections/<dataset>/<pool>/<method>/vpc<k>_seed<s>.json"""
    return Path(root) / dataset / pool / method / f"vpc{vpc}_seed{seed}.json"


def load_manifests(root: str | Path, dataset: str, pool: str, methods, vpcs, seeds) -> list[dict]:
    """Every saved (method, VPC, seed) selection of a pool, in that order; one error lists what is missing."""
    paths = [manifest_path(root, dataset, pool, m, v, s) for m in methods for v in vpcs for s in seeds]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        have = sorted({p.parent.name for p in Path(root, dataset, pool).glob("*/vpc*_seed*.json")})
        lacking = sorted({(p.parent.name, p.stem) for p in missing})
        raise FileNotFoundError(
            f"{len(missing)} of {len(paths)} selection manifests of pool {pool} are missing from {Path(root)} (e.g. "
            f"{', '.join(f'{m}/{k}' for m, k in lacking[:4])}); methods found there: {have or 'none'}. Run "
            "notebooks/03_select.ipynb (or vddlib.selection.stage.make_selections) with the same profile, runs, vpcs "
            "and methods, and the same results_dir (the manifests are in its selections/), before this.")
    return [json.loads(p.read_text()) for p in paths]


def identical_selections(manifests: list[dict]) -> dict[tuple[str, int], str]:
    """{(method, VPC): the earlier method} for each method whose selections at a VPC are the same pool indices, seed
    by seed, as an earlier method's (in the order the manifests come): one set, evaluated and shown once."""
    picks: dict[tuple[str, int], dict[int, tuple[int, ...]]] = {}
    for m in manifests:
        picks.setdefault((m["method"], int(m["vpc"])), {})[int(m["seed"])] = tuple(sorted(manifest_indices(m)))
    same: dict[tuple[str, int], str] = {}
    keys = list(picks)
    for i, (method, vpc) in enumerate(keys):
        for other, ovpc in keys[:i]:
            if ovpc == vpc and (other, ovpc) not in same and picks[other, ovpc] == picks[method, vpc]:
                same[method, vpc] = other
                break
    return same
