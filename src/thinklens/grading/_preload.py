"""Imported by the grading forkserver before it forks workers: the heavy imports
(sympy, math-verify's LaTeX parser) and cache warm-up happen once, not per worker."""

from ._worker import _warm_up
from .graders import grade
from .request import GradeRequest

_warm_up(grade, GradeRequest)
