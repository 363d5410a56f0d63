"""What notebook 04 concludes, computed from the results files, so that a rerun never leaves a finding stale.

Every function here reads rows of `results/eval_runs.csv` (and notebook 03's selection-quality
table) and returns numbers, table rows or sentences; the notebook only shows them.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .results import read_runs, summarize_runs


def runs_of(csv_path: str | Path, dataset: str, classifier: str, seeds, **equal) -> list[dict]:
    """Rows of one dataset and evaluator for the given seeds; `equal` keeps rows whose column equals (or is in, for
    a tuple/list/set) the given value, e.g. method=("full", "random")."""
    seeds = set(seeds)
    out = []
    for r in read_runs(csv_path):
        if r["dataset"] != dataset or r["classifier"] != classifier or r["seed"] not in seeds:
            continue
        if all(r[k] in v if isinstance(v, (tuple, list, set)) else r[k] == v for k, v in equal.items()):
            out.append(r)
    return out


def by_method_vpc(rows: list[dict]) -> dict[tuple[str, int], dict]:
    """Mean ± std per (method, VPC) of rows from one pool."""
    return {(s["method"], s["vpc"]): s for s in summarize_runs(rows)}


def full_ratio(rows: list[dict]) -> str:
    """'Full syn / Full real = a / b = r', or why it cannot be said."""
    s = {(r["pool"], r["method"]): r for r in summarize_runs([r for r in rows if r["method"] == "full"])}
    real, syn = s.get(("real", "full")), s.get(("synthetic", "full"))
    if real is None or syn is None:
        return "Full syn / Full real: not both measured yet (notebook 02 makes the pool)."
    return (f"Full syn / Full real = {syn['top1']:.1f} / {real['top1']:.1f} = {syn['top1'] / real['top1']:.2f} "
            "(goal >= 0.80; the paper: 56.22 / 60.14 = 0.93 on MiniUCF)")


def against_random(s4: dict, methods, vpcs) -> list[list]:
    """Per (VPC, method): top-1 minus Random's, Random's std, and whether the method beats Random by > 1 std."""
    body = []
    for v in vpcs:
        rnd = s4.get(("random", v))
        for m in methods:
            if m != "random" and rnd and (m, v) in s4:
                d = s4[(m, v)]["top1"] - rnd["top1"]
                body.append([v, m, f"{d:+.2f}", f"{rnd['top1_std']:.2f}", "yes" if d > rnd["top1_std"] else "no"])
    return body


AGAINST_RANDOM_HEADER = ["VPC", "method", "top-1 minus Random", "Random std", "beats Random by > 1 std"]


def verdicts(s4: dict, methods, vpcs, real_rows: list[dict]) -> list[str]:
    """One sentence per (method, VPC): above, level with or below Random by its std; then Full syn and Random
    on real videos against Random on the pool."""
    lines = []
    for m in methods:
        for v in vpcs:
            if (m, v) in s4 and ("random", v) in s4:
                d, sd = s4[(m, v)]["top1"] - s4[("random", v)]["top1"], s4[("random", v)]["top1_std"]
                word = ("above by more than one std" if d > sd else "level within one std" if d >= -sd
                        else "below by more than one std")
                lines.append(f"{m} VPC {v}: {s4[(m, v)]['top1']:.1f} against Random {s4[('random', v)]['top1']:.1f}"
                             f"±{sd:.1f} ({d:+.1f}: {word})")
    real = by_method_vpc(real_rows)
    parts = [f"VPC {v}: {real[('random', v)]['top1']:.1f}" for v in vpcs if ("random", v) in real]
    pool = [f"VPC {v}: {s4[('random', v)]['top1']:.1f}" for v in vpcs if ("random", v) in s4]
    lines.append("Random sets of real videos " + ", ".join(parts) + "; Random sets from the pool " + ", ".join(pool))
    return lines


def read_quality(path: str | Path) -> dict[tuple[str, int], dict]:
    """Notebook 03's selection-quality table, by (method, VPC)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No {path}: run notebooks/03_select.ipynb first.")
    with path.open(newline="") as f:
        return {(r["method"], int(r["VPC"])): r for r in csv.DictReader(f)}


def objective_and_accuracy(quality: dict, s4: dict, methods, vpcs) -> tuple[dict, list[str]]:
    """Per VPC, each method's (objective, top-1) for the scatter, and a sentence: the rank correlation of top-1
    with a better objective and with the recogniser's confidence in the picks, and the best objective's top-1."""
    from scipy.stats import spearmanr

    points, lines = {}, []
    for v in vpcs:
        ms = [m for m in methods if (m, v) in quality and (m, v) in s4]
        points[f"VPC {v}"] = [(m, float(quality[m, v]["objective"]), s4[(m, v)]["top1"],
                               float(quality[m, v].get("objective_std", 0) or 0), s4[(m, v)]["top1_std"]) for m in ms]
        if len(ms) < 2:
            continue
        acc = [s4[(m, v)]["top1"] for m in ms]
        rho_obj = spearmanr([-float(quality[m, v]["objective"]) for m in ms], acc)[0]
        rho_conf = spearmanr([float(quality[m, v]["confidence"]) for m in ms], acc)[0]
        best = min(ms, key=lambda m: float(quality[m, v]["objective"]))
        rnd = s4.get(("random", v))
        lines.append(f"VPC {v}: rank correlation of top-1 with a better objective {rho_obj:+.2f}, with the recogniser's "
                     f"confidence {rho_conf:+.2f}; best objective: {best} ({s4[(best, v)]['top1']:.1f} % top-1"
                     + (f", Random {rnd['top1']:.1f}±{rnd['top1_std']:.1f})" if rnd else ")"))
    return points, lines


def calibration_checks(rows: list[dict], grid: list[dict], seeds, vpcs, methods, num_classes: int,
                       embedded: bool) -> dict[str, bool]:
    """The checks that make the dataset a useful benchmark and the grid complete (nbval compares them)."""
    s = by_method_vpc([r for r in rows if r["pool"] == "real"])
    full_acc, vpc1 = s[("full", 0)]["top1"], s[("random", min(vpcs))]["top1"]
    checks = {"every real setting has its runs": all(r["runs"] == len(seeds) for r in s.values())}
    if embedded:
        checks["Full real top-1 within 75-95 %"] = 75 <= full_acc <= 95
        checks["Random VPC=1 at least 20 points below Full real"] = full_acc - vpc1 >= 20
        checks["Random VPC=1 clearly above chance (>= chance + 5 points)"] = vpc1 >= 100.0 / num_classes + 5
    checks["Full syn has its runs"] = sum(1 for r in rows if r["pool"] == "synthetic" and r["method"] == "full") == len(seeds)
    checks["top-1 rises with VPC"] = all(s[("random", a)]["top1"] < s[("random", b)]["top1"] for a, b in zip(vpcs, vpcs[1:]))
    checks["selection grid complete (methods × VPCs × seeds)"] = len(grid) == len(methods) * len(vpcs) * len(seeds)
    return checks
