"""The run store: one SQLite file per run (`DIR/run.sqlite`), the source of truth.

WAL mode and one commit per finished sample: `kill -9` loses at most the requests in
flight.  A generation is committed as soon as it arrives (score still NULL) and its
score is written when grading finishes, so a crash between the two costs no request:
the next run grades what is stored.

Tables (DDL and versions in schema.py):
- `meta`: run-level key/value (config JSON, model, created_at, thinklens version).
- `results`: one row per (sample, repeat) key: prompt, gold, generation, timings,
  usage, score with its audit trail.  Eval, viewer and efficiency all read it.
- `plan`: the keys of the latest eval, in order (what the report covers).
- `judge_cache`: LLM-judge calls by content hash (grading judge and efficiency judge).
- `efficiency_runs` / `efficiency_samples`: written by `thinklens efficiency`.
- `perf_requests` / `perf_levels`: raw per-request rows of `thinklens perf`.
- `budget_verdicts`: candidate answers graded by `thinklens budget` (a cache).

This package owns every SQL query on a run file: this module the run itself (meta,
results, plan, judge cache); one module beside it per other concern (report.py,
efficiency.py, perf.py, budget.py, summary.py for the viewer).  They return records, never
sqlite3 rows, and no SQL lives outside the package.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..records import Generation, Sample, SampleResult, Score, Timings, Usage
from .schema import SCHEMA_VERSION, NewerSchemaError, check_readable, migrate

__all__ = [
    "REPORT_FILENAME", "SCHEMA_VERSION", "STORE_FILENAME", "NewerSchemaError", "RunStore", "connect",
    "is_run_folder", "row_to_result", "storage_error", "storage_errors",
]

STORE_FILENAME = "run.sqlite"
REPORT_FILENAME = "report.json"  # written by report/, watched by the viewer


def is_run_folder(path: str | Path) -> bool:
    """A folder holding a run store (an eval run, or a perf folder's request store)."""
    return (Path(path) / STORE_FILENAME).is_file()

def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open a run store with the settings every reader and writer needs."""
    path = Path(path)
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode is durable against process crashes (kill -9); only a power
        # loss can drop the last commits.
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.row_factory = sqlite3.Row
    return conn


# OS errors that mean "this folder cannot take the write", not a bug.
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def storage_error(exc: BaseException, path: Path) -> StoreError | None:
    """The one-line, actionable error for a storage fault, or None when `exc` is not one."""
    if isinstance(exc, OSError):
        if exc.errno not in _STORAGE_ERRNOS:
            return None
        path = Path(exc.filename) if exc.filename else path
        code = exc.errno
        name = {errno.ENOSPC: "SQLITE_FULL", errno.EDQUOT: "SQLITE_FULL"}.get(code, "SQLITE_READONLY")
        if code == errno.EIO:
            name = "SQLITE_IOERR"
        detail = exc.strerror or str(exc)
    elif isinstance(exc, sqlite3.DatabaseError):
        name = getattr(exc, "sqlite_errorname", "") or ""
        detail = str(exc)
        if "disk is full" in detail:
            name = "SQLITE_FULL"
    else:
        return None
    if name.startswith("SQLITE_FULL"):
        hint = ("the disk is full. Free some space and run the same command again: "
                "every sample already stored is kept")
    elif name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        hint = ("the folder is not writable (read-only file system or permissions). Choose a writable "
                "--output, or copy the folder somewhere writable")
    elif name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        hint = ("the file is damaged or not a thinklens run store. Move it away and run again to start "
                "this folder over, or choose another --output")
    elif name.startswith("SQLITE_IOERR"):
        hint = "the disk failed the write (full, removed or faulty). Check it and run the same command again"
    else:
        hint = "check the file and the disk, then run the same command again"
    return StoreError(f"cannot use {path} ({detail}): {hint}.")


@contextmanager
def storage_errors(run_dir: str | Path) -> Iterator[None]:
    """Storage faults inside the block become a `StoreError` (exit 2, no traceback)."""
    try:
        yield
    except NewerSchemaError:
        raise  # its own message says what to do (upgrade)
    except (sqlite3.DatabaseError, OSError) as exc:
        error = storage_error(exc, Path(run_dir) / STORE_FILENAME)
        if error is None:
            raise
        raise error from exc


class RunStore:
    """Read/write access to one run's `run.sqlite`."""

    def __init__(self, run_dir: str | Path, *, readonly: bool = False):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / STORE_FILENAME
        if readonly:  # readers (viewer, export) handle a broken file themselves
            if not self.path.exists():
                raise FileNotFoundError(f"no run store at {self.path}")
            self.conn = connect(self.path, readonly=True)
            self.schema_version = check_readable(self.conn, self.path)
            return
        with storage_errors(self.run_dir):  # a writer's open: one clear line, exit 2
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.conn = connect(self.path)
            try:
                # A writer migrates to SCHEMA_VERSION (schema.py); a reader reads what it finds.
                self.schema_version = migrate(self.conn, self.path)
            except BaseException:
                self.conn.close()
                raise

    # ---- lifecycle -------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- meta ------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, json.dumps(value)),
        )
        self.conn.commit()

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    # ---- results ---------------------------------------------------------------
    def done_keys(self) -> set[str]:
        """Keys that need no new request: stored without error."""
        return {r[0] for r in self.conn.execute("SELECT key FROM results WHERE status='ok'")}

    def put_generation(self, key: str, sample: Sample, repeat: int, gen: Generation) -> None:
        """Store (or replace, for a retried error) a generation; its score is cleared."""
        u, t = gen.usage, gen.timings
        self.conn.execute(
            """INSERT OR REPLACE INTO results(
                key, dataset, subset, sample_id, repeat, messages, gold, sample_meta, status,
                content, reasoning, reasoning_source, finish_reason, prompt_tokens,
                completion_tokens, reasoning_tokens, reasoning_tokens_estimated, started_at,
                ttft, ttfat, e2e, error, attempts, endpoint, created_at, graded)
            VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)""",
            (
                key, sample.dataset, sample.subset, sample.id, repeat,
                json.dumps(sample.messages, ensure_ascii=False), sample.gold,
                json.dumps(sample.meta, ensure_ascii=False), "ok" if gen.ok else "error",
                gen.content, gen.reasoning, gen.reasoning_source, gen.finish_reason,
                u.prompt_tokens, u.completion_tokens, u.reasoning_tokens,
                int(u.reasoning_tokens_estimated), t.start, t.ttft, t.ttfat, t.e2e,
                gen.error, gen.attempts, gen.endpoint, time.time(),
            ),
        )
        self.conn.commit()

    def put_score(self, key: str, score: Score, *, commit: bool = True) -> None:
        self.conn.execute(
            """UPDATE results SET graded=1, correct=?, reason=?, extracted=?, grade_method=?,
               normalized_pred=?, normalized_gold=?, grade_detail=?, graded_at=? WHERE key=?""",
            (
                None if score.correct is None else int(score.correct), score.reason,
                score.extracted, score.method, score.normalized_pred, score.normalized_gold,
                json.dumps(score.detail, ensure_ascii=False), time.time(), key,
            ),
        )
        if commit:
            self.conn.commit()

    def commit(self) -> None:
        self.conn.commit()

    def iter_results(self, *, ok_only: bool = False, planned_only: bool = False) -> Iterator[SampleResult]:
        """Stored rows in benchmark order; `planned_only`: the latest eval's plan only."""
        where = ["1=1"]
        if ok_only:
            where.append("status='ok'")
        if planned_only:
            where.append("key IN (SELECT key FROM plan)")
        cur = self.conn.execute(
            f"SELECT * FROM results WHERE {' AND '.join(where)} ORDER BY dataset, subset, sample_id, repeat"
        )
        for row in cur:
            yield row_to_result(row)

    def ungraded_ok(self) -> list[SampleResult]:
        """Stored generations without a score (the run died while grading them)."""
        cur = self.conn.execute(
            "SELECT * FROM results WHERE status='ok' AND graded=0 ORDER BY dataset, subset, sample_id, repeat"
        )
        return [row_to_result(row) for row in cur]

    # ---- plan ------------------------------------------------------------------
    def set_plan(self, keys_and_graders: list[tuple[str, str]]) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM plan")
            self.conn.executemany(
                "INSERT INTO plan(position, key, grader) VALUES (?,?,?)",
                [(i, k, g) for i, (k, g) in enumerate(keys_and_graders)],
            )

    def plan(self) -> dict[str, str]:
        """key -> grader kind, in plan order."""
        return {r[0]: r[1] for r in self.conn.execute("SELECT key, grader FROM plan ORDER BY position")}

    # ---- judge cache -----------------------------------------------------------
    def cached_judgement(self, digest: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT response FROM judge_cache WHERE hash=?", (digest,)).fetchone()
        return None if row is None else json.loads(row["response"])

    def cache_judgement(self, digest: str, purpose: str, request: Any, response: Any) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO judge_cache(hash, purpose, request, response, created_at) VALUES (?,?,?,?,?)",
            (digest, purpose, json.dumps(request, ensure_ascii=False), json.dumps(response, ensure_ascii=False), time.time()),
        )
        self.conn.commit()


