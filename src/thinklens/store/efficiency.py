"""Queries of `thinklens efficiency`: the traces it reads from `results`, and its own
tables `efficiency_runs` / `efficiency_samples` (DDL in schema.py).

A rerun with the same settings replaces its rows; rows of other settings stay (the
viewer shows the ones efficiency.json names).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import RunStore

# efficiency_samples columns in the order of the rows `write_analysis` takes.
SAMPLE_COLUMNS = (
    "settings_hash", "key", "dataset", "subset", "group_label", "sample_id", "repeat", "method", "no_reasoning",
    "truncated", "correct", "tokens_exact", "reasoning_tokens", "first_correct_tokens", "reflection_tokens",
    "token_efficiency", "steps", "first_correct_status", "first_correct_step", "first_correct_offset",
    "verify_first_correct_step", "judge_first_correct_step", "judge_status", "thought_num", "thought_switches",
    "solutions", "solution_steps", "detail", "created_at", "record",
)


@dataclass(frozen=True)
class TraceRow:
    """One stored (sample, repeat) with what an efficiency analysis reads."""

    key: str
    dataset: str
    subset: str
    sample_id: str
    repeat: int
    gold: str
    meta: dict[str, Any]
    status: str
    content: str
    reasoning: str
    reasoning_source: str
    finish_reason: str | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    correct: bool | None
    extracted: str | None


@dataclass(frozen=True)
class StoredAnalysis:
    """An earlier analysis with the same settings: its inputs hash, efficiency.json and
    per-trace records (None when a row has none: written before schema version 3)."""

    inputs_hash: str | None
    summary: dict[str, Any]
    records: list[dict[str, Any]] | None


def _plan_filter(store: RunStore) -> str:
    # A run written without a plan: every row.
    has_plan = store.conn.execute("SELECT EXISTS(SELECT 1 FROM plan)").fetchone()[0]
    return "key IN (SELECT key FROM plan)" if has_plan else "1=1"


def planned_datasets(store: RunStore) -> list[str]:
    """Datasets of the latest plan's rows (every row's when the run has no plan), sorted."""
    where = _plan_filter(store)
    return [r[0] for r in store.conn.execute(f"SELECT DISTINCT dataset FROM results WHERE {where} ORDER BY 1")]


def trace_rows(store: RunStore, dataset: str) -> list[TraceRow]:
    """The planned rows of one dataset (only these: reasoning texts are long)."""
    cur = store.conn.execute(
        "SELECT key, dataset, subset, sample_id, repeat, gold, sample_meta, status, content, reasoning, "
        "reasoning_source, finish_reason, completion_tokens, reasoning_tokens, correct, extracted FROM results "
        f"WHERE dataset=? AND {_plan_filter(store)}",
        (dataset,),
    )
    return [
        TraceRow(
            key=r[0], dataset=r[1], subset=r[2], sample_id=r[3], repeat=r[4], gold=r[5],
            meta=json.loads(r[6] or "{}"), status=r[7], content=r[8] or "", reasoning=r[9] or "",
            reasoning_source=r[10], finish_reason=r[11], completion_tokens=r[12], reasoning_tokens=r[13],
            correct=None if r[14] is None else bool(r[14]), extracted=r[15],
        )
        for r in cur
    ]


def stored_analysis(store: RunStore, settings_hash: str) -> StoredAnalysis | None:
    row = store.conn.execute(
        "SELECT inputs_hash, summary FROM efficiency_runs WHERE settings_hash=?", (settings_hash,)
    ).fetchone()
    if row is None:
        return None
    raw = [r[0] for r in store.conn.execute(
        "SELECT record FROM efficiency_samples WHERE settings_hash=? ORDER BY rowid", (settings_hash,)
    )]
    records = None if any(r is None for r in raw) else [json.loads(r) for r in raw]
    return StoredAnalysis(row[0], json.loads(row[1]), records)


def write_analysis(store: RunStore, settings_hash: str, settings: dict[str, Any], summary: dict[str, Any],
                   inputs_hash: str, rows: Sequence[Sequence[Any]]) -> None:
    """Replace the analysis of these settings: its run row and one row per trace
    (`rows` in SAMPLE_COLUMNS order, created_at included), in one transaction."""
    placeholders = ",".join("?" * len(SAMPLE_COLUMNS))
    with store.conn:
        store.conn.execute("DELETE FROM efficiency_samples WHERE settings_hash=?", (settings_hash,))
        store.conn.executemany(
            f"INSERT INTO efficiency_samples({','.join(SAMPLE_COLUMNS)}) VALUES ({placeholders})", rows
        )
        store.conn.execute(
            "INSERT OR REPLACE INTO efficiency_runs(settings_hash, settings, summary, created_at, inputs_hash) "
            "VALUES (?,?,?,?,?)",
            (settings_hash, json.dumps(settings, ensure_ascii=False), json.dumps(summary, ensure_ascii=False),
             time.time(), inputs_hash),
        )


def sample_row(conn: sqlite3.Connection, key: str, settings_hash: str | None) -> dict[str, Any] | None:
    """The viewer's look at one trace: its row for `settings_hash`, else its newest, as
    column -> value.  Tolerant of any layout (folders of other releases)."""
    columns = {r[1] for r in conn.execute("PRAGMA main.table_info(efficiency_samples)")}
    if "key" not in columns:
        return None
    cur = None
    if settings_hash and "settings_hash" in columns:
        cur = conn.execute(
            "SELECT * FROM main.efficiency_samples WHERE key=? AND settings_hash=? LIMIT 1", (key, settings_hash)
        )
        row = cur.fetchone()
    if cur is None or row is None:
        order = " ORDER BY created_at DESC" if "created_at" in columns else ""
        cur = conn.execute(f"SELECT * FROM main.efficiency_samples WHERE key=?{order} LIMIT 1", (key,))
        row = cur.fetchone()
    if row is None:
        return None
    return dict(zip((d[0] for d in cur.description), tuple(row)))
