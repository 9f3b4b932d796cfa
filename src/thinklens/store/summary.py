"""Read-only, fast access to one run's store for the viewer.

Why an in-memory summary table: in `results` the long texts (prompt, answer, a
30,000-token reasoning) sit in the middle of each row, so SQLite must walk a row's
overflow pages to reach the columns after them (tokens, latency, verdict).  A query
that filters or sorts 2,000 such rows reads ~250 MB.  The reader therefore copies the
light columns once into a TEMP table of its own read-only connection (`temp.s`; TEMP
objects live outside the run file, so the store stays untouched and an eval can keep
writing) and answers every list, count, sort and previous/next query from there.

Live runs: `PRAGMA data_version` tells whether another connection committed since the
last look; then only new rows (rowid above the last seen) and rows not yet final
(ungraded or failed) are re-read.  A rewritten report.json (end of an eval or a
regrade) or a row count that does not add up triggers a full rebuild.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..metrics import Vote, subset_metrics, vote_correct
from ..records import SampleResult
from ..viewer.query import SampleQuery
from . import REPORT_FILENAME, STORE_FILENAME, connect, row_to_result
from .efficiency import sample_row as efficiency_sample_row
from .schema import check_readable

SYNC_INTERVAL_S = 1.0  # at most one look at the store per second per run
RUNNING_IDLE_S = 120.0  # a run whose store changed this recently counts as running
SEARCH_HEAD_CHARS = 8000  # quick search covers this much of the prompt and of the answer
SEARCH_TAIL_CHARS = 4000  # ... and the end of a long answer (where the final answer is)

# Primary outcome of a row, for its badge (filters are the non-exclusive OUTCOME_FILTERS).
OUTCOME_SQL = """CASE
    WHEN status='error' THEN 'error'
    WHEN graded=0 THEN 'pending'
    WHEN correct IS NULL THEN 'ungraded'
    WHEN correct=1 THEN 'correct'
    WHEN reason='truncated' OR finish_reason='length' THEN 'truncated'
    WHEN reason='no_answer' THEN 'no_answer'
    ELSE 'wrong' END"""

_LIGHT = (
    "key", "dataset", "subset", "sample_id", "repeat", "status", "finish_reason", "prompt_tokens",
    "completion_tokens", "reasoning_tokens", "reasoning_tokens_estimated", "ttft", "ttfat", "e2e",
    "error", "graded", "correct", "reason", "extracted", "gold", "created_at", "graded_at",
)
_SOURCE_SELECT = (
    "SELECT rowid, key, dataset, subset, sample_id, \"repeat\", status, finish_reason, prompt_tokens, "
    "completion_tokens, reasoning_tokens, reasoning_tokens_estimated, ttft, ttfat, e2e, substr(error, 1, 500), "
    "graded, correct, reason, substr(extracted, 1, 500), substr(gold, 1, 500), created_at, graded_at, "
    "messages, content FROM main.results"
)
_TEMP_SCHEMA = """
CREATE TEMP TABLE s (
    key TEXT PRIMARY KEY, rid INTEGER, pos INTEGER,
    dataset TEXT, subset TEXT, sample_id TEXT, "repeat" INTEGER, status TEXT, finish_reason TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, reasoning_tokens INTEGER,
    reasoning_tokens_estimated INTEGER, ttft REAL, ttfat REAL, e2e REAL, error TEXT,
    graded INTEGER, correct INTEGER, reason TEXT, extracted TEXT, gold TEXT,
    created_at REAL, graded_at REAL, outcome TEXT, search TEXT
);
CREATE INDEX temp.s_pos ON s(pos);
CREATE INDEX temp.s_subset ON s(dataset, subset, pos);
CREATE TEMP TABLE pp (key TEXT PRIMARY KEY, position INTEGER);
CREATE TEMP TABLE deep (key TEXT PRIMARY KEY);
"""


@dataclass(frozen=True)
class SummaryRow:
    """One (sample, repeat) as the samples table shows it: no long text."""

    key: str
    dataset: str
    subset: str
    sample_id: str
    repeat: int
    status: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    reasoning_tokens_estimated: bool
    ttft: float | None
    ttfat: float | None
    e2e: float | None
    error: str | None
    graded: bool
    correct: bool | None
    reason: str | None
    extracted: str | None
    gold: str
    outcome: str


_ROW_COLUMNS = (
    'key, dataset, subset, sample_id, "repeat", status, finish_reason, prompt_tokens, completion_tokens, '
    "reasoning_tokens, reasoning_tokens_estimated, ttft, ttfat, e2e, error, graded, correct, reason, "
    "extracted, gold, outcome"
)


def _summary_row(r: Sequence[Any]) -> SummaryRow:
    return SummaryRow(
        key=r[0], dataset=r[1], subset=r[2], sample_id=r[3], repeat=r[4], status=r[5], finish_reason=r[6],
        prompt_tokens=r[7], completion_tokens=r[8], reasoning_tokens=r[9], reasoning_tokens_estimated=bool(r[10]),
        ttft=r[11], ttfat=r[12], e2e=r[13], error=r[14], graded=bool(r[15]),
        correct=None if r[16] is None else bool(r[16]), reason=r[17], extracted=r[18], gold=r[19] or "",
        outcome=r[20],
    )


@dataclass(frozen=True)
class SubsetCounts:
    """Outcome counts of one subset (or a dataset's OVERALL), as in report.json."""

    dataset: str
    subset: str
    samples: int
    generations: int
    graded: int
    correct: int
    wrong: int
    truncated: int
    no_answer: int
    errors: int
    ungraded: int
    pending: int
    mean_completion_tokens: float | None
    mean_reasoning_tokens: float | None
    tokens_over: int = 0  # the generations both token means are over


@dataclass(frozen=True)
class Progress:
    planned: int
    generated: int
    ok: int
    errors: int
    graded: int  # grading done, ungraded included: "correct / graded" follows the score rule
    correct: int
    pending: int
    state: str  # complete | running | incomplete
    report_stale: bool
    version: int
    updated_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Page:
    rows: list[SummaryRow]
    total: int
    page: int
    pages: int
    per_page: int


@dataclass(frozen=True)
class Neighbors:
    prev_key: str | None
    next_key: str | None
    position: int | None  # 1-based position of the current key in the filtered list
    total: int


@dataclass(frozen=True)
class LiveScore:
    dataset: str
    subset: str
    metric: str
    num: int
    score: float | None
    stderr: float | None


@dataclass(frozen=True)
class Verdict:
    key: str
    outcome: str
    correct: bool | None
    extracted: str | None
    completion_tokens: int | None


@dataclass
class TokenValues:
    """Per subset: completion and reasoning tokens of the ok rows, with their outcome."""

    completion: list[tuple[int, str]] = field(default_factory=list)
    reasoning: list[tuple[int, str]] = field(default_factory=list)


class RunReader:
    """Thread-safe read-only view of one run folder (the server shares one per run)."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / STORE_FILENAME
        self.conn = _open_readonly(self.path)
        self.lock = threading.RLock()
        self.conn.executescript(_TEMP_SCHEMA)
        self._built = False
        self._data_version: int | None = None
        self._report_mtime: float | None = None
        self._last_check = 0.0
        self._max_rowid = 0
        self._has_plan = False
        self._deep_query: tuple[str, int] | None = None
        self.version = 0
        self._meta: dict[str, Any] = {}
        self._last_change = time.time()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # ---- synchronisation -------------------------------------------------------
    def sync(self, *, force: bool = False) -> bool:
        """Bring the summary table up to date; True when anything changed."""
        with self.lock:
            now = time.monotonic()
            if self._built and not force and now - self._last_check < SYNC_INTERVAL_S:
                return False
            self._last_check = now
            data_version = self.conn.execute("PRAGMA data_version").fetchone()[0]
            report_mtime = _mtime(self.run_dir / REPORT_FILENAME)
            if self._built and data_version == self._data_version and report_mtime == self._report_mtime:
                return False
            if not self._built or report_mtime != self._report_mtime:
                self._rebuild()
            else:
                self._incremental()
            self._data_version = data_version
            self._report_mtime = report_mtime
            self._refresh_plan()
            self._meta = {r[0]: _json_or_text(r[1]) for r in self.conn.execute("SELECT key, value FROM main.meta")}
            self._built = True
            self.version += 1
            self._deep_query = None
            self._last_change = time.time()
            return True

    def _rebuild(self) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM temp.s")
            self._max_rowid = 0
            self._load(self.conn.execute(_SOURCE_SELECT).fetchall())

    def _incremental(self) -> None:
        with self.conn:
            rows = self.conn.execute(_SOURCE_SELECT + " WHERE rowid >= ?", (self._max_rowid,)).fetchall()
            unsettled = [r[0] for r in self.conn.execute("SELECT key FROM temp.s WHERE status='error' OR graded=0")]
            for chunk in _chunks(unsettled, 500):
                marks = ",".join("?" * len(chunk))
                rows += self.conn.execute(_SOURCE_SELECT + f" WHERE key IN ({marks})", chunk).fetchall()
            self._load(rows)
        # Rows replaced under a lower rowid, or deleted: start over rather than drift.
        stored = self.conn.execute("SELECT COUNT(*) FROM main.results").fetchone()[0]
        mirrored = self.conn.execute("SELECT COUNT(*) FROM temp.s").fetchone()[0]
        if stored != mirrored:
            self._rebuild()

    def _load(self, rows: Iterable[Sequence[Any]]) -> None:
        out = []
        for r in rows:
            rowid, light, messages, content = r[0], r[1:23], r[23], r[24] or ""
            self._max_rowid = max(self._max_rowid, rowid)
            out.append((rowid, *light, _search_text(light, messages, content)))
        self.conn.executemany(
            f"INSERT OR REPLACE INTO temp.s (rid, {', '.join(_quote(c) for c in _LIGHT)}, search) "
            f"VALUES (?, {', '.join('?' * len(_LIGHT))}, ?)",
            out,
        )
        # Inserted and replaced rows are the only ones without an outcome yet.
        self.conn.execute(f"UPDATE temp.s SET outcome = {OUTCOME_SQL} WHERE outcome IS NULL")

    def _refresh_plan(self) -> None:
        with self.conn:
            self.conn.execute("DELETE FROM temp.pp")
            self.conn.execute("INSERT INTO temp.pp SELECT key, position FROM main.plan")
            self._has_plan = self.conn.execute("SELECT EXISTS(SELECT 1 FROM temp.pp)").fetchone()[0] == 1
            if self._has_plan:
                # The report covers exactly the keys of the latest eval (store.py `plan`).
                self.conn.execute("UPDATE temp.s SET pos = (SELECT position FROM temp.pp WHERE pp.key = s.key)")
            else:  # a store written without a plan: show every row, in benchmark-like order
                keys = self.conn.execute(
                    'SELECT key FROM temp.s ORDER BY dataset, subset, length(sample_id), sample_id, "repeat"'
                ).fetchall()
                self.conn.executemany("UPDATE temp.s SET pos=? WHERE key=?", [(i, k[0]) for i, k in enumerate(keys)])

    # ---- run-level -------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        self.sync()
        return dict(self._meta)

    def progress(self) -> Progress:
        self.sync()
        with self.lock:
            gen, ok, err, graded, correct, pending, last = self.conn.execute(
                """SELECT COUNT(*), SUM(status='ok'), SUM(status='error'),
                          SUM(status='ok' AND graded=1), SUM(status='ok' AND correct=1),
                          SUM(status='ok' AND graded=0), MAX(MAX(IFNULL(created_at, 0)), MAX(IFNULL(graded_at, 0)))
                   FROM temp.s WHERE pos IS NOT NULL"""
            ).fetchone()
            planned = self.conn.execute("SELECT COUNT(*) FROM temp.pp").fetchone()[0] if self._has_plan else gen
        ok, err, graded, correct, pending = (x or 0 for x in (ok, err, graded, correct, pending))
        report_mtime = self._report_mtime
        report_stale = report_mtime is not None and bool(last) and report_mtime + 1.0 < last
        finished = gen >= planned and pending == 0
        if finished and report_mtime is not None and not report_stale:
            state = "complete"
        elif time.time() - self._store_mtime() < RUNNING_IDLE_S:
            state = "running"
        else:
            state = "incomplete"
        updated = self._meta.get("updated_at") or (last or None)
        return Progress(planned, gen, ok, err, graded, correct, pending, state, report_stale, self.version,
                        updated if isinstance(updated, (int, float)) else None)

    def _store_mtime(self) -> float:
        return max(_mtime(self.path) or 0.0, _mtime(self.path.with_name(STORE_FILENAME + "-wal")) or 0.0)

    def has_report(self) -> bool:
        return (self.run_dir / REPORT_FILENAME).exists()

    def report(self) -> dict[str, Any] | None:
        """report.json, or None when absent or unreadable (a run still in progress)."""
        path = self.run_dir / REPORT_FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def datasets_and_subsets(self) -> list[tuple[str, list[str]]]:
        """Datasets and their subsets in benchmark order (order of first appearance)."""
        self.sync()
        with self.lock:
            rows = self.conn.execute(
                "SELECT dataset, subset, MIN(pos) AS p FROM temp.s WHERE pos IS NOT NULL GROUP BY dataset, subset ORDER BY p"
            ).fetchall()
        order: dict[str, list[str]] = {}
        for dataset, subset, _ in rows:
            order.setdefault(dataset, []).append(subset)
        return [(d, sorted(subsets, key=natural_key)) for d, subsets in order.items()]

    def repeats(self) -> list[int]:
        self.sync()
        with self.lock:
            return [r[0] for r in self.conn.execute('SELECT DISTINCT "repeat" FROM temp.s WHERE pos IS NOT NULL ORDER BY 1')]

    def subset_counts(self) -> list[SubsetCounts]:
        """Per subset, then each dataset's OVERALL: the report's counts, computed live."""
        self.sync()
        agg = """COUNT(DISTINCT sample_id), COUNT(*), SUM(status='ok' AND graded=1 AND correct IS NOT NULL),
                 SUM(status='ok' AND correct=1), SUM(status='ok' AND correct=0),
                 SUM(status='ok' AND finish_reason='length'), SUM(status='ok' AND reason IN ('no_answer','truncated')),
                 SUM(status='error'), SUM(status='ok' AND (graded=0 OR correct IS NULL)), SUM(status='ok' AND graded=0),
                 AVG(CASE WHEN status='ok' AND completion_tokens IS NOT NULL THEN completion_tokens END),
                 AVG(CASE WHEN status='ok' AND completion_tokens IS NOT NULL THEN IFNULL(reasoning_tokens, 0) END),
                 SUM(status='ok' AND completion_tokens IS NOT NULL)"""
        # token means share one denominator, as in report.json (report/build.py `_stats`)
        with self.lock:
            per_subset = self.conn.execute(
                f"SELECT dataset, subset, {agg}, MIN(pos) FROM temp.s WHERE pos IS NOT NULL GROUP BY dataset, subset ORDER BY MIN(pos)"
            ).fetchall()
            overall = {
                r[0]: r for r in self.conn.execute(
                    f"SELECT dataset, 'OVERALL', {agg} FROM temp.s WHERE pos IS NOT NULL GROUP BY dataset"
                )
            }
        out: list[SubsetCounts] = []
        seen: list[str] = []
        for r in per_subset:
            if r[0] not in seen:
                seen.append(r[0])
            out.append(_counts(r))
        for dataset in seen:
            # as report.json: an OVERALL row even for a single subset (it counts distinct
            # questions across subsets)
            out.append(_counts(overall[dataset]))
        out.sort(key=lambda c: (seen.index(c.dataset), c.subset == "OVERALL", natural_key(c.subset)))
        return out

    def live_scores(self, n_repeats: int | None = None) -> list[LiveScore]:
        """AveragePass@1 and pass@k from the stored verdicts (what the report will say,
        minus maj@k, which needs the grader's answer equivalence).  Same votes as the
        report (metrics.vote_correct): every answered generation, ungraded or not yet
        graded ones as not correct."""
        self.sync()
        with self.lock:
            rows = self.conn.execute(
                """SELECT dataset, subset, sample_id, "repeat", status, correct FROM temp.s
                   WHERE pos IS NOT NULL AND status='ok' ORDER BY pos"""
            ).fetchall()
            n = n_repeats or (self.conn.execute('SELECT MAX("repeat") FROM temp.s').fetchone()[0] or 0) + 1
        by_subset: dict[tuple[str, str], dict[str, list[Vote]]] = defaultdict(lambda: defaultdict(list))
        for dataset, subset, sid, rep, status, correct in rows:
            vote = vote_correct(status, None if correct is None else bool(correct))
            if vote is not None:
                by_subset[(dataset, subset)][sid].append(Vote(rep, vote, "=gold" if vote else None))
        out: list[LiveScore] = []
        datasets: dict[str, dict[str, list[Vote]]] = defaultdict(dict)
        for (dataset, subset), questions in by_subset.items():
            for m in subset_metrics(questions, n):
                if not m.metric.startswith("maj@"):
                    out.append(LiveScore(dataset, subset, m.metric, m.num, _finite(m.score), m.stderr))
            datasets[dataset].update({f"{subset}\x00{q}": v for q, v in questions.items()})
        for dataset, questions in datasets.items():  # OVERALL even for one subset, as report.json
            for m in subset_metrics(questions, n):
                if not m.metric.startswith("maj@"):
                    out.append(LiveScore(dataset, "OVERALL", m.metric, m.num, _finite(m.score), m.stderr))
        return out

    def token_values(self) -> dict[tuple[str, str], TokenValues]:
        self.sync()
        out: dict[tuple[str, str], TokenValues] = {}
        with self.lock:
            cur = self.conn.execute(
                """SELECT dataset, subset, completion_tokens, reasoning_tokens, outcome FROM temp.s
                   WHERE pos IS NOT NULL AND status='ok' ORDER BY pos"""
            )
            for dataset, subset, ctok, rtok, outcome in cur:
                tv = out.setdefault((dataset, subset), TokenValues())
                if ctok is not None:
                    tv.completion.append((ctok, outcome))
                if rtok is not None:
                    tv.reasoning.append((rtok, outcome))
        return out

    # ---- samples table -----------------------------------------------------------
    def _where(self, query: SampleQuery, **kw: bool) -> tuple[str, list[Any]]:
        where, params = query.where(**kw)
        if query.needs_store_scan and kw.get("include_search", True):
            self._ensure_deep(query.q)
            where += " AND key IN (SELECT key FROM temp.deep)"
        return where, params

    def _ensure_deep(self, text: str) -> None:
        """Full-text scan of the store (reasoning, answer, prompt) for `deep` search."""
        if self._deep_query == (text, self.version):
            return
        # LIKE is ASCII case-insensitive and, for '%text%', ~10x faster than instr(lower())
        # on long texts: 2,000 traces of 30k tokens scan in well under a second.
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.conn:
            self.conn.execute("DELETE FROM temp.deep")
            self.conn.execute(
                """INSERT INTO temp.deep SELECT key FROM main.results
                   WHERE reasoning LIKE ?1 ESCAPE '\\' OR content LIKE ?1 ESCAPE '\\' OR messages LIKE ?1 ESCAPE '\\'
                      OR gold LIKE ?1 ESCAPE '\\' OR sample_id LIKE ?1 ESCAPE '\\'""",
                (pattern,),
            )
            self.conn.execute("INSERT OR IGNORE INTO temp.deep SELECT key FROM temp.s WHERE instr(search, ?) > 0",
                              (text.casefold(),))
        self._deep_query = (text, self.version)

    def page(self, query: SampleQuery) -> Page:
        self.sync()
        with self.lock:
            where, params = self._where(query)
            total = self.conn.execute(f"SELECT COUNT(*) FROM temp.s WHERE {where}", params).fetchone()[0]
            pages = max(1, math.ceil(total / query.per_page))
            page = min(query.page, pages)
            rows = self.conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM temp.s WHERE {where} ORDER BY {query.sort_expr()}, pos LIMIT ? OFFSET ?",
                [*params, query.per_page, (page - 1) * query.per_page],
            ).fetchall()
        return Page([_summary_row(r) for r in rows], total, page, pages, query.per_page)

    def outcome_counts(self, query: SampleQuery) -> dict[str, int]:
        """How many rows each outcome filter would show, under the other filters."""
        from ..viewer.query import OUTCOME_FILTERS

        self.sync()
        with self.lock:
            where, params = self._where(query, include_outcome=False)
            sums = ", ".join(f"SUM({cond})" for cond in OUTCOME_FILTERS.values())
            row = self.conn.execute(f"SELECT COUNT(*), {sums} FROM temp.s WHERE {where}", params).fetchone()
        out = {"": row[0] or 0}
        out.update({name: row[i + 1] or 0 for i, name in enumerate(OUTCOME_FILTERS)})
        return out

    def neighbors(self, query: SampleQuery, key: str) -> Neighbors:
        """Previous/next key in the filtered, sorted table, and where `key` stands."""
        self.sync()
        expr = query.sort_expr()
        with self.lock:
            where, params = self._where(query)
            total = self.conn.execute(f"SELECT COUNT(*) FROM temp.s WHERE {where}", params).fetchone()[0]
            cur = self.conn.execute(f"SELECT {expr}, pos FROM temp.s WHERE key=? AND {where}", [key, *params]).fetchone()
            if cur is None:  # the sample is outside this filter: no neighbours to offer
                return Neighbors(None, None, None, total)
            value, pos = cur
            prev = self.conn.execute(
                f"SELECT key FROM temp.s WHERE {where} AND ({expr}, pos) < (?, ?) ORDER BY {expr} DESC, pos DESC LIMIT 1",
                [*params, value, pos],
            ).fetchone()
            nxt = self.conn.execute(
                f"SELECT key FROM temp.s WHERE {where} AND ({expr}, pos) > (?, ?) ORDER BY {expr}, pos LIMIT 1",
                [*params, value, pos],
            ).fetchone()
            before = self.conn.execute(
                f"SELECT COUNT(*) FROM temp.s WHERE {where} AND ({expr}, pos) < (?, ?)", [*params, value, pos]
            ).fetchone()[0]
        return Neighbors(prev[0] if prev else None, nxt[0] if nxt else None, before + 1, total)

    def natural_keys(self) -> list[str]:
        """Every visible key in benchmark order (the static export walks these)."""
        self.sync()
        with self.lock:
            return [r[0] for r in self.conn.execute("SELECT key FROM temp.s WHERE pos IS NOT NULL ORDER BY pos")]

    # ---- one sample --------------------------------------------------------------
    def sample(self, key: str) -> tuple[SampleResult, SummaryRow] | None:
        """The full stored row (long texts included) and its summary, or None."""
        self.sync()
        with self.lock:
            row = self.conn.execute("SELECT * FROM main.results WHERE key=?", (key,)).fetchone()
            summary = self.conn.execute(f"SELECT {_ROW_COLUMNS} FROM temp.s WHERE key=?", (key,)).fetchone()
        if row is None or summary is None:
            return None
        return row_to_result(row), _summary_row(summary)

    def verdicts(self) -> dict[tuple[str, str, str, int], Verdict]:
        """(dataset, subset, sample_id, repeat) -> verdict: how runs are lined up to compare."""
        self.sync()
        with self.lock:
            cur = self.conn.execute(
                """SELECT dataset, subset, sample_id, "repeat", key, outcome, correct, extracted, completion_tokens
                   FROM temp.s WHERE pos IS NOT NULL ORDER BY pos"""
            )
            return {
                (d, s, sid, rep): Verdict(k, o, None if c is None else bool(c), e, t)
                for d, s, sid, rep, k, o, c, e, t in cur
            }

    def efficiency_row(self, key: str, settings_hash: str | None = None) -> dict[str, Any] | None:
        """The trace's efficiency_samples row (store/efficiency.py `sample_row`)."""
        with self.lock:
            return efficiency_sample_row(self.conn, key, settings_hash)


# ---- helpers -----------------------------------------------------------------------
def natural_key(text: str) -> list[tuple[int, int | str]]:
    """"Level 2" before "Level 10"; subsets read in the order people expect."""
    import re

    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]


def _open_readonly(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise FileNotFoundError(f"no run store at {path}")
    try:
        conn = connect(path, readonly=True)
        conn.execute("SELECT 1 FROM main.results LIMIT 1").fetchall()
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc) and "readonly" not in str(exc):
            raise  # e.g. no `results` table: not a thinklens store (yet); say so, cache nothing
        # A run on read-only media without its -shm file: WAL readers cannot start,
        # but the file cannot change either.
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        conn.row_factory = sqlite3.Row
    check_readable(conn, path)  # never migrates (read-only): reads versions 1..SCHEMA_VERSION as they are
    conn.execute("PRAGMA temp_store=MEMORY")
    # Memory-mapped reads make the one pass over the overflow pages 3-5x cheaper.
    conn.execute("PRAGMA mmap_size=1073741824")
    return conn


def _search_text(light: Sequence[Any], messages: str, content: str) -> str:
    sample_id, gold, extracted = light[3], light[19] or "", light[18] or ""
    try:
        prompt = "\n".join(_message_text(m) for m in json.loads(messages or "[]"))
    except ValueError:
        prompt = messages or ""
    answer = content[:SEARCH_HEAD_CHARS]
    if len(content) > SEARCH_HEAD_CHARS:
        answer += "\n" + content[-SEARCH_TAIL_CHARS:]
    return "\n".join((str(sample_id), gold, extracted, prompt[:SEARCH_HEAD_CHARS], answer)).casefold()


def _message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return str(message)
    content = message.get("content")
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def _counts(r: Sequence[Any]) -> SubsetCounts:
    return SubsetCounts(
        dataset=r[0], subset=r[1], samples=r[2] or 0, generations=r[3] or 0, graded=r[4] or 0, correct=r[5] or 0,
        wrong=r[6] or 0, truncated=r[7] or 0, no_answer=r[8] or 0, errors=r[9] or 0, ungraded=r[10] or 0,
        pending=r[11] or 0, mean_completion_tokens=_round1(r[12]), mean_reasoning_tokens=_round1(r[13]),
        tokens_over=r[14] or 0,
    )


def _round1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else x


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
