"""Grading: find the final answer of a response and decide whether it equals the gold.

    from thinklens.grading import GradeRequest, grade, GradingPool
    grade(GradeRequest("math", response="... \\boxed{\\dfrac{14}{3}}", gold="\\frac{14}{3}"))

`grade` is pure and in-process; `GradingPool` runs it in worker processes with a hard
per-item time limit (a pathological formula can never hang an evaluation).
"""

from __future__ import annotations

from .extract import extract_answer
from .graders import grade, grade_quick
from .request import DATASET_GRADERS, GRADERS, GradeRequest, grader_for_dataset

__all__ = [
    "DATASET_GRADERS",
    "GRADERS",
    "GradeRequest",
    "GradingPool",
    "extract_answer",
    "grade",
    "grade_quick",
    "grader_for_dataset",
]


def __getattr__(name: str):
    if name == "GradingPool":  # multiprocessing machinery only when asked for
        from .pool import GradingPool

        return GradingPool
    raise AttributeError(name)
