"""What a trace would answer if its reasoning were cut at B tokens.

The assumptions (also written into budget.json and printed):

- the reasoning is split into steps (paragraphs, as `thinklens efficiency` does) and
  each step's candidate answers are found by efficiency/candidates.py;
- a candidate counts as stated once its step is complete: at the token count of the
  step's end;
- the answer forced at B is the last candidate stated at or before B (the last one
  of the latest step that has any); none stated yet: the trace counts as wrong;
- a trace whose reasoning closed within B tokens keeps its own final answer's grade;
- a truncated trace never closed: past its end, its forced answer is its last candidate.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

from ..efficiency.candidates import find_candidates
from ..efficiency.steps import split_separator
from ..efficiency.tokens import ApproximateTokens, TokenizedText
from ..efficiency.traces import Trace
from ..grading.registry import get_grader

CandidateSet = Literal["all", "conclusive"]

ASSUMPTIONS = (
    "steps are paragraphs of the reasoning; a candidate answer counts as stated at the token where its step ends",
    "the answer forced at budget B is the last candidate stated at or before B tokens of reasoning",
    "a trace with no candidate stated before B counts as wrong at B",
    "a trace whose reasoning closed within B tokens keeps the grade of its own final answer",
    "a truncated trace never closed: past its end, its forced answer is its last candidate",
    "an ungraded candidate (grader timeout) counts as not correct",
)


@dataclass(frozen=True)
class ForcedPoint:
    """From `tokens` on (until the next point), the forced answer is `answer`."""

    tokens: int
    answer: str


@dataclass(frozen=True)
class Timeline:
    key: str
    length: int  # reasoning tokens
    closed: bool  # the reasoning ended by itself (not cut by max_tokens)
    points: tuple[ForcedPoint, ...]  # increasing tokens; each point changes the forced answer

    def forced(self, budget: int) -> str | None:
        """The answer forced at `budget` tokens of reasoning (None: nothing stated yet)."""
        i = bisect_right([p.tokens for p in self.points], budget)
        return self.points[i - 1].answer if i else None

    def closes_within(self, budget: int) -> bool:
        return self.closed and self.length <= budget


def reasoning_closed(trace: Trace) -> bool:
    """Reasoning that ended by itself: not cut by the token limit before an answer began."""
    return not trace.truncated or bool(trace.content.strip()) and not trace.no_reasoning


def build_timeline(trace: Trace, view: TokenizedText | ApproximateTokens, candidates: CandidateSet = "all") -> Timeline:
    n_choices = len(trace.choices) or 4
    numeric_gold = get_grader(trace.grader).numeric_gold(trace.gold)  # the grader knows its golds
    points: list[ForcedPoint] = []
    for a, b in split_separator(trace.text):
        found = find_candidates(trace.text[a:b], trace.grader, n_choices, numeric_gold=numeric_gold)
        if candidates == "conclusive":
            found = [c for c in found if c.conclusive]
        if not found:
            continue
        answer = found[-1].text  # the step's last statement is what it leaves the reader with
        tokens = view.tokens_before(b)
        if points and points[-1].answer == answer:
            continue
        if points and points[-1].tokens == tokens:
            points[-1] = ForcedPoint(tokens, answer)
        else:
            points.append(ForcedPoint(tokens, answer))
    return Timeline(trace.key, view.count, reasoning_closed(trace), tuple(points))
