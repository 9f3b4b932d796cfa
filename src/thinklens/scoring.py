"""Score one generation: the rule grader (process pool), then optionally an LLM judge.

Strategies (`--judge-strategy`): `rule` (default: no judge), `llm` (the judge's verdict
replaces the rule's for every answer it can see), `rule_then_llm` (the judge is asked
only about rule negatives).  A judge failure leaves the sample rule-graded, with the
failure recorded in `Score.detail["judge"]`; judge calls are cached by content hash in
the run store, so a resume or `--regrade` asks nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import TaskConfig
from .grading import GradeRequest
from .grading.registry import gold_info_of
from .records import Generation, Sample, Score
from .store import RunStore

if TYPE_CHECKING:  # pragma: no cover
    from .grading.pool import GradingPool


def grade_request(sample: Sample, gen: Generation, grader: str) -> GradeRequest:
    return GradeRequest(
        grader=grader,
        response=gen.content,
        gold=sample.gold,
        finish_reason=gen.finish_reason,
        problem=str(sample.meta.get("problem", "")),
        choices=tuple(sample.meta.get("choices") or ()),
        gold_info=gold_info_of(sample.meta, grader),
    )


def judge_gold(sample: Sample, grader: str) -> str:
    """What the judge compares against, as the grader presents its gold (multiple
    choice: the letter *and* its option text; a bare letter tells the judge little)."""
    from .grading.registry import get_grader

    return get_grader(grader).judge_gold(sample.gold, tuple(sample.meta.get("choices") or ()))


@dataclass
class Scorer:
    pool: GradingPool
    strategy: str = "rule"
    judge: Any = None  # thinklens.judge.Judge, only when a judge strategy is on

    @classmethod
    def for_config(cls, config: TaskConfig, store: RunStore | None) -> "Scorer":
        from .grading.pool import GradingPool

        pool = GradingPool(workers=config.grading_workers, timeout=config.grading_timeout)
        if config.judge_strategy == "rule":
            return cls(pool)
        from .judge import Judge  # the HTTP judge only when asked for

        assert config.judge_config is not None  # TaskConfig validates this
        return cls(pool, config.judge_strategy, Judge(config.judge_config, cache=store))

    async def score(self, sample: Sample, gen: Generation, grader: str) -> Score:
        rule = await self.pool.grade(grade_request(sample, gen, grader))
        if self.judge is None or not gen.content.strip() or rule.correct is None:
            # Nothing for a judge to read (no answer after the reasoning), or no verdict at all.
            return rule
        if self.strategy == "rule_then_llm" and rule.correct:
            return rule
        from .judge import judge_equivalence, score_with_verdict

        verdict = await judge_equivalence(
            self.judge, str(sample.meta.get("problem", "")), judge_gold(sample, grader), gen.content
        )
        return score_with_verdict(rule, verdict)

    async def close(self) -> None:
        self.pool.close()
        if self.judge is not None:
            await self.judge.close()
