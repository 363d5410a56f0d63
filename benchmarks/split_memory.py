"""Host memory of holding an evaluator split: concatenated in memory (as before) against memory-mapped from its
split file (now).

    .venv/bin/python benchmarks/split_memory.py        # → results/split_memory.{csv,md}

A real-format dataset (vddlib.data.tiny's UCF101 layout, 3 classes × `--per-class` train videos) is decoded once at
the evaluators' paper clip, 16 frames at 112² (588 KiB a video), into the clip cache. Then each way runs in a fresh
process: it loads the train split from the cache, hashes it (`data_hash`, as the evaluation queue does) and reads
every video once in batches (as an evaluator's epoch does). From /proc/self/status, above what the process held
just before loading:

  anon_mib    anonymous memory (RssAnon): memory the process owns, which the kernel cannot drop, only swap
  file_mib    file pages mapped in (RssFile): the page cache's, dropped and read again under memory pressure
  peak_mib    the high-water mark of both together (VmHWM)

  in memory   the split's shards read and concatenated with torch.cat (what `SplitStream.collect` did)
  mapped      `load_real`: the split file memory-mapped, copy-on-write (what it does now)

under_cap: each way again in a cgroup-v1 memory cgroup that lets the process allocate `--cap-mib` (100) MiB beyond
its imports, page cache included, with no swap: less than the split, as Kinetics-400's 143 GiB are more than a
128 GiB host. A way that needs the split in its own memory is killed by the kernel; where the machine offers no
writable memory cgroup (not root, cgroup v2 only) the column says so.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._child import memory_cap, run_child, write_results  # noqa: E402

SPEC = "ClipSpec(frames=16, gap=1, resize=(149, 112), crop=112)"

CHILD = r"""
import json, sys, time
from pathlib import Path
import torch
from vddlib.data.hashing import data_hash
from vddlib.data.real import load_real, stream_real
from vddlib.data.video_io import ClipSpec
from vddlib.data.videoset import VideoSet

root, cache, way, cgroup = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
spec = SPEC
if cgroup != "-":                                        # under a memory cap from here on (imports not charged)
    Path(cgroup, "cgroup.procs").write_text(str(__import__("os").getpid()))

reset_peak()                                      # the high-water mark: what is resident now
anon0, file0, rss0 = kib("RssAnon"), kib("RssFile"), kib("VmRSS")
t0 = time.perf_counter()
if way == "in memory":
    stream = stream_real("ucf101", root, "train", spec, cache_dir=cache)
    parts = list(stream)
    vs = VideoSet(torch.cat([p.videos for p in parts]), torch.cat([p.labels for p in parts]), stream.class_names,
                  sum((p.ids for p in parts), []))
    del parts
else:
    vs, _ = load_real("ucf101", root, "train", spec, cache_dir=cache)
load_s = time.perf_counter() - t0
digest = data_hash(vs)
total = 0.0
for i in range(0, len(vs), 8):                           # an epoch's reads, in batches of 8
    total += float(vs.videos[i:i + 8].float().mean())
print(json.dumps({"videos": len(vs), "load_s": load_s, "pass_s": time.perf_counter() - t0 - load_s,
                  "anon_mib": (kib("RssAnon") - anon0) / 1024, "file_mib": (kib("RssFile") - file0) / 1024,
                  "peak_mib": (kib("VmHWM") - rss0) / 1024, "data_hash": digest}))
""".replace("SPEC", SPEC)

COLS = ["way", "videos", "split_mib", "anon_mib", "file_mib", "peak_mib", "load_s", "pass_s", "data_hash",
        "under_cap"]


def main(argv=None) -> None:
    from vddlib.data.real import load_real
    from vddlib.data.tiny import write_tiny
    from vddlib.data.video_io import ClipSpec

    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=99, help="train videos per class (3 classes; at most 99)")
    ap.add_argument("--cap-mib", type=int, default=100, help="the memory cap of the under_cap column (MiB)")
    ap.add_argument("--out", default=str(ROOT / "results" / "split_memory"))
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = write_tiny(Path(tmp) / "ucf101", "ucf101", train_per_class=a.per_class, test_per_class=1,
                          faults=False)["root"]
        cache = Path(tmp) / "cache"
        load_real("ucf101", root, "train", eval(SPEC), cache_dir=cache)      # decoded once: the split file
        for way in ("in memory", "mapped"):
            m = run_child(CHILD, [root, cache, way, "-"])
            for f in cache.rglob("split_*.u8"):         # out of the page cache: the capped run reads it anew, and
                _evict(f)                                # its pages are charged to its own cgroup
            with memory_cap(a.cap_mib) as cgroup:        # the same, allowed `--cap-mib` MiB beyond its imports
                capped = run_child(CHILD, [root, cache, way, cgroup], may_die=True) if cgroup else None
                charged = int((cgroup / "memory.max_usage_in_bytes").read_text()) / 2**20 if cgroup else 0
            split_mib = m["videos"] * 16 * 3 * 112 * 112 / 2**20
            under_cap = ("no memory cgroup here" if capped is None else f"killed (signal {capped['killed']})"
                         if "killed" in capped else
                         f"ran (data_hash {'same' if capped['data_hash'] == m['data_hash'] else 'differs'})")
            under_cap += f", cgroup peak {charged:.0f} MiB" if capped is not None else ""
            rows.append([way, m["videos"], round(split_mib, 1), round(m["anon_mib"], 1), round(m["file_mib"], 1),
                         round(m["peak_mib"], 1), round(m["load_s"], 2), round(m["pass_s"], 2), m["data_hash"],
                         under_cap])
            print(rows[-1], flush=True)
    write_results(a.out, COLS, rows, "split_memory.py",
                  "The train split at the evaluators' paper clip (16 × 112²), loaded from the clip cache, hashed and "
                  "read once in batches: memory above the process's just before loading. anon: memory the process "
                  "owns (the kernel cannot drop it); file: page-cache pages mapped in (dropped and read again under "
                  "memory pressure); peak: both, at their high-water mark. The same data comes out either way (its "
                  f"data_hash). under_cap: the same run in a memory cgroup allowing {a.cap_mib} MiB beyond the "
                  "process's imports (page cache included, no swap): less than the split.")

def _evict(path: Path) -> None:
    """Drop a file's clean pages from the page cache (posix_fadvise DONTNEED; no privileges needed)."""
    import os

    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()
