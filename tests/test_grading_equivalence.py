"""Equivalence rules and the Score each grader returns (reasons, audit trail)."""

from __future__ import annotations

import pytest

from thinklens.errors import DatasetError
from thinklens.grading import GradeRequest, grade, grade_quick, grader_for_dataset
from thinklens.grading.forms import violation
from thinklens.grading.math_equiv import TooRisky, check_risky, compare_math, exact_rational
from thinklens.grading.normalize import normalize_answer
from thinklens.records import Score


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (r"\left( 3, \frac{\pi}{2} \right)", r"(3,\frac{\pi}{2})"),
        (r"\dfrac{17}{50}", r"\frac{17}{50}"),
        (r"\frac43", r"\frac{4}{3}"),
        (r"\frac 59", r"\frac{5}{9}"),
        (r"\frac9{19}", r"\frac{9}{19}"),
        (r"\frac{270}7\text{ degrees}", r"\frac{270}{7}"),
        (r"90^\circ", "90"),
        (r"10,\!080", "10080"),
        (r"11,\! 111,\! 111,\! 100", "11111111100"),
        (r"\$32,\!348", "32348"),
        (r"864 \mbox{ inches}^2", "864"),
        (r"5.4 \text{ cents}", "5.4"),
        (".0000672", "0.0000672"),
        (r"\text{(C)}", "(C)"),
        (r"4210_{5}", "4210_5"),
        (r"12^{\mathrm{th}}\ \text{grade}", "12"),
        (r"\begin{pmatrix} -1 & 0 \\ 0 & -1 \end{pmatrix}", r"\begin{pmatrix}-1&0\\0&-1\end{pmatrix}"),
        ("1,-2", "1,-2"),  # a list, not a thousands separator
        (r"\boxed{7}", "7"),
        ("$\\frac{1}{2}$", r"\frac{1}{2}"),
    ],
)
def test_normalize(raw: str, normal: str) -> None:
    assert normalize_answer(raw) == normal


def test_normalize_keeps_variables_after_numbers() -> None:
    # a lone letter after a number is a variable, not a unit (3m is not 3)
    assert normalize_answer("x^2+3m") != normalize_answer("x^2+3")
    assert normalize_answer("5 s") != "5"


def test_exact_rational() -> None:
    assert exact_rational(r"-\frac{3}{4}") == exact_rational(r"\frac{-3}{4}") == exact_rational("-3/4")
    assert exact_rational("0.75") is None and exact_rational(r"\frac{1}{0}") is None


@pytest.mark.parametrize(
    ("problem", "pred", "gold", "violated"),
    [
        ("Express your answer as a common fraction.", "0.75", r"\frac34", True),
        ("Express your answer as a common fraction.", r"\frac{6}{8}", r"\frac34", True),
        ("Express your answer as a common fraction.", r"\frac{3}{4}", r"\frac34", False),
        ("Express it in simplest radical form.", r"\sqrt{8}", r"2\sqrt{2}", True),
        ("Express it in simplest radical form.", r"\frac{1}{\sqrt{3}}", r"\frac{\sqrt3}{3}", True),
        ("Express it in simplest radical form.", r"2\sqrt{2}", r"2\sqrt{2}", False),
        ("Express your answer as a mixed number.", r"\frac{9}{5}", r"1\frac{4}{5}", True),
        ("Express your answer as a decimal to the nearest tenth.", r"\frac{7}{2}", "3.5", True),
        ("", "0.75", r"\frac34", False),
    ],
)
def test_form_demands(problem: str, pred: str, gold: str, violated: bool) -> None:
    assert (violation(problem, pred, gold) is not None) is violated


@pytest.mark.parametrize(
    "answer", [r"10^{10^{10}}", r"2^{1000000}", r"12345!", "9" * 500, "x" * 2000],
)
def test_explosive_answers_are_refused_before_sympy(answer: str) -> None:
    with pytest.raises(TooRisky):
        check_risky(answer)


