"""Selection manifests: each (method, VPC, seed) selection made once, saved as JSON, and re-used while nothing
changed. The file layout (and reading it back) is `vddlib.data.selections`: evaluation reads the files and never
runs a selector.
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

from ..data.hashing import inputs_hash
from ..data.selections import REMAKE, ManifestError, manifest_indices, manifest_path, read_manifest  # noqa: F401
from ..files import write_text
from .registry import get, select_with_info


def _jsonable(o):
    from dataclasses import asdict, is_dataclass

    return asdict(o) if is_dataclass(o) else str(o)


def _class_indices(labels) -> list[int] | None:
    """The labels as class indices when they are integers (the pool's), else None (the structural checks only)."""
    try:
        return [int(v) for v in (labels.tolist() if hasattr(labels, "tolist") else labels)]
    except (TypeError, ValueError):
        return None


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
    sel = get(method)
    if sel.version > 1:
        settings["version"] = sel.version
    digest = inputs_hash(labels, {k: inputs[k] for k in sel.needs if inputs.get(k) is not None})
    if path.is_file():
        classes = _class_indices(labels)
        try:                              # a hand-edited, cut-short or stale manifest is made again, never re-used
            saved = read_manifest(path, classes) if classes is not None else json.loads(path.read_text())
        except ManifestError as e:
            warnings.warn(f"{str(e).replace(REMAKE, '').strip()} Making it again.", stacklevel=2)
            saved = {}
        if saved.get("settings") == settings and saved.get("inputs_hash") == digest and saved.get("vpc") == vpc:
            saved["indices"] = {int(c): v for c, v in saved["indices"].items()}
            saved["reused"] = True
            return saved
    t0 = time.perf_counter()
    chosen, info = select_with_info(method, labels, vpc, seed=seed, **inputs)
    man = {"dataset": dataset, "pool": pool, "method": method, "name": name or method, "vpc": vpc, "seed": seed, "n_pool": len(labels),
           "inputs_hash": digest, "settings": settings, "seconds": round(time.perf_counter() - t0, 4),
           "indices": {str(c): v for c, v in chosen.items()}, **({"info": info} if info else {})}
    write_text(path, json.dumps(man, indent=1))
    man["indices"] = chosen
    man["reused"] = False
    return man
