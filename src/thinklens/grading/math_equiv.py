"""Is a predicted math answer equal to the gold?  String rules first, then math-verify.

The order is cheapest first and every step records itself (`Comparison.method`):

1. ``normalized_string``: identical normal forms (normalize.py) are equal.
2. ``option_letter`` / ``text`` / ``base_subscript``: golds that are not formulas
   (``\\text{(C)}``, ``\\text{Evelyn}``, ``52_8``) are compared as what they are.
3. ``math_verify``: both sides parsed as LaTeX (the gold wrapped in ``\\boxed{}``: parsing
   golds as plain expressions silently fails on about a fifth of MATH-500) and compared by
   math-verify (numeric, symbolic, sets, intervals, matrices, equations).
4. Form demands of the problem (forms.py) can overrule an equal value: "0.5" is not an
   answer to "express as a common fraction".

Symbolic work can hang on adversarial input; callers bound it (the grading pool kills a
worker past its deadline).  Answers that are obviously explosive (power towers, huge
factorials, megabyte formulas) are refused here before sympy ever sees them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

from . import forms
from .extract import strip_text_wrappers
from .magnitude import differ_by_size
from .normalize import normalize_answer, strip_delimiters, unwrap_text

# math-verify logs a warning when its own signal timeouts are disabled; we disable them on
# purpose (the pool enforces time limits) and log its parse failures at debug level only.
logging.getLogger("math_verify").setLevel(logging.ERROR)

MAX_SYMBOLIC_CHARS = 1500


class TooRisky(Exception):
    """The answer would make sympy explode (power tower, huge factorial, huge formula)."""


@dataclass
class Comparison:
    equal: bool
    method: str
    norm_pred: str
    norm_gold: str
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Non-formula golds

_LETTER_GOLD_RE = re.compile(r"^\(?([A-Z])\)?$")
_LETTER_LIST_RE = re.compile(r"^\(?[A-Z]\)?(?:(?:,|and|\\text\{and\})\(?[A-Z]\)?)+$")
_TEXT_GOLD_RE = re.compile(r"^\\(?:text|textbf|textrm|mbox|mathrm)\s*\{\s*([A-Za-z][A-Za-z '\-]*?)\s*\}$|^([A-Za-z]{4,})$")
_BASE_GOLD_RE = re.compile(r"^([0-9A-Za-z]+)_\{?(\d+)\}?$")
_ASSIGN_PREFIX_RE = re.compile(r"^\\?[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?!=)")
_EQUALS_RE = re.compile(r"(?<![<>!=\\])=(?!=)")


def equation_sides(s: str) -> tuple[str, str] | None:
    """`a = b` -> (a, b) when the answer is one equation (exactly one `=`)."""
    parts = _EQUALS_RE.split(s)
    return (parts[0].strip(), parts[1].strip()) if len(parts) == 2 and all(p.strip() for p in parts) else None


def _letter(s: str) -> str | None:
    s = strip_text_wrappers(s).replace("\\", "").strip()
    s = re.sub(r"^(?:option|choice)\s*", "", s, flags=re.IGNORECASE)
    m = re.match(r"^\(?([A-Z])\)?(?:$|[\s.:)])", s)
    return m.group(1) if m else None


def _words(s: str) -> str:
    s = strip_delimiters(unwrap_text(s))
    return re.sub(r"[^a-z]", "", s.lower())


def compare_special(pred: str, gold: str, norm_pred: str, norm_gold: str) -> Comparison | None:
    """Golds that are an option letter (or several), a word, or a number in another base."""
    if _LETTER_LIST_RE.match(norm_gold):
        # "Enter the letters of the correct options, separated by commas": a set of letters.
        want = set(re.findall(r"[A-Z]", norm_gold))
        got_text = strip_text_wrappers(norm_pred).replace("\\", "")
        got = set(re.findall(r"[A-Z]", got_text)) if _LETTER_LIST_RE.match(got_text) else None
        return Comparison(got == want, "option_letters", ",".join(sorted(got or [])) or norm_pred, ",".join(sorted(want)))
    m = _LETTER_GOLD_RE.match(norm_gold)
    if m:
        letter = _letter(norm_pred)
        return Comparison(letter == m.group(1), "option_letter", letter or norm_pred, m.group(1))
    if _TEXT_GOLD_RE.match(strip_delimiters(gold)):
        wp, wg = _words(pred), _words(gold)
        if wp and wp == wg:
            return Comparison(True, "text", wp, wg)
        # "the answer is Evelyn" -> the last word decides only when the gold is one word
        return Comparison(False, "text", wp, wg)
    m = _BASE_GOLD_RE.match(norm_gold)
    if m and m.group(1).isalnum():
        digits, base = m.group(1), m.group(2)
        pm = _BASE_GOLD_RE.match(norm_pred)
        if pm:
            return Comparison(pm.group(1).lower() == digits.lower() and pm.group(2) == base, "base_subscript", norm_pred, norm_gold)
        if re.fullmatch(r"[0-9A-Za-z]+", norm_pred):
            # "52" for "52_8": the question asked for base 8, so the digits are the answer.
            return Comparison(norm_pred.lower() == digits.lower(), "base_subscript", norm_pred, norm_gold,
                              ["base subscript omitted in the answer"])
    return None


# ---------------------------------------------------------------------------------------
# Symbolic comparison (math-verify)

_TOWER_RE = re.compile(r"\^\s*\{[^{}a-zA-Z]*\^")  # 10^{10^{10}}
_HUGE_EXPONENT_RE = re.compile(r"(?:\^|\*\*)\s*\{?\s*\(?\s*\d{6,}")
_HUGE_FACTORIAL_RE = re.compile(r"\d{4,}\s*!")
_HUGE_NUMBER_RE = re.compile(r"\d{400,}")


def check_risky(s: str) -> None:
    if len(s) > MAX_SYMBOLIC_CHARS:
        raise TooRisky(f"answer too long for symbolic comparison ({len(s)} characters)")
    for pattern, what in (
        (_TOWER_RE, "a numeric power tower"),
        (_HUGE_EXPONENT_RE, "an exponent of six digits or more"),
        (_HUGE_FACTORIAL_RE, "the factorial of a four-digit number"),
        (_HUGE_NUMBER_RE, "a number of 400 digits or more"),
    ):
        if pattern.search(s):
            raise TooRisky(f"answer contains {what}; not evaluated symbolically")


def _math_verify() -> Any:
    import math_verify
    from math_verify import grader as mv_grader
    from math_verify import parser as mv_parser

    # We pass timeouts of None (see module docstring); silence the one-time warning.
    mv_grader.TIMEOUT_WARNING_SHOWN = True
    mv_parser.TIMEOUT_WARNING_SHOWN = True
    return math_verify


@lru_cache(maxsize=4096)
def parse_latex_answer(latex: str) -> tuple[Any, ...]:
    """Parse one answer as LaTeX (wrapped in \\boxed{} so the whole string is taken)."""
    mv = _math_verify()
    config = [mv.LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=False)]
    return tuple(mv.parse("\\boxed{" + latex + "}", extraction_config=config, parsing_timeout=None))


@lru_cache(maxsize=4096)
def parse_prose_answer(text: str) -> tuple[Any, ...]:
    """Parse an answer stated in words ("The perimeter is 42 inches"): math-verify's search."""
    mv = _math_verify()
    config = [mv.LatexExtractionConfig(), mv.ExprExtractionConfig()]
    return tuple(mv.parse(text, extraction_config=config, parsing_timeout=None))


