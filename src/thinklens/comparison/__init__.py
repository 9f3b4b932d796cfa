"""`thinklens compare`: paired differences between runs that answered the same problems."""

from .runs import ComparisonRow, RunOutcomes, RunsNotComparable, compare_runs, load_run

__all__ = ["ComparisonRow", "RunOutcomes", "RunsNotComparable", "compare_runs", "load_run"]
