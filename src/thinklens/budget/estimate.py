"""The accuracy-vs-budget curve from per-trace timelines and candidate verdicts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ..cost import Prices, TokenTotals, split_completion
from ..efficiency.traces import Trace
from ..metrics import OVERALL
from ..stats import mean_interval, problem_means
from ..store.budget import CandidateKey, TraceUsage
from .timeline import Timeline


def doubling_grid(longest: int, start: int = 256) -> list[int]:
    """start, 2*start, ... up to the first budget that holds the longest trace."""
    grid = [start]
    while grid[-1] < longest:
        grid.append(grid[-1] * 2)
    return grid


@dataclass(frozen=True)
class TraceAtBudget:
    outcome: str  # closed (own final answer) | forced (a candidate) | none (nothing stated yet)
    correct: bool
    reasoning_tokens: int  # spent: min(length, budget)


def at_budget(trace: Trace, tl: Timeline, budget: int, verdicts: dict[CandidateKey, bool]) -> TraceAtBudget:
    spent = min(tl.length, budget)
    if tl.closes_within(budget):
        return TraceAtBudget("closed", bool(trace.correct), spent)
    answer = tl.forced(budget)
    if answer is None:
        return TraceAtBudget("none", False, spent)
    return TraceAtBudget("forced", verdicts.get(CandidateKey(trace.key, answer, trace.gold, trace.grader), False), spent)


def needed(traces: Sequence[Trace], timelines: dict[str, Timeline], budgets: Sequence[int]) -> set[tuple[Trace, str, str]]:
    """The (trace, candidate, gold) checks the curve needs: only answers forced at a budget."""
    out = set()
    for t in traces:
        tl = timelines[t.key]
        for b in budgets:
            if not tl.closes_within(b):
                answer = tl.forced(b)
                if answer is not None:
                    out.add((t, answer, t.gold))
    return out


@dataclass(frozen=True)
class BudgetRow:
    subset: str
    budget: int
    traces: int
    problems: int
    accuracy: float
    ci_low: float | None
    ci_high: float | None
    closed: int  # traces that finished within the budget
    forced: int  # traces cut, answered with their last candidate
    no_candidate: int  # cut before stating any answer (wrong)
    tokens: dict  # cost: prompt / reasoning / answer totals (and USD with prices)

    def to_dict(self) -> dict:
        return asdict(self)


def curve(traces: Sequence[Trace], timelines: dict[str, Timeline], budgets: Sequence[int],
          verdicts: dict[CandidateKey, bool], usage: dict[str, TraceUsage], prices: Prices,
          level: float = 0.95) -> list[BudgetRow]:
    """Rows per subset (in first-seen order) then OVERALL, each over every budget."""
    groups: dict[str, list[Trace]] = defaultdict(list)
    for t in traces:
        groups[t.subset].append(t)
    groups[OVERALL] = list(traces)
    rows = []
    for subset, members in groups.items():
        for b in budgets:
            per_problem: dict[str, list[float]] = defaultdict(list)
            counts = {"closed": 0, "forced": 0, "none": 0}
            prompt = reasoning = answer = 0
            for t in members:
                r = at_budget(t, timelines[t.key], b, verdicts)
                counts[r.outcome] += 1
                per_problem[t.sample_id].append(float(r.correct))
                u = usage.get(t.key)
                prompt += (u.prompt_tokens or 0) if u else 0
                reasoning += r.reasoning_tokens
                # A forced answer's length is not observed: the trace's own answer length stands in.
                split = split_completion(u.completion_tokens, u.reasoning_tokens) if u else None
                answer += split[1] if split else 0
            iv = mean_interval(problem_means(list(per_problem.values())), level)
            spent = TokenTotals(prompt, reasoning, answer, len(members))
            rows.append(BudgetRow(
                subset=subset, budget=b, traces=len(members), problems=len(per_problem),
                accuracy=round(iv.estimate, 4), ci_low=_clip(iv.low), ci_high=_clip(iv.high),
                closed=counts["closed"], forced=counts["forced"], no_candidate=counts["none"],
                tokens=spent.to_dict(prices),
            ))
    return rows


def _clip(x: float | None) -> float | None:
    return None if x is None else round(min(1.0, max(0.0, x)), 4)