def _parsed_ok(parsed: tuple[Any, ...]) -> bool:
    return bool(parsed) and not isinstance(parsed[0], str)


_PROSE_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}\s+[A-Za-z]{2,}")


def parse_pred(pred: str) -> tuple[Any, ...]:
    latex = strip_delimiters(pred)
    if _PROSE_RE.search(strip_text_wrappers(latex).replace("\\text", "")):
        parsed = parse_prose_answer(pred)
        if _parsed_ok(parsed):
            return parsed
    return parse_latex_answer(latex)


def verify(gold_parsed: tuple[Any, ...], pred_parsed: tuple[Any, ...]) -> bool:
    mv = _math_verify()
    return bool(mv.verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None))


_IMAGINARY_UNIT_RE = re.compile(r"(?<=[\d}])i(?![A-Za-z])")
_COLUMN_VECTOR_RE = re.compile(r"^\\begin\{[pbvB]?matrix\}(.*)\\end\{[pbvB]?matrix\}$", re.DOTALL)


def _for_parsing(latex: str) -> str:
    """Rewrites that make math-verify read an answer the way a reader does.

    "3i" -> "3 i": math-verify only treats `i` as the imaginary unit when it stands alone,
    so "\frac{3+3i}{2}" would otherwise be read with a real variable i.
    """
    return _IMAGINARY_UNIT_RE.sub(" i", latex)


