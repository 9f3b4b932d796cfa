"""The run store's schema: every table, and the ordered migrations that build it.

`PRAGMA user_version` holds the version a folder was last written with.  A writer
(`RunStore(dir)`) applies the missing steps in order, all in one transaction, so a
folder from an older release gains what was added since (a new column included) and
a crash mid-migration leaves it at its old version.  A fresh file runs every step:
new and migrated folders end with the same schema.

Readers (`RunStore(dir, readonly=True)`, the viewer) never migrate: they cannot write,
and the folder may belong to a running eval.  They read any version from 1 up to
`SCHEMA_VERSION`: every query tolerates what older versions lack (feature tables
that are absent read as empty; columns added later are only read by writers, which
migrate first).  A folder from a newer release is refused with a clear message.

To change the schema: append a step `(SCHEMA_VERSION + 1, function)` to `MIGRATIONS`,
never edit a published step, and keep tests/fixtures/schema_v1 opening (test_store_schema.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..errors import ThinklensError

Migration = Callable[[sqlite3.Connection], None]


class NewerSchemaError(ThinklensError, sqlite3.DatabaseError):
    """The folder was written by a newer thinklens than this one.  Also a
    DatabaseError: every reader that reports an unreadable store reports this too."""


# ---- version 1: the run tables (as released with CREATE IF NOT EXISTS) --------------
_V1 = (
    """CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS results (
    key               TEXT PRIMARY KEY,
    dataset           TEXT NOT NULL,
    subset            TEXT NOT NULL,
    sample_id         TEXT NOT NULL,
    repeat            INTEGER NOT NULL,
    messages          TEXT NOT NULL,      -- JSON list of chat messages
    gold              TEXT NOT NULL,
    sample_meta       TEXT NOT NULL,      -- JSON
    status            TEXT NOT NULL,      -- 'ok' | 'error'
    content           TEXT NOT NULL DEFAULT '',
    reasoning         TEXT NOT NULL DEFAULT '',
    reasoning_source  TEXT NOT NULL DEFAULT 'none',
    finish_reason     TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens  INTEGER,
    reasoning_tokens_estimated INTEGER NOT NULL DEFAULT 0,
    started_at        REAL,
    ttft              REAL,
    ttfat             REAL,
    e2e               REAL,
    error             TEXT,
    attempts          INTEGER NOT NULL DEFAULT 1,
    endpoint          TEXT,
    created_at        REAL NOT NULL,
    -- score (NULL until graded)
    graded            INTEGER NOT NULL DEFAULT 0,
    correct           INTEGER,            -- 1 / 0 / NULL (no verdict)
    reason            TEXT,
    extracted         TEXT,
    grade_method      TEXT,
    normalized_pred   TEXT,
    normalized_gold   TEXT,
    grade_detail      TEXT,               -- JSON
    graded_at         REAL
)""",
    "CREATE INDEX IF NOT EXISTS results_subset ON results(dataset, subset, sample_id, repeat)",
    "CREATE INDEX IF NOT EXISTS results_status ON results(status, graded)",
    # The (sample, repeat) keys of the latest `eval` command in this folder, in order:
    # the report covers exactly these, even if an earlier config left other rows here.
    """CREATE TABLE IF NOT EXISTS plan (
    position INTEGER PRIMARY KEY,
    key      TEXT NOT NULL UNIQUE,
    grader   TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS judge_cache (
    hash       TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    request    TEXT NOT NULL,
    response   TEXT NOT NULL,
    created_at REAL NOT NULL
)""",
)

# ---- version 2: the feature tables, until then created by their own modules ---------
# IF NOT EXISTS: a version-1 folder may already hold them (same shape).
_V2 = (
    # One row per efficiency analysis settings, with the whole efficiency.json.
    """CREATE TABLE IF NOT EXISTS efficiency_runs (
    settings_hash TEXT PRIMARY KEY,
    settings      TEXT NOT NULL,     -- JSON, as in efficiency.json
    summary       TEXT NOT NULL,     -- JSON: the whole efficiency.json
    created_at    REAL NOT NULL
)""",
    # One row per (settings, trace): steps as [start, end] character offsets into the
    # reasoning, the first correct step and its end, token counts, thought switches.
    """CREATE TABLE IF NOT EXISTS efficiency_samples (
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
)""",
    "CREATE INDEX IF NOT EXISTS efficiency_samples_key ON efficiency_samples(key)",
    # `thinklens perf`: raw per-request rows and one summary per load level.
    """CREATE TABLE IF NOT EXISTS perf_requests (
    id                INTEGER PRIMARY KEY,
    level             TEXT NOT NULL,
    phase             TEXT NOT NULL,     -- warmup | measure | cooldown
    idx               INTEGER NOT NULL,  -- order of issue within the level
    start_time        REAL NOT NULL,     -- monotonic seconds
    end_time          REAL NOT NULL,
    ttft              REAL,
    ttfat             REAL,
    tpot              REAL,
    e2e               REAL,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens  INTEGER,
    tokens_source     TEXT,
    chunks            INTEGER,
    itl_source        TEXT,
    status            TEXT NOT NULL,     -- ok | error | cancelled
    error             TEXT,
    error_kind        TEXT,
    http_status       INTEGER,
    scheduled         REAL,
    finish_reason     TEXT,
    input_tokens      INTEGER,
    response_id       TEXT
)""",
    "CREATE INDEX IF NOT EXISTS perf_requests_level ON perf_requests(level, phase, status)",
    """CREATE TABLE IF NOT EXISTS perf_levels (
    position INTEGER PRIMARY KEY,
    level    TEXT NOT NULL,
    summary  TEXT NOT NULL               -- JSON: the level's entry in summary.json
)""",
)

# ---- version 3: what an efficiency rerun needs to reuse stored per-trace results -----
_V3 = (
    # Hash of everything the analysis read (settings, plan keys, result rows, release):
    # equal on a rerun -> the stored per-trace results are reused, nothing recomputed.
    "ALTER TABLE efficiency_runs ADD COLUMN inputs_hash TEXT",
    # The whole per-trace result as JSON, so reuse gives back exactly what was computed.
    "ALTER TABLE efficiency_samples ADD COLUMN record TEXT",
)

# ---- version 4: `thinklens budget` ---------------------------------------------------
_V4 = (
    # Verdicts on candidate answers stated inside a reasoning trace, against a target
    # (the gold, or the trace's final answer), so a rerun grades nothing twice.  The
    # release is part of the key: a grader fix in a new release grades again.
    """CREATE TABLE IF NOT EXISTS budget_verdicts (
    key        TEXT NOT NULL,     -- results.key of the trace
    candidate  TEXT NOT NULL,
    target     TEXT NOT NULL,
    grader     TEXT NOT NULL,
    release    TEXT NOT NULL,
    correct    INTEGER NOT NULL,  -- 1 / 0 (ungraded verdicts are not stored: a rerun tries again)
    created_at REAL NOT NULL,
    PRIMARY KEY (key, candidate, target, grader, release)
)""",
)


def _statements(*sql: str) -> Migration:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in sql:
            conn.execute(statement)

    return apply


# (version, step): applied in order to bring a folder from version-1 to version.
MIGRATIONS: tuple[tuple[int, Migration], ...] = (
    (1, _statements(*_V1)),
    (2, _statements(*_V2)),
    (3, _statements(*_V3)),
    (4, _statements(*_V4)),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def version_of(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def check_readable(conn: sqlite3.Connection, path: object) -> int:
    """The folder's schema version; a clear error when a newer release wrote it."""
    version = version_of(conn)
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{path} was written by a newer thinklens (store schema version {version}; this release reads up "
            f"to {SCHEMA_VERSION}): upgrade thinklens to read it"
        )
    return version


def migrate(conn: sqlite3.Connection, path: object) -> int:
    """Bring the store to SCHEMA_VERSION in one transaction; returns SCHEMA_VERSION."""
    check_readable(conn, path)
    if version_of(conn) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    conn.commit()  # nothing may be pending: the steps below must commit (or roll back) alone
    # IMMEDIATE: the write lock before reading the version, so two writers opening the
    # same old folder cannot both apply a step.
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = check_readable(conn, path)
        for version, step in MIGRATIONS:
            if version > found:
                step(conn)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return SCHEMA_VERSION
