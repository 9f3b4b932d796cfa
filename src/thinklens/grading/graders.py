"""`grade(request) -> Score`: the request's grader (registry.py) extracts and compares; this
module turns that into a `Score` with an audit trail.

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

from typing import Any

from ..records import Score
from .extract import Extraction
from .math_equiv import Comparison, TooRisky
from .registry import get_grader
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


# ---------------------------------------------------------------------------------------
# Quick path (no sympy) and full grading: the request's grader decides (registry.py)


def grade_quick(req: GradeRequest) -> Score | None:
    """Every decision that needs no symbolic algebra; None means "needs `grade`"."""
    grader = get_grader(req.grader)
    found = grader.find(req)
    if found is None:
        return _no_answer(req)
    cmp = grader.quick(req, found)
    return _verdict(req, found, cmp) if cmp is not None else None


def grade(req: GradeRequest) -> Score:
    """Grade one answer in this process (pure and deterministic; no time limit: use
    `GradingPool` for untrusted answers at scale)."""
    quick = grade_quick(req)
    if quick is not None:
        return quick
    grader = get_grader(req.grader)
    found = grader.find(req)
    assert found is not None  # grade_quick returns a score when nothing is found
    try:
        cmp = grader.compare(req, found)
    except TooRisky as exc:
        return ungraded(req, str(exc), extracted=found.answer, extraction=found.how)
    return _verdict(req, found, cmp)
