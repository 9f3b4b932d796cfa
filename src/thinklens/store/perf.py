"""Queries of `thinklens perf`: its per-request rows (`perf_requests`) and one summary
per load level (`perf_levels`), in the perf folder's run store (DDL in schema.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import RunStore

if TYPE_CHECKING:  # perf imports the store, not the other way round
    from ..perf.records import RequestRecord


def clear(store: RunStore) -> None:
    """A folder holds one perf run: a new run replaces the previous one's rows."""
    with store.conn:
        store.conn.execute("DELETE FROM perf_requests")
        store.conn.execute("DELETE FROM perf_levels")


def add_requests(store: RunStore, records: Iterable["RequestRecord"]) -> None:
    with store.conn:
        store.conn.executemany(
            """INSERT INTO perf_requests(level, phase, idx, start_time, end_time, ttft, ttfat, tpot, e2e,
               prompt_tokens, completion_tokens, reasoning_tokens, tokens_source, chunks, itl_source, status,
               error, error_kind, http_status, scheduled, finish_reason, input_tokens, response_id)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            [
                (r.level, r.phase, r.index, r.start, r.end, r.ttft, r.ttfat, r.tpot, r.e2e, r.prompt_tokens,
                 r.completion_tokens, r.reasoning_tokens, r.tokens_source, r.chunks, r.itl_source, r.status,
                 r.error, r.error_kind, r.http_status, r.scheduled, r.finish_reason, r.input_tokens, r.response_id)
                for r in records
            ],
        )


def set_levels(store: RunStore, levels: Iterable[tuple[str, str]]) -> None:
    """(label, summary JSON) per level, in order; replaces the stored ones."""
    with store.conn:
        store.conn.execute("DELETE FROM perf_levels")
        store.conn.executemany(
            "INSERT INTO perf_levels(position, level, summary) VALUES (?,?,?)",
            [(i, label, summary) for i, (label, summary) in enumerate(levels)],
        )