def _split_top_level(s: str, sep: str = ",") -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def tuple_as_column_vector(pred: str, gold: str) -> str | None:
    """`(a, b, c)` -> a pmatrix column when the gold is a column vector of that size."""
    m = _COLUMN_VECTOR_RE.match(strip_delimiters(gold).strip())
    if not m or "&" in m.group(1):
        return None
    rows = [r for r in m.group(1).split("\\\\") if r.strip()]
    p = normalize_answer(pred)
    if not (p.startswith("(") and p.endswith(")")) and not (p.startswith("\\langle") and p.endswith("\\rangle")):
        return None
    inner = p[1:-1] if p.startswith("(") else p[len("\\langle") : -len("\\rangle")]
    items = _split_top_level(inner)
    if len(items) != len(rows) or len(items) < 2:
        return None
    return "\\begin{pmatrix}" + "\\\\".join(items) + "\\end{pmatrix}"


def _drop_assignment(s: str) -> str:
    """`x = 5` -> `5` (a lone variable named on the left)."""
    return _ASSIGN_PREFIX_RE.sub("", s.strip(), count=1)


def compare_math(pred: str, gold: str, problem: str = "") -> Comparison:
    """Full comparison, including the symbolic step (may be slow: run it in the pool)."""
    norm_pred, norm_gold = normalize_answer(pred), normalize_answer(gold)
    quick = compare_quick(pred, gold, problem, norm_pred, norm_gold)
    if quick is not None:
        return quick
    check_risky(pred)
    check_risky(gold)
    gold_parsed = parse_latex_answer(_for_parsing(strip_delimiters(gold)))
    as_vector = tuple_as_column_vector(pred, gold)
    notes: list[str] = []
    if as_vector is not None:
        pred = as_vector
        notes.append("tuple read as a column vector, like the gold")
    pred_parsed = parse_pred(_for_parsing(pred))
    if not _parsed_ok(gold_parsed):
        return Comparison(False, "math_verify", norm_pred, norm_gold, ["gold could not be parsed as LaTeX"])
    if not pred_parsed:
        return Comparison(False, "math_verify", norm_pred, norm_gold, ["answer could not be parsed"])
    equal = verify(gold_parsed, pred_parsed)
    if not equal:
        # "x = 5" against "5" or "k = 5": math-verify keeps a relation when the variable is
        # not a plain symbol; try the right-hand side.
        rhs = _drop_assignment(strip_delimiters(pred))
        if rhs != strip_delimiters(pred) and "=" not in norm_gold:
            rhs_parsed = parse_latex_answer(_for_parsing(rhs))
            if _parsed_ok(rhs_parsed) and verify(gold_parsed, rhs_parsed):
                equal = True
                notes.append("compared the right-hand side of the stated equation")
    if equal and "=" not in norm_gold:
        left = _constant_left_side(strip_delimiters(pred))
        if left is not None and not verify(gold_parsed, left):
            # "13 = 42" states a falsehood, not the answer 42 ("x = 42" and "f(3) = 42"
            # name the quantity on the left and keep the right-hand side)
            return Comparison(False, "equation_sides", norm_pred, norm_gold,
                              ["the left side of the stated equation is a number that is not the gold"])
    if equal:
        violation = forms.violation(problem, pred, gold)
        if violation:
            return Comparison(False, "form", norm_pred, norm_gold, [violation])
    return Comparison(equal, "math_verify", norm_pred, norm_gold, notes)


