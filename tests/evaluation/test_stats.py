"""The statistics behind every claim: hand-computed values, coverage on simulated data, the words they give."""
import math

import numpy as np
import pytest

from vddlib.evaluation import stats


def test_holm_matches_hand_computed_values():
    # sorted 0.005, 0.01, 0.03, 0.04 × 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 → monotone 0.02, 0.03, 0.06, 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])            # capped at 1
    adj = stats.holm([0.01, float("nan"), 0.02])                           # NaN: not in the family
    assert adj[0] == pytest.approx(0.02) and math.isnan(adj[1]) and adj[2] == pytest.approx(0.02)


def test_paired_interval_matches_hand_computed_values():
    # differences 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.302653 → 2 ± 4.302653 / √3 = 2 ± 2.484138
    c = stats.paired({0: 3.0, 1: 4.0, 2: 5.0, 9: 1.0}, {0: 2.0, 1: 2.0, 2: 2.0}, names=("x", "y"))
    assert c.n == 3 and c.seeds == (0, 1, 2)                               # seed 9 has no partner
    assert c.diff == pytest.approx(2.0) and c.sd == pytest.approx(1.0)
    assert (c.low, c.high) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-5)
    # t = 2 / (1/√3) = 3.4641, df 2 → two-sided p = 0.07418
    assert c.p == pytest.approx(0.07418, abs=1e-4)
    assert c.verdict.startswith("cannot tell (detectable: ")
    assert c.sentence().startswith("x − y: +2.0 [-0.5, +4.5] (n=3")


def test_detectable_difference_matches_the_approximation_and_has_its_power():
    # large-sample check: (z 0.975 + z 0.80) σ/√n = (1.959964 + 0.841621) / 10 = 0.280159 for n = 100
    assert stats.detectable_difference(1.0, 100) == pytest.approx(0.2816, abs=0.002)
    # small n: the t approximation (t 0.975 + t 0.80 at df 4) / √5 = (2.776445 + 0.940965) / √5 = 1.6625 is a
    # slight underestimate of the exact noncentral-t answer
    d5 = stats.detectable_difference(1.0, 5)
    assert 1.6625 < d5 < 1.72
    assert stats.detectable_difference(2.0, 5) == pytest.approx(2 * d5)   # scales with the spread
    # and a paired t test at that difference rejects about 80 % of the time
    from scipy.stats import ttest_1samp
    rng = np.random.default_rng(0)
    hits = np.mean([ttest_1samp(rng.normal(d5, 1.0, 5), 0).pvalue < 0.05 for _ in range(4000)])
    assert 0.77 < hits < 0.83
    assert stats.detectable_difference(1.0, 1) == math.inf


def test_runs_needed_reaches_the_half_width():
    n = stats.runs_needed(4.0, 2.0)
    from scipy.stats import t
    assert t.ppf(0.975, n - 1) * 4 / math.sqrt(n) <= 2.0 < t.ppf(0.975, n - 2) * 4 / math.sqrt(n - 1)
    assert n == 18


def test_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    true, cover_t, cover_b = 1.5, 0, 0
    reps = 400
    for r in range(reps):
        shared = rng.normal(0, 3, 10)                                      # the seed's effect, common to both arms
        a = dict(enumerate(40 + true + shared + rng.normal(0, 2, 10)))
        b = dict(enumerate(40 + shared + rng.normal(0, 2, 10)))
        c = stats.paired(a, b, n_boot=500, seed=r)
        cover_t += c.low <= true <= c.high
        cover_b += c.boot_low <= true <= c.boot_high
    assert 0.92 <= cover_t / reps <= 0.98
    assert 0.86 <= cover_b / reps <= 0.98          # the percentile bootstrap runs a little narrow at n = 10


def test_two_arms_that_differ_only_in_their_seeds_cannot_tell():
    rng = np.random.default_rng(2)
    calls = []
    for _ in range(200):
        a = dict(enumerate(rng.normal(44, 4, 5)))
        b = dict(enumerate(rng.normal(44, 4, 5)))
        calls.append(stats.paired(a, b).verdict.startswith("cannot tell"))
    assert 0.9 <= np.mean(calls)                   # false claims at about the test's 5 %


def test_a_real_difference_is_called_in_the_right_direction():
    a = {s: 50.0 + 0.3 * s for s in range(8)}
    b = {s: 40.0 + 0.2 * s + (0.5 if s % 2 else -0.5) for s in range(8)}
    assert stats.paired(a, b).verdict == "better"
    assert stats.paired(b, a).verdict == "worse"
    fam = stats.holm_family([stats.paired(a, b), stats.paired(a, a | {0: 50.1})])
    assert fam[0].verdict == "better" and fam[0].p_holm >= fam[0].p


def test_two_level_bootstrap_widens_with_test_noise_and_centres_on_the_difference():
    rng = np.random.default_rng(3)
    a = rng.random((5, 1000)) < 0.55
    b = rng.random((5, 1000)) < 0.45
    lo, hi = stats.two_level_bootstrap(a, b, n_boot=1000)
    d = 100 * (a.mean() - b.mean())
    assert lo < d < hi and lo > 0
    with pytest.raises(ValueError, match="one shape"):
        stats.two_level_bootstrap(a, b[:, :10])


def test_summary_uses_the_sample_std_and_says_n():
    s = stats.summary([64.6, 64.6])
    assert s.cell() == "64.60±0.00 (n=2)" and s.std == 0.0
    s = stats.summary([1.0, 2.0, 3.0, float("nan")])
    assert s.n == 3 and s.std == pytest.approx(1.0)                        # ddof = 1, not 0.816
    assert stats.summary([5.0]).cell() == "5.00 (n=1)"
    assert stats.summary([]).cell() == "-"


def test_significant_lead_needs_an_interval_above_zero():
    E = stats.Entry
    close = [E(stats.summary([50, 52, 48]), {0: 50, 1: 52, 2: 48}), E(stats.summary([49, 51, 49]), {0: 49, 1: 51, 2: 49})]
    assert stats.significant_lead(close) is None
    clear = [E(stats.summary([40, 41, 42]), {0: 40, 1: 41, 2: 42}), E(stats.summary([60, 62, 61]), {0: 60, 1: 62, 2: 61})]
    assert stats.significant_lead(clear) == 1
    # the paper's cells: Welch from mean, std and n
    assert stats.significant_lead([E(stats.Summary(5, 41.8, 1.0)), E(stats.Summary(5, 41.5, 1.1))]) is None
    assert stats.significant_lead([E(stats.Summary(5, 45.0, 0.5)), E(stats.Summary(5, 41.5, 1.1)), None]) == 0


def test_a_cell_below_its_resolving_runs_shows_the_mean_and_n_alone():
    from vddlib.evaluation.stats import pm

    assert pm(44.1, 3.91, 5) == "44.10±3.91 (n=5)" and pm(44.1, float("nan"), 1) == "44.10 (n=1)"
    assert pm(44.1, 0.0, 2, min_runs=5) == "44.10 (n=2)"          # never '±0.00' from two runs of an ablation
    assert pm(0.12345, 0.01, 5, digits=4, min_runs=5) == "0.1235±0.0100 (n=5)"
