"""results/README.md is the map of results/: every file there is found from one of its lines, and every line finds
a file (a line left behind by a removed table fails as a file left out of the map does)."""
from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
IGNORED = ("*.lock", "*.tmp", "README.md")          # lock files are ignored by git; the map is not its own entry


def map_patterns(text: str) -> list[str]:
    """The backticked names in the first column of the map's tables."""
    rows = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    return [p for row in rows for p in re.findall(r"`([^`]+)`", row)]


def result_files() -> list[str]:
    return sorted(p.relative_to(RESULTS).as_posix() for p in RESULTS.rglob("*")
                  if p.is_file() and not any(fnmatchcase(p.name, i) for i in IGNORED))


def test_map_patterns_read_the_first_column_only():
    text = "| `a.*`, `b/*` | what `c` | 04 |\n| files | what |\n"
    assert map_patterns(text) == ["a.*", "b/*"]


def test_every_result_file_is_on_the_map_and_every_line_finds_one():
    patterns = map_patterns((RESULTS / "README.md").read_text())
    files = result_files()
    assert patterns and files
    lost = [f for f in files if not any(fnmatchcase(f, p) for p in patterns)]
    assert not lost, f"results/ files missing from results/README.md: {lost}"
    stale = [p for p in patterns if not any(fnmatchcase(f, p) for f in files)]
    assert not stale, f"results/README.md lines that find no file: {stale}"


def test_every_benchmark_script_is_listed_once_and_every_listed_script_exists():
    bench = RESULTS.parent / "benchmarks"
    listed = map_patterns((bench / "README.md").read_text())
    scripts = sorted(p.name for p in bench.glob("*.py"))
    assert sorted(listed) == scripts, (sorted(set(scripts) - set(listed)), sorted(set(listed) - set(scripts)))
