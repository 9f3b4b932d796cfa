"""The shared LLM judge: grading fallback and the efficiency `judge` method / `llm` split."""

from .core import (
    Judge,
    JudgeCache,
    JudgeStats,
    JudgeVerdict,
    MemoryJudgeCache,
    ParsedVerdict,
    Unparseable,
    request_digest,
)
from .equivalence import PURPOSE as EQUIVALENCE_PURPOSE
from .equivalence import equivalence_prompt, judge_equivalence, parse_equivalence, score_with_verdict

__all__ = [
    "EQUIVALENCE_PURPOSE", "Judge", "JudgeCache", "JudgeStats", "JudgeVerdict", "MemoryJudgeCache", "ParsedVerdict",
    "Unparseable", "equivalence_prompt", "judge_equivalence", "parse_equivalence", "request_digest",
    "score_with_verdict",
]
