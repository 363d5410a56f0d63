"""What the memory benchmarks share: a measurement run in a fresh process, and the /proc readings it takes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


def run_child(code: str, args: list[str], may_die: bool = False, timeout: float | None = None) -> dict:
    """Run `code` (after PROC) in a fresh interpreter at the repository root; its last stdout line, as JSON.
    `may_die`: a child killed by a signal (the kernel's OOM killer under a memory cap) gives {"killed": signal}.
    `timeout`: a child still running after that many seconds is killed and gives {"stalled": timeout}; at a memory
    cap the kernel may reclaim in a loop instead of killing (seen on a 6.18 kernel: minutes of system time)."""
    try:
        r = subprocess.run([sys.executable, "-c", PROC + code, *map(str, args)], cwd=ROOT, capture_output=True,
                           text=True, check=not may_die, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"stalled": timeout}
    if r.returncode < 0:
        return {"killed": -r.returncode}
    if r.returncode:
        raise subprocess.CalledProcessError(r.returncode, "child", r.stdout, r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def under_cap_text(capped: dict | None, same: bool, charged_mib: float, what: str = "data_hash") -> str:
    """The under_cap column: how the run under a memory cap ended (None: no writable memory cgroup here)."""
    if capped is None:
        return "no memory cgroup here"
    if "killed" in capped:
        text = f"killed (signal {capped['killed']})"
    elif "stalled" in capped:
        text = f"stalled at the cap (neither done nor killed in {capped['stalled']:.0f} s; stopped)"
    else:
        text = f"ran ({what} {'same' if same else 'differs'})"
    return f"{text}, cgroup peak {charged_mib:.0f} MiB"


@contextmanager
def memory_cap(mib: int) -> Iterator[Path | None]:
    """A cgroup-v1 memory cgroup allowing `mib` MiB (page cache included, no swap) for a child to join (it writes
    its pid to <folder>/cgroup.procs after its imports, so only what it allocates afterwards is charged); None
    where this machine gives no writable memory cgroup (not root, cgroup v2 only, a locked container)."""
    folder = Path("/sys/fs/cgroup/memory") / f"vddlib_bench_{os.getpid()}"
    try:
        folder.mkdir()
        (folder / "memory.limit_in_bytes").write_text(str(mib << 20))
        if (folder / "memory.memsw.limit_in_bytes").exists():
            (folder / "memory.memsw.limit_in_bytes").write_text(str(mib << 20))
    except OSError:
        if folder.is_dir():
            folder.rmdir()
        yield None
        return
    try:
        yield folder
    finally:
        folder.rmdir()                        # empty again once the child has exited


def write_results(out: str, cols: list[str], rows: list[list], script: str, what: str) -> None:
    """results/<out>.{csv,md}, headed by the command that wrote them, the CPU it ran on, and `what` they measure."""
    from vddlib.evaluation.results import write_table
    from vddlib.hardware import cpu_label, cpu_model

    command = " ".join([f"python benchmarks/{script}", *sys.argv[1:]])
    write_table(out, cols, rows, f"Written by `{command}` on {cpu_model()} ({cpu_label()}; one process each). "
                f"{what}\n\n")
