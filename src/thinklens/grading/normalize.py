"""Meaning-preserving normalisation of a LaTeX answer string.

Two answers whose normal forms are identical are equal, with no symbolic work: this is the
cheap fast path the grading pool runs in the parent process.  Every rewrite here must
therefore keep the value: spacing and sizing commands, `\\dfrac` vs `\\frac`, braces around
one-character arguments, units and degree signs (the number is the answer), thousands
separators in a lone number, dollar signs, a trailing full stop.  Nothing here changes
case, drops a variable, or reorders anything.
"""

from __future__ import annotations

import re
from functools import lru_cache

_DELIMITERS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_WRAPPER_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_SPACING_RE = re.compile(r"(?<!\\)\\[,;:! ]|\\q?quad\b|\\displaystyle\b|\\limits\b|~")
_LEFT_RIGHT_RE = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])\.?")
_FRAC_ALIAS_RE = re.compile(r"\\[dt]frac(?![A-Za-z])")
_TEXT_CMD = r"\\(?:text|textbf|textrm|textit|mathrm|mathbf|mbox|operatorname)\s*\{"
_TEXT_GROUP_RE = re.compile(_TEXT_CMD + r"([^{}]*)\}")
_DEGREE_RE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree\b|\^\s*\{\s*\\text\{o\}\s*\}")
# Multi-letter unit words only: a lone "m" or "s" after a number may be a variable.
_UNIT_WORDS = (
    "inches|inch|feet|foot|ft|yards|yard|yd|miles|mile|meters|meter|metres|metre|"
    "centimeters|centimeter|cm|millimeters|millimeter|mm|kilometers|kilometer|km|"
    "square|sq|cubic|units|unit|degrees|degree|radians|radian|"
    "cents|cent|dollars|dollar|hours|hour|hrs|minutes|minute|mins|seconds|second|"
    "days|day|weeks|week|years|year|months|month|mph|kmph|pounds|pound|lbs|lb|ounces|ounce|oz|"
    "grams|gram|kilograms|kilogram|kg|liters|liter|litres|litre|ml|gallons|gallon|"
    "people|students|ways|times|steps|percent|points|sides|dots|digits|grade|miles per hour"
)
_TRAILING_UNITS_RE = re.compile(
    r"(?<=[\d}).\s])\s*(?:(?:" + _UNIT_WORDS + r")(?:\s*(?:\^\s*\{?\s*[23]\s*\}?|²|³))?\s*)+\.?$",
    re.IGNORECASE,
)
# "12^{\text{th}}", "12th", "3^{rd}": the number is the answer.
_ORDINAL_RE = re.compile(
    r"(\d)\s*(?:\^\s*\{?\s*)?(?:\\(?:text|mathrm|textrm)\s*\{\s*)?(?:st|nd|rd|th)\b\s*\}?\s*\}?"
)
_PERCENT_RE = re.compile(r"\\?%|\\percent\b")
_DOLLAR_RE = re.compile(r"\\\$|\$")
_THOUSANDS_NUMBER_RE = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_FRAC_SHORT_RE = re.compile(r"\\frac\s*(\d|\\?[A-Za-z])\s*(\d|\\?[A-Za-z])")
_FRAC_ONE_SHORT_A_RE = re.compile(r"\\frac\s*(\d|[A-Za-z])\s*\{")
_FRAC_ONE_SHORT_B_RE = re.compile(r"(\\frac\{[^{}]*\})\s*(\d|[A-Za-z])")
_SQRT_SHORT_RE = re.compile(r"\\sqrt\s*(\d+|[A-Za-z])")
_ONE_CHAR_GROUP_RE = re.compile(r"([_^])\{(\w)\}")
_LEADING_DOT_RE = re.compile(r"(?<![\d}])\.(\d)")
_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u00d7": "\\times", "\u00b7": "\\cdot", "\u22c5": "\\cdot",
    "\u03c0": "\\pi", "\u221e": "\\infty", "\u221a": "\\sqrt", "\u2264": "\\le", "\u2265": "\\ge",
    "\u2260": "\\ne", "\u00b1": "\\pm", "\u222a": "\\cup", "\u2229": "\\cap", "\u03b8": "\\theta",
    "\u00bd": "\\frac{1}{2}", "\u00bc": "\\frac{1}{4}", "\u00be": "\\frac{3}{4}",
}
_CMD_ALIASES = (
    (re.compile(r"\\leq?(?![A-Za-z])|\\leqslant\b"), "\\le"),
    (re.compile(r"\\geq?(?![A-Za-z])|\\geqslant\b"), "\\ge"),
    (re.compile(r"\\neq?(?![A-Za-z])"), "\\ne"),
    (re.compile(r"\\infin\b"), "\\infty"),
    (re.compile(r"\\lbrace\b"), "\\{"),
    (re.compile(r"\\rbrace\b"), "\\}"),
)


