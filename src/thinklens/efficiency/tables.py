"""The efficiency tables in the run store (read by the viewer).

`efficiency_runs`: one row per analysis settings (`settings_hash`), with the settings
and the summary written to efficiency.json.  `efficiency_samples`: one row per
(settings, trace): the steps as [start, end] character offsets into the reasoning,
the first correct step and the offset of its end, token counts, and the thought
switches as [offset, phrase].  A rerun with the same settings replaces its rows.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..store import RunStore
from .metrics import FirstCorrect, SampleEfficiency

DDL = """
CREATE TABLE IF NOT EXISTS efficiency_runs (
    settings_hash TEXT PRIMARY KEY,
    settings      TEXT NOT NULL,     -- JSON, as in efficiency.json
    summary       TEXT NOT NULL,     -- JSON: the whole efficiency.json
    created_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS efficiency_samples (
    settings_hash        TEXT NOT NULL,
    key                  TEXT NOT NULL,      -- results.key
    dataset              TEXT NOT NULL,
    subset               TEXT NOT NULL,
    group_label          TEXT NOT NULL,      -- the subset shown in figures (e.g. a GPQA domain)
    sample_id            TEXT NOT NULL,
    repeat               INTEGER NOT NULL,
    method               TEXT NOT NULL,      -- verify | judge (the one behind first_correct_*)
    no_reasoning         INTEGER NOT NULL,   -- 1: the model had no reasoning; its whole output was analysed
    truncated            INTEGER NOT NULL,
    correct              INTEGER,            -- the run's grade of the final answer
    tokens_exact         INTEGER NOT NULL,   -- 0: server usage counts, prefixes by character share
    reasoning_tokens     INTEGER NOT NULL,
    first_correct_tokens INTEGER,
    reflection_tokens    INTEGER,
    token_efficiency     REAL,
    steps                TEXT NOT NULL,      -- JSON [[start, end], ...] into the reasoning (the content if no_reasoning)
    first_correct_status TEXT NOT NULL,      -- found | none | unparsed | error
    first_correct_step   INTEGER,
    first_correct_offset INTEGER,            -- end of that step in the reasoning (characters)
    verify_first_correct_step INTEGER,
    judge_first_correct_step  INTEGER,
    judge_status         TEXT,
    thought_num          INTEGER NOT NULL,
    thought_switches     TEXT NOT NULL,      -- JSON [[offset, phrase], ...]
    solutions            INTEGER NOT NULL,
    solution_steps       TEXT NOT NULL,      -- JSON [step index, ...]
    detail               TEXT NOT NULL,      -- JSON: candidates checked, judge verdicts, split mapping
    created_at           REAL NOT NULL,
    PRIMARY KEY (settings_hash, key)
);
CREATE INDEX IF NOT EXISTS efficiency_samples_key ON efficiency_samples(key);
"""

_COLUMNS = (
    "settings_hash", "key", "dataset", "subset", "group_label", "sample_id", "repeat", "method", "no_reasoning",
    "truncated", "correct", "tokens_exact", "reasoning_tokens", "first_correct_tokens", "reflection_tokens",
    "token_efficiency", "steps", "first_correct_status", "first_correct_step", "first_correct_offset",
    "verify_first_correct_step", "judge_first_correct_step", "judge_status", "thought_num", "thought_switches",
    "solutions", "solution_steps", "detail", "created_at",
)


def ensure_tables(store: RunStore) -> None:
    store.ensure_schema(DDL)


def _step(fc: FirstCorrect | None) -> int | None:
    return fc.step if fc is not None and fc.status == "found" else None


def sample_row(settings_hash: str, s: SampleEfficiency, now: float) -> tuple[Any, ...]:
    fc = s.first_correct
    ratio = s.ratio if s.reached else None
    return (
        settings_hash, s.key, s.dataset, s.subset, s.group, s.sample_id, s.repeat, s.method, int(s.no_reasoning),
        int(s.truncated), None if s.correct is None else int(s.correct), int(s.tokens_exact), s.reasoning_tokens,
        fc.tokens if s.reached else None, s.reflection_tokens, ratio,
        json.dumps([list(p) for p in s.steps]), fc.status, fc.step if s.reached else None,
        fc.offset if s.reached else None, _step(s.verify), _step(s.judge),
        s.judge.status if s.judge is not None else None, len(s.thought_switches),
        json.dumps([list(p) for p in s.thought_switches], ensure_ascii=False), len(s.solution_steps),
        json.dumps(s.solution_steps), json.dumps(s.detail, ensure_ascii=False), now,
    )


def write_results(store: RunStore, settings_hash: str, settings: dict[str, Any], summary: dict[str, Any],
                  samples: list[SampleEfficiency]) -> None:
    now = time.time()
    placeholders = ",".join("?" * len(_COLUMNS))
    with store.conn:
        store.conn.execute("DELETE FROM efficiency_samples WHERE settings_hash=?", (settings_hash,))
        store.conn.executemany(
            f"INSERT INTO efficiency_samples({','.join(_COLUMNS)}) VALUES ({placeholders})",
            [sample_row(settings_hash, s, now) for s in samples],
        )
        store.conn.execute(
            "INSERT OR REPLACE INTO efficiency_runs(settings_hash, settings, summary, created_at) VALUES (?,?,?,?)",
            (settings_hash, json.dumps(settings, ensure_ascii=False), json.dumps(summary, ensure_ascii=False), now),
        )
