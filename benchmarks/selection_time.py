"""Selection time against the pool size N_c (100 → 1,000 videos per class) for every method.

Inputs have the default profile's shapes (VideoMAE embeddings D=128, class scores, latents
8×4×8×8) but random values: the time of every method depends on the shapes only. Also
times TAC-DT per class (the issue's budget: <= 1 s per class at N_c = 100).

    python benchmarks/selection_time.py            # → results/selection_time_vs_nc.{csv,md}, figures/selection_time_vs_nc.png
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from vddlib.profile import load_profile
from vddlib.figures import line_plot
from vddlib.evaluation.results import markdown_table
from vddlib.files import write_text
from vddlib.selection import select


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[100, 250, 500, 1000])
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--vpc", type=int, default=5)
    ap.add_argument("--out", default="results/selection_time_vs_nc")
    ap.add_argument("--figure", default="figures/selection_time_vs_nc.png")
    a = ap.parse_args()
    prof = load_profile("default")
    rng = np.random.default_rng(0)
    rows = []
    for n in a.sizes:
        labels = np.repeat(np.arange(a.classes), n)
        inputs = {"embeddings": rng.normal(size=(len(labels), 128)).astype(np.float32),
                  "scores": rng.dirichlet(np.ones(a.classes), size=len(labels)),
                  "latents": torch.randn(len(labels), 8, 4, 8, 8)}
        for m in prof.selection.methods:
            t = time.perf_counter()
            select(m, labels, a.vpc, seed=0, num_classes=a.classes, **inputs, **prof.selection.settings(m))
            s = time.perf_counter() - t
            rows.append({"method": m, "n_c": n, "seconds": s, "per_class_s": s / a.classes})
            print(f"N_c={n:5d} {m:10s} {s:8.2f} s ({s / a.classes:.3f} s/class)", flush=True)
    cols = ["method", "n_c", "seconds", "per_class_s"]
    write_text(a.out + ".csv", "\n".join([",".join(cols)] + [
        ",".join(f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in cols) for r in rows]) + "\n")
    head = f"{a.classes} classes, VPC {a.vpc}, torch {torch.__version__}, {torch.get_num_threads()} threads, " \
           f"{os.cpu_count()} CPU cores. Seconds for the whole pool (all classes).\n\n"
    body = [[m] + [f"{r['seconds']:.2f}" for r in rows if r["method"] == m] for m in prof.selection.methods]
    write_text(a.out + ".md", head + markdown_table(["method"] + [f"N_c={n}" for n in a.sizes], body))
    line_plot({m: ([r["n_c"] for r in rows if r["method"] == m], [r["seconds"] for r in rows if r["method"] == m])
               for m in prof.selection.methods}, a.figure, "videos per class N_c", "selection time (s, all classes)",
              f"Selection time vs pool size ({a.classes} classes, VPC {a.vpc})", logy=True)


if __name__ == "__main__":
    main()
