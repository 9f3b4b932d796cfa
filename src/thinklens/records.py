"""Typed records that flow between modules.

Benchmarks produce `Sample`s, clients produce `Generation`s, graders produce
`Score`s, and the store keeps one `SampleResult` per (sample, repeat).  Modules
exchange these records, never loose dicts; `to_dict`/`from_dict` exist only for
the edges (SQLite rows, JSON files, worker processes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# Where the reasoning of a generation came from (DESIGN.md: "Reasoning is never graded").
ReasoningSource = Literal[
    "reasoning_content",  # OpenAI-compatible servers (vLLM, SGLang, DeepSeek API)
    "reasoning",  # Ollama, OpenRouter, newer vLLM
    "reasoning_details",  # OpenRouter structured details
    "think_tags",  # paired <think>...</think> inline in the content
    "lone_close_tag",  # only </think>: the chat template prefilled <think>
    "unclosed_open_tag",  # <think> never closed: truncated inside the reasoning
    "none",  # no reasoning found; the whole output is the answer
]

# Why a score is what it is.  `correct`/`not_equivalent` are verdicts; the rest are not.
ScoreReason = Literal["correct", "not_equivalent", "no_answer", "truncated", "ungraded", "error"]

Message = dict[str, Any]  # an OpenAI chat message: {"role": ..., "content": ...}


@dataclass(frozen=True)
class Sample:
    """One question of a benchmark, ready to send."""

    id: str
    dataset: str
    subset: str
    messages: list[Message]
    gold: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # From the server (completion_tokens_details.reasoning_tokens) when it reports them;
    # otherwise estimated from the character share of the reasoning and marked so.
    reasoning_tokens: int | None = None
    reasoning_tokens_estimated: bool = False


@dataclass
class Timings:
    """Seconds.  `start` is wall-clock (time.time()); the rest are durations from it."""

    start: float | None = None
    ttft: float | None = None  # first token of reasoning *or* content
    ttfat: float | None = None  # first token of the answer (content after reasoning)
    e2e: float | None = None


@dataclass
class Generation:
    """What one request returned: the answer split from its reasoning, or an error."""

    content: str = ""
    reasoning: str = ""
    reasoning_source: ReasoningSource = "none"
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    timings: Timings = field(default_factory=Timings)
    error: str | None = None  # set when the request failed after all retries
    attempts: int = 1
    endpoint: str | None = None
    # Budget forcing only (budget/forcing.py): budget, forced, the phases' finish reasons and
    # token counts.  The runner stores it in the sample's meta as `budget_forcing`.
    forcing: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    @property
    def truncated_in_reasoning(self) -> bool:
        """Cut off before the answer started: the reasoning never closed."""
        return self.truncated and not self.content.strip()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Generation":
        d = dict(d)
        d["usage"] = Usage(**(d.get("usage") or {}))
        d["timings"] = Timings(**(d.get("timings") or {}))
        return cls(**d)


@dataclass
class Score:
    """A grader's verdict with its audit trail.

    `correct` is None whenever there is no verdict (ungraded, or a failed request).
    Both are counted apart; an ungraded answer still scores as not correct, while a
    failed request is left out of accuracy and retried (metrics.vote_correct).  `no_answer` and
    `truncated` are verdicts of "wrong" (correct=False) with their reason kept.
    """

    correct: bool | None
    reason: ScoreReason
    extracted: str | None = None
    method: str = "rule"  # "rule" | "judge"
    normalized_pred: str | None = None
    normalized_gold: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # judge verdict/explanation, timings...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Score":
        return cls(**d)


@dataclass
class SampleResult:
    """One (sample, repeat): the unit of resume, storage and metrics."""

    key: str
    sample: Sample
    repeat: int
    generation: Generation
    score: Score | None = None


@dataclass(frozen=True)
class SubsetStats:
    """Per-subset counts shown next to the score table (report.json too)."""

    dataset: str
    subset: str
    samples: int  # distinct questions
    generations: int  # questions x repeats that have a stored row
    graded: int
    truncated: int
    no_answer: int
    errors: int
    ungraded: int  # answered, but no verdict: counted here and as "not correct" in every score
    # The token means share one denominator: `tokens_over` ok generations (those with a
    # completion token count; a missing reasoning count among them is 0).
    tokens_over: int
    mean_completion_tokens: float | None
    mean_reasoning_tokens: float | None


@dataclass(frozen=True)
class ScoreRow:
    """One row of the guide's table: Model | Dataset | Metric | Subset | Num | Score."""

    model: str
    dataset: str
    metric: str
    subset: str
    num: int
    score: float
    stderr: float | None = None
    # the score's confidence interval and how it was computed (report/intervals.py)
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None
