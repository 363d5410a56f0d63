"""Findings with resolution: paired differences with intervals, Holm adjustment, the smallest detectable
difference, and the words a table may use.

Run *s* of every method uses seed *s* (for its selection and for its evaluator), so two methods are compared
by the difference of their runs seed by seed: a paired t interval (and a bootstrap one) on those differences,
never two means side by side. Where per-video predictions exist (`vddlib.evaluation.predictions`), a two-level
bootstrap resamples the test videos as well as the seeds, so the interval also carries the test split's own
sampling error. A family of comparisons a notebook reports is Holm-adjusted; a comparison that cannot tell
says how large a difference its runs could have detected (80 % power, two-sided 5 %).

Every std here is the sample std (ddof = 1), and a cell always says its n.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.80


@dataclass(frozen=True)
class Summary:
    """Mean, sample std (ddof = 1; NaN below two runs) and n of one cell."""

    n: int
    mean: float
    std: float

    def cell(self, digits: int = 2, min_runs: int = 2) -> str:
        """'44.10±3.91 (n=5)'; below `min_runs` runs (one has no std; an exploratory table asks for more) the mean
        and n alone: '44.10 (n=1)'; no runs: '-'."""
        if self.n == 0:
            return "-"
        if self.n < max(min_runs, 2):
            return f"{self.mean:.{digits}f} (n={self.n})"
        return f"{self.mean:.{digits}f}±{self.std:.{digits}f} (n={self.n})"


def summary(values: Sequence[float]) -> Summary:
    """Summary of a cell's runs (NaNs are runs without that metric and are left out)."""
    v = np.asarray([x for x in values if not (isinstance(x, float) and math.isnan(x))], dtype=float)
    if v.size == 0:
        return Summary(0, float("nan"), float("nan"))
    return Summary(int(v.size), float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan"))


def pm(mean: float, std: float, n: int, digits: int = 2, min_runs: int = 2) -> str:
    """The cell of a mean, sample std and n given separately (e.g. the paper's, n = 5); see `Summary.cell`."""
    return Summary(int(n), float(mean), float(std)).cell(digits, min_runs)


def detectable_difference(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true mean difference a paired t test of n pairs whose differences spread `sd` finds with
    probability `power` at two-sided level `alpha` (exact, from the noncentral t); inf below two pairs."""
    if n < 2 or not np.isfinite(sd):
        return float("inf")
    if sd == 0:
        return 0.0
    df, crit = n - 1, stats.t.ppf(1 - alpha / 2, n - 1)

    def shortfall(delta_over_se: float) -> float:
        nc = delta_over_se
        far = stats.nct.cdf(-crit, df, nc)       # the wrong-sign tail: negligible, and NaN where it underflows
        return stats.nct.sf(crit, df, nc) + (0.0 if math.isnan(far) else far) - power

    hi = 1.0
    while shortfall(hi) < 0:                     # the noncentral t is NaN far out: bracket from below
        hi *= 2
    nc = optimize.brentq(shortfall, 0.0, hi, xtol=1e-10)
    return float(nc * sd / math.sqrt(n))


def runs_needed(sd: float, half_width: float, confidence: float = 1 - ALPHA, at_least: int = 2) -> int:
    """Pairs needed for a t interval of half-width at most `half_width` when the differences spread `sd`
    (as a pilot measured them)."""
    if half_width <= 0:
        raise ValueError(f"half_width must be positive; got {half_width}")
    n = max(at_least, 2)
    while stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n) > half_width:
        n += 1
        if n > 100_000:
            raise ValueError(f"no run count up to 100,000 reaches a half-width of {half_width} with sd {sd}")
    return n


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (NaNs stay NaN and do not count)."""
    p = np.asarray(pvalues, dtype=float)
    idx = [i for i in np.argsort(p, kind="stable") if np.isfinite(p[i])]
    m, out, running = len(idx), np.full(p.shape, np.nan), 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


@dataclass(frozen=True)
class Comparison:
    """a − b, paired by seed: the mean difference, its t and bootstrap intervals, p, and what n could detect."""

    a: str
    b: str
    n: int
    diff: float
    sd: float                       # std (ddof = 1) of the per-seed differences
    low: float                      # 95 % t interval
    high: float
    boot_low: float                 # 95 % bootstrap interval (percentile; seeds, and test videos where stored)
    boot_high: float
    p: float                        # paired t test, two-sided
    detectable: float               # smallest true difference these n pairs find with 80 % power
    p_holm: float = float("nan")    # p adjusted over the family it was reported in (holm_family)
    seeds: tuple[int, ...] = ()

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @property
    def verdict(self) -> str:
        """'better' / 'worse' when the interval excludes 0 (and, in a family, the Holm-adjusted p is below 5 %);
        otherwise 'cannot tell (detectable: x points)'."""
        p = self.p_holm if np.isfinite(self.p_holm) else self.p
        if self.n >= 2 and p < ALPHA and (self.low > 0 or self.high < 0):
            return "better" if self.diff > 0 else "worse"
        return f"cannot tell (detectable: {self.detectable:.1f} points)"

    def interval(self, digits: int = 1) -> str:
        """'+1.7 [−2.7, +6.2]'."""
        return f"{self.diff:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"

    def sentence(self, digits: int = 1) -> str:
        """'tac_dt − random: +1.7 [−2.7, +6.2] (n=5, Holm p 0.62): cannot tell (detectable: 6.9 points)'."""
        p = f"Holm p {self.p_holm:.3g}" if np.isfinite(self.p_holm) else f"p {self.p:.3g}"
        return f"{self.a} − {self.b}: {self.interval(digits)} (n={self.n}, {p}): {self.verdict}"


def _bootstrap_mean(d: np.ndarray, n_boot: int, seed: int, confidence: float) -> tuple[float, float]:
    if d.size < 2 or np.all(d == d[0]):
        return float(d.mean()), float(d.mean())
    res = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=n_boot, method="percentile",
                          rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def two_level_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, n_boot: int = 4000, seed: int = 0,
                        confidence: float = 1 - ALPHA) -> tuple[float, float]:
    """Percentile interval of the mean top-1 difference (points) resampling seeds (rows, paired) and test videos
    (columns, the same for both arms): the uncertainty of the seeds *and* of the test split."""
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"per-video correctness must be two (seeds, test videos) arrays of one shape; got "
                         f"{a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    s, v = a.shape
    diff = a - b                                             # (seeds, videos)
    out = np.empty(n_boot)
    for i in range(n_boot):
        rows = rng.integers(0, s, s)
        cols = rng.integers(0, v, v)
        out[i] = diff[np.ix_(rows, cols)].mean()
    q = (1 - confidence) / 2
    return float(100 * np.quantile(out, q)), float(100 * np.quantile(out, 1 - q))


def paired(a: Mapping[int, float], b: Mapping[int, float], names: tuple[str, str] = ("a", "b"),
           correct: tuple[Mapping[int, np.ndarray], Mapping[int, np.ndarray]] | None = None,
           n_boot: int = 4000, seed: int = 0, confidence: float = 1 - ALPHA) -> Comparison:
    """a − b over the seeds both have ({seed: metric}); `correct` ({seed: bool per test video} for each arm, as
    `vddlib.evaluation.predictions` stores them) makes the bootstrap resample the test videos too."""
    seeds = tuple(sorted(set(a) & set(b)))
    d = np.array([a[s] - b[s] for s in seeds], dtype=float)
    n = len(seeds)
    if n == 0:
        nan = float("nan")
        return Comparison(names[0], names[1], 0, nan, nan, nan, nan, nan, nan, nan, float("inf"), seeds=seeds)
    mean = float(d.mean())
    if n < 2:
        nan = float("nan")
        return Comparison(names[0], names[1], 1, mean, nan, -math.inf, math.inf, nan, nan, nan, float("inf"),
                          seeds=seeds)
    sd = float(d.std(ddof=1))
    if sd == 0:                                  # every pair differs alike (e.g. a fixture): t is undefined
        low = high = mean
        p = 1.0 if mean == 0 else float("nan")
    else:
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
        p = float(stats.ttest_1samp(d, 0.0).pvalue)
    if correct is not None and all(s in correct[0] and s in correct[1] for s in seeds):
        blow, bhigh = two_level_bootstrap(np.stack([correct[0][s] for s in seeds]),
                                          np.stack([correct[1][s] for s in seeds]), n_boot, seed, confidence)
    else:
        blow, bhigh = _bootstrap_mean(d, n_boot, seed, confidence)
    return Comparison(names[0], names[1], n, mean, sd, float(low), float(high), blow, bhigh, p,
                      detectable_difference(sd, n), seeds=seeds)


def holm_family(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The comparisons with their Holm-adjusted p over this family."""
    adj = holm([c.p for c in comparisons])
    return [replace(c, p_holm=q) for c, q in zip(comparisons, adj)]


def welch(m1: float, s1: float, n1: int, m2: float, s2: float, n2: int,
          confidence: float = 1 - ALPHA) -> tuple[float, float]:
    """Welch's t interval of mean1 − mean2 from summary figures only (the paper's cells, where no runs exist)."""
    v1, v2 = s1 * s1 / n1, s2 * s2 / n2
    if v1 + v2 == 0:
        return m1 - m2, m1 - m2
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    half = stats.t.ppf(0.5 + confidence / 2, df) * math.sqrt(v1 + v2)
    return m1 - m2 - half, m1 - m2 + half


@dataclass(frozen=True)
class Entry:
    """One cell a table may bold: its summary and, where we have them, its runs by seed."""

    summary: Summary
    runs: Mapping[int, float] | None = None


def significant_lead(entries: Sequence[Entry | None]) -> int | None:
    """The position of the entry with the highest mean if its lead over the runner-up has a 95 % interval above
    0 (paired by seed where both have runs, else Welch from their summaries); None otherwise."""
    have = [(e.summary.mean, i) for i, e in enumerate(entries) if e is not None and e.summary.n > 0]
    if len(have) < 2:
        return None
    have.sort(reverse=True)
    best, second = entries[have[0][1]], entries[have[1][1]]
    if best.runs is not None and second.runs is not None and len(set(best.runs) & set(second.runs)) >= 2:
        c = paired(best.runs, second.runs)
        low, p = c.low, c.p
    elif best.summary.n >= 2 and second.summary.n >= 2:
        b, r = best.summary, second.summary
        low = welch(b.mean, b.std, b.n, r.mean, r.std, r.n)[0]
        p = float(stats.ttest_ind_from_stats(b.mean, b.std, b.n, r.mean, r.std, r.n, equal_var=False).pvalue)
    else:
        return None
    return have[0][1] if low > 0 and p < ALPHA else None
