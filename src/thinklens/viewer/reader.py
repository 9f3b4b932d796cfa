"""One run folder as the viewer sees it: the store's summary (store/summary.py: every
query) kept current, report.json, and what the pages derive from them (progress state,
live scores).

When to look again: at most once per SYNC_INTERVAL_S; then the summary table is
updated when another connection committed (`data_version`), and rebuilt when
report.json was rewritten (end of an eval or a regrade).
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..metrics import dataset_votes, subset_metrics
from ..records import SampleResult
from ..store import REPORT_FILENAME, STORE_FILENAME
from ..store.summary import (
    Neighbors,
    Page,
    ProgressCounts,
    RowFilter,
    SubsetCounts,
    SummaryRow,
    SummaryTable,
    TokenValues,
    Verdict,
    VoteRow,
)
from .query import SampleQuery

SYNC_INTERVAL_S = 1.0  # at most one look at the store per second per run
RUNNING_IDLE_S = 120.0  # a run whose store changed this recently counts as running


@dataclass(frozen=True)
class Progress(ProgressCounts):
    """The store's counts and what the viewer makes of them."""

    state: str  # complete | running | incomplete
    report_stale: bool
    version: int
    updated_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LiveScore:
    dataset: str
    subset: str
    metric: str
    num: int
    score: float | None
    stderr: float | None


class RunReader:
    """Thread-safe read-only view of one run folder (the server shares one per run)."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / STORE_FILENAME
        self.table = SummaryTable(self.path)
        self.lock = self.table.lock
        self._built = False
        self._data_version: int | None = None
        self._report_mtime: float | None = None
        self._last_check = 0.0
        self.version = 0
        self._meta: dict[str, Any] = {}

    def close(self) -> None:
        self.table.close()

    # ---- synchronisation -------------------------------------------------------
    def sync(self, *, force: bool = False) -> bool:
        """Bring the summary table up to date; True when anything changed."""
        with self.lock:
            now = time.monotonic()
            if self._built and not force and now - self._last_check < SYNC_INTERVAL_S:
                return False
            self._last_check = now
            data_version = self.table.data_version()
            report_mtime = _mtime(self.run_dir / REPORT_FILENAME)
            if self._built and data_version == self._data_version and report_mtime == self._report_mtime:
                return False
            if not self._built or report_mtime != self._report_mtime:
                self.table.rebuild()
            else:
                self.table.update()
            self._data_version = data_version
            self._report_mtime = report_mtime
            self.table.load_plan()
            self._meta = self.table.meta()
            self._built = True
            self.version += 1
            return True

    def _synced(self) -> SummaryTable:
        self.sync()
        return self.table

    # ---- run-level -------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        self.sync()
        return dict(self._meta)

    def progress(self) -> Progress:
        c = self._synced().progress_counts()
        report_mtime = self._report_mtime
        report_stale = report_mtime is not None and bool(c.last_write) and report_mtime + 1.0 < c.last_write
        finished = c.generated >= c.planned and c.pending == 0
        if finished and report_mtime is not None and not report_stale:
            state = "complete"
        elif time.time() - self._store_mtime() < RUNNING_IDLE_S:
            state = "running"
        else:
            state = "incomplete"
        updated = self._meta.get("updated_at") or c.last_write
        return Progress(**vars(c), state=state, report_stale=report_stale, version=self.version,
                        updated_at=updated if isinstance(updated, (int, float)) else None)

    def _store_mtime(self) -> float:
        return max(_mtime(self.path) or 0.0, _mtime(self.path.with_name(STORE_FILENAME + "-wal")) or 0.0)

    def has_report(self) -> bool:
        return (self.run_dir / REPORT_FILENAME).exists()

    def report(self) -> dict[str, Any] | None:
        """report.json, or None when absent or unreadable (a run still in progress)."""
        return read_json_object(self.run_dir / REPORT_FILENAME)

    def datasets_and_subsets(self) -> list[tuple[str, list[str]]]:
        """Datasets and their subsets in benchmark order (order of first appearance)."""
        return self._synced().datasets_and_subsets()

    def repeats(self) -> list[int]:
        return self._synced().repeats()

    def subset_counts(self) -> list[SubsetCounts]:
        """Per subset, then each dataset's OVERALL: the report's counts, computed live."""
        return self._synced().subset_counts()

    def live_scores(self, n_repeats: int | None = None) -> list[LiveScore]:
        """AveragePass@1 and pass@k from the stored verdicts, with the report's votes
        (metrics.dataset_votes).  maj@k is left out: it needs the grader's answer
        equivalence, which only the report applies (pages.scores_for shows the report's)."""
        table = self._synced()
        rows = table.vote_rows()
        n = n_repeats or (table.max_repeat() or 0) + 1
        by_dataset: dict[str, dict[str, list[VoteRow]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            by_dataset[row.dataset][row.subset].append(row)
        return [
            LiveScore(dataset, subset, m.metric, m.num, _finite(m.score), m.stderr)
            for dataset, subsets in by_dataset.items()
            for subset, questions in dataset_votes(subsets)
            for m in subset_metrics(questions, n)
            if not m.metric.startswith("maj@")
        ]

    def token_values(self) -> dict[tuple[str, str], TokenValues]:
        return self._synced().token_values()

    # ---- samples table -----------------------------------------------------------
    def page(self, query: SampleQuery) -> Page:
        return self._synced().page(query, query.page, query.per_page)

    def outcome_counts(self, query: RowFilter) -> dict[str, int]:
        """How many rows each outcome filter would show, under the other filters."""
        return self._synced().outcome_counts(query)

    def neighbors(self, query: RowFilter, key: str) -> Neighbors:
        """Previous/next key in the filtered, sorted table, and where `key` stands."""
        return self._synced().neighbors(query, key)

    def natural_keys(self) -> list[str]:
        """Every visible key in benchmark order (the static export walks these)."""
        return self._synced().natural_keys()

    # ---- one sample --------------------------------------------------------------
    def sample(self, key: str) -> tuple[SampleResult, SummaryRow] | None:
        """The full stored row (long texts included) and its summary, or None."""
        return self._synced().sample(key)

    def verdicts(self) -> dict[tuple[str, str, str, int], Verdict]:
        """(dataset, subset, sample_id, repeat) -> verdict: how runs are lined up to compare."""
        return self._synced().verdicts()

    def efficiency_row(self, key: str, settings_hash: str | None = None) -> dict[str, Any] | None:
        """The trace's efficiency_samples row (store/efficiency.py `sample_row`)."""
        return self.table.efficiency_row(key, settings_hash)


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object file another command wrote, or None when it is missing, unreadable,
    or not an object: a half-finished run shows what it has."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _finite(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else x


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
