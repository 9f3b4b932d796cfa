"""Rigorous bounds on the size of a numeric answer, without ever computing it.

`10^{10^{10^{10}}}`, `9999!` or a 400-digit integer are too explosive for sympy (they
are refused as risky), yet against a gold of 7 their size alone settles the question:
they are not equal.  This module reads such an expression into an interval
``[lo, hi]`` of ``log10 |value|`` using only float arithmetic on logarithms, so a
power tower costs a few multiplications.

Only monotone operations on positive quantities are read (numbers, ``^`` with a base
of at least 1, ``!`` of a literal, products, ``\\frac``, ``\\sqrt``, sums of positive
terms, ``\\pi``, one leading sign).  Anything else (a subtraction inside, a variable,
a comma, an ambiguous ``10^23``) returns None: the caller then knows nothing, which is
always safe.  The bounds are padded for float rounding, so "pred.lo > gold.hi" is a
proof that the two values differ.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_SLACK = 1e-9  # relative padding on every bound: float rounding never makes a false proof
_MAX_LEN = 2000  # longer answers are not read (the length rule decides them)


@dataclass(frozen=True)
class Size:
    """log10 |value| lies in [lo, hi] (either may be +-inf)."""

    lo: float
    hi: float


class _Unreadable(Exception):
    pass


def _pad(lo: float, hi: float) -> Size:
    if math.isnan(lo) or math.isnan(hi):
        raise _Unreadable
    lo = lo - abs(lo) * _SLACK - 1e-12 if math.isfinite(lo) else lo
    hi = hi + abs(hi) * _SLACK + 1e-12 if math.isfinite(hi) else hi
    return Size(lo, hi)


def _pow10(x: float) -> float:
    """10**x without OverflowError (inf past the float range)."""
    return math.inf if x > 300 else 10.0 ** x


_TOKEN_RE = re.compile(r"\d+(?:\.\d*)?|\.\d+|\\[A-Za-z]+|[{}()^!*+\-]")
_IGNORED_RE = re.compile(r"\\left|\\right|\\[,;!: ]|\s+|\$")
_COMMANDS = {"\\frac", "\\dfrac", "\\tfrac", "\\sqrt", "\\cdot", "\\times", "\\pi"}


class _Reader:
    def __init__(self, text: str) -> None:
        text = _IGNORED_RE.sub("", text)
        self.tokens = _TOKEN_RE.findall(text)
        if "".join(self.tokens) != text:  # a character we do not read (a letter, a comma...)
            raise _Unreadable
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise _Unreadable
        self.i += 1
        return tok

    # expr := [sign] term ('+' term)*     (a sum of positive terms; no subtraction)
    def expr(self, top: bool = False) -> Size:
        if top and self.peek() in ("-", "+"):
            self.take()
        terms = [self.term()]
        while self.peek() == "+":
            self.take()
            terms.append(self.term())
        if len(terms) == 1:
            return terms[0]
        # max <= sum <= count * max
        return _pad(max(t.lo for t in terms), max(t.hi for t in terms) + math.log10(len(terms)))

    # term := power (('\cdot' | '\times' | '*' | juxtaposition) power)*
    def term(self) -> Size:
        size = self.power()
        while True:
            tok = self.peek()
            if tok in ("\\cdot", "\\times", "*"):
                self.take()
            elif tok is None or tok in ("+", "-", "}", ")", "^", "!"):
                return size
            elif tok not in ("\\sqrt", "\\pi", "("):
                # "2 3" is no product, and "1\frac{4}{5}" is a mixed number (a sum)
                raise _Unreadable
            other = self.power()
            size = _pad(size.lo + other.lo, size.hi + other.hi)

    # power := factorial ['^' power]     (right-associative, base >= 1)
    def power(self) -> Size:
        base = self.factorial()
        if self.peek() != "^":
            return base
        self.take()
        if self.peek() == "{":
            exp = self.group()
        else:
            tok = self.take()
            if not tok.isdigit() or len(tok) != 1:
                # "10^23" is 10^2 * 3 to LaTeX and 10^{23} to its writer: do not guess
                raise _Unreadable
            exp = _pad(math.log10(int(tok)) if tok != "0" else -math.inf, math.log10(int(tok)) if tok != "0" else -math.inf)
        if self.peek() == "^":
            raise _Unreadable  # a^b^c is not valid LaTeX
        if base.lo < 0:
            raise _Unreadable  # a base that may be below 1 shrinks: not read
        return _pad(_pow10(exp.lo) * base.lo if base.lo > 0 else 0.0, _pow10(exp.hi) * base.hi if base.hi > 0 else 0.0)

    # factorial := primary ['!']   (of a literal integer only)
    def factorial(self) -> Size:
        tok = self.peek()
        if tok is not None and tok.isdigit() and self.i + 1 < len(self.tokens) and self.tokens[self.i + 1] == "!":
            self.take()
            self.take("!")
            return _log10_factorial(tok)
        size = self.primary()
        if self.peek() == "!":
            raise _Unreadable
        return size

    def group(self) -> Size:
        close = {"{": "}", "(": ")"}[self.take()]
        size = self.expr()
        self.take(close)
        return size

    def primary(self) -> Size:
        tok = self.peek()
        if tok is None:
            raise _Unreadable
        if tok in ("{", "("):
            return self.group()
        if tok[0].isdigit() or tok[0] == ".":
            self.take()
            return _log10_literal(tok)
        if tok == "\\pi":
            self.take()
            return _pad(math.log10(math.pi), math.log10(math.pi))
        if tok in ("\\frac", "\\dfrac", "\\tfrac"):
            self.take()
            num, den = self._brace(), self._brace()
            return _pad(num.lo - den.hi, num.hi - den.lo)
        if tok == "\\sqrt":
            self.take()
            inner = self._brace()
            return _pad(inner.lo / 2, inner.hi / 2)
        raise _Unreadable

    def _brace(self) -> Size:
        if self.peek() != "{":
            raise _Unreadable
        return self.group()


def _log10_literal(tok: str) -> Size:
    digits = tok.replace(".", "").lstrip("0")
    if not digits:
        return Size(-math.inf, -math.inf)  # zero
    int_part = tok.split(".")[0].lstrip("0")
    if int_part:
        exponent = len(int_part) - 1
    else:  # 0.00123: exponent from the leading zeros of the fraction
        frac = tok.split(".")[1]
        exponent = -(len(frac) - len(frac.lstrip("0")) + 1)
    mantissa = float(digits[0] + "." + digits[1:17])
    value = exponent + math.log10(mantissa)
    return _pad(value, value + 1e-15 * max(1, abs(value)))


def _log10_factorial(tok: str) -> Size:
    if len(tok.lstrip("0")) > 15:
        return Size(math.inf, math.inf)  # (10^15)! has more than 10^16 digits
    n = int(tok)
    value = math.lgamma(n + 1) / math.log(10)
    return _pad(value, value)


def size_of(latex: str) -> Size | None:
    """Bounds on log10 |value| of a numeric LaTeX answer, or None when it cannot be read."""
    if len(latex) > _MAX_LEN:
        return None
    try:
        reader = _Reader(latex)
        if not reader.tokens:
            return None
        size = reader.expr(top=True)
        if reader.peek() is not None:
            return None
        return size
    except (_Unreadable, RecursionError, OverflowError, ValueError):
        return None


def differ_by_size(pred: str, gold: str) -> bool:
    """True only when the sizes prove |pred| != |gold| (hence pred != gold)."""
    p, g = size_of(pred), size_of(gold)
    if p is None or g is None:
        return False
    return p.lo > g.hi or g.lo > p.hi
