"""Imports flow one way (the README's Layout): data and models at the bottom, the stages over them,
experiments and the profile on top; selection never imports diffusion, evaluation never imports selection."""
from __future__ import annotations

import ast
from pathlib import Path

import vddlib

ROOT = Path(vddlib.__file__).parent
LEAVES = {"files", "hardware", "config", "paper", "checksums", "logs", "launch"}
ALLOWED = {                       # package -> what it may import (besides itself and the leaves)
    "models": set(),
    "data": set(),
    "diffusion": {"data", "models"},
    "selection": {"data", "models"},
    "evaluation": {"data", "models"},
    "experiments": {"data", "models", "diffusion", "selection", "evaluation"},
}


def imports_of(path: Path) -> set[str]:
    """The vddlib top-level names a module imports anywhere: at the top, inside functions, and type-only imports
    (under `if TYPE_CHECKING:`) too, since a type-only import still ties a module to what it names."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(ROOT).parts
    out = set()
    for n in ast.walk(tree):
        if not isinstance(n, ast.ImportFrom):
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


def _module(path: Path) -> str:
    parts = path.with_suffix("").relative_to(ROOT.parent).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph() -> dict[str, set[str]]:
    """{module: the vddlib modules it imports}, every import counted (top, in functions, type-only)."""
    files = {_module(f): f for f in ROOT.rglob("*.py")}
    graph = {}
    for name, f in files.items():
        package = name.split(".") if f.name == "__init__.py" else name.split(".")[:-1]
        deps = set()
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.ImportFrom):
                base = ".".join(package[:len(package) - n.level + 1] + (n.module or "").split(".")).strip(".") \
                    if n.level else (n.module or "")
                deps.update(f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in n.names)
            elif isinstance(n, ast.Import):
                deps.update(a.name for a in n.names)
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def test_only_the_entry_points_import_the_profile():
    """Stages take their own settings: no module but the profile itself and the command line imports
    `vddlib.profile`, not even for a type."""
    importers = sorted(m for m, deps in module_graph().items() if "vddlib.profile" in deps)
    assert all(m.startswith("vddlib.cli") for m in importers), importers


def test_no_import_circle():
    graph, state, path = module_graph(), {}, []

    def visit(m: str) -> None:
        state[m] = "open"
        path.append(m)
        for d in sorted(graph[m]):
            assert state.get(d) != "open", " -> ".join(path[path.index(d):] + [d])
            if d not in state:
                visit(d)
        state[m] = "done"
        path.pop()

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_leaves_import_no_stage():
    for leaf in LEAVES:
        names = imports_of(ROOT / f"{leaf}.py")
        assert names <= LEAVES, (leaf, names)
    # the figures sit on top, beside the notebooks: they read the data and the selectors' printed names
    assert imports_of(ROOT / "figures.py") <= LEAVES | {"data", "selection"}


def test_every_benchmark_and_script_imports():
    """The benchmarks and scripts follow the layout too: each one's imports resolve (its main is not run)."""
    import importlib.util

    for f in sorted([*(ROOT.parent / "benchmarks").glob("*.py"), *(ROOT.parent / "scripts").glob("*.py")]):
        spec = importlib.util.spec_from_file_location(f"_bench_{f.stem}", f)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)                     # raises on a stale import


# Where a selector's registry name may still be written in the library: its own module, the paper's reference
# tables, and these (each says why). Anywhere else a list of methods would have to grow with every new selector.
NAMES_ALLOWED = {
    "paper.py": "the paper's tables and facts",
    "evaluation/paper_tables.py": "Table 2's own rows, as the paper prints them",
    "data/video_io.py": "'random' there is where a clip starts, not a selector",
}


def test_no_module_keeps_a_list_of_selectors():
    from vddlib.selection import SELECTORS

    bad = []
    for f in ROOT.rglob("*.py"):
        rel = str(f.relative_to(ROOT))
        if rel.startswith("selection/selectors/") or rel in NAMES_ALLOWED:
            continue
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in SELECTORS:
                bad.append(f"{rel}:{n.lineno} {n.value!r}")
    assert not bad, "\n".join(bad)
