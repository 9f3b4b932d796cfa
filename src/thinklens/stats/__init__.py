"""Statistics for evaluation scores: intervals, paired comparisons, power.

Pure functions over per-problem numbers (numpy only, no scipy).  The unit of
analysis is the problem: with K repeats the mean of its K verdicts is one value,
so the noise between repeats of one problem never counts as extra problems
("Adding Error Bars to Evals", Miller 2024).
"""

from .intervals import (
    Interval, bootstrap_interval, clustered_interval, mean_interval, problem_means, z_value,
)
from .paired import PairedComparison, mcnemar_exact, min_detectable_difference, paired_comparison

__all__ = [
    "Interval", "PairedComparison", "bootstrap_interval", "clustered_interval", "mcnemar_exact", "mean_interval",
    "min_detectable_difference", "paired_comparison", "problem_means", "z_value",
]
