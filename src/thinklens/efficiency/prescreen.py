"""Cheap verdicts on candidate answers that no grader could decide otherwise.

A reasoning trace states hundreds of intermediate values; sending each one through
math-verify costs ~30 ms.  Many are plainly not the gold: another number than a
numeric gold, or one number where the gold is a tuple.  Those are settled here;
everything else (including every *possibly* correct candidate, so that form rules
such as "as a common fraction" stay the grader's) goes to the run's grader.

Verdicts: True (identical text), False (certainly different), None (ask the grader).
"""

from __future__ import annotations

import re
from fractions import Fraction

_TEXT_GROUP = re.compile(r"\\(?:text|mbox|mathrm|textbf|textit|operatorname)\s*\{[^{}]*\}")
_DECOR = re.compile(r"\\?\$|\\%|%|\^\s*\{?\\circ\}?|\\circ|\\degree|\\[,!;:]|\\left|\\right|\{,\}")
_NUMBER = re.compile(r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[-+]?\.\d+$")
_FRACTION = re.compile(r"^([-+]?)\s*(?:\\[dt]?frac\s*\{\s*(-?\d+)\s*\}\s*\{\s*(\d+)\s*\}|(-?\d+)\s*/\s*(\d+))$")
_STRUCTURE = ("pmatrix", "bmatrix", "\\begin", "\\cup", "\\cap", "\\pm", "\\mp", "\\infty", ",", ";")


def squash(s: str) -> str:
    return "".join(s.split()).strip("$").lower()


def same_text(a: str, b: str) -> bool:
    """The same answer written the same way, up to spacing, delimiters and \\left/\\dfrac."""
    return spelling(a) == spelling(b)


def spelling(s: str) -> str:
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _DECOR.sub("", _TEXT_GROUP.sub(lambda m: m.group(0)[m.group(0).index("{") + 1:-1], s))
    return squash(s).strip("()")


def _clean(s: str) -> str:
    s = _TEXT_GROUP.sub("", s)
    s = _DECOR.sub("", s)
    s = s.strip().strip("()")  # "(5)"
    return "".join(s.split())


def as_number(s: str) -> Fraction | None:
    """A plain integer, decimal or numeric fraction (`3/4`, `\\frac{3}{4}`), exactly."""
    s = _clean(s)
    if not s:
        return None
    if _NUMBER.match(s):
        try:
            return Fraction(s.replace(",", "").replace("+", ""))
        except (ValueError, ZeroDivisionError):
            return None
    m = _FRACTION.match(s)
    if m:
        sign, num, den = m.group(1), m.group(2) or m.group(4), m.group(3) or m.group(5)
        if int(den) == 0:
            return None
        value = Fraction(int(num), int(den))
        return -value if sign == "-" else value
    return None


def prescreen(candidate: str, gold: str) -> bool | None:
    if squash(candidate) == squash(gold):
        return True
    if "%" in candidate or "%" in gold:
        return None  # 25% vs 0.25: some graders accept either; theirs to decide
    gold_value = as_number(gold)
    cand_value = as_number(candidate)
    if gold_value is not None:
        if cand_value is not None:
            # Equal values are the grader's call (form demands); different ones are certainly wrong.
            return None if cand_value == gold_value else False
        # Expressions in letters are the grader's: it simplifies ("6r + 24 - 6r" is 24) and
        # reads units ("12 cm") and equations ("a + b = 12").
        return None
    if cand_value is not None:
        g = _clean(gold)
        if any(mark in g for mark in _STRUCTURE) and not _NUMBER.match(g):
            return False  # one number is not a tuple, interval, matrix, set or "a ± b"
    return None
