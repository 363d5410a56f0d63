"""What the memory benchmarks share: a measurement run in a fresh process, and the /proc readings it takes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Prepended to a child's code: kib(field) reads /proc/self/status (KiB); reset_peak() sets the high-water mark
# (VmHWM) to what is resident now, so a peak is measured from the line that calls it.
PROC = r"""
from pathlib import Path as _Path


def kib(field):
    for line in _Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])


def reset_peak():
    _Path("/proc/self/clear_refs").write_text("5")
"""


def run_child(code: str, args: list[str]) -> dict:
    """Run `code` (after PROC) in a fresh interpreter at the repository root; its last stdout line, as JSON."""
    r = subprocess.run([sys.executable, "-c", PROC + code, *map(str, args)], cwd=ROOT, capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def write_results(out: str, cols: list[str], rows: list[list], script: str, what: str) -> None:
    """results/<out>.{csv,md}, headed by the command that wrote them, the CPU it ran on, and `what` they measure."""
    from vddlib.evaluation.results import write_table
    from vddlib.hardware import cpu_label

    command = " ".join([f"python benchmarks/{script}", *sys.argv[1:]])
    write_table(out, cols, rows, f"Written by `{command}` on a CPU with {cpu_label()} (one process each). {what}\n\n")
