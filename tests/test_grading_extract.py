"""Where the final answer is: boxes, answer phrases, closing formulas, choices, think tags."""

from __future__ import annotations

import time

import pytest

from thinklens.client.reasoning import split_reasoning
from thinklens.grading import extract_answer
from thinklens.grading.extract import find_answer, find_boxed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so \boxed{\dfrac{14}{3}}", r"\dfrac{14}{3}"),
        (r"\boxed{\frac{a}{\sqrt{b}}} is it", r"\frac{a}{\sqrt{b}}"),
        (r"first \boxed{3}, then finally \boxed{4}.", "4"),
        (r"\boxed{1} and \boxed{-2}", "1, -2"),
        (r"\(\boxed{1}\), \(\boxed{-2}\)", "1, -2"),
        (r"(a) \boxed{3}" + "\n\n(b) the other part gives " + r"\boxed{5}", "5"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\fbox{7}", "7"),
        (r"$\boxed 9$", "9"),
        (r"\boxed{\boxed{4}}", "4"),
        ("The answer is $42$.", "42"),
        ("**Final Answer:** 42", "42"),
        ("**Final Answer**\n\n\\[ 42 \\]", "42"),
        ("The final answer is \\(\\frac{1}{2}\\).", r"\frac{1}{2}"),
        ("Therefore the area is $12\\pi$.", r"12\pi"),
    ],
)
def test_math_answer_found(text: str, expected: str) -> None:
    assert extract_answer(text, "math") == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I could not solve this.",
        r"we try \boxed{\frac{14}{3",  # cut off inside the box
        "We find $x = 3$. Next we check the other case, where",
        "2 + 2 = 4 and so",
        r"put your final answer within \boxed{}",
    ],
)
def test_math_no_answer(text: str) -> None:
    assert extract_answer(text, "math") is None


def test_tier_is_recorded() -> None:
    assert find_answer(r"\boxed{1}", "math").how == "boxed"
    assert find_answer("The answer is 3.", "math").how == "answer_phrase"
    assert find_answer("So it is $3$.", "math").how == "closing_math"
    assert find_answer("so she pays 18 dollars", "gsm8k").how == "last_number"


def test_truncated_text_gets_no_fallback() -> None:
    text = "so far we have $x = 4$."
    assert find_answer(text, "math", allow_fallback=True) is not None
    assert find_answer(text, "math", allow_fallback=False) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Long reasoning...\nANSWER: B", "B"),
        ("ANSWER: (C)", "C"),
        ("**Answer: D**", "D"),
        ("The correct answer is B.", "B"),
        (r"\boxed{A}", "A"),
        ("ANSWER: A\nwait, no.\nANSWER: C", "C"),
        ("\\boxed{A}\nActually:\nANSWER: B", "B"),
        ("ANSWER: B\nbut to present it: \\boxed{D}", "D"),
    ],
)
def test_choice_last_explicit_answer_wins(text: str, expected: str) -> None:
    assert extract_answer(text, "choice") == expected


@pytest.mark.parametrize(
    "text",
    ["I think B is the most plausible.", "Answer: A possible approach is", "ANSWER: E", "Option C looks right."],
)
def test_choice_never_guesses_a_bare_letter(text: str) -> None:
    assert extract_answer(text, "choice") is None


def test_gsm8k_marker_and_last_number() -> None:
    assert extract_answer("9 * 2 = 18.\n#### 18", "gsm8k") == "18"
    assert extract_answer("So she earns $1,080 in total.", "gsm8k") == "$1,080"


def test_nul_bytes_are_ignored() -> None:
    assert extract_answer("the answer is \\boxed{4\x00}", "math") == "4"


@pytest.mark.parametrize(
    "text",
    [
        "\\boxed{" * 100_000,
        "\\[" * 200_000 + "x",
        "\n" * 1_000_000 + "####",
        "answer is " * 100_000,
        "$" * 500_000,
        "{" * 300_000 + "}" * 300_000,
    ],
)
def test_extraction_is_linear_on_adversarial_text(text: str) -> None:
    start = time.perf_counter()
    for grader in ("math", "choice", "gsm8k"):
        find_answer(text, grader)
    assert time.perf_counter() - start < 5.0


def test_find_boxed_skips_unclosed_and_nested() -> None:
    boxes = find_boxed(r"\boxed{1} and \boxed{\boxed{2}} and \boxed{3")
    assert [b[2] for b in boxes] == ["1", r"\boxed{2}"]


@pytest.mark.parametrize(
    ("text", "reasoning", "content", "source"),
    [
        ("<think>a</think>b", "a", "b", "think_tags"),
        ("<think>\n<think>\nx</think>\n\nanswer", "x", "answer", "think_tags"),
        ("thinking only</think>the answer", "thinking only", "the answer", "lone_close_tag"),
        ("<think>cut off while thinking", "cut off while thinking", "", "unclosed_open_tag"),
        ("no tags at all", "", "no tags at all", "none"),
        ("<think>a</think>b</think>c", "ab", "c", "think_tags"),
    ],
)
def test_split_reasoning(text: str, reasoning: str, content: str, source: str) -> None:
    s = split_reasoning(text)
    assert (s.reasoning, s.content, s.source) == (reasoning, content, source)


def test_split_reasoning_custom_tags() -> None:
    s = split_reasoning("<reason>r</reason>c", tags=(("<reason>", "</reason>"),))
    assert (s.reasoning, s.content, s.source) == ("r", "c", "think_tags")
