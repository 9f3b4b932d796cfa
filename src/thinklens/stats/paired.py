"""Paired comparison of two models on the same problems.

Both models answered the same problems, so the question is the mean of the
per-problem differences, not the difference of two independent means: the
problems' shared difficulty cancels, and the interval is much narrower than the
two separate intervals suggest (Miller 2024, section 4).

p-value: McNemar's exact test when each model has one verdict per problem (the
discordant pairs are Binomial(n, 1/2) under "no difference"); otherwise a paired
sign-flip permutation test on the per-problem differences (seeded).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from .intervals import Interval, clustered_interval, mean_interval, z_value

MCNEMAR = "mcnemar-exact"
PERMUTATION = "paired-permutation"


@dataclass(frozen=True)
class PairedComparison:
    """B - A on the problems both answered (a positive diff: B is better)."""

    n: int  # shared problems
    mean_a: float
    mean_b: float
    diff: Interval  # of mean(b_i - a_i), per-problem means as units
    p_value: float
    test: str  # mcnemar-exact | paired-permutation:R
    a_only: int  # problems A solves (majority of its repeats right) and B does not
    b_only: int
    both: int
    neither: int
    mde: float | None  # smallest |diff| detectable at `power` with these problems and repeats
    power: float = 0.8

    @property
    def significant(self) -> bool:
        return self.p_value < 1 - self.diff.level


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(a_only, b_only) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact integers, one correctly rounded division


def min_detectable_difference(stderr: float | None, level: float = 0.95, power: float = 0.8) -> float | None:
    """(z_{1-alpha/2} + z_power) * SE: the true difference a two-sided test at `level`
    finds with probability `power`, given the standard error of the paired difference."""
    if stderr is None or not math.isfinite(stderr):
        return None
    return (z_value(level) + z_value(2 * power - 1)) * stderr


def _sign_flip_p(d: np.ndarray, resamples: int, seed: int) -> float:
    observed = abs(d.mean())
    if observed == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    hits, done, chunk = 0, 0, max(1, 2_000_000 // max(d.size, 1))
    tol = 1e-12 * max(1.0, observed)
    while done < resamples:
        m = min(chunk, resamples - done)
        signs = rng.integers(0, 2, size=(m, d.size)) * 2 - 1
        hits += int((np.abs(signs @ d) / d.size >= observed - tol).sum())
        done += m
    return (hits + 1) / (resamples + 1)


def paired_comparison(
    a: Sequence[Sequence[float]],
    b: Sequence[Sequence[float]],
    *,
    level: float = 0.95,
    power: float = 0.8,
    clusters: Sequence[Hashable] | None = None,
    resamples: int = 10_000,
    seed: int = 0,
) -> PairedComparison:
    """`a[i]`, `b[i]`: the verdicts (0/1) of each model's repeats on problem i."""
    if len(a) != len(b):
        raise ValueError("paired_comparison needs the same problems in the same order for both models")
    if any(not len(x) for x in a) or any(not len(x) for x in b):
        raise ValueError("every shared problem needs at least one verdict from each model")
    ma = np.array([sum(x) / len(x) for x in a], dtype=float)
    mb = np.array([sum(x) / len(x) for x in b], dtype=float)
    d = mb - ma
    diff = clustered_interval(d, clusters, level) if clusters is not None else mean_interval(d, level)
    sa, sb = ma > 0.5, mb > 0.5
    a_only, b_only = int((sa & ~sb).sum()), int((sb & ~sa).sum())
    if all(len(x) == 1 for x in a) and all(len(x) == 1 for x in b):
        p, test = mcnemar_exact(a_only, b_only), MCNEMAR
    else:
        p, test = _sign_flip_p(d, resamples, seed), f"{PERMUTATION}:{resamples}"
    return PairedComparison(
        n=int(d.size), mean_a=float(ma.mean()) if d.size else float("nan"),
        mean_b=float(mb.mean()) if d.size else float("nan"), diff=diff, p_value=p, test=test,
        a_only=a_only, b_only=b_only, both=int((sa & sb).sum()), neither=int((~sa & ~sb).sum()),
        mde=min_detectable_difference(diff.stderr, level, power), power=power,
    )
