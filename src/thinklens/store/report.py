"""Queries behind report.json: the rows of the latest plan (the `plan` table names
the keys the report covers), the judge's traces in their scores, question counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import RunStore


@dataclass(frozen=True)
class PlannedRow:
    """One planned (sample, repeat) without its long texts: what the score table needs."""

    dataset: str
    subset: str
    sample_id: str
    repeat: int
    status: str
    graded: bool
    correct: bool | None
    reason: str | None
    extracted: str | None
    normalized: str | None
    finish_reason: str | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    prompt_tokens: int | None = None
    # budget forcing (budget/forcing.py): the item's budget, and whether its answer was forced
    budget: int | None = None
    forced: bool | None = None


@dataclass(frozen=True)
class JudgedScore:
    """A graded planned row whose audit trail mentions the LLM judge."""

    method: str | None
    detail: dict[str, Any]


def planned_rows(store: RunStore) -> list[PlannedRow]:
    """The stored rows of the plan's keys, in plan order (keys not stored yet: absent)."""
    cur = store.conn.execute(
        """SELECT r.dataset, r.subset, r.sample_id, r.repeat, r.status, r.graded, r.correct, r.reason,
                  r.extracted, r.normalized_pred, r.finish_reason, r.completion_tokens, r.reasoning_tokens,
                  r.prompt_tokens, json_extract(r.sample_meta, '$.thinking_budget'),
                  json_extract(r.sample_meta, '$.budget_forcing.forced')
           FROM plan p JOIN results r ON r.key = p.key ORDER BY p.position"""
    )
    return [
        PlannedRow(dataset, subset, sid, rep, status, bool(graded), None if correct is None else bool(correct),
                   reason, extracted, norm, finish, ctok, rtok, ptok, budget, None if forced is None else bool(forced))
        for (dataset, subset, sid, rep, status, graded, correct, reason, extracted, norm, finish, ctok, rtok, ptok,
             budget, forced) in cur
    ]


def judged_scores(store: RunStore) -> list[JudgedScore]:
    cur = store.conn.execute(
        """SELECT r.grade_method, r.grade_detail FROM plan p JOIN results r ON r.key = p.key
           WHERE r.graded = 1 AND r.grade_detail LIKE '%"judge"%'"""
    )
    return [JudgedScore(method, json.loads(detail or "{}")) for method, detail in cur]


def planned_questions(store: RunStore) -> dict[tuple[str, str], int]:
    """(dataset, subset) -> distinct questions among the planned, stored rows."""
    cur = store.conn.execute(
        """SELECT r.dataset, r.subset, COUNT(DISTINCT r.sample_id) FROM plan p JOIN results r ON r.key = p.key
           GROUP BY r.dataset, r.subset"""
    )
    return {(d, s): c for d, s, c in cur}
