"""Grading: find the final answer of a response and decide whether it equals the gold.

    from thinklens.grading import GradeRequest, grade, GradingPool
    grade(GradeRequest("math", response="... \\boxed{\\dfrac{14}{3}}", gold="\\frac{14}{3}"))

`grade` is pure and in-process; `GradingPool` runs it in worker processes with a hard
per-item time limit (a pathological formula can never hang an evaluation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import get_grader, grader_names
from .request import GradeRequest, grader_for_dataset

if TYPE_CHECKING:  # pragma: no cover
    from .extract import extract_answer
    from .graders import grade, grade_quick
    from .pool import GradingPool

__all__ = [
    "GradeRequest",
    "GradingPool",
    "extract_answer",
    "grade",
    "grade_quick",
    "get_grader",
    "grader_for_dataset",
    "grader_names",
]


def __getattr__(name: str) -> Any:
    # Lazy: `thinklens eval` imports the request records before its first request, and
    # the graders (and the pool's process machinery) only once an answer needs them.
    if name == "GradingPool":
        from .pool import GradingPool

        return GradingPool
    if name in ("grade", "grade_quick"):
        from . import graders

        return getattr(graders, name)
    if name == "extract_answer":
        from .extract import extract_answer

        return extract_answer
    raise AttributeError(name)
