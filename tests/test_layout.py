"""Imports flow one way (the README's Layout): data and models at the bottom, the stages over them,
experiments and the profile on top; selection never imports diffusion, evaluation never imports selection."""
from __future__ import annotations

import ast
from pathlib import Path

import vddlib

ROOT = Path(vddlib.__file__).parent
LEAVES = {"files", "hardware", "config", "paper", "figures", "checksums", "logs", "launch"}
ALLOWED = {                       # package -> what it may import (besides itself and the leaves)
    "models": set(),
    "data": set(),
    "diffusion": {"data", "models"},
    "selection": {"data", "models"},
    "evaluation": {"data", "models"},
    "experiments": {"data", "models", "diffusion", "selection", "evaluation"},
}


def imports_of(path: Path) -> set[str]:
    """The vddlib top-level names a module imports at run time (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
            for n in ast.walk(node)}
    rel = path.relative_to(ROOT).parts
    out = set()
    for n in ast.walk(tree):
        if id(n) in skip or not isinstance(n, ast.ImportFrom):
            continue
        if n.level:
            base = list(rel[:-1])[:len(rel) - n.level]
            parts = base + (n.module.split(".") if n.module else [])
            names = [parts[0]] if parts else [a.name for a in n.names]
        elif (n.module or "").startswith("vddlib."):
            names = [n.module.split(".")[1]]
        else:
            continue
        out.update(names)
    return out


def test_imports_flow_one_way():
    bad = []
    for pkg, allowed in ALLOWED.items():
        for f in (ROOT / pkg).rglob("*.py"):
            for name in imports_of(f) - allowed - LEAVES - {pkg}:
                bad.append(f"{f.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_leaves_import_no_stage():
    for leaf in LEAVES:
        names = imports_of(ROOT / f"{leaf}.py")
        assert names <= LEAVES | {"data"} if leaf == "figures" else names <= LEAVES, (leaf, names)


def test_every_benchmark_and_script_imports():
    """The benchmarks and scripts follow the layout too: each one's imports resolve (its main is not run)."""
    import importlib.util

    for f in sorted([*(ROOT.parent / "benchmarks").glob("*.py"), *(ROOT.parent / "scripts").glob("*.py")]):
        spec = importlib.util.spec_from_file_location(f"_bench_{f.stem}", f)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)                     # raises on a stale import
