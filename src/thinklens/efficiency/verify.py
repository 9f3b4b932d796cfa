"""`--method verify`: the first step that states the correct answer, found without an LLM.

Each step's candidate answers (candidates.py) are checked by the run's own grader
against the gold, in the grading process pool (hard per-item time limit), so a
step is "correct" by exactly the rule that graded the final answer.  Candidates are
deduplicated per trace, and candidates that no grader could judge otherwise (the
gold's own text; another number than a numeric gold) are settled without a grader
call (prescreen.py).

Steps are checked in order and the check stops at the first correct one: nothing
after it changes T̂.  The same pass finds the solution rounds: steps that state an
answer, i.e. that hold a conclusive candidate (boxed, "the answer is", a chosen
option) or a computed value written like the gold, the trace's final answer or one
of its conclusive statements (compared as text: restating an answer is restating it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..grading import GradeRequest, GradingPool
from ..grading.registry import get_grader
from .candidates import Candidate, find_candidates
from .prescreen import prescreen, spelling
from .steps import Span
from .traces import Trace


@dataclass
class VerifyOutcome:
    first_correct_step: int | None
    solution_steps: list[int]
    checked: list[dict[str, Any]] = field(default_factory=list)  # [{step, text, kind, correct}]
    ungraded: int = 0  # candidates whose grading timed out or failed: treated as not correct

    def to_detail(self) -> dict[str, Any]:
        return {"first_correct_step": self.first_correct_step, "solution_steps": self.solution_steps,
                "checked": self.checked, "ungraded": self.ungraded}


def candidate_request(trace: Trace, text: str, gold: str) -> GradeRequest:
    """A candidate as a response the grader reads unambiguously."""
    response = get_grader(trace.grader).candidate_response(text)
    return GradeRequest(grader=trace.grader, response=response, gold=gold, problem=trace.problem, choices=trace.choices,
                        gold_info=trace.gold_info)


class StepVerifier:
    def __init__(self, pool: GradingPool, *, max_traces_in_flight: int = 64):
        self.pool = pool
        self._slots = asyncio.Semaphore(max_traces_in_flight)
        self.grader_calls = 0

    async def _equal(self, trace: Trace, texts: list[str], gold: str) -> dict[str, bool | None]:
        verdicts: dict[str, bool | None] = {}
        to_grade = []
        for t in texts:
            quick = prescreen(t, gold)
            if quick is None:
                to_grade.append(t)
            else:
                verdicts[t] = quick
        if to_grade:
            self.grader_calls += len(to_grade)
            scores = await asyncio.gather(*(self.pool.grade(candidate_request(trace, t, gold)) for t in to_grade))
            for t, s in zip(to_grade, scores):
                verdicts[t] = s.correct
        return verdicts

    async def run(self, trace: Trace, spans: list[Span]) -> VerifyOutcome:
        async with self._slots:
            return await self._run(trace, spans)

    async def _run(self, trace: Trace, spans: list[Span]) -> VerifyOutcome:
        n_choices = len(trace.choices) or 4
        numeric_gold = get_grader(trace.grader).numeric_gold(trace.gold)
        per_step: list[list[Candidate]] = [
            find_candidates(trace.text[a:b], trace.grader, n_choices, numeric_gold=numeric_gold) for a, b in spans
        ]
        # Steps in order, each step's new candidates graded together; stop at the first correct.
        verdicts: dict[str, bool | None] = {}
        first: int | None = None
        for i, cands in enumerate(per_step):
            new = list(dict.fromkeys(c.text for c in cands if c.text not in verdicts))
            if new:
                verdicts.update(await self._equal(trace, new, trace.gold))
            if any(verdicts.get(c.text) for c in cands):
                first = i
                break
        checked = [
            {"step": i, "text": c.text, "kind": c.kind, "correct": verdicts.get(c.text)}
            for i, cands in enumerate(per_step[: (first + 1) if first is not None else len(per_step)])
            for c in cands
        ]
        # Solution rounds: a conclusive statement, or a computed value spelled like the
        # gold, the trace's final answer or one of its conclusive statements.
        targets = {spelling(t) for t in (trace.gold, trace.extracted or "") if t}
        targets |= {spelling(c.text) for cands in per_step for c in cands if c.conclusive}
        solutions = [
            i for i, cands in enumerate(per_step)
            if (first is not None and i == first)
            or any(c.conclusive or verdicts.get(c.text) or spelling(c.text) in targets for c in cands)
        ]
        ungraded = sum(1 for v in verdicts.values() if v is None)
        return VerifyOutcome(first, solutions, checked, ungraded)
