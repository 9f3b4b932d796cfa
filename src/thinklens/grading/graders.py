"""`grade(request) -> Score`: extraction, then the grader's comparison, with an audit trail.

Outcomes (`Score.reason`):

* ``correct`` / ``not_equivalent``: an answer was found and compared.
* ``no_answer``: nothing that states a final answer (correct=False).
* ``truncated``: finish_reason "length" and no final answer in what was produced
  (correct=False): cut off inside the reasoning or before the answer was written.
* ``ungraded``: no verdict (correct=None): the comparison timed out, crashed, or was
  refused as too explosive to attempt.  Never counted as wrong.

`Score.detail` says how the verdict came about: ``extraction`` (the tier that found the
answer), ``comparison`` (the rule that decided), ``notes``.  A later LLM judge records its
verdict under ``detail["judge"]`` and sets ``method="judge"``, keeping the rule's own
verdict under ``detail["rule"]``, so nothing here needs to change for it.

`grade_quick` makes every decision that needs no symbolic algebra; it is what the pool
runs in the parent process.  `grade` = `grade_quick`, else the symbolic comparison; so the
two always agree wherever the quick path answers.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..records import Score
from .extract import Extraction, find_answer, letter_of, strip_text_wrappers
from .magnitude import differ_by_size
from .math_equiv import Comparison, TooRisky, compare_math, compare_quick
from .normalize import normalize_answer, strip_delimiters, unwrap_text
from .request import GradeRequest

# ---------------------------------------------------------------------------------------
# Score builders


def _no_answer(req: GradeRequest) -> Score:
    if req.truncated:
        return Score(correct=False, reason="truncated", extracted=None, method="rule",
                     detail={"extraction": None, "notes": ["cut off (finish_reason=length) before a final answer"]})
    return Score(correct=False, reason="no_answer", extracted=None, method="rule", detail={"extraction": None})


def _verdict(req: GradeRequest, found: Extraction, cmp: Comparison) -> Score:
    detail: dict[str, Any] = {"extraction": found.how, "comparison": cmp.method}
    if cmp.notes:
        detail["notes"] = list(cmp.notes)
    if req.truncated:
        detail["truncated"] = True
    return Score(
        correct=cmp.equal,
        reason="correct" if cmp.equal else "not_equivalent",
        extracted=found.answer,
        method="rule",
        normalized_pred=cmp.norm_pred,
        normalized_gold=cmp.norm_gold,
        detail=detail,
    )


def ungraded(req: GradeRequest, why: str, extracted: str | None = None, **extra: Any) -> Score:
    """No verdict: shown apart as "ungraded", and scored as not correct (metrics.vote_correct)."""
    detail: dict[str, Any] = {"notes": [why], **extra}
    return Score(correct=None, reason="ungraded", extracted=extracted, method="rule", detail=detail)


def _find(req: GradeRequest) -> Extraction | None:
    return find_answer(
        req.response,
        req.grader,
        allow_fallback=not req.truncated,
        n_choices=len(req.choices) or 4,
    )


# ---------------------------------------------------------------------------------------
# Numbers (integer / gsm8k)

_NUMBER_IN_TEXT_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def _plain_number(s: str) -> Decimal | None:
    """A lone number ("023", "1,080", "$18.00", "18 dollars", "x = 5") as a Decimal."""
    n = normalize_answer(s)
    n = re.sub(r"^\\?[A-Za-z]\w*=", "", n)  # "x=5" / "n=023"
    n = n.replace(",", "")
    n = re.sub(r"^\+", "", n)
    try:
        return Decimal(n) if re.fullmatch(r"-?(?:\d+(?:\.\d*)?|\.\d+)", n) else None
    except InvalidOperation:
        return None


def _number_in_text(s: str) -> Decimal | None:
    """The last number of a short phrase ("She earns $18 per day" -> 18)."""
    text = strip_text_wrappers(unwrap_text(strip_delimiters(s))).replace("\\$", "$").replace("\\!", "")
    found = _NUMBER_IN_TEXT_RE.findall(text)
    if not found:
        return None
    try:
        return Decimal(found[-1].replace(",", ""))
    except InvalidOperation:
        return None


def _compare_numbers(pred: Decimal, gold: Decimal, method: str, norm_pred: str, norm_gold: str) -> Comparison:
    return Comparison(pred == gold, method, norm_pred, norm_gold)


# ---------------------------------------------------------------------------------------
# Quick path (no sympy) and full grading


def grade_quick(req: GradeRequest) -> Score | None:
    """Every decision that needs no symbolic algebra; None means "needs `grade`"."""
    found = _find(req)
    if found is None:
        return _no_answer(req)
    if req.grader == "choice":
        return _verdict(req, found, _compare_choice(req, found.answer))
    if req.grader in ("integer", "gsm8k"):
        cmp = _compare_number_quick(req, found)
        return _verdict(req, found, cmp) if cmp is not None else None
    cmp = compare_quick(found.answer, req.gold, req.problem)
    return _verdict(req, found, cmp) if cmp is not None else None


def grade(req: GradeRequest) -> Score:
    """Grade one answer in this process (pure and deterministic; no time limit: use
    `GradingPool` for untrusted answers at scale)."""
    quick = grade_quick(req)
    if quick is not None:
        return quick
    found = _find(req)
    assert found is not None  # grade_quick returns a score when nothing is found
    try:
        cmp = compare_math(found.answer, _gold_for_math(req), req.problem)
    except TooRisky as exc:
        return ungraded(req, str(exc), extracted=found.answer, extraction=found.how)
    return _verdict(req, found, cmp)


def _gold_for_math(req: GradeRequest) -> str:
    if req.grader in ("integer", "gsm8k"):
        gold = _plain_number(req.gold) or _number_in_text(req.gold)
        return str(gold) if gold is not None else req.gold
    return req.gold


def _compare_number_quick(req: GradeRequest, found: Extraction) -> Comparison | None:
    gold = _plain_number(req.gold)
    if gold is None:
        gold = _number_in_text(req.gold)
    pred = _plain_number(found.answer)
    method = "integer" if req.grader == "integer" else "number"
    norm_gold = str(gold) if gold is not None else normalize_answer(req.gold)
    if pred is not None and gold is not None:
        return _compare_numbers(pred, gold, method, _canon(pred), _canon(gold))
    if req.grader == "gsm8k" and found.how in ("answer_phrase", "last_number"):
        # GSM8K answers stated in words: "She makes $18 every day."
        pred = _number_in_text(found.answer)
        if pred is not None and gold is not None:
            return _compare_numbers(pred, gold, "number_in_text", _canon(pred), _canon(gold))
    if gold is None:
        return None
    if differ_by_size(strip_delimiters(found.answer), str(gold)):
        return Comparison(False, "magnitude", normalize_answer(found.answer)[:200], norm_gold,
                          ["the sizes of the two numbers differ"])
    # A formula (\frac{46}{2}, 2^{5}): leave it to the symbolic comparison.
    return None if re.search(r"\d", found.answer) else Comparison(False, method, normalize_answer(found.answer), norm_gold)


def _canon(d: Decimal) -> str:
    s = format(d.normalize(), "f")
    return s


# ---------------------------------------------------------------------------------------
# Multiple choice


def _compare_choice(req: GradeRequest, answer: str) -> Comparison:
    n = len(req.choices) or 4
    gold_letter = letter_of(req.gold, n) or _option_by_text(req.gold, req.choices)
    pred_letter = letter_of(answer, n)
    method = "option_letter"
    if pred_letter is None:
        pred_letter = _option_by_text(answer, req.choices)
        method = "option_text"
    if gold_letter is None:
        return Comparison(False, method, pred_letter or normalize_answer(answer), req.gold,
                          ["the gold names no option; give a letter or one of the choices"])
    if pred_letter is None:
        return Comparison(False, method, normalize_answer(answer), gold_letter, ["the answer names no option"])
    return Comparison(pred_letter == gold_letter, method, pred_letter, gold_letter)


def _option_by_text(answer: str, choices: tuple[str, ...]) -> str | None:
    """The letter of the option whose text the answer repeats ("42" or "(B) 42")."""
    if not choices:
        return None
    norm = normalize_answer(re.sub(r"^\s*\(?[A-Z]\)\s*|^\s*[A-Z][.:]\s+", "", strip_text_wrappers(answer)))
    hits = [chr(ord("A") + i) for i, c in enumerate(choices) if normalize_answer(c) == norm]
    if len(hits) == 1:
        return hits[0]
    number = _plain_number(answer)
    if number is not None:
        hits = [chr(ord("A") + i) for i, c in enumerate(choices) if _plain_number(c) == number]
        if len(hits) == 1:
            return hits[0]
    return None