def test_explosive_answer_is_ungraded_not_wrong() -> None:
    # a subtraction of towers: its size cannot be bounded cheaply, so no verdict
    score = grade(GradeRequest("math", r"\boxed{10^{10^{10}} - 10^{10^{10}} + 5}", "5"))
    assert score.correct is None and score.reason == "ungraded"
    assert "power tower" in score.detail["notes"][0]


@pytest.mark.parametrize("grader", ["math", "integer"])
@pytest.mark.parametrize(
    "answer", [r"10^{10^{10}}", r"10^{10^{10^{10}}}", r"2^{1000000}", r"9999!", "9" * 400, r"-10^{10^{10}}",
               r"\left(10^{9}\right)^{10^{9}}", r"3 \cdot 10^{600} + 7"],
)
def test_explosive_answer_far_from_the_gold_is_wrong_by_size(answer: str, grader: str) -> None:
    score = grade(GradeRequest(grader, f"\\boxed{{{answer}}}", "7"))
    assert (score.correct, score.reason) == (False, "not_equivalent"), score
    assert score.detail["comparison"] in ("magnitude", "integer")  # the integer grader reads 400 digits itself


@pytest.mark.parametrize(
    "pred,gold",
    [(r"10^{10^{10}}", r"10^{10^{10}}"), (r"\frac{9}{5}", r"1\frac{4}{5}"), ("10^23", "1000"), (r"10^{400}", r"10^{400}"),
     (r"\frac{10^{401}}{10}", r"10^{400}"), (r"2\sqrt{3}", r"\sqrt{12}")],
)
def test_size_bounds_never_call_equal_values_unequal(pred: str, gold: str) -> None:
    from thinklens.grading.magnitude import differ_by_size

    assert not differ_by_size(pred, gold)


def test_size_bounds_are_intervals_around_the_value() -> None:
    import math

    from thinklens.grading.magnitude import size_of

    for latex, value in ((r"2^{10}", 1024), (r"\frac{1}{2}", 0.5), ("0.00123", 0.00123), (r"2\sqrt{3}", 2 * 3 ** 0.5),
                         (r"5!", 120), (r"1.5\times10^{5}", 150000), (r"10^{3}+10^{3}", 2000)):
        size = size_of(latex)
        assert size is not None and size.lo <= math.log10(value) <= size.hi, latex
    assert size_of("x + 1") is None and size_of("1,000") is None and size_of(r"10^{-5}") is None


@pytest.mark.parametrize(
    "answer,gold,correct",
    [(r"13 = 42", "42", False), (r"13 = 6 \times 7", "42", False), (r"6 \times 7 = 42", "42", True),
     (r"42 = 42", "42", True), (r"x = 42", "42", True), (r"f(3) = 42", "42", True), (r"x = 41", "42", False)],
)
def test_equation_with_a_numeric_left_side_must_hold(answer: str, gold: str, correct: bool) -> None:
    for grader in ("math", "integer"):
        assert grade(GradeRequest(grader, f"\\boxed{{{answer}}}", gold)).correct is correct, (grader, answer)


def test_megabyte_answer_is_not_compared_symbolically() -> None:
    score = grade(GradeRequest("math", "\\boxed{" + "1+" * 500_000 + "1}", "2"))
    assert score.reason == "not_equivalent" and score.detail["comparison"] == "length"


def test_compare_math_records_its_method() -> None:
    assert compare_math(r"\dfrac{1}{2}", r"\frac12").method == "normalized_string"
    assert compare_math(r"\frac{2}{4}", r"\frac12").method == "exact_rational"
    assert compare_math(r"\frac{\cos x}{\sin x}", r"\cot x").method == "math_verify"
    assert compare_math("C", r"\text{(C)}").method == "option_letter"


# --- Scores: reasons and audit trail --------------------------------------------------------


