"""The `olympiad` grader: OlympiadBench's official judging semantics, and where it differs."""

from __future__ import annotations

from thinklens.grading import GradeRequest, grade
from thinklens.grading.kinds.olympiad import split_parts


def _g(answer: str, gold: str, **info) -> bool | None:
    return grade(GradeRequest("olympiad", f"so \\boxed{{{answer}}}", gold, gold_info=info)).correct


def test_parts_split_at_top_level_commas_and_plus_minus() -> None:
    assert split_parts("(1,8,19), (2,7,13)") == ["(1,8,19)", "(2,7,13)"]
    assert split_parts("\\pm 2") == ["+ 2", "- 2"]
    assert split_parts("1 \\text{ and } 5") == ["1", "5"]
    assert split_parts("[2, \\infty)") == ["[2, \\infty)"]


def test_every_part_must_match_in_any_order() -> None:
    gold = "(1,8,19), (2,7,13), (4,5,7)"
    assert _g("(4,5,7), (1,8,19), (2,7,13)", gold, is_multiple_answer=True) is True
    assert _g("(1,8,19), (2,7,13)", gold, is_multiple_answer=True) is False  # one missing
    assert _g("(1,8,19), (2,7,13), (4,7,5)", gold, is_multiple_answer=True) is False  # a tuple is ordered
    assert _g("\\pm 7, \\pm 1", "1,-1,7,-7") is True
    assert _g("7 \\text{ and } -5", "-5,7") is True


def test_error_field_is_an_absolute_tolerance_and_numbers_are_otherwise_exact() -> None:
    assert _g("4.25", "4.2", error="1e-1", answer_type="Numerical") is True
    assert _g("4.35", "4.2", error="1e-1", answer_type="Numerical") is False
    assert _g("85.71", "\\frac{600}{7}") is False  # no tolerance given: a rounding is not the value
    assert _g("\\frac{1200}{14}", "\\frac{600}{7}") is True


def test_expressions_equations_intervals() -> None:
    assert _g("\\frac{1}{2n+2}", "\\frac{1}{2 n+2}", answer_type="Expression") is True
    assert _g("2n^2", "2 n", answer_type="Expression") is False  # "n^2" is not a unit
    assert _g("f(x) = 2x", "f(x)=2 x", answer_type="Expression") is True
    assert _g("(-\\infty, 3]", "(-\\infty, 3]", answer_type="Interval") is True
    assert _g("(-\\infty, 3)", "(-\\infty, 3]", answer_type="Interval") is False


def test_deliberate_differences_from_the_official_judger() -> None:
    # a tuple stating the asked values in order (the official judger counts 1 part vs 3)
    assert _g("\\left(\\frac{1}{3}, -2, 5\\right)", "\\frac{1}{3},-2,5", is_multiple_answer=True) is True
    # never 100x / x0.01 of the gold unless the unit is a percentage (official: always)
    assert _g("2000", "20") is False
    assert _g("0.25", "25", unit="\\%") is True
    # the declared unit may be written after the number
    assert _g("30 \\text{ km/h}", "30", unit="km/h") is True
