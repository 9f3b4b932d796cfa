"""Form demands of a problem, graded the way MATH's human graders grade them.

An answer with the right value in a form the problem rules out is wrong: "0.75" does not
answer "express your answer as a common fraction", "\\sqrt{8}" is not "in simplest
radical form", "\\frac{9}{5}" is not "a mixed number".  Only demands stated in the
problem are enforced, and only on answers already found equal in value.
"""

from __future__ import annotations

import math
import re

from .normalize import normalize_answer

_COMMON_FRACTION_RE = re.compile(r"common\s+fraction", re.IGNORECASE)
_LOWEST_TERMS_RE = re.compile(r"lowest\s+terms|simplest\s+form|reduced\s+fraction|fully\s+simplified", re.IGNORECASE)
_RADICAL_RE = re.compile(r"simplest\s+radical\s+form", re.IGNORECASE)
_MIXED_RE = re.compile(r"mixed\s+number", re.IGNORECASE)
_DECIMAL_RE = re.compile(r"as\s+a\s+decimal|in\s+decimal\s+form|decimal\s+to\s+the\s+nearest|nearest\s+(?:tenth|hundredth|thousandth)", re.IGNORECASE)

_DECIMAL_NUMBER_RE = re.compile(r"\d\.\d|(?<!\d)\.\d")
_FRACTION_RE = re.compile(r"\\frac\{(-?\d+)\}\{(-?\d+)\}|(?<![\w}])(-?\d+)\s*/\s*(\d+)(?![\w{])")
_SQRT_RE = re.compile(r"\\sqrt\{(\d+)\}")
_SQRT_IN_DENOMINATOR_RE = re.compile(r"\\frac\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}\{[^{}]*\\sqrt")
_MIXED_NUMBER_RE = re.compile(r"^-?\d+\\frac\{\d+\}\{\d+\}$")


def _has_square_factor(n: int) -> bool:
    k = 2
    while k * k <= n:
        if n % (k * k) == 0:
            return True
        k += 1
    return False


def _unreduced_fraction(s: str) -> str | None:
    for m in _FRACTION_RE.finditer(s):
        num, den = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
        a, b = abs(int(num)), abs(int(den))
        if b != 0 and math.gcd(a, b) > 1:
            return f"{num}/{den}"
    return None


def violation(problem: str, pred: str, gold: str) -> str | None:
    """Why `pred` (equal in value to `gold`) breaks a form the problem demands, else None."""
    if not problem:
        return None
    p, g = normalize_answer(pred), normalize_answer(gold)
    gold_has_decimal = bool(_DECIMAL_NUMBER_RE.search(g))
    if _COMMON_FRACTION_RE.search(problem) and not gold_has_decimal:
        if _DECIMAL_NUMBER_RE.search(p):
            return "the problem asks for a common fraction; the answer is a decimal"
        unreduced = _unreduced_fraction(p)
        if unreduced and not _unreduced_fraction(g):
            return f"the problem asks for a common fraction; {unreduced} is not in lowest terms"
    if _LOWEST_TERMS_RE.search(problem):
        unreduced = _unreduced_fraction(p)
        if unreduced and not _unreduced_fraction(g):
            return f"the problem asks for lowest terms; {unreduced} is not reduced"
    if _RADICAL_RE.search(problem):
        for m in _SQRT_RE.finditer(p):
            if _has_square_factor(int(m.group(1))):
                return f"the problem asks for simplest radical form; \\sqrt{{{m.group(1)}}} can be simplified"
        if _SQRT_IN_DENOMINATOR_RE.search(p) and not _SQRT_IN_DENOMINATOR_RE.search(g):
            return "the problem asks for simplest radical form; the denominator is not rationalised"
        if _DECIMAL_NUMBER_RE.search(p) and not gold_has_decimal:
            return "the problem asks for simplest radical form; the answer is a decimal"
    if _MIXED_RE.search(problem) and _MIXED_NUMBER_RE.match(g) and not _MIXED_NUMBER_RE.match(p):
        return "the problem asks for a mixed number"
    if _DECIMAL_RE.search(problem) and gold_has_decimal and not _DECIMAL_NUMBER_RE.search(p) and "frac" in p:
        return "the problem asks for a decimal; the answer is a fraction"
    return None
