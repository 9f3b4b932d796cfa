"""Answer equivalence by an LLM: the optional fallback of the graders.

Strategies (`TaskConfig.judge_strategy`): `rule` (no judge), `llm` (the judge's
verdict replaces the rule's), `rule_then_llm` (the judge is asked only when the
rule found no match).  In every case a judge failure (request error or an
unreadable verdict) leaves the sample rule-graded: `score_with_verdict` says how.
"""

from __future__ import annotations

import dataclasses
import re

from ..records import Score
from .core import Judge, JudgeVerdict, ParsedVerdict, Unparseable

PURPOSE = "grading.equivalence"

# Long answers are cut in the middle: the final answer is at the end, the problem's
# framing at the start; the cut is marked so the judge knows text is missing.
MAX_RESPONSE_CHARS = 6000

EQUIVALENCE_PROMPT = """You are grading a student's answer to a problem against the reference answer.

Decide whether the final answer in the student's response is mathematically equivalent to the reference answer. Equivalent forms count as the same (for example 0.5, 1/2 and \\frac{{1}}{{2}}; x=3 and 3; different but equal expressions; units written or omitted). Ignore the student's reasoning and judge only the final answer. If the response gives no final answer, or gives several different final answers, it is not equivalent.

[Problem]
{problem}

[Reference answer]
{gold}

[Student response]
{response}

Reply with one short sentence of explanation, then a last line that is exactly "Verdict: EQUIVALENT" or "Verdict: NOT EQUIVALENT"."""

_VERDICT = re.compile(
    r"verdict\s*[:：]?\s*[*_`\"']*\s*(not\s+equivalent|equivalent|incorrect|correct|yes|no|true|false)\b",
    re.IGNORECASE,
)
_POSITIVE = {"equivalent", "correct", "yes", "true"}


def equivalence_prompt(problem: str, gold: str, response: str) -> str:
    if len(response) > MAX_RESPONSE_CHARS:
        half = MAX_RESPONSE_CHARS // 2
        response = response[:half] + "\n[... middle of the response omitted ...]\n" + response[-half:]
    return EQUIVALENCE_PROMPT.format(problem=problem.strip() or "(not given)", gold=gold.strip(), response=response.strip())


def parse_equivalence(text: str) -> ParsedVerdict:
    """The last `Verdict: ...` line decides; text before it is the explanation."""
    matches = list(_VERDICT.finditer(text))
    if not matches:
        raise Unparseable("no 'Verdict: EQUIVALENT / NOT EQUIVALENT' line in the judge's answer")
    last = matches[-1]
    word = " ".join(last.group(1).lower().split())
    explanation = text[: last.start()].strip()
    return ParsedVerdict(value=word in _POSITIVE, explanation=explanation)


async def judge_equivalence(judge: Judge, problem: str, gold: str, response: str) -> JudgeVerdict:
    """Ask the judge whether `response` (the answer after the reasoning) matches `gold`.
    `verdict.value` is True/False when `verdict.ok`."""
    return await judge.ask(PURPOSE, equivalence_prompt(problem, gold, response), parse_equivalence, max_tokens=512)


def score_with_verdict(rule_score: Score, verdict: JudgeVerdict) -> Score:
    """The score to store once the judge has spoken.

    A verdict replaces the rule's (method "judge", the verdict in `detail["judge"]`);
    a failed or unreadable verdict keeps the rule's score, with the failure recorded
    in `detail["judge"]` so that it is visible and counted, never a wrong answer.
    """
    detail = {**rule_score.detail, "judge": verdict.to_detail(), "rule": {
        "correct": rule_score.correct, "reason": rule_score.reason, "extracted": rule_score.extracted}}
    if not verdict.ok:
        return dataclasses.replace(rule_score, detail=detail)
    return dataclasses.replace(
        rule_score,
        correct=bool(verdict.value),
        reason="correct" if verdict.value else "not_equivalent",
        method="judge",
        detail=detail,
    )