def test_correct_score_has_full_audit_trail() -> None:
    s = grade(GradeRequest("math", r"The answer is $\boxed{\dfrac{14}{3}}$.", r"\frac{14}{3}"))
    assert isinstance(s, Score)
    assert (s.correct, s.reason, s.extracted, s.method) == (True, "correct", r"\dfrac{14}{3}", "rule")
    assert s.normalized_pred == s.normalized_gold == r"\frac{14}{3}"
    assert s.detail == {"extraction": "boxed", "comparison": "normalized_string"}


def test_not_equivalent() -> None:
    s = grade(GradeRequest("math", r"\boxed{\frac{27}{175}}", r"\frac{243}{625}"))
    assert (s.correct, s.reason, s.extracted) == (False, "not_equivalent", r"\frac{27}{175}")


def test_no_answer_and_truncated() -> None:
    s = grade(GradeRequest("math", "I give up.", "4"))
    assert (s.correct, s.reason, s.extracted) == (False, "no_answer", None)
    s = grade(GradeRequest("math", "so far 2 + 2 = 4 and", "4", finish_reason="length"))
    assert (s.correct, s.reason) == (False, "truncated")
    s = grade(GradeRequest("math", r"the answer is \boxed{4}. Let me verify", "4", finish_reason="length"))
    assert (s.correct, s.reason, s.detail.get("truncated")) == (True, "correct", True)


def test_score_round_trips_through_dict() -> None:
    s = grade(GradeRequest("math", r"\boxed{x=5}", "5"))
    assert Score.from_dict(s.to_dict()) == s


def test_grade_quick_agrees_with_grade_where_it_answers() -> None:
    reqs = [
        GradeRequest("math", r"\boxed{0.5}", r"\frac12"),
        GradeRequest("math", r"\boxed{\frac12}", r"\frac12"),
        GradeRequest("integer", r"\boxed{023}", "23"),
        GradeRequest("choice", "ANSWER: B", "B", choices=("1", "2", "3", "4")),
        GradeRequest("gsm8k", "#### 1,000", "1000"),
        GradeRequest("math", "", "1", finish_reason="length"),
    ]
    for req in reqs:
        quick = grade_quick(req)
        assert quick is None or quick == grade(req)
    assert grade_quick(reqs[0]) is None  # a decimal against a fraction needs math-verify


def test_integer_grader_leading_zeros() -> None:
    assert grade(GradeRequest("integer", r"\boxed{23}", "023")).correct is True
    assert grade(GradeRequest("integer", r"\boxed{023}", "23")).correct is True
    assert grade(GradeRequest("integer", r"\boxed{230}", "023")).correct is False


def test_choice_by_option_text() -> None:
    choices = ("17", "42", "7", "3")
    s = grade(GradeRequest("choice", r"\boxed{42}", "B", choices=choices))
    assert (s.correct, s.normalized_pred, s.detail["comparison"]) == (True, "B", "option_text")
    s = grade(GradeRequest("choice", r"\boxed{99}", "B", choices=choices))
    assert s.reason == "not_equivalent" and "names no option" in s.detail["notes"][0]


def test_gsm8k_numbers() -> None:
    assert grade(GradeRequest("gsm8k", "She pays $1,080 in total.", "1080")).correct is True
    assert grade(GradeRequest("gsm8k", r"\boxed{18.5}", "18")).correct is False


def test_request_validation() -> None:
    with pytest.raises(ValueError, match="unknown grader"):
        GradeRequest("maths", "x", "y")
    assert GradeRequest("choice", "x", "A", choices=["a", "b"]).choices == ("a", "b")  # type: ignore[arg-type]


def test_dataset_to_grader() -> None:
    assert grader_for_dataset("math_500") == "math"
    assert grader_for_dataset("AIME24") == "integer"
    assert grader_for_dataset("aime25") == "integer"
    assert grader_for_dataset("gpqa") == "choice"
    assert grader_for_dataset("gsm8k") == "gsm8k"
    with pytest.raises(DatasetError, match="unknown dataset 'mmlu'"):
        grader_for_dataset("mmlu")  # the benchmark registry is the one dataset -> grader map
