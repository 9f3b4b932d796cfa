"""The `minerva` grader: physical quantities to the asked or the gold's precision, units agreeing."""

from __future__ import annotations

import pytest

from thinklens.grading import GradeRequest, grade
from thinklens.grading.quantity import asked_precision, canonical_unit, parse_quantity

TWO_SF = "Compute the luminosity. Give your answer in units of ergs per second, to two significant figures."


def _g(answer: str, gold: str, problem: str = "", unit: str = "") -> bool | None:
    info = {"gold_unit": unit} if unit else {}
    return grade(GradeRequest("minerva", f"so \\boxed{{{answer}}}", gold, problem=problem, gold_info=info)).correct


@pytest.mark.parametrize("answer", ["4.5e33", "4.5 \\times 10^{33}", "4.5\\cdot10^{33}", "4.5E+33", "4.53 \\times 10^{33}",
                                    "4.5 \\times 10^{33} \\mathrm{ergs} \\mathrm{s}^{-1}", "L = 4.5e33"])
def test_notations_and_asked_precision_accept(answer: str) -> None:
    assert _g(answer, "4.5e33", TWO_SF, unit="\\mathrm{ergs} \\mathrm{s}^{-1}") is True


@pytest.mark.parametrize("answer", ["4.7e33", "4.5e32", "45e33", "4.5 \\times 10^{33} \\mathrm{W}"])
def test_wrong_value_exponent_or_unit_rejected(answer: str) -> None:
    assert _g(answer, "4.5e33", TWO_SF, unit="\\mathrm{ergs} \\mathrm{s}^{-1}") is False


def test_unstated_precision_is_the_golds_significant_figures() -> None:
    assert _g("1.63", "1.6") is True  # rounds to the gold's two figures
    assert _g("1.57", "1.6") is True
    assert _g("1.66", "1.6") is False
    assert _g("1.6 \\mathrm{~cm}", "1.6", unit="\\mathrm{~cm}") is True
    assert _g("0.016 \\mathrm{~m}", "1.6", unit="\\mathrm{~cm}") is False  # the unit disagrees
    assert _g("27.39", "27.39") is True and _g("27.4", "27.39") is False  # a 4-figure gold needs 4 figures


def test_an_integer_gold_counts_for_at_least_two_figures() -> None:
    assert _g("699", "700") is True and _g("710", "700") is False and _g("5", "10") is False
    assert _g("0.5", "1") is False and _g("1.0", "1") is True  # a real case: 0.5 answered for 1
    assert _g("0.0122", "0.01") is True  # a decimal gold's one figure is what it says
    assert _g("-\\frac{1}{3}", "-1./3") is True  # a gold written in Python


def test_degrees_and_percent_units() -> None:
    assert _g("41.8^\\circ", "41.8", unit="^{\\circ}") is True
    assert _g("41.8", "41.8", unit="^{\\circ}") is True  # no unit written: the number decides
    assert _g("12.5\\%", "12.5", unit="\\%") is True


def test_formulas_are_evaluated_and_formula_golds_go_to_the_math_grader() -> None:
    assert _g("\\frac{45 \\pi}{648000} \\cdot 7200", "1.6") is True  # 1.5708 -> 1.6
    assert _g("\\frac{3240\\pi}{648000}", "1.6") is False  # 0.0157
    assert _g("\\frac{1}{4-\\omega^{2}}", "\\frac{1}{4-\\omega^{2}}") is True
    assert _g("e^{t}/3", "e^{t} / 3") is True


def test_precision_and_unit_parsing() -> None:
    assert asked_precision("to the nearest tenth").decimals == 1
    assert asked_precision("Answer to 3 significant figures.").sig_figs == 3
    assert asked_precision("How far is it?") is None
    assert canonical_unit("\\mathrm{~km} / \\mathrm{s}") == canonical_unit("km s^{-1}") == "km/s"
    assert parse_quantity("7200").sig_figs == 2 and parse_quantity("7200.").sig_figs == 4
    assert parse_quantity("2^{10}") is None and parse_quantity("2 \\cos t") is None
