"""What notebook 04 concludes, computed from the results files, so that a rerun never leaves a finding stale.

Every function here reads rows of `results/eval_runs.csv` (and notebook 03's selection-quality
table) and returns numbers, table rows or sentences; the notebook only shows them.
"""
from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..paper import BASELINE, PAPER_SELECTORS
from . import stats
from .results import by_seed as _runs, read_runs, summarize_runs


def runs_of(csv_path: str | Path, dataset: str, classifier: str, seeds, **equal) -> list[dict]:
    """Rows of one dataset and evaluator for the given seeds; `equal` keeps rows whose column equals (or is in, for
    a tuple/list/set) the given value, e.g. method=("full", BASELINE)."""
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


def against_random(s4: dict, methods, vpcs, same_as: dict | None = None, correct=None,
                   baseline: str = BASELINE) -> list[stats.Comparison]:
    """Each method − Random per VPC, paired by seed, Holm-adjusted over this family (every method and VPC here).
    A method whose selections repeat an earlier method's (`same_as`) is left out: it is that method's test again.
    `correct(method, vpc) -> {seed: bool per test video} | None` (stored predictions) lets the bootstrap resample
    the test videos too."""
    same_as = same_as or {}
    comps = []
    for v in vpcs:
        rnd = s4.get((baseline, v))
        for m in methods:
            if m == baseline or rnd is None or (m, v) not in s4 or (m, v) in same_as:
                continue
            pair = (correct(m, v), correct(baseline, v)) if correct else None
            c = stats.paired(_runs(s4[(m, v)]), _runs(rnd), names=(m, baseline),
                             correct=pair if pair and all(pair) else None)
            comps.append((v, c))
    adjusted = stats.holm_family([c for _, c in comps])
    return [replace(c, a=f"{c.a} VPC {v}", b=f"{c.b} VPC {v}") for (v, _), c in zip(comps, adjusted)]


def stored_correct(csv_path: str | Path, dataset: str, classifier: str, pool: str = "synthetic",
                   labels: str = "hard"):
    """`correct(method, vpc) -> {seed: bool per test video}` from the predictions stored beside the results CSV
    (empty where none are), for `against_random`'s two-level bootstrap."""
    from .predictions import correct_by_seed, read_predictions
    from .results import KEY

    preds = read_predictions(csv_path)
    return lambda method, vpc: correct_by_seed(preds, KEY, dataset=dataset, pool=pool, method=method, vpc=vpc,
                                               classifier=classifier, labels=labels)


AGAINST_RANDOM_HEADER = ["comparison", "n", "Δ top-1 [95 % t CI]", "bootstrap 95 % CI", "Holm p", "detectable",
                         "verdict"]


def comparison_rows(comps: list[stats.Comparison]) -> list[list]:
    """Table rows of paired comparisons: Δ [t interval], the bootstrap interval, Holm p, the detectable difference
    and the verdict."""
    return [[f"{c.a} − {c.b}", c.n, c.interval(2), f"[{c.boot_low:+.2f}, {c.boot_high:+.2f}]", f"{c.p_holm:.3g}",
             f"{c.detectable:.1f}", c.verdict] for c in comps]


def verdicts(s4: dict, methods, vpcs, real_rows: list[dict], same_as: dict | None = None) -> list[str]:
    """One sentence per (method, VPC): its top-1 and Random's, and the paired difference with its interval,
    Holm-adjusted over these sentences, and the verdict; then Random on real videos against Random on the pool,
    paired by seed."""
    comps = against_random(s4, methods, vpcs, same_as)
    lines = []
    for c in comps:
        m, v = c.a.rsplit(" VPC ", 1)
        v = int(v)
        lines.append(f"{m} VPC {v}: {s4[(m, v)]['top1']:.1f} against Random {s4[(BASELINE, v)]['top1']:.1f}, "
                     f"{c.interval()} (n={c.n}, Holm p {c.p_holm:.2g}): {c.verdict}")
    real = by_method_vpc(real_rows)
    pool = [stats.paired(_runs(real[(BASELINE, v)]), _runs(s4[(BASELINE, v)]), names=("real", "pool"))
            for v in vpcs if (BASELINE, v) in real and (BASELINE, v) in s4]
    pool = stats.holm_family(pool)
    have = [v for v in vpcs if (BASELINE, v) in real and (BASELINE, v) in s4]
    if pool:
        lines.append("Random sets of real videos minus Random sets from the pool: " + "; ".join(
            f"VPC {v}: {real[(BASELINE, v)]['top1']:.1f} − {s4[(BASELINE, v)]['top1']:.1f} = {c.interval()} "
            f"(n={c.n}): {c.verdict}" for v, c in zip(have, pool)))
    return lines