def _constant_left_side(pred: str) -> tuple[Any, ...] | None:
    """The parsed left side of `a = b` when it is a constant (no variable in it)."""
    sides = equation_sides(pred)
    if sides is None or _ASSIGN_PREFIX_RE.match(pred.strip()):
        return None
    parsed = parse_latex_answer(_for_parsing(sides[0]))
    # is_number: no free symbol and no undefined function ("f(3)" names a value)
    if not _parsed_ok(parsed) or getattr(parsed[0], "is_number", False) is not True:
        return None
    return parsed


def compare_quick(pred: str, gold: str, problem: str, norm_pred: str | None = None, norm_gold: str | None = None) -> Comparison | None:
    """The string-level decisions (no sympy); None when symbolic work is needed."""
    norm_pred = normalize_answer(pred) if norm_pred is None else norm_pred
    norm_gold = normalize_answer(gold) if norm_gold is None else norm_gold
    if norm_pred == norm_gold and norm_pred:
        return Comparison(True, "normalized_string", norm_pred, norm_gold)
    if len(pred) > MAX_SYMBOLIC_CHARS and len(pred) > 20 * len(gold):
        # No real gold is a twentieth of a 1500-character answer; sympy would only burn time.
        return Comparison(False, "length", norm_pred[:200], norm_gold,
                          [f"answer is {len(pred)} characters, the gold {len(gold)}: not compared symbolically"])
    special = compare_special(pred, gold, norm_pred, norm_gold)
    if special is not None:
        return special
    sides = equation_sides(norm_pred) if "=" not in norm_gold else None
    if sides is not None:
        left, right, g = exact_rational(sides[0]), exact_rational(sides[1]), exact_rational(norm_gold)
        if left is not None and right is not None and g is not None and not left == right == g:
            # "13=42" against 42: both sides are numbers, and they are not both the gold
            return Comparison(False, "equation_sides", norm_pred, norm_gold,
                              ["the sides of the stated equation are not both the gold"])
    p, g = exact_rational(norm_pred), exact_rational(norm_gold)
    if p is not None and g is not None:
        # Both plain integers or fractions: exact arithmetic decides, no sympy needed.
        if p != g:
            return Comparison(False, "exact_rational", norm_pred, norm_gold)
        violation = forms.violation(problem, pred, gold)
        if violation:
            return Comparison(False, "form", norm_pred, norm_gold, [violation])
        return Comparison(True, "exact_rational", norm_pred, norm_gold)
    if differ_by_size(strip_delimiters(pred), strip_delimiters(gold)):
        # A power tower or a 400-digit number against 7: sizes alone prove them unequal
        # (sympy would be refused them as too explosive, leaving no verdict).
        return Comparison(False, "magnitude", norm_pred[:200], norm_gold, ["the sizes of the two numbers differ"])
    return None


_INTEGER_RE = re.compile(r"^[-+]?\d{1,60}$")
_FRAC_RE = re.compile(r"^([-+]?)\\frac\{([-+]?\d{1,60})\}\{([-+]?\d{1,60})\}$")
_SLASH_RE = re.compile(r"^([-+]?\d{1,60})/(\d{1,60})$")


def exact_rational(norm: str) -> Fraction | None:
    """A normalised answer that is a plain integer or fraction (no decimals), as a Fraction."""
    try:
        if _INTEGER_RE.match(norm):
            return Fraction(int(norm))
        m = _FRAC_RE.match(norm)
        if m:
            value = Fraction(int(m.group(2)), int(m.group(3)))
            return -value if m.group(1) == "-" else value
        m = _SLASH_RE.match(norm)
        if m:
            return Fraction(int(m.group(1)), int(m.group(2)))
    except ZeroDivisionError:
        return None
    return None
