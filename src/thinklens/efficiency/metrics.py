"""Per-trace efficiency and its summary per subset.

Definitions (T = reasoning tokens, T̂ = tokens from the start of the reasoning to the
end of the first step that reaches the correct answer, that step included):

- reasoning_tokens: mean T.
- first_correct_tokens, reflection_tokens (T − T̂), token_efficiency (T̂/T, mean of
  per-trace ratios): over the traces whose reasoning reaches a correct answer
  (`n_reached_correct` of them).
- thought_num: mean number of thought switches; solutions: mean solution rounds.
- accuracy: the run's own final-answer accuracy on the selected traces, as in the
  report (metrics.vote_correct): a trace without a verdict (grader timeout) counts as
  not correct and stays in the denominator; `n_graded` / `n_ungraded` say how many.
- xi_o (outcome efficiency, Chen et al. 2024): mean over traces of σ·T̂/T, σ = 1 when
  the final answer is proven correct (0 when wrong or ungraded); a correct trace whose
  reasoning never states the answer needed all of it (T̂ = T).
- xi_ut (underthinking score, Wang et al. 2025): mean over traces whose final answer
  is not proven correct (wrong or ungraded) of 1 − T̂/T, with T̂ = T when no step is
  correct.

Truncated traces (finish_reason "length") are counted in `n`, `n_truncated` and
`accuracy` (a truncated answer is graded like any other), but their token metrics
are reported apart under `truncated`: a trace cut at the cap says nothing about how
long the model would have thought.  Traces whose first correct step is undetermined
(judge answer unparsed, judge request failed) are left out of the metrics that need
it and counted in `n_judge_unparsed` / `n_judge_errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean
from typing import Any, Literal

FirstCorrectStatus = Literal["found", "none", "unparsed", "error"]

METRICS: tuple[str, ...] = (
    "reasoning_tokens", "first_correct_tokens", "reflection_tokens", "token_efficiency", "thought_num", "accuracy",
)
METRIC_TITLES = {
    "reasoning_tokens": "Reasoning tokens",
    "first_correct_tokens": "First-correct tokens",
    "reflection_tokens": "Reflection tokens",
    "token_efficiency": "Token efficiency",
    "thought_num": "Thought switches",
    "accuracy": "Accuracy",
}


@dataclass
class FirstCorrect:
    status: FirstCorrectStatus
    step: int | None = None  # index into the steps, when found
    offset: int | None = None  # character offset of the end of that step in the reasoning
    tokens: int | None = None  # T̂


@dataclass
class SampleEfficiency:
    key: str
    dataset: str
    subset: str
    group: str
    sample_id: str
    repeat: int
    no_reasoning: bool
    reasoning_source: str
    truncated: bool
    correct: bool | None
    tokens_exact: bool
    reasoning_tokens: int
    steps: list[tuple[int, int]]
    first_correct: FirstCorrect
    thought_switches: list[tuple[int, str]]
    solution_steps: list[int]
    method: str  # the method behind `first_correct`
    verify: FirstCorrect | None = None
    judge: FirstCorrect | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def reached(self) -> bool:
        return self.first_correct.status == "found"

    @property
    def determined(self) -> bool:
        return self.first_correct.status in ("found", "none")

    @property
    def ratio(self) -> float | None:
        """T̂/T, with T̂ = T when no step is correct; None when undetermined or T = 0."""
        if not self.determined or self.reasoning_tokens <= 0:
            return None
        if not self.reached:
            return 1.0
        return min(1.0, (self.first_correct.tokens or 0) / self.reasoning_tokens)

    @property
    def reflection_tokens(self) -> int | None:
        if not self.reached or self.first_correct.tokens is None:
            return None
        return self.reasoning_tokens - self.first_correct.tokens


def _mean(values: list[float]) -> float | None:
    return round(fmean(values), 4) if values else None


def summarize(samples: list[SampleEfficiency]) -> dict[str, Any]:
    complete = [s for s in samples if not s.truncated]
    truncated = [s for s in samples if s.truncated]
    out = {"n": len(samples), "n_complete": len(complete), "n_truncated": len(truncated)}
    out.update(_token_metrics(complete))
    # traces are answered generations (failed requests never reach here): an ungraded
    # one is "not correct" and stays in every denominator, as in report.json
    out["n_graded"] = sum(1 for s in samples if s.correct is not None)
    out["n_ungraded"] = sum(1 for s in samples if s.correct is None)
    out["accuracy"] = _mean([1.0 if s.correct is True else 0.0 for s in samples])
    scored = [s for s in complete if s.ratio is not None]
    out["xi_o"] = _mean([(s.ratio or 0.0) if s.correct is True else 0.0 for s in scored])
    wrong = [s for s in scored if s.correct is not True]
    out["n_incorrect"] = len(wrong)
    out["xi_ut"] = _mean([1.0 - (s.ratio or 0.0) for s in wrong])
    out["n_judge_unparsed"] = sum(1 for s in samples if s.first_correct.status == "unparsed")
    out["n_judge_errors"] = sum(1 for s in samples if s.first_correct.status == "error")
    out["n_no_reasoning"] = sum(1 for s in samples if s.no_reasoning)
    out["tokens_exact"] = all(s.tokens_exact for s in samples) if samples else True
    out["truncated"] = _token_metrics(truncated) | {"n": len(truncated)}
    return out


def _token_metrics(samples: list[SampleEfficiency]) -> dict[str, Any]:
    reached = [s for s in samples if s.reached and s.first_correct.tokens is not None]
    return {
        "reasoning_tokens": _mean([s.reasoning_tokens for s in samples]),
        "n_reached_correct": len(reached),
        "reasoning_tokens_reached": _mean([s.reasoning_tokens for s in reached]),
        "first_correct_tokens": _mean([s.first_correct.tokens for s in reached]),  # type: ignore[misc]
        "reflection_tokens": _mean([s.reflection_tokens for s in reached]),  # type: ignore[misc]
        "token_efficiency": _mean([s.ratio for s in reached if s.ratio is not None]),  # type: ignore[misc]
        "thought_num": _mean([len(s.thought_switches) for s in samples]),
        "solutions": _mean([len(s.solution_steps) for s in samples]),
    }


def agreement(samples: list[SampleEfficiency]) -> dict[str, Any]:
    """How often the verifier and the judge agree (method `both`)."""
    pairs = [(s.verify, s.judge) for s in samples if s.verify and s.judge
             and s.verify.status in ("found", "none") and s.judge.status in ("found", "none")]
    if not pairs:
        return {"n_compared": 0}
    same_reached = sum(1 for v, j in pairs if (v.status == "found") == (j.status == "found"))
    both_found = [(v, j) for v, j in pairs if v.status == "found" and j.status == "found"]
    same_step = sum(1 for v, j in pairs if v.status == j.status and v.step == j.step)
    diffs = [abs((v.step or 0) - (j.step or 0)) for v, j in both_found]
    token_diffs = [abs((v.tokens or 0) - (j.tokens or 0)) for v, j in both_found]
    return {
        "n_compared": len(pairs),
        "same_first_correct_step": round(same_step / len(pairs), 4),
        "same_reached_correct": round(same_reached / len(pairs), 4),
        "n_both_found": len(both_found),
        "verify_earlier": sum(1 for v, j in both_found if (v.step or 0) < (j.step or 0)),
        "judge_earlier": sum(1 for v, j in both_found if (j.step or 0) < (v.step or 0)),
        "mean_abs_step_difference": _mean([float(d) for d in diffs]),
        "mean_abs_token_difference": _mean([float(d) for d in token_diffs]),
        "only_verify_found": sum(1 for v, j in pairs if v.status == "found" and j.status == "none"),
        "only_judge_found": sum(1 for v, j in pairs if j.status == "found" and v.status == "none"),
    }
