"""The viewer's read-only summary of one run: every query the viewer asks of a store.

Why an in-memory summary table: in `results` the long texts (prompt, answer, a
30,000-token reasoning) sit in the middle of each row, so SQLite must walk a row's
overflow pages to reach the columns after them (tokens, latency, verdict).  A query
that filters or sorts 2,000 such rows reads ~250 MB.  `SummaryTable` therefore copies
the light columns once into a TEMP table of its own read-only connection (`temp.s`;
TEMP objects live outside the run file, so the store stays untouched and an eval can
keep writing) and answers every list, count, sort and previous/next query from there.

Live runs: `data_version()` (`PRAGMA data_version`) tells whether another connection
committed since the last look; `update()` then re-reads only new rows (rowid above the
last seen) and rows not yet final (ungraded or failed), and starts over when the row
count does not add up.  When to look is the caller's policy (viewer/reader.py).

The samples table's filters and sorts are named here (`OUTCOMES`, `SORT_KEYS`), with
their SQL; a `RowFilter` says which rows a table shows, in which order.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..records import SampleResult
from . import connect, row_to_result
from .efficiency import sample_row as efficiency_sample_row
from .schema import check_readable

SEARCH_HEAD_CHARS = 8000  # quick search covers this much of the prompt and of the answer
SEARCH_TAIL_CHARS = 4000  # ... and the end of a long answer (where the final answer is)

# Primary outcome of a row, for its badge (filters are the non-exclusive _OUTCOME_WHERE).
OUTCOME_SQL = """CASE
    WHEN status='error' THEN 'error'
    WHEN graded=0 THEN 'pending'
    WHEN correct IS NULL THEN 'ungraded'
    WHEN correct=1 THEN 'correct'
    WHEN reason='truncated' OR finish_reason='length' THEN 'truncated'
    WHEN reason='no_answer' THEN 'no_answer'
    ELSE 'wrong' END"""

# Non-exclusive outcome filters (a truncated wrong answer is both "wrong" and
# "truncated"); definitions match the report's per-subset counts (report/build.py).
_OUTCOME_WHERE: dict[str, str] = {
    "correct": "status='ok' AND correct=1",
    "wrong": "status='ok' AND correct=0",
    "truncated": "status='ok' AND finish_reason='length'",
    "no_answer": "status='ok' AND reason IN ('no_answer','truncated')",
    "error": "status='error'",
    "ungraded": "status='ok' AND (graded=0 OR correct IS NULL)",
}
OUTCOMES: tuple[str, ...] = tuple(_OUTCOME_WHERE)

# sort name -> (column, descending).  NULLs (errors have no tokens) always sort last.
_SORT_COLUMNS: dict[str, tuple[str, bool]] = {
    "natural": ("pos", False),
    "-tokens": ("completion_tokens", True),
    "tokens": ("completion_tokens", False),
    "-reasoning": ("reasoning_tokens", True),
    "-latency": ("e2e", True),
    "latency": ("e2e", False),
    "-ttft": ("ttft", True),
}
SORT_KEYS: tuple[str, ...] = tuple(_SORT_COLUMNS)

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

# Outcome counts of a group of rows (SubsetCounts after the group's name): the filters'
# own conditions, so a count and the table it links to cannot disagree.
_COUNTS_AGG = f"""COUNT(DISTINCT sample_id), COUNT(*), SUM(status='ok' AND graded=1 AND correct IS NOT NULL),
    SUM({_OUTCOME_WHERE['correct']}), SUM({_OUTCOME_WHERE['wrong']}), SUM({_OUTCOME_WHERE['truncated']}),
    SUM({_OUTCOME_WHERE['no_answer']}), SUM({_OUTCOME_WHERE['error']}), SUM({_OUTCOME_WHERE['ungraded']}),
    SUM(status='ok' AND graded=0),
    AVG(CASE WHEN status='ok' AND completion_tokens IS NOT NULL THEN completion_tokens END),
    AVG(CASE WHEN status='ok' AND completion_tokens IS NOT NULL THEN IFNULL(reasoning_tokens, 0) END),
    SUM(status='ok' AND completion_tokens IS NOT NULL)"""
# token means share one denominator, as in report.json (report/build.py `_stats`)


@dataclass(frozen=True)
class RowFilter:
    """Which summary rows a table shows, and in which order (the viewer's `SampleQuery`
    adds paging and the URL)."""

    dataset: str = ""
    subset: str = ""
    outcome: str = ""  # one of OUTCOMES, or "" for all
    repeat: int | None = None
    q: str = ""  # search text
    deep: bool = False  # also search the reasoning and the full answer (scans the store)
    sort: str = "natural"  # one of SORT_KEYS

    @property
    def needs_store_scan(self) -> bool:
        return bool(self.q) and self.deep


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
class ProgressCounts:
    """How far the latest plan got, counted over the visible rows."""

    planned: int  # the plan's keys (the stored rows when the run has no plan)
    generated: int
    ok: int
    errors: int
    graded: int  # grading done, ungraded included: "correct / graded" follows the score rule
    correct: int
    pending: int
    last_write: float | None  # newest created_at / graded_at


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
class Verdict:
    key: str
    outcome: str
    correct: bool | None
    extracted: str | None
    completion_tokens: int | None


@dataclass(frozen=True)
class VoteRow:
    """One answered (status ok) visible row: what a vote needs (metrics.question_votes)."""

    dataset: str
    subset: str
    sample_id: str
    repeat: int
    status: str
    correct: bool | None


@dataclass
class TokenValues:
    """Per subset: completion and reasoning tokens of the ok rows, with their outcome."""

    completion: list[tuple[int, str]] = field(default_factory=list)
    reasoning: list[tuple[int, str]] = field(default_factory=list)


class SummaryTable:
    """The light columns of one run's `results`, mirrored into a TEMP table of a
    read-only connection.  Thread-safe: one lock around the connection (`lock`, an
    RLock a caller may hold across several calls)."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = _open_readonly(path)
        self.lock = threading.RLock()
        self.conn.executescript(_TEMP_SCHEMA)
        self._max_rowid = 0
        self._has_plan = False
        self._generation = 0  # bumped by every change of the mirror: keys the deep-search cache
        self._deep_query: tuple[str, int] | None = None

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # ---- keeping the mirror current ------------------------------------------------
    def data_version(self) -> int:
        """Changes whenever another connection commits to the store."""
        with self.lock:
            return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def rebuild(self) -> None:
        """Copy every row again."""
        with self.lock, self.conn:
            self.conn.execute("DELETE FROM temp.s")
            self._max_rowid = 0
            self._load(self.conn.execute(_SOURCE_SELECT).fetchall())
            self._generation += 1

    def update(self) -> None:
        """Copy the rows that may have changed: new ones, and those not final yet."""
        with self.lock:
            with self.conn:
                rows = self.conn.execute(_SOURCE_SELECT + " WHERE rowid >= ?", (self._max_rowid,)).fetchall()
                unsettled = [r[0] for r in self.conn.execute("SELECT key FROM temp.s WHERE status='error' OR graded=0")]
                for chunk in _chunks(unsettled, 500):
                    marks = ",".join("?" * len(chunk))
                    rows += self.conn.execute(_SOURCE_SELECT + f" WHERE key IN ({marks})", chunk).fetchall()
                self._load(rows)
                self._generation += 1
            # Rows replaced under a lower rowid, or deleted: start over rather than drift.
            stored = self.conn.execute("SELECT COUNT(*) FROM main.results").fetchone()[0]
            mirrored = self.conn.execute("SELECT COUNT(*) FROM temp.s").fetchone()[0]
            if stored != mirrored:
                self.rebuild()

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

    def load_plan(self) -> None:
        """Which rows are visible, in which order: the latest plan's, else every row."""
        with self.lock, self.conn:
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

    # ---- run-level -------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """The `meta` table, each value decoded from JSON (kept as text when it is not)."""
        with self.lock:
            return {r[0]: _json_or_text(r[1]) for r in self.conn.execute("SELECT key, value FROM main.meta")}

    def progress_counts(self) -> ProgressCounts:
        with self.lock:
            gen, ok, err, graded, correct, pending, last = self.conn.execute(
                """SELECT COUNT(*), SUM(status='ok'), SUM(status='error'),
                          SUM(status='ok' AND graded=1), SUM(status='ok' AND correct=1),
                          SUM(status='ok' AND graded=0), MAX(MAX(IFNULL(created_at, 0)), MAX(IFNULL(graded_at, 0)))
                   FROM temp.s WHERE pos IS NOT NULL"""
            ).fetchone()
            planned = self.conn.execute("SELECT COUNT(*) FROM temp.pp").fetchone()[0] if self._has_plan else gen
        ok, err, graded, correct, pending = (x or 0 for x in (ok, err, graded, correct, pending))
        return ProgressCounts(planned, gen, ok, err, graded, correct, pending, last or None)

    def datasets_and_subsets(self) -> list[tuple[str, list[str]]]:
        """Datasets and their subsets in benchmark order (order of first appearance)."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT dataset, subset, MIN(pos) AS p FROM temp.s WHERE pos IS NOT NULL GROUP BY dataset, subset ORDER BY p"
            ).fetchall()
        order: dict[str, list[str]] = {}
        for dataset, subset, _ in rows:
            order.setdefault(dataset, []).append(subset)
        return [(d, sorted(subsets, key=natural_key)) for d, subsets in order.items()]

    def repeats(self) -> list[int]:
        with self.lock:
            return [r[0] for r in self.conn.execute('SELECT DISTINCT "repeat" FROM temp.s WHERE pos IS NOT NULL ORDER BY 1')]

    def max_repeat(self) -> int | None:
        """The highest repeat index of any stored row (visible or not)."""
        with self.lock:
            return self.conn.execute('SELECT MAX("repeat") FROM temp.s').fetchone()[0]

    def subset_counts(self) -> list[SubsetCounts]:
        """Per subset, then each dataset's OVERALL: the report's counts, computed live."""
        with self.lock:
            per_subset = self.conn.execute(
                f"SELECT dataset, subset, {_COUNTS_AGG}, MIN(pos) FROM temp.s WHERE pos IS NOT NULL "
                "GROUP BY dataset, subset ORDER BY MIN(pos)"
            ).fetchall()
            overall = {
                r[0]: r for r in self.conn.execute(
                    f"SELECT dataset, 'OVERALL', {_COUNTS_AGG} FROM temp.s WHERE pos IS NOT NULL GROUP BY dataset"
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

    def vote_rows(self) -> list[VoteRow]:
        """The visible answered rows, in plan order."""
        with self.lock:
            cur = self.conn.execute(
                """SELECT dataset, subset, sample_id, "repeat", status, correct FROM temp.s
                   WHERE pos IS NOT NULL AND status='ok' ORDER BY pos"""
            )
            return [VoteRow(d, s, sid, rep, status, None if c is None else bool(c)) for d, s, sid, rep, status, c in cur]

    def token_values(self) -> dict[tuple[str, str], TokenValues]:
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

    # ---- samples table ---------------------------------------------------------------
    def _where(self, flt: RowFilter, *, include_outcome: bool = True) -> tuple[str, list[Any]]:
        """WHERE clause over temp.s: visible rows matching every filter."""
        clauses, params = ["pos IS NOT NULL"], []
        if flt.dataset:
            clauses.append("dataset=?")
            params.append(flt.dataset)
        if flt.subset:
            clauses.append("subset=?")
            params.append(flt.subset)
        if flt.repeat is not None:
            clauses.append('"repeat"=?')
            params.append(flt.repeat)
        if include_outcome and flt.outcome:
            clauses.append(f"({_OUTCOME_WHERE[flt.outcome]})")
        if flt.q and not flt.deep:
            clauses.append("instr(search, ?) > 0")
            params.append(flt.q.casefold())
        if flt.needs_store_scan:
            self._ensure_deep(flt.q)
            clauses.append("key IN (SELECT key FROM temp.deep)")
        return " AND ".join(clauses), params

    def _ensure_deep(self, text: str) -> None:
        """Full-text scan of the store (reasoning, answer, prompt) for `deep` search."""
        if self._deep_query == (text, self._generation):
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
        self._deep_query = (text, self._generation)

    def page(self, flt: RowFilter, page: int, per_page: int) -> Page:
        """One page of the filtered, sorted rows (a page past the end: the last one)."""
        with self.lock:
            where, params = self._where(flt)
            total = self.conn.execute(f"SELECT COUNT(*) FROM temp.s WHERE {where}", params).fetchone()[0]
            pages = max(1, -(-total // per_page))
            page = min(page, pages)
            rows = self.conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM temp.s WHERE {where} ORDER BY {_sort_expr(flt.sort)}, pos LIMIT ? OFFSET ?",
                [*params, per_page, (page - 1) * per_page],
            ).fetchall()
        return Page([_summary_row(r) for r in rows], total, page, pages, per_page)

    def outcome_counts(self, flt: RowFilter) -> dict[str, int]:
        """How many rows each outcome filter would show, under the other filters
        ("" -> all of them)."""
        with self.lock:
            where, params = self._where(flt, include_outcome=False)
            sums = ", ".join(f"SUM({cond})" for cond in _OUTCOME_WHERE.values())
            row = self.conn.execute(f"SELECT COUNT(*), {sums} FROM temp.s WHERE {where}", params).fetchone()
        out = {"": row[0] or 0}
        out.update({name: row[i + 1] or 0 for i, name in enumerate(_OUTCOME_WHERE)})
        return out

    def neighbors(self, flt: RowFilter, key: str) -> Neighbors:
        """Previous/next key in the filtered, sorted table, and where `key` stands."""
        expr = _sort_expr(flt.sort)
        with self.lock:
            where, params = self._where(flt)
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
        with self.lock:
            return [r[0] for r in self.conn.execute("SELECT key FROM temp.s WHERE pos IS NOT NULL ORDER BY pos")]

    # ---- one sample ------------------------------------------------------------------
    def sample(self, key: str) -> tuple[SampleResult, SummaryRow] | None:
        """The full stored row (long texts included) and its summary, or None."""
        with self.lock:
            row = self.conn.execute("SELECT * FROM main.results WHERE key=?", (key,)).fetchone()
            summary = self.conn.execute(f"SELECT {_ROW_COLUMNS} FROM temp.s WHERE key=?", (key,)).fetchone()
        if row is None or summary is None:
            return None
        return row_to_result(row), _summary_row(summary)

    def verdicts(self) -> dict[tuple[str, str, str, int], Verdict]:
        """(dataset, subset, sample_id, repeat) -> verdict: how runs are lined up to compare."""
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
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]


def _sort_expr(sort: str) -> str:
    """An expression without NULLs whose ascending order is the requested order;
    ties are broken by `pos`, so (sort_expr, pos) is a strict total order."""
    column, descending = _SORT_COLUMNS[sort]
    if column == "pos":
        return "pos"
    return f"IFNULL({'-' if descending else ''}{column}, 1e300)"


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
        prompt = "\n".join(message_text(m) for m in json.loads(messages or "[]"))
    except ValueError:
        prompt = messages or ""
    answer = content[:SEARCH_HEAD_CHARS]
    if len(content) > SEARCH_HEAD_CHARS:
        answer += "\n" + content[-SEARCH_TAIL_CHARS:]
    return "\n".join((str(sample_id), gold, extracted, prompt[:SEARCH_HEAD_CHARS], answer)).casefold()


def message_text(message: Any, parts_sep: str = " ") -> str:
    """The text of one chat message (OpenAI content parts joined by `parts_sep`)."""
    if not isinstance(message, dict):
        return str(message)
    content = message.get("content")
    if isinstance(content, list):  # OpenAI content parts
        return parts_sep.join(str(p.get("text", "")) for p in content if isinstance(p, dict))
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
