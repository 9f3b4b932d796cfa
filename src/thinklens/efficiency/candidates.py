"""Candidate answers stated inside one reasoning step (for `--method verify`).

What counts as a step stating an answer, strongest first:

- `boxed`: every `\\boxed{...}` / `\\fbox{...}` (braces balanced);
- `answer_phrase`: "the (final) answer is X", "answer: X", "**Final Answer** X";
- `choice` (multiple choice only): "ANSWER: C", "the answer is (C)", "option C is
  correct", "\\boxed{C}";
- `equals`: the value after the *last* "=" (or "equals", "is equal to") of the step,
  and the value after its last "is / gives / resulting in" when that value is a
  number or a formula: the result a computation arrived at.  Only the last ones:
  earlier "=" are the way there, not a result.

The first three are conclusive (the model says "this is my answer"); `equals` is a
value the reasoning reached.  Each candidate is checked by the run's own grader
against the gold (see verify.py), so "correct" means what it means for the final
answer.  Every pattern is linear in the step length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..grading.extract import find_boxed
from ..grading.normalize import has_free_letters  # noqa: F401 - re-exported (verify.py, tests)
from ..grading.registry import get_grader


@dataclass(frozen=True)
class Candidate:
    text: str
    kind: str  # "boxed" | "answer_phrase" | "choice" | "equals"
    start: int  # offset in the step

    @property
    def conclusive(self) -> bool:
        return self.kind != "equals"


_BOX_AHEAD = re.compile(r"\\(?:boxed|fbox)\s*\{")  # a box starts here (the box itself is found by find_boxed)
_ANSWER_PHRASE = re.compile(
    r"(?:\bfinal\s+answer\b|\banswer\b)\s*(?:\*\*)?\s*(?:is\b|should\s+be\b|would\s+be\b|must\s+be\b|:|=)"
    r"[\s:*]*",
    re.IGNORECASE,
)
_FINAL_ANSWER_HEADING = re.compile(r"\*\*\s*final\s+answer\s*:?\s*\*\*\s*:?", re.IGNORECASE)
# "=" that is not part of <=, >=, ==, !=, \neq, :=, =>
_EQUALS = re.compile(r"(?<![<>=!:\\])=(?![=>])|\bequals\b|\bis\s+equal\s+to\b", re.IGNORECASE)
# "... is 1600", "resulting in \\(9901\\)": a result stated in words; the value must be a
# number or a formula in math delimiters ("which is negative" is not a value).
_RESULT_PHRASE = re.compile(
    r"\b(?:is|are|equals|gives|give|gives\s+us|yields|get|gets|got|obtain|becomes|comes\s+to|resulting\s+in"
    r"|results\s+in)\s+(?=\$|\\\(|\\\[|\(|[-+−]?\d|√|π)",
    re.IGNORECASE,
)
_VALUE_END = re.compile(
    r"\n|\$|\\\]|\\\)|;|\?|!|\.(?=\s|$)|,\s+(?=[A-Za-z]{2,})"
    r"|,?\s+(?:so|which|and|but|then|since|is|are|was|were|as|for|because|when|where|if|I|we|it|this|that|a|an"
    r"|the|of|in|to|at|by|or|with)\b"
)
# Math delimiters or emphasis that open the value ("= $18", "is \\( \\frac12 \\)").
_VALUE_START = re.compile(r"^(?:\s|\$|\\\(|\\\[|\*\*)*")
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_CHOICE_PATTERNS = (
    re.compile(r"\banswer\s*(?:\*\*)?\s*(?:is|:|should\s+be|would\s+be|must\s+be)?[\s:*]*(?:option\s*)?\(?\s*([A-J])\s*\)?(?![A-Za-z])",
               re.IGNORECASE),
    re.compile(r"\b(?:option|choice)\s*\(?([A-J])\)?\s+(?:is|seems|looks|must\s+be)\s+(?:the\s+)?(?:correct|right|best)", re.IGNORECASE),
    re.compile(r"\(([A-J])\)\s+is\s+(?:the\s+)?(?:correct|right|best)", re.IGNORECASE),
)
_MAX_VALUE = 80
_NUMBER_WITH_UNIT = re.compile(r"^([-+]?\d[\d,]*(?:\.\d+)?)\s+[A-Za-z]{1,12}\.?$")


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for m in pattern.finditer(text):
        last = m
    return last


def _boxed(step: str) -> list[Candidate]:
    # The graders' own box scanner: a box the grader would read is a box here, and no other.
    out = [Candidate(latex_from_unicode(content.strip()), "boxed", start)
           for start, _end, content in find_boxed(step) if content.strip()]
    if len(out) > 1:  # "\boxed{3}, \boxed{5}, and \boxed{7}": one answer in several boxes
        out.append(Candidate(", ".join(c.text for c in out), "boxed", out[0].start))
    return out


_UNICODE_MATH = {"²": "^2", "³": "^3", "⁴": "^4", "π": "\\pi", "×": "\\times", "·": "\\cdot", "−": "-",
                 "≤": "\\le ", "≥": "\\ge ", "∞": "\\infty", "±": "\\pm "}
_UNICODE_ROOT = re.compile(r"√\s*(\(([^()]*)\)|\{([^{}]*)\}|[\w.]+)")


def latex_from_unicode(value: str) -> str:
    """"√3/3", "6r² - 4r": plain-text math as LaTeX, which the graders parse."""
    if value.isascii():
        return value
    value = _UNICODE_ROOT.sub(lambda m: "\\sqrt{" + (m.group(2) or m.group(3) or m.group(1)) + "}", value)
    for k, v in _UNICODE_MATH.items():
        value = value.replace(k, v)
    return value


def clean_value(raw: str) -> str | None:
    """A stated value, cut at the end of its sentence and before prose ("18 dollars")."""
    raw = _VALUE_START.sub("", raw, count=1)
    m = _VALUE_END.search(raw)
    value = raw[: m.start()] if m else raw
    w = _WORD.search(value)
    if w:
        value = value[: w.start()]
    value = value.strip().strip("*").strip()
    value = value.rstrip(".,:").strip()
    for left, right in (("\\(", "\\)"), ("\\[", "\\]")):
        if value.startswith(left):
            value = value[len(left):].strip()
        if value.endswith(right):
            value = value[: -len(right)].strip()
    value = value.strip("$ ").strip()
    if not value or len(value) > _MAX_VALUE or value.count("{") != value.count("}"):
        return None
    if value[-1] in "+-*/^=<>\\":
        return None  # cut mid-expression ("x + a ..." read as "x +")
    if value.count("(") < value.count(")") or value.count("[") < value.count("]"):
        return None  # "... = 5) for the second case": cut inside a bracket
    eq = _last(_EQUALS, value)
    if eq is not None:  # "is x = 46": the value is the right-hand side
        value = value[eq.end():].strip()
        if not value:
            return None
    unit = _NUMBER_WITH_UNIT.match(value)
    if unit:
        value = unit.group(1)  # "12 cm"
    return latex_from_unicode(value)


def _answer_phrases(step: str) -> list[Candidate]:
    out = []
    for pattern in (_ANSWER_PHRASE, _FINAL_ANSWER_HEADING):
        for m in pattern.finditer(step):
            tail = step[m.end(): m.end() + 400]
            if _BOX_AHEAD.match(_VALUE_START.sub("", tail, count=1)):
                continue  # "the answer is \boxed{5}": the box is the candidate
            value = clean_value(tail)
            if value:
                out.append(Candidate(value, "answer_phrase", m.start()))
    return out


def _results(step: str) -> list[Candidate]:
    """The step's last "= value" and its last "is / gives / resulting in <number or formula>"."""
    out = []
    m = _last(_EQUALS, step)
    if m is not None:
        value = clean_value(step[m.end(): m.end() + 400])
        if value:
            out.append(Candidate(value, "equals", m.start()))
    m = _last(_RESULT_PHRASE, step)
    if m is not None:
        value = clean_value(step[m.end(): m.end() + 400])
        if value:
            out.append(Candidate(value, "equals", m.start()))
    return out


