"""A confidence interval for every score row (thinklens.stats does the statistics).

Kept apart from the aggregation in build.py: it reads the same per-question votes
the scores were computed from, so whatever counts as a verdict there is what the
interval covers.

- AveragePass@1: normal interval with the standard error of the mean over problems;
  with repeats the unit is each problem's mean of its K verdicts (the variance
  between repeats of one problem is not extra problems).
- pass@k, maj@k: percentile bootstrap over problems of the per-problem estimates
  (seeded, so a report is reproducible).
- Intervals are clipped to [0, 1].  A subset where every problem is right (or
  wrong) has a zero standard error and a zero-width interval: the CLT says nothing
  there; read it with `num` (with n problems all right, the true accuracy is above
  1 - 3/n at 95 %, the "rule of three").
- OVERALL rows treat all problems of a dataset as one sample: subsets such as MATH
  levels are strata fixed by the benchmark's design, not clusters of related
  problems, so no clustered standard error there (`thinklens compare
  --cluster-overall` has it for benchmarks whose subsets are such groups).
"""

from __future__ import annotations

import dataclasses

from ..metrics import Vote, k_values, majority_correct, pass_at_k
from ..records import ScoreRow
from ..stats import Interval, bootstrap_interval, mean_interval

LEVEL = 0.95
RESAMPLES = 2000
SEED = 0


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def score_intervals(questions: dict[str, list[Vote]], n_repeats: int) -> dict[str, tuple[Interval, str]]:
    """metric -> (interval, method description), for the metrics subset_metrics reports."""
    graded = [sorted(votes, key=lambda v: v.repeat) for votes in questions.values() if votes]
    if not graded:
        return {}
    pct = f"{100 * LEVEL:.0f}%"
    repeated = any(len(v) > 1 for v in graded)
    out = {
        "AveragePass@1": (
            mean_interval([sum(v.correct for v in votes) / len(votes) for votes in graded], LEVEL),
            f"clt {pct}: SE over per-problem means of their repeats" if repeated
            else f"clt {pct}: SE of the mean over problems",
        )
    }
    boot = f"bootstrap {pct}: percentile, {RESAMPLES} resamples of problems, seed {SEED}"
    if n_repeats > 1:
        for k in k_values(n_repeats)[1:]:
            values = [pass_at_k(len(v), sum(x.correct for x in v), k) for v in graded if len(v) >= k]
            if values:
                out[f"pass@{k}"] = (bootstrap_interval(values, LEVEL, resamples=RESAMPLES, seed=SEED), boot)
            votes_k = [float(majority_correct(v[:k])) for v in graded if len(v) >= k]
            if votes_k:
                out[f"maj@{k}"] = (bootstrap_interval(votes_k, LEVEL, resamples=RESAMPLES, seed=SEED), boot)
    return out


def with_intervals(rows: list[ScoreRow], questions: dict[str, list[Vote]], n_repeats: int) -> list[ScoreRow]:
    """The rows of one subset (or OVERALL) with ci_low / ci_high / ci_method filled."""
    intervals = score_intervals(questions, n_repeats)
    out = []
    for row in rows:
        found = intervals.get(row.metric)
        if found is None or found[0].low is None:
            out.append(row)
            continue
        iv, method = found
        # scores live in [0, 1]: a normal interval past a bound is clipped to it (coverage cannot drop)
        low, high = max(0.0, iv.low), min(1.0, iv.high)  # type: ignore[type-var]
        out.append(dataclasses.replace(row, ci_low=_round(low), ci_high=_round(high), ci_method=method))
    return out
