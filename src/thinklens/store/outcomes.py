"""Per-(sample, repeat) verdicts with the prompt's fingerprint: what `thinklens compare`
and the intervals need to pair two runs problem by problem."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import RunStore


@dataclass(frozen=True)
class Outcome:
    """One planned (sample, repeat): its verdict and what identifies its problem."""

    dataset: str
    subset: str
    sample_id: str
    repeat: int
    status: str  # ok | error
    correct: bool | None  # None: not graded, or no verdict
    prompt_hash: str  # sha256 of the stored messages JSON: same template and problem text
    gold: str
    budget: int | None = None  # budget forcing: the thinking budget this row was generated at


def planned_outcomes(store: RunStore) -> list[Outcome]:
    """The latest eval's planned rows (all stored rows when the folder has no plan), in order."""
    has_plan = store.conn.execute("SELECT 1 FROM plan LIMIT 1").fetchone() is not None
    sql = (
        """SELECT r.dataset, r.subset, r.sample_id, r.repeat, r.status, r.graded, r.correct, r.messages, r.gold,
                  json_extract(r.sample_meta, '$.thinking_budget')
           FROM plan p JOIN results r ON r.key = p.key ORDER BY p.position"""
        if has_plan else
        """SELECT dataset, subset, sample_id, repeat, status, graded, correct, messages, gold,
                  json_extract(sample_meta, '$.thinking_budget')
           FROM results ORDER BY dataset, subset, sample_id, repeat"""
    )
    return [
        Outcome(dataset, subset, sid, rep, status, None if not graded or correct is None else bool(correct),
                hashlib.sha256(messages.encode("utf-8")).hexdigest()[:16], gold, budget)
        for dataset, subset, sid, rep, status, graded, correct, messages, gold, budget in store.conn.execute(sql)
    ]
