"""Selections as data: the manifest files the selection stage writes, read by evaluation and the experiments.

results/selections/<dataset>/<pool>/<method or variant>/vpc<k>_seed<s>.json holds a
selection's pool indices per class, its settings, a hash of the inputs its method read, and
the seconds it took. Reading one needs no selector.
"""
from __future__ import annotations

import json
from pathlib import Path

REMAKE = ("Delete it and run `vddlib select` (or notebooks/03_select.ipynb) with the same profile to make it again; "
          "vddlib never re-uses or evaluates a manifest that fails these checks.")
FIELDS = ("method", "vpc", "seed", "indices")


class ManifestError(ValueError):
    """A selection manifest that is not one vddlib wrote, or no longer matches the pool it names."""


def _int(value, what: str, path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ManifestError(f"{path}: {what} must be an integer; got {value!r}. {REMAKE}")
    return value


def check_manifest(man, path: str | Path = "a selection manifest", labels=None) -> dict:
    """Refuse a manifest that vddlib could not have written, naming `path` and the fix: the fields it needs, the VPC
    and seed its file name records, per class exactly VPC distinct indices within the pool (its own `n_pool`), no
    index twice. With the pool's `labels` (one class index per pool video) also: the pool has `n_pool` videos,
    every class is present and every index is a video of its own class. Returns the manifest."""
    if not isinstance(man, dict):
        raise ManifestError(f"{path}: a manifest is a JSON object; got {type(man).__name__}. {REMAKE}")
    missing = [k for k in FIELDS if k not in man]
    if missing:
        raise ManifestError(f"{path}: lacks the field(s) {missing}. {REMAKE}")
    if "n_pool" not in man and labels is None:
        raise ManifestError(f"{path}: lacks the field n_pool (the pool's size). {REMAKE}")
    vpc, seed = _int(man["vpc"], "vpc", path), _int(man["seed"], "seed", path)
    n_pool = _int(man.get("n_pool", len(labels) if labels is not None else 0), "n_pool", path)
    stem = Path(str(path)).stem
    if stem.startswith("vpc") and stem != f"vpc{vpc}_seed{seed}":
        raise ManifestError(f"{path}: records VPC {vpc}, seed {seed}, but its file name says {stem}. {REMAKE}")
    if vpc < 1 or n_pool < 1:
        raise ManifestError(f"{path}: VPC and n_pool must be positive; got {vpc} and {n_pool}. {REMAKE}")
    per = man["indices"]
    if not isinstance(per, dict) or not per:
        raise ManifestError(f"{path}: `indices` must map each class to its pool indices; got {per!r:.80}. {REMAKE}")
    seen: dict[int, int] = {}
    for c, idx in per.items():
        try:
            c = int(c)
        except (TypeError, ValueError):
            raise ManifestError(f"{path}: class key {c!r} is not a class index. {REMAKE}") from None
        if not isinstance(idx, list) or len(idx) != vpc:
            raise ManifestError(f"{path}: class {c} holds {len(idx) if isinstance(idx, list) else idx!r} picks; a "
                                f"VPC {vpc} selection holds exactly {vpc} per class. {REMAKE}")
        for i in idx:
            i = _int(i, f"class {c}'s index", path)
            if not 0 <= i < n_pool:
                raise ManifestError(f"{path}: class {c} picks index {i}, outside the pool's 0-{n_pool - 1}. {REMAKE}")
            if i in seen:
                raise ManifestError(f"{path}: pool video {i} is picked twice (classes {seen[i]} and {c}). {REMAKE}")
            seen[i] = c
    if labels is not None:
        labels = [int(v) for v in labels]
        if len(labels) != n_pool:
            raise ManifestError(f"{path}: made for a pool of {n_pool} videos; this pool has {len(labels)}. {REMAKE}")
        classes = {int(c) for c in per}
        absent = sorted(set(labels) - classes)
        if absent:
            raise ManifestError(f"{path}: class(es) {absent[:10]} of the pool have no picks. {REMAKE}")
        extra = sorted(classes - set(labels))
        if extra:
            raise ManifestError(f"{path}: class(es) {extra[:10]} are not in the pool. {REMAKE}")
        wrong = [(i, c, labels[i]) for i, c in seen.items() if labels[i] != c]
        if wrong:
            i, c, actual = wrong[0]
            raise ManifestError(f"{path}: class {c} picks pool video {i}, which is of class {actual} "
                                f"({len(wrong)} such pick(s)). {REMAKE}")
    return man


def read_manifest(path: str | Path, labels=None, dataset: str | None = None, pool: str | None = None) -> dict:
    """A saved manifest, checked (`check_manifest`, and that it names `dataset` and `pool` where given: a manifest
    copied from another pool's folder is refused); a file that is not JSON (cut short, hand-edited) is refused with
    its path."""
    path = Path(path)
    try:
        man = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: not a JSON manifest ({e}); it was cut short or edited. {REMAKE}") from None
    check_manifest(man, path, labels)
    for key, want in (("dataset", dataset), ("pool", pool)):
        if want is not None and man.get(key, want) != want:
            raise ManifestError(f"{path}: records {key} {man[key]!r}, but it sits in the folder of {key} {want!r} "
                                f"(copied from another one?). {REMAKE}")
    return man


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


def load_manifests(root: str | Path, dataset: str, pool: str, methods, vpcs, seeds, labels=None) -> list[dict]:
    """Every saved (method, VPC, seed) selection of a pool, in that order, each checked (`check_manifest`, against
    the pool's `labels` where given); one error lists what is missing."""
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
    return [read_manifest(p, labels, dataset, pool) for p in paths]


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
