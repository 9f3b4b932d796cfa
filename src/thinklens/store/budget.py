"""Queries of `thinklens budget`: its verdict cache (`budget_verdicts`, DDL in schema.py)
and the token usage of each stored trace (the cost of a budget)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from . import RunStore


@dataclass(frozen=True)
class CandidateKey:
    """One candidate answer of one trace, checked against one target by one grader."""

    key: str  # results.key
    candidate: str
    target: str
    grader: str


@dataclass(frozen=True)
class TraceUsage:
    """The server's token counts of one stored generation (None: not reported)."""

    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None


def cached_verdicts(store: RunStore, keys: Iterable[CandidateKey], release: str) -> dict[CandidateKey, bool]:
    """The stored verdicts among `keys` (graded by this release)."""
    wanted = set(keys)
    if not wanted:
        return {}
    trace_keys = sorted({k.key for k in wanted})
    out: dict[CandidateKey, bool] = {}
    # One query per chunk of traces (SQLite's variable limit), filtered here.
    for i in range(0, len(trace_keys), 500):
        chunk = trace_keys[i:i + 500]
        cur = store.conn.execute(
            "SELECT key, candidate, target, grader, correct FROM budget_verdicts "
            f"WHERE release=? AND key IN ({','.join('?' * len(chunk))})",
            (release, *chunk),
        )
        for key, candidate, target, grader, correct in cur:
            ck = CandidateKey(key, candidate, target, grader)
            if ck in wanted:
                out[ck] = bool(correct)
    return out


def store_verdicts(store: RunStore, verdicts: dict[CandidateKey, bool], release: str) -> None:
    now = time.time()
    with store.conn:
        store.conn.executemany(
            "INSERT OR REPLACE INTO budget_verdicts(key, candidate, target, grader, release, correct, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            [(k.key, k.candidate, k.target, k.grader, release, int(v), now) for k, v in verdicts.items()],
        )


def trace_usage(store: RunStore, keys: Iterable[str]) -> dict[str, TraceUsage]:
    keys = list(keys)
    out: dict[str, TraceUsage] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        cur = store.conn.execute(
            "SELECT key, prompt_tokens, completion_tokens, reasoning_tokens FROM results "
            f"WHERE key IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for key, p, c, r in cur:
            out[key] = TraceUsage(p, c, r)
    return out
