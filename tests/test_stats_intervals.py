"""thinklens.stats against values worked out by hand, and a coverage simulation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from thinklens.stats import (
    bootstrap_interval, clustered_interval, mcnemar_exact, mean_interval, min_detectable_difference,
    paired_comparison, problem_means, z_value,
)

Z = 1.959963984540054


def test_z_value_is_the_normal_quantile():
    assert z_value(0.95) == pytest.approx(Z, abs=1e-12)
    assert z_value(0.6) == pytest.approx(0.841621233572914, abs=1e-12)  # the 80 % power quantile
    with pytest.raises(ValueError):
        z_value(1.0)


def test_clt_interval_by_hand():
    # mean 3/4; sample variance (3 * 1/16 + 9/16) / 3 = 1/4; SE = sqrt(1/4 / 4) = 1/4
    iv = mean_interval([1, 1, 1, 0])
    assert iv.estimate == 0.75
    assert iv.stderr == pytest.approx(0.25)
    assert (iv.low, iv.high) == (pytest.approx(0.75 - Z / 4), pytest.approx(0.75 + Z / 4))
    assert iv.method == "clt" and iv.n == 4


def test_repeats_use_the_problem_mean_as_the_unit():
    verdicts = [[1, 0], [1, 1], [0, 0], [1, 1]]
    # per-problem means 1/2, 1, 0, 1: mean 5/8; squared deviations 1/64 + 9/64 + 25/64 + 9/64 = 44/64
    # sample variance 44/64/3; SE = sqrt(44/64/3/4) = 0.2393568
    iv = mean_interval(problem_means(verdicts))
    assert iv.estimate == 0.625 and iv.n == 4
    assert iv.stderr == pytest.approx(math.sqrt(44 / 64 / 12))
    # the 8 verdicts taken as independent would claim a much smaller SE (0.183): wrong unit
    assert mean_interval([v for vs in verdicts for v in vs]).stderr == pytest.approx(math.sqrt(15 / 56 / 8))


def test_one_problem_has_no_interval():
    iv = mean_interval([1.0])
    assert iv.estimate == 1.0 and iv.stderr is None and iv.low is None


def test_clustered_by_hand():
    # correlated clusters: [1,1] and [0,0]; deviations +-1/2; cluster sums 1 and -1
    # cross terms: (1 + 1) - 4 * 1/4 = 1; SE^2 = (1/3)/4 + 1/16 = 7/48
    iv = clustered_interval([1, 1, 0, 0], ["a", "a", "b", "b"])
    assert iv.stderr == pytest.approx(math.sqrt(7 / 48))
    assert iv.method == "clustered:2 clusters"
    # anti-correlated within clusters: [1,0] and [1,1]; deviations 1/4, -3/4, 1/4, 1/4
    # cluster sums -1/2, 1/2; cross = 1/2 - 3/4 = -1/4; SE^2 = 1/16 - 1/64 = 3/64
    assert clustered_interval([1, 0, 1, 1], ["a", "a", "b", "b"]).stderr == pytest.approx(math.sqrt(3 / 64))
    # one problem per cluster: exactly the CLT interval
    assert clustered_interval([1, 0, 1, 1], [1, 2, 3, 4]).stderr == pytest.approx(0.25)


def test_bootstrap_is_seeded_and_degenerate_on_constants():
    const = bootstrap_interval([1.0] * 20)
    assert (const.low, const.high, const.stderr) == (1.0, 1.0, 0.0)
    x = np.r_[np.ones(60), np.zeros(40)]
    a, b = bootstrap_interval(x, seed=3), bootstrap_interval(x, seed=3)
    assert a == b and a.method == "bootstrap:2000"
    # close to the CLT interval for a mean of 100 problems
    clt = mean_interval(x)
    assert a.low == pytest.approx(clt.low, abs=0.02) and a.high == pytest.approx(clt.high, abs=0.02)


def test_mcnemar_exact_by_hand():
    assert mcnemar_exact(1, 9) == pytest.approx(2 * (1 + 10) / 1024)  # 0.021484375
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(200, 260) < 0.01  # large counts stay exact (big integers)


def test_min_detectable_difference_by_hand():
    assert min_detectable_difference(0.05) == pytest.approx((Z + 0.841621233572914) * 0.05)
    assert min_detectable_difference(None) is None


def test_paired_single_sample_by_hand():
    a = [[1], [1], [0], [0], [1]]
    b = [[1], [0], [1], [1], [1]]
    c = paired_comparison(a, b)
    # d = b - a = 0, -1, 1, 1, 0: mean 1/5; squared deviations sum 2.8; sample var 0.7; SE sqrt(0.7/5)
    assert c.diff.estimate == pytest.approx(0.2)
    assert c.diff.stderr == pytest.approx(math.sqrt(0.7 / 5))
    assert (c.a_only, c.b_only, c.both, c.neither) == (1, 2, 2, 0)
    assert c.test == "mcnemar-exact" and c.p_value == 1.0  # 3 discordant: 2 * (1 + 3) / 8 >= 1
    assert (c.mean_a, c.mean_b) == (pytest.approx(0.6), pytest.approx(0.8))
    assert not c.significant


def test_paired_permutation_matches_the_exact_enumeration():
    a = [[0, 0], [0, 1], [0, 0], [1, 0], [0, 0], [0, 1], [0, 0], [0, 0]]
    b = [[1, 0], [1, 1], [0, 1], [1, 1], [0, 0], [1, 1], [1, 1], [1, 1]]
    d = np.array([np.mean(y) - np.mean(x) for x, y in zip(a, b)])
    obs = abs(d.mean())
    flips = [abs(np.dot(s, d)) / d.size >= obs - 1e-12 for s in itertools.product((-1, 1), repeat=d.size)]
    exact = sum(flips) / len(flips)
    c = paired_comparison(a, b, resamples=20_000, seed=1)
    assert c.test == "paired-permutation:20000"
    assert c.p_value == pytest.approx(exact, abs=0.01)


def test_paired_rejects_misaligned_input():
    with pytest.raises(ValueError):
        paired_comparison([[1]], [[1], [0]])
    with pytest.raises(ValueError):
        paired_comparison([[1], []], [[1], [0]])


@pytest.mark.parametrize("repeats", [1, 8])
def test_coverage_of_the_95_interval_over_1000_simulated_evals(repeats):
    """1,000 evaluations of 200 problems drawn from a population with known mean
    accuracy 0.7 (problem difficulty ~ Beta(2.1, 0.9)); the 95 % interval must cover
    0.7 in 93-97 % of them, with one sample per problem and with 8 repeats."""
    rng = np.random.default_rng(20240 + repeats)
    sims, problems, truth = 1000, 200, 0.7
    p = rng.beta(2.1, 0.9, size=(sims, problems))  # mean 2.1 / 3 = 0.7
    means = rng.binomial(repeats, p) / repeats  # each problem's mean over its repeats
    covered = 0
    for row in means:
        iv = mean_interval(row)
        covered += iv.low <= truth <= iv.high
    assert 930 <= covered <= 970, covered
