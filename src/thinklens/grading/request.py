"""What a grader is asked: one answer text, its gold, and the context needed to judge it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class GradeRequest:
    """One answer to grade.

    `response` is the answer text *after* the reasoning (never the reasoning itself);
    `finish_reason == "length"` marks a generation cut off by the token limit.
    `problem` lets the grader honour form demands ("as a common fraction"); `choices`
    are the option texts in the order shown, so that "(B) 42" or "42" can be matched.
    `gold_info` holds what the grader declares it needs besides the gold text
    (`Grader.gold_fields`: the gold's unit, a tolerance, the answer type...), as sorted
    (key, value) pairs so the request stays hashable; a mapping is accepted.
    """

    grader: str
    response: str
    gold: str
    finish_reason: str | None = None
    problem: str = ""
    choices: tuple[str, ...] = ()
    gold_info: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        from .registry import grader_names  # a folder listing, no grader imported

        if self.grader not in grader_names():
            raise ValueError(f"unknown grader {self.grader!r}; expected one of {', '.join(grader_names())}")
        # Frozen: normalise through object.__setattr__ so a list of choices still hashes.
        if not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))
        object.__setattr__(self, "gold_info", freeze_info(self.gold_info))

    @property
    def info(self) -> dict[str, Any]:
        """`gold_info` as a dict."""
        return dict(self.gold_info)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GradeRequest":
        return cls(**d)


def freeze_info(info: Mapping[str, Any] | tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    """A gold_info mapping as sorted (key, value) pairs, lists made tuples (hashable)."""
    items = info.items() if isinstance(info, Mapping) else info
    return tuple(sorted((str(k), _frozen(v)) for k, v in items))


def _frozen(value: Any) -> Any:
    """Lists (an answer list, per-answer tolerances) as tuples: the request stays hashable."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def grader_for_dataset(dataset: str) -> str:
    """The grader a benchmark names, e.g. "aime24" -> "integer" (the benchmark registry
    decides; an unknown name raises DatasetError with a did-you-mean)."""
    from ..benchmarks.registry import get_benchmark

    return get_benchmark(dataset).grader