def strip_delimiters(s: str) -> str:
    """Remove math delimiters and \\boxed{} around the whole answer, repeatedly."""
    for _ in range(4):
        s = s.strip()
        before = s
        for left, right in _DELIMITERS:
            if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
                s = s[len(left) : len(s) - len(right)].strip()
        m = _WRAPPER_RE.match(s)
        if m and s.endswith("}") and _balanced(s[m.end() : -1]):
            s = s[m.end() : -1]
        if s == before:
            break
    return s


def _balanced(s: str) -> bool:
    depth = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0


def unwrap_text(s: str) -> str:
    """`\\text{...}` and friends -> their content (a text-only answer keeps its words)."""
    for _ in range(4):
        new = _TEXT_GROUP_RE.sub(lambda m: m.group(1), s)
        if new == s:
            break
        s = new
    return s


def join_thousands(s: str) -> str:
    """`10,\\!080` / `58,500` -> `10080` when the whole answer is one such number."""
    compact = s.replace("\\!", "").replace("{,}", ",").replace(" ", "")
    if _THOUSANDS_NUMBER_RE.fullmatch(compact):
        return compact.replace(",", "")
    return s


MAX_NORMALIZE_CHARS = 3000


def normalize_answer(s: str) -> str:
    """The canonical string of an answer: equal strings mean equal answers."""
    if len(s) > MAX_NORMALIZE_CHARS:
        # Far longer than any real answer: only whitespace, so no pattern can run long.
        return "".join(s.replace("\x00", "").split())
    return _normalize_cached(s)


@lru_cache(maxsize=16384)
def _normalize_cached(s: str) -> str:
    # Golds repeat across repeats and models: normalising each once pays off.
    s = s.replace("\x00", "")
    for k, v in _UNICODE.items():
        if k in s:
            s = s.replace(k, v)
    s = strip_delimiters(s)
    s = _FRAC_ALIAS_RE.sub(r"\\frac", s)
    s = _LEFT_RIGHT_RE.sub("", s)
    for pattern, repl in _CMD_ALIASES:
        s = pattern.sub(lambda _m, r=repl: r, s)
    s = _DEGREE_RE.sub("", s)
    s = _ORDINAL_RE.sub(r"\1", s)
    s = _PERCENT_RE.sub("", s)
    s = _DOLLAR_RE.sub("", s)
    s = join_thousands(s)
    # Units: a text group after a number ("5.4 \text{ cents}", "864 \mbox{ inches}^2").
    s = re.sub(r"(?<=[\d}).])\s*" + _TEXT_CMD + r"\s*[A-Za-z][A-Za-z ]*\}(?:\s*\^\s*\{?[23]\}?)?\s*$", "", s)
    s = unwrap_text(s)
    s = _SPACING_RE.sub(" ", s)
    s = _TRAILING_UNITS_RE.sub("", s) if re.search(r"\d", s) else s
    s = _SQRT_SHORT_RE.sub(r"\\sqrt{\1}", s)
    s = _FRAC_SHORT_RE.sub(r"\\frac{\1}{\2}", s)
    s = _FRAC_ONE_SHORT_A_RE.sub(r"\\frac{\1}{", s)
    s = _FRAC_ONE_SHORT_B_RE.sub(r"\1{\2}", s)
    s = s.replace(" ", "").replace("\t", "").replace("\n", "")
    s = join_thousands(s)
    s = _ONE_CHAR_GROUP_RE.sub(r"\1\2", s)
    s = _LEADING_DOT_RE.sub(r"0.\1", s)
    s = s.rstrip(".").strip()
    if s.startswith("{") and s.endswith("}") and _balanced(s[1:-1]):
        s = s[1:-1]
    return s


_FUNCTION_NAMES_RE = re.compile(r"\\[A-Za-z]+|\b(?:ln|log|sin|cos|tan|sec|csc|cot|arcsin|arccos|arctan|sqrt|exp)\b")
_TEXT_GROUP_ANY_RE = re.compile(r"\\(?:text|mbox|mathrm|textbf|textit|operatorname)\s*\{[^{}]*\}")
_ASCII_LETTER_RE = re.compile(r"[A-Za-z]")


def has_free_letters(s: str) -> bool:
    """Letters that are not a LaTeX command, a function name or text: unknowns."""
    return bool(_ASCII_LETTER_RE.search(_FUNCTION_NAMES_RE.sub("", _TEXT_GROUP_ANY_RE.sub("", s))))
