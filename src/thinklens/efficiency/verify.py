"""`--method verify`: the first step that states the correct answer, found without an LLM.

Each step's candidate answers (candidates.py) are checked by the run's own grader
against the gold, in the grading process pool (hard per-item time limit), so a
step is "correct" by exactly the rule that graded the final answer.  Candidates are
deduplicated per trace, and a candidate that is the gold character for character
is accepted without a grader call.

The same pass finds the solution rounds: steps that state an answer, i.e. that hold
a conclusive candidate (boxed, "the answer is", a chosen option) or a computed value
equal to the gold or to the trace's own final answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..grading import GradeRequest, GradingPool
from .candidates import Candidate, find_candidates
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


def _squash(s: str) -> str:
    return "".join(s.split()).strip("$").lower()


def candidate_request(trace: Trace, text: str, gold: str) -> GradeRequest:
    """A candidate as a response the grader reads unambiguously."""
    response = f"ANSWER: {text}" if trace.grader == "choice" else f"\\boxed{{{text}}}"
    return GradeRequest(grader=trace.grader, response=response, gold=gold, problem=trace.problem, choices=trace.choices)


class StepVerifier:
    def __init__(self, pool: GradingPool, *, max_traces_in_flight: int = 64):
        self.pool = pool
        self._slots = asyncio.Semaphore(max_traces_in_flight)
        self.grader_calls = 0

    async def _equal(self, trace: Trace, texts: list[str], gold: str) -> dict[str, bool | None]:
        verdicts: dict[str, bool | None] = {}
        to_grade = []
        for t in texts:
            if _squash(t) == _squash(gold):
                verdicts[t] = True
            else:
                to_grade.append(t)
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
        per_step: list[list[Candidate]] = [
            find_candidates(trace.text[a:b], trace.grader, n_choices) for a, b in spans
        ]
        unique = list(dict.fromkeys(c.text for cands in per_step for c in cands))
        vs_gold = await self._equal(trace, unique, trace.gold) if unique else {}
        # Computed values that are not the gold may still restate the trace's own (wrong) final answer.
        final = (trace.extracted or "").strip()
        vs_final: dict[str, bool | None] = {}
        if final:
            computed = list(dict.fromkeys(
                c.text for cands in per_step for c in cands if not c.conclusive and vs_gold.get(c.text) is not True
            ))
            if computed:
                vs_final = await self._equal(trace, computed, final)
        first: int | None = None
        solutions: list[int] = []
        checked: list[dict[str, Any]] = []
        ungraded = sum(1 for v in vs_gold.values() if v is None)
        for i, cands in enumerate(per_step):
            states_answer = False
            for c in cands:
                correct = vs_gold.get(c.text)
                checked.append({"step": i, "text": c.text, "kind": c.kind, "correct": correct})
                if correct and first is None:
                    first = i
                if c.conclusive or correct or vs_final.get(c.text):
                    states_answer = True
            if states_answer:
                solutions.append(i)
        return VerifyOutcome(first, solutions, checked, ungraded)
