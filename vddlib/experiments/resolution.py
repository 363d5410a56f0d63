"""The headline question with enough runs to answer it: do the paper's selectors (and the best baseline) beat
Random on the synthetic pool, replicated on a second pool (notebook 08).

Runs 0-4 of notebook 04's grid are the pilot: the spread of each comparison's paired differences sizes how many
runs a 95 % interval of half-width `half_width` points needs (`stats.runs_needed`), capped at `max_runs`. Those
runs are added (seeds 5, 6, ...) on the default pool and made afresh on a second pool generated with the next seed
(the pool notebook 05's N_c = 200 ablation already joins). Every comparison is paired by seed; the family (pools ×
VPCs × methods) is Holm-adjusted, and each verdict is set beside the other pool's. Runs 0-4 stay the paper-shaped
5-run tables; the rows of this study carry the same keys, so 04's tables (which read seeds 0-4) are unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..data.videoset import VideoSet
from ..diffusion.generate import GenerateConfig
from ..diffusion.stage import DiffusionSettings
from ..evaluation import stats
from ..paper import BASELINE, PAPER_SELECTORS
from ..evaluation.results import by_seed as _runs, summarize_runs
from ..selection.registry import SELECTORS
from ..selection.stage import SelectionSettings

SECOND_POOL = "synthetic-seed1"        # the rows' pool name for the second pool (the main one: "synthetic")


@dataclass
class ResolutionSettings:
    """Notebook 08: the headline comparisons and how many runs they get."""

    methods: tuple[str, ...] = PAPER_SELECTORS          # the paper's two selectors, each against the baseline
    baselines: tuple[str, ...] = ()     # the pilot's other selectors (its best joins); empty: every other registered one
    baseline: str = BASELINE
    vpcs: tuple[int, ...] = (1, 5)
    half_width: float = 2.0             # goal: the 95 % interval of each difference within ± this many points
    max_runs: int = 5                   # runs per arm at most (the budget's cap; params/powered.yaml: 110)
    second_pool: bool = True            # replicate on a pool generated with the next seed

    def __post_init__(self) -> None:
        self.baselines = tuple(self.baselines) or tuple(m for m in SELECTORS if m not in (*self.methods, self.baseline))
        bad = [m for m in (*self.methods, *self.baselines, self.baseline) if m not in SELECTORS]
        if bad:
            raise ValueError(f"resolution: unknown selector(s) {bad}; registered: {sorted(SELECTORS)}")
        if self.half_width <= 0 or self.max_runs < 2 or not self.vpcs or min(self.vpcs) < 1:
            raise ValueError("resolution: half_width must be > 0, max_runs >= 2 and vpcs positive")


def second_pool(d: DiffusionSettings, g: GenerateConfig, sel: SelectionSettings, dataset: str, train: VideoSet,
                recogniser=None) -> tuple[VideoSet, dict, str]:
    """The pool generated with the next seed (made once, shared with notebook 05's N_c = 200 ablation): its videos,
    selector inputs and folder name."""
    from .ablate import extra_pool, next_seed_pool

    pool, inputs = extra_pool(d, g, sel, dataset, train, recogniser)
    return pool, inputs, next_seed_pool(d, g, dataset)[1].name


PILOT_POOL = "synthetic"


def missing(manifests: list[dict], rows: list[dict], pool: str, grid) -> list[dict]:
    """The manifests to train: all but those whose (method, VPC, seed) notebook 04 has just evaluated on the default
    pool (its runs 0-4 of the `grid` methods, rewritten by every run). Any other row is never taken from the results
    file (the second pool's, an arm 04 leaves out): a row's key does not say which pool content or evaluator made it
    (a pool sampled on another CPU, an older budget, the last run's code), so those runs go through the queue, which
    skips only the trainings its own content-hashed folder has logged."""
    if pool != PILOT_POOL:
        return list(manifests)
    have = {(r["method"], r["vpc"], r["seed"]) for r in rows if r["pool"] == pool and r["method"] in grid}
    return [m for m in manifests if (m["method"], int(m["vpc"]), int(m["seed"])) not in have]


def best_baseline(rows: list[dict], baselines, vpcs) -> str:
    """The baseline with the highest mean top-1 over `vpcs` in the pilot rows (one pool)."""
    s = {(x["method"], x["vpc"]): x for x in summarize_runs(rows)}
    have = [b for b in baselines if all((b, v) in s for v in vpcs)]
    if not have:
        raise ValueError(f"No pilot runs of any baseline {tuple(baselines)} at VPC {tuple(vpcs)}: run notebook 04 first.")
    return max(have, key=lambda b: sum(s[b, v]["top1"] for v in vpcs))


def plan_runs(rows: list[dict], methods, baseline: str, vpcs, half_width: float, max_runs: int) -> tuple[int, list]:
    """Runs per arm for every comparison's interval to reach `half_width` (from the pilot's spread of paired
    differences), capped at `max_runs`; and each comparison's (method, VPC, pilot sd, runs it needs). An arm that
    notebook 04's grid leaves out (`evaluation.methods`) has no pilot: its spread is unknown (sd nan), it asks for the
    cap, and its first runs are made here."""
    s = {(x["method"], x["vpc"]): x for x in summarize_runs(rows)}
    need = []
    for v in vpcs:
        if (baseline, v) not in s:
            raise ValueError(f"No pilot runs of {baseline} at VPC {v}: run notebook 04 first.")
        for m in methods:
            if (m, v) not in s:
                need.append((m, v, math.nan, max_runs))
                continue
            c = stats.paired(_runs(s[m, v]), _runs(s[baseline, v]))
            n = stats.runs_needed(c.sd, half_width) if c.n >= 2 and c.sd > 0 else max_runs
            need.append((m, v, c.sd, n))
    return min(max_runs, max(n for *_, n in need)), need


def headline(rows_by_pool: dict[str, list[dict]], methods, baseline: str, vpcs,
             correct=None) -> list[tuple[str, int, stats.Comparison]]:
    """(pool, VPC, method − baseline) for every pool, paired by seed, Holm-adjusted over the whole family.
    `correct(pool, method, vpc)` → stored per-video correctness, for the two-level bootstrap."""
    out = []
    for pool, rows in rows_by_pool.items():
        s = {(x["method"], x["vpc"]): x for x in summarize_runs(rows)}
        for v in vpcs:
            for m in methods:
                if (m, v) in s and (baseline, v) in s:
                    pair = (correct(pool, m, v), correct(pool, baseline, v)) if correct else None
                    c = stats.paired(_runs(s[m, v]), _runs(s[baseline, v]), names=(m, baseline),
                                     correct=pair if pair and all(pair) else None)
                    out.append((pool, v, c))
    adj = stats.holm_family([c for *_, c in out])
    return [(p, v, c) for (p, v, _), c in zip(out, adj)]


HEADLINE_HEADER = ["pool", "VPC", "comparison", "n", "Δ top-1 [95 % CI]", "half-width", "bootstrap 95 % CI",
                   "Holm p", "detectable", "verdict", "the other pool's verdict"]


def headline_rows(results: list[tuple[str, int, stats.Comparison]]) -> list[list]:
    """Table rows, each with the other pool's verdict for the same comparison beside it."""
    word = {(p, v, c.a): c.verdict.split(" (")[0] for p, v, c in results}
    body = []
    for p, v, c in results:
        other = [w for (q, u, a), w in word.items() if q != p and u == v and a == c.a]
        body.append([p, v, f"{c.a} − {c.b}", c.n, c.interval(2), f"{c.half_width:.2f}",
                     f"[{c.boot_low:+.2f}, {c.boot_high:+.2f}]", f"{c.p_holm:.3g}", f"{c.detectable:.1f}",
                     c.verdict, other[0] if other else "-"])
    return body


def resolution_summary(results, half_width: float, runs: int, max_runs: int, need: list) -> list[str]:
    """Sentences: the half-width reached against the goal, and why where it was not."""
    widest = max(c.half_width for *_, c in results) if results else math.inf
    lines = [f"{len(results)} comparisons, {runs} runs per arm; widest 95 % interval ±{widest:.2f} points "
             f"(goal ±{half_width:g})" + (": met" if widest <= half_width else ": not met")]
    if widest > half_width:
        over = [f"{m} VPC {v} (pilot sd {sd:.1f}: {n} runs)" for m, v, sd, n in need if n > runs]
        lines.append(f"the cap of {max_runs} runs per arm (the budget) is below what "
                     + (", ".join(over) if over else "the pilot") + " need; a larger `resolution.max_runs` "
                     "(a larger profile) reaches the goal")
    return lines