def read_quality(path: str | Path) -> dict[tuple[str, int], dict]:
    """Notebook 03's selection-quality table, by (method, VPC)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No {path}: run notebooks/03_select.ipynb first.")
    with path.open(newline="") as f:
        return {(r["method"], int(r["VPC"])): r for r in csv.DictReader(f)}


def objective_and_accuracy(quality: dict, s4: dict, methods, vpcs, same_as: dict | None = None) -> tuple[dict, list[str]]:
    """Per VPC, each method's (objective, top-1) for the scatter, and a sentence: the rank correlation of top-1
    with a better objective and with the recogniser's confidence in the picks (a repeated selection, `same_as`,
    counted once), and the best objective's top-1."""
    points, lines = {}, []
    same_as = same_as or {}
    for v in vpcs:
        ms = [m for m in methods if (m, v) in quality and (m, v) in s4 and (m, v) not in same_as]
        points[f"VPC {v}"] = [(m, float(quality[m, v]["objective"]), s4[(m, v)]["top1"],
                               float(quality[m, v].get("objective_std", 0) or 0), s4[(m, v)]["top1_std"]) for m in ms]
        if len(ms) < 2:
            continue
        acc = [s4[(m, v)]["top1"] for m in ms]
        rho_obj, p_obj = rank_correlation([-float(quality[m, v]["objective"]) for m in ms], acc)
        rho_conf, p_conf = rank_correlation([float(quality[m, v]["confidence"]) for m in ms], acc)
        best = min(ms, key=lambda m: float(quality[m, v]["objective"]))
        rnd = s4.get((BASELINE, v))
        lines.append(f"VPC {v}: rank correlation of top-1 with a better objective {rho_obj:+.2f} (permutation p "
                     f"{p_obj:.2g}), with the recogniser's confidence {rho_conf:+.2f} (p {p_conf:.2g}), over "
                     f"{len(ms)} methods; best objective: {best} ({s4[(best, v)]['top1']:.1f} % top-1"
                     + (f", Random {rnd['top1']:.1f})" if rnd else ")"))
    return points, lines


def rank_correlation(x, y) -> tuple[float, float]:
    """Spearman's rho and its two-sided permutation p: x's order permuted against y's (every order when there are
    at most 8 points, else 9,999 random ones)."""
    from scipy.stats import permutation_test, rankdata, spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    rho = float(spearmanr(x, y)[0])
    if len(x) < 3 or not np.isfinite(rho):
        return rho, float("nan")
    ry = rankdata(y) - (len(y) + 1) / 2

    def rho_of(a, axis=-1):                 # Spearman's rho of each permuted x against y, vectorised over permutations
        ra = rankdata(a, axis=axis)
        ra = ra - ra.mean(axis=axis, keepdims=True)
        return (ra * ry).sum(axis) / np.sqrt((ra * ra).sum(axis) * (ry * ry).sum())

    # one sample only: permuting x alone gives every pairing once ((x, y) as two samples would enumerate n!² orders)
    res = permutation_test((x,), rho_of, permutation_type="pairings", vectorized=True,
                           n_resamples=9999 if len(x) > 8 else np.inf, rng=np.random.default_rng(0))
    return rho, float(res.pvalue)


def objective_findings(quality: list[dict], greedy: dict[int, float], methods, vpcs,
                       paper_selectors=PAPER_SELECTORS) -> list[str]:
    """Per VPC: Random's objective, the greedy optimiser's, which methods' objectives are below Random's (paired by
    seed, Holm-adjusted),
    and for the paper's selectors the share of the gap from Random to greedy they close and what they pick."""
    q_of = {(q["method"], q["vpc"]): q for q in quality}
    lines = []
    for v in vpcs:
        r = q_of.get((BASELINE, v))
        if r is None:
            continue
        comps = stats.holm_family([stats.paired(q_of[m, v].get("objective_by_seed", {}),
                                                r.get("objective_by_seed", {}), names=(m, BASELINE))
                                   for m in methods if m != BASELINE and (m, v) in q_of])
        lower = [c.a for c in comps if c.verdict == "worse"]             # a lower objective is the better one
        lines.append(f"VPC {v}: Random {r['objective']:.4f} (n={r['seeds']}), greedy optimiser {greedy[v]:.4f}; "
                     f"objective below Random's (paired by seed, 95 % interval below 0, Holm over the methods): "
                     f"{', '.join(lower) or 'none'}")
        for m in paper_selectors:
            if (m, v) in q_of:
                q = q_of[m, v]
                gap = 100 * (r["objective"] - q["objective"]) / max(r["objective"] - greedy[v], 1e-12)
                lines.append(f"  {m}: objective {q['objective']:.4f} ({gap:.0f} % of the gap from Random to greedy), "
                             f"recognised {q['recognised']:.2f} (Random {r['recognised']:.2f}), confidence "
                             f"{q['confidence']:.2f} (Random {r['confidence']:.2f}), latent-norm percentile "
                             f"{q['norm_pct']:.2f}, coverage {q['coverage_dist']:.3f} (Random {r['coverage_dist']:.3f})")
    return lines


def calibration_checks(rows: list[dict], grid: list[dict], seeds, vpcs, methods, num_classes: int,
                       embedded: bool) -> dict[str, bool]:
    """The checks that make the dataset a useful benchmark and the grid complete (nbval compares them)."""
    s = by_method_vpc([r for r in rows if r["pool"] == "real"])
    full_acc, vpc1 = s[("full", 0)]["top1"], s[(BASELINE, min(vpcs))]["top1"]
    checks = {"every real setting has its runs": all(r["runs"] == len(seeds) for r in s.values())}
    if embedded:
        checks["Full real top-1 within 75-97 %"] = 75 <= full_acc <= 97
        checks["Random VPC=1 at least 20 points below Full real"] = full_acc - vpc1 >= 20
        checks["Random VPC=1 clearly above chance (>= chance + 5 points)"] = vpc1 >= 100.0 / num_classes + 5
    checks["Full syn has its runs"] = sum(1 for r in rows if r["pool"] == "synthetic" and r["method"] == "full") == len(seeds)
    checks["top-1 rises with VPC"] = all(s[(BASELINE, a)]["top1"] < s[(BASELINE, b)]["top1"] for a, b in zip(vpcs, vpcs[1:]))
    checks["selection grid complete (methods × VPCs × seeds)"] = len(grid) == len(methods) * len(vpcs) * len(seeds)
    return checks
