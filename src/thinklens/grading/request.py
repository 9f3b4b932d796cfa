"""What a grader is asked: one answer text, its gold, and the context needed to judge it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Grader names.  Each benchmark maps onto one of them (see DATASET_GRADERS).
GRADERS: tuple[str, ...] = ("math", "integer", "choice", "gsm8k")

DATASET_GRADERS: dict[str, str] = {
    "math_500": "math",
    "math500": "math",
    "math": "math",
    "aime24": "integer",
    "aime25": "integer",
    "aime": "integer",
    "gpqa": "choice",
    "gpqa_diamond": "choice",
    "gsm8k": "gsm8k",
}


@dataclass(frozen=True)
class GradeRequest:
    """One answer to grade.

    `response` is the answer text *after* the reasoning (never the reasoning itself);
    `finish_reason == "length"` marks a generation cut off by the token limit.
    `problem` lets the grader honour form demands ("as a common fraction"); `choices`
    are the option texts in the order shown, so that "(B) 42" or "42" can be matched.
    """

    grader: str
    response: str
    gold: str
    finish_reason: str | None = None
    problem: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.grader not in GRADERS:
            raise ValueError(f"unknown grader {self.grader!r}; expected one of {', '.join(GRADERS)}")
        # Frozen: normalise through object.__setattr__ so a list of choices still hashes.
        if not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GradeRequest":
        return cls(**d)


def grader_for_dataset(dataset: str) -> str:
    """The grader a benchmark uses, e.g. "aime24" -> "integer"."""
    key = dataset.strip().lower().replace("-", "_")
    if key in DATASET_GRADERS:
        return DATASET_GRADERS[key]
    if key.startswith("aime"):
        return "integer"
    raise KeyError(dataset)
