"""Confidence intervals on a score: CLT over problems, clustered, bootstrap.

Why these (Miller 2024, "Adding Error Bars to Evals"):
- the problems of a benchmark are a sample from a population of possible problems,
  so the score's standard error is that of a mean over problems (CLT);
- with K repeats per problem the unit is the problem's mean of its K verdicts: the
  spread between repeats of one problem is not extra problems, and averaging it
  away is what "removing the within-problem variance" does;
- problems that come in groups (several questions on one passage) are not
  independent: the clustered standard error adds their within-group covariance;
- pass@k and maj@k are not plain means of 0/1 verdicts, so they get a percentile
  bootstrap over problems (seeded: the same run gives the same interval).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CLT = "clt"  # normal interval, standard error of the mean over problems
CLUSTERED = "clustered"  # normal interval, cluster-robust standard error
BOOTSTRAP = "bootstrap"  # percentile bootstrap over problems


@dataclass(frozen=True)
class Interval:
    """A score with its standard error and a two-sided interval at `level`."""

    estimate: float
    stderr: float | None
    low: float | None
    high: float | None
    method: str  # clt | clustered | bootstrap (with details after a colon)
    n: int  # problems (the units resampled or averaged)
    level: float = 0.95


def z_value(level: float = 0.95) -> float:
    """The two-sided normal quantile: 1.959964 for 95 %."""
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def problem_means(verdicts: Sequence[Sequence[float]]) -> np.ndarray:
    """One value per problem: the mean of its repeats (problems without any are dropped)."""
    return np.array([sum(v) / len(v) for v in verdicts if len(v)], dtype=float)


def _normal(estimate: float, se: float | None, method: str, n: int, level: float) -> Interval:
    if se is None or not math.isfinite(se):
        return Interval(estimate, None, None, None, method, n, level)
    z = z_value(level)
    return Interval(estimate, se, estimate - z * se, estimate + z * se, method, n, level)


def mean_interval(values: Sequence[float] | np.ndarray, level: float = 0.95) -> Interval:
    """Mean of per-problem values with SE = sd / sqrt(n) (sample sd, n - 1).

    Pass per-problem means (`problem_means`) when problems were sampled K times.
    One problem has no standard error (None).
    """
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        return Interval(float("nan"), None, None, None, CLT, 0, level)
    mean = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else None
    return _normal(mean, se, CLT, n, level)


def clustered_interval(
    values: Sequence[float] | np.ndarray, clusters: Sequence[Hashable], level: float = 0.95
) -> Interval:
    """Mean with the cluster-robust standard error (Miller 2024, eq. 4):

        SE^2 = SE_clt^2 + (1/n^2) * sum_c sum_{i != j in c} (x_i - mean)(x_j - mean)

    With one problem per cluster it is the CLT interval; positively correlated
    problems within a cluster widen it.
    """
    x = np.asarray(values, dtype=float)
    if len(clusters) != x.size:
        raise ValueError("clustered_interval needs one cluster label per value")
    n = int(x.size)
    base = mean_interval(x, level)
    if n < 2:
        return Interval(base.estimate, None, None, None, CLUSTERED, n, level)
    dev = x - x.mean()
    _, codes = np.unique(np.array([str(c) for c in clusters]), return_inverse=True)
    sums = np.bincount(codes, weights=dev)
    cross = float((sums**2).sum() - (dev**2).sum())  # sum over i != j within each cluster
    var = float(x.var(ddof=1) / n) + cross / n**2
    se = math.sqrt(max(var, 0.0))
    groups = int(codes.max()) + 1
    return _normal(base.estimate, se, f"{CLUSTERED}:{groups} clusters", n, level)


def bootstrap_interval(
    values: Sequence[float] | np.ndarray,
    level: float = 0.95,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap of the mean over problems; stderr is the bootstrap sd."""
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    if n == 0:
        return Interval(float("nan"), None, None, None, BOOTSTRAP, 0, level)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, None, None, None, f"{BOOTSTRAP}:{resamples}", 1, level)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Interval(mean, float(means.std(ddof=1)), float(low), float(high), f"{BOOTSTRAP}:{resamples}", n, level)