def _choices(step: str, n_choices: int) -> list[Candidate]:
    letters = "ABCDEFGHIJ"[: max(2, min(n_choices, 10))]
    out = []
    for pattern in _CHOICE_PATTERNS:
        for m in pattern.finditer(step):
            letter = m.group(1).upper()
            if letter in letters:
                out.append(Candidate(letter, "choice", m.start()))
    for c in _boxed(step):
        letter = c.text.strip().strip("()").upper()
        if len(letter) == 1 and letter in letters:
            out.append(Candidate(letter, "choice", c.start))
    return out


def find_candidates(step: str, grader: str, n_choices: int = 4, *, numeric_gold: bool = False) -> list[Candidate]:
    """Candidates of one step, in text order, duplicates (same text) dropped.

    `numeric_gold`: the answer has no unknowns, so a computed expression in unknowns
    ("6r + 24 - 6r") is work in progress, not a stated value: it is not a candidate.
    """
    if get_grader(grader).candidate_style == "choice":
        found = _choices(step, n_choices) + [
            c for c in _answer_phrases(step) if len(c.text.strip("() ")) > 1  # letters: found above
        ]
    else:
        results = _results(step)
        if numeric_gold:
            results = [c for c in results if not has_free_letters(c.text)]
        found = _boxed(step) + _answer_phrases(step) + results
    found.sort(key=lambda c: c.start)
    seen: set[str] = set()
    out = []
    for c in found:
        key = "".join(c.text.split())
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