def row_to_result(row: sqlite3.Row) -> SampleResult:
    sample = Sample(
        id=row["sample_id"],
        dataset=row["dataset"],
        subset=row["subset"],
        messages=json.loads(row["messages"]),
        gold=row["gold"],
        meta=json.loads(row["sample_meta"]),
    )
    gen = Generation(
        content=row["content"],
        reasoning=row["reasoning"],
        reasoning_source=row["reasoning_source"],
        finish_reason=row["finish_reason"],
        usage=Usage(
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            reasoning_tokens=row["reasoning_tokens"],
            reasoning_tokens_estimated=bool(row["reasoning_tokens_estimated"]),
        ),
        timings=Timings(start=row["started_at"], ttft=row["ttft"], ttfat=row["ttfat"], e2e=row["e2e"]),
        error=row["error"],
        attempts=row["attempts"],
        endpoint=row["endpoint"],
    )
    score = None
    if row["graded"]:
        score = Score(
            correct=None if row["correct"] is None else bool(row["correct"]),
            reason=row["reason"],
            extracted=row["extracted"],
            method=row["grade_method"] or "rule",
            normalized_pred=row["normalized_pred"],
            normalized_gold=row["normalized_gold"],
            detail=json.loads(row["grade_detail"] or "{}"),
        )
    return SampleResult(key=row["key"], sample=sample, repeat=row["repeat"], generation=gen, score=score)

