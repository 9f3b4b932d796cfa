"""Physical quantities in answers: a number in any common notation, its significant
figures, and the unit written with it (Minerva Math's golds and answers).

    parse_quantity(r"4.5 \\times 10^{33} \\mathrm{erg/s}")
      -> Quantity(value=Decimal("4.5E+33"), sig_figs=2, decimals=None, unit="erg/s")

Notations read: ``4.5e33``, ``4.5E-3``, ``4.5 \\times 10^{33}``, ``4.5\\cdot10^{-3}``,
``10^{33}``, ``41.8^\\circ``, ``1,080``, ``-1./3`` is *not* a quantity (a formula: the math
grader decides).  Everything after the number must look like a unit (letters, ``\\mathrm``,
``\\text``, powers, ``/``); otherwise the string is not a plain quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .normalize import strip_delimiters

_MINUS = "\u2212"
_NUMBER_RE = re.compile(
    r"^(?P<sign>[-+]?)\s*(?P<mant>\d+(?:\.\d*)?|\.\d+)"
    r"(?:\s*[eE]\s*(?P<e>[-+]?\d+)"
    r"|\s*(?:\\times|\\cdot|\*|x|×)\s*10\s*\^\s*(?:\{\s*(?P<p1>[-+]?\s*\d+)\s*\}|(?P<p2>[-+]?\d)))?"
)
_POWER_ONLY_RE = re.compile(r"^(?P<sign>[-+]?)\s*10\s*\^\s*(?:\{\s*(?P<p1>[-+]?\s*\d+)\s*\}|(?P<p2>[-+]?\d))")
_ASSIGN_RE = re.compile(r"^[A-Za-z\\][\w\\{}^ ]{0,30}?\s*(?:=|\\approx|\\simeq|\\sim)\s*")
_UNIT_COMMANDS = r"mathrm|text|textrm|rm|mbox|operatorname|mathit|mu|Omega|AA|circ|degree|cdot|quad|odot|sun|prime"
_UNIT_OK_RE = re.compile(
    r"^(?:[A-Za-z%/~\s.,()°Åμ*']|\\(?:" + _UNIT_COMMANDS + r")(?![A-Za-z])|\{|\}|\^\s*\{?\s*-?\d\s*\}?"
    r"|\^\s*\{?\\(?:circ|prime)\}?|\\%|\\,|\\;|\\!|\\ )*$"
)
_WORD_RE = re.compile(r"\\(?:mathrm|text|textrm|rm|mbox|operatorname|mathit)\s*")
_DEGREE_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree")


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    sig_figs: int  # significant figures as written (an integer's trailing zeros do not count)
    decimals: int | None  # digits after the decimal point as written (None: scientific notation)
    unit: str  # canonical unit ("" when none): see canonical_unit


def _int(text: str | None) -> int:
    return int((text or "0").replace(" ", ""))


def sig_figs(mantissa: str) -> int:
    digits = mantissa.replace(".", "").lstrip("0")
    if "." not in mantissa:
        digits = digits.rstrip("0")
    return max(1, len(digits))


def parse_quantity(text: str) -> Quantity | None:
    """A number with an optional unit, or None when `text` is anything else."""
    s = strip_delimiters(text).replace(_MINUS, "-").replace("{,}", "").replace("\\!", "")
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    s = _ASSIGN_RE.sub("", s.strip(), count=1)
    m = None if _POWER_ONLY_RE.match(s) else _NUMBER_RE.match(s)
    if m:
        mant = m.group("mant")
        exponent = _int(m.group("e") or m.group("p1") or m.group("p2"))
        scientific = m.group("e") is not None or m.group("p1") is not None or m.group("p2") is not None
        try:
            value = Decimal(m.group("sign") + (mant if not mant.endswith(".") else mant[:-1] or "0")).scaleb(exponent)
        except InvalidOperation:
            return None
        figs = sig_figs(mant)
        decimals = None if scientific else (len(mant.split(".", 1)[1]) if "." in mant else 0)
    else:
        m = _POWER_ONLY_RE.match(s)
        if not m:
            return None
        value = Decimal(m.group("sign") + "1").scaleb(_int(m.group("p1") or m.group("p2")))
        figs, decimals = 1, None
    rest = s[m.end():].strip()
    if rest.startswith("^") and not _DEGREE_RE.match(rest):
        return None  # "2^{10}": a formula
    if rest and (not _UNIT_OK_RE.match(rest) or re.search(r"\d", _DEGREE_RE.sub("", re.sub(r"\^\s*\{?\s*-?\d\s*\}?", "", rest)))):
        return None
    if rest.startswith(("/", "(", ".")) and not rest.startswith("/ "):  # "3/4", "3(2)", "3.": formulas
        if not re.match(r"^/\s*[A-Za-z\\]", rest):
            return None
    return Quantity(value, figs, decimals, canonical_unit(rest))


def canonical_unit(text: str) -> str:
    """A unit's canonical spelling: `\\mathrm{~km} / \\mathrm{s}`, `km s^{-1}` -> `km/s`;
    degrees -> `deg`; plural words singular; "" for no unit."""
    s = _DEGREE_RE.sub(" deg ", text)
    s = _WORD_RE.sub(" ", s).replace("\\%", "%").replace("\\AA", "A").replace("Å", "A")
    s = re.sub(r"\\[,;! ]|~|\\cdot|\*|\\quad", " ", s)
    s = s.replace("{", " ").replace("}", " ")
    s = re.sub(r"\s*\^\s*(-?)\s*(\d)", r"^\1\2", s)
    s = re.sub(r"\b[Aa]ngstroms?\b", "A", s)
    s = re.sub(r"\bdegrees?\b", "deg", s)
    num: list[str] = []
    den: list[str] = []
    for i, part in enumerate(s.split("/")):
        for tok in part.split():
            tok = tok.strip(".,()")
            if not tok:
                continue
            m = re.match(r"^(.*?)\^(-?\d)$", tok)
            base, power = (m.group(1), int(m.group(2))) if m else (tok, 1)
            if len(base) >= 4 and base.isalpha():
                base = base.lower()
                base = base[:-1] if base.endswith("s") and not base.endswith("ss") else base
            base = {"year": "yr", "yrs": "yr", "sec": "s", "second": "s", "meter": "m", "metre": "m",
                    "ergs": "erg", "kelvin": "K", "hour": "h", "hr": "h", "minute": "min"}.get(base, base)
            target = num if (power > 0) == (i == 0) else den
            p = abs(power)
            target.append(base if p == 1 else f"{base}^{p}")
    if not num and not den:
        return ""
    return "*".join(sorted(num)) + ("/" + "*".join(sorted(den)) if den else "")


# ---------------------------------------------------------------------------------------
# The precision a problem asks for

_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_SIG_FIGS_RE = re.compile(r"\b(\d|one|two|three|four|five|six)\s+significant\s+(?:figures?|digits?)", re.IGNORECASE)
_DECIMALS_RE = re.compile(r"\b(\d|one|two|three|four|five|six)\s+decimal\s+places?", re.IGNORECASE)
_NEAREST_RE = re.compile(r"nearest\s+(integer|whole\s+number|tenth|hundredth|thousandth)", re.IGNORECASE)
_NEAREST_DECIMALS = {"integer": 0, "whole number": 0, "tenth": 1, "hundredth": 2, "thousandth": 3}


@dataclass(frozen=True)
class Precision:
    sig_figs: int | None = None
    decimals: int | None = None
    source: str = ""  # "problem" | "gold"

    def describe(self) -> str:
        what = f"{self.sig_figs} significant figures" if self.sig_figs is not None else f"{self.decimals} decimal places"
        return f"{what} ({'asked by the problem' if self.source == 'problem' else 'as the gold is written'})"


def asked_precision(problem: str) -> Precision | None:
    """The precision the problem states ("to two significant figures", "nearest tenth")."""
    m = _SIG_FIGS_RE.search(problem)
    if m:
        word = m.group(1).lower()
        return Precision(sig_figs=_WORD_NUMBERS.get(word) or int(word), source="problem")
    m = _DECIMALS_RE.search(problem)
    if m:
        word = m.group(1).lower()
        return Precision(decimals=_WORD_NUMBERS.get(word) if word in _WORD_NUMBERS else int(word), source="problem")
    m = _NEAREST_RE.search(problem)
    if m:
        return Precision(decimals=_NEAREST_DECIMALS[re.sub(r"\s+", " ", m.group(1).lower())], source="problem")
    return None


def agree(pred: Decimal, gold: Decimal, precision: Precision) -> bool:
    """Both values, rounded (half up) to the precision, are equal."""
    if precision.sig_figs is not None:
        if gold == 0:
            return pred == 0
        quantum = Decimal(1).scaleb(gold.adjusted() - precision.sig_figs + 1)
    else:
        quantum = Decimal(1).scaleb(-(precision.decimals or 0))
    try:
        return pred.quantize(quantum, ROUND_HALF_UP) == gold.quantize(quantum, ROUND_HALF_UP)
    except InvalidOperation:  # absurdly large against the quantum: not equal
        return False
