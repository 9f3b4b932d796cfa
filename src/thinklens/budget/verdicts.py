"""Is a forced answer right?  Candidates graded by the run's own grader, cached in the store.

The stored efficiency analysis stops checking a trace at its first correct step, so
the later candidates a budget may force are graded here: each (trace, candidate,
target) once, through the grading pool (hard per-item limit), with the same cheap
prescreen and the same request shape as `thinklens efficiency --method verify`.
Definite verdicts are stored (`budget_verdicts`); a rerun grades nothing again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from ..efficiency.prescreen import prescreen
from ..efficiency.traces import Trace
from ..efficiency.verify import candidate_request
from ..grading import GradingPool
from ..store import RunStore
from ..store.budget import CandidateKey, cached_verdicts, store_verdicts


@dataclass
class VerdictStats:
    cached: int = 0
    prescreened: int = 0
    graded: int = 0
    ungraded: int = 0  # grader timeouts: not correct, not stored


class CandidateVerdicts:
    def __init__(self, store: RunStore, pool_factory, release: str):
        self.store = store
        self._pool_factory = pool_factory  # the pool starts only when something needs a grader
        self._pool: GradingPool | None = None
        self.release = release
        self.stats = VerdictStats()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def resolve(self, wanted: Iterable[tuple[Trace, str, str]]) -> dict[CandidateKey, bool]:
        """Verdicts of (trace, candidate, target) triples; an ungraded one is False."""
        by_key: dict[CandidateKey, Trace] = {}
        for trace, candidate, target in wanted:
            by_key[CandidateKey(trace.key, candidate, target, trace.grader)] = trace
        out = cached_verdicts(self.store, by_key, self.release)
        self.stats.cached += len(out)
        fresh: dict[CandidateKey, bool] = {}
        to_grade: list[CandidateKey] = []
        for ck in by_key:
            if ck in out:
                continue
            quick = prescreen(ck.candidate, ck.target)
            if quick is None:
                to_grade.append(ck)
            else:
                fresh[ck] = quick
                self.stats.prescreened += 1
        if to_grade:
            if self._pool is None:
                self._pool = self._pool_factory()
            scores = asyncio.run(self._grade(self._pool, [(by_key[ck], ck) for ck in to_grade]))
            for ck, correct in zip(to_grade, scores):
                if correct is None:
                    self.stats.ungraded += 1
                    out[ck] = False
                else:
                    fresh[ck] = correct
                    self.stats.graded += 1
        store_verdicts(self.store, fresh, self.release)
        out.update(fresh)
        return out

    @staticmethod
    async def _grade(pool: GradingPool, items: list[tuple[Trace, CandidateKey]]) -> list[bool | None]:
        scores = await asyncio.gather(*(pool.grade(candidate_request(t, ck.candidate, ck.target)) for t, ck in items))
        return [s.correct for s in scores]
