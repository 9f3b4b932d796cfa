"""`math`: LaTeX answers (MATH-500): normal forms, then math-verify, then the problem's form demands."""

from __future__ import annotations

from ..grader import Grader


class MathGrader(Grader):
    name = "math"
    description = "LaTeX answers: normal forms, math-verify (symbolic), form demands of the problem"


GRADER = MathGrader()
