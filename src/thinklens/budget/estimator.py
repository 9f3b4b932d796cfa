"""`thinklens budget RUN`: accuracy if the reasoning were cut at B tokens, from stored traces.

Reads the run's traces (one dataset), finds the answer each would give when forced at
every budget (timeline.py), grades the forced answers (verdicts.py, cached in the run
store), and writes budget.json (atomically) with the curve per subset and OVERALL, the
tokens spent per budget and the assumptions; then a figure when matplotlib is there.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..cost import Prices
from ..errors import ConfigError
from ..grading import GradingPool
from ..runlock import RunLock
from ..store import RunStore, storage_errors
from ..store.budget import trace_usage
from ..efficiency.analysis import _approximate_view
from ..efficiency.settings import resolve_run_dir
from ..efficiency.tokens import load_token_counter
from ..efficiency.traces import Trace, load_run
from .estimate import BudgetRow, curve, doubling_grid, needed
from .timeline import ASSUMPTIONS, CandidateSet, Timeline, build_timeline
from .verdicts import CandidateVerdicts, VerdictStats

BUDGET_FILENAME = "budget.json"
FIGURE_STEM = "budget"


@dataclass
class BudgetSettings:
    budgets: list[int] | None = None  # None: doubling from 256 to the longest trace
    tokenizer: str | None = None
    dataset: str | None = None
    candidates: CandidateSet = "all"
    prices: Prices = field(default_factory=Prices)
    grading_workers: int | None = None
    grading_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.budgets is not None:
            bad = [b for b in self.budgets if not isinstance(b, int) or b < 1]
            if bad or not self.budgets:
                raise ConfigError(f"--budgets takes positive token counts, got {self.budgets}")
            self.budgets = sorted(set(self.budgets))


@dataclass
class BudgetResult:
    run_dir: Path
    summary: dict[str, Any]
    rows: list[BudgetRow]
    timelines: dict[str, Timeline]
    traces: list[Trace]
    stats: VerdictStats
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def json_path(self) -> Path:
        return self.run_dir / BUDGET_FILENAME


def token_views(traces: list[Trace], tokenizer: str | None) -> tuple[dict, str]:
    """Per trace, "tokens before character c"; and how they were counted, in words."""
    if tokenizer:
        counter = load_token_counter(tokenizer)
        return dict(zip((t.key for t in traces), counter.tokenize([t.text for t in traces]))), \
            f"exact: tokenizer {counter.name}"
    return {t.key: _approximate_view(t) for t in traces}, \
        "estimated: the server's reasoning token count, prefixes by character share (give --tokenizer for exact)"


def estimate_budget(run_dir: str | Path, settings: BudgetSettings, *, figures: bool = True,
                    wait_lock: bool = False) -> BudgetResult:
    run_dir = resolve_run_dir(run_dir)
    with storage_errors(run_dir), RunLock(run_dir, wait=wait_lock):
        store = RunStore(run_dir)
        verdicts = None
        try:
            loaded = load_run(store, dataset=settings.dataset, subsets=None, group_by="subset")
            traces = loaded.traces
            if not traces:
                raise ConfigError(f"the run in {run_dir} holds no successful generation of {loaded.dataset}")
            views, token_note = token_views(traces, settings.tokenizer)
            timelines = {t.key: build_timeline(t, views[t.key], settings.candidates) for t in traces}
            longest = max(tl.length for tl in timelines.values())
            budgets = settings.budgets or doubling_grid(longest)
            from .. import __version__

            verdicts = CandidateVerdicts(
                store, lambda: GradingPool(workers=settings.grading_workers, timeout=settings.grading_timeout),
                __version__,
            )
            graded = verdicts.resolve(needed(traces, timelines, budgets))
            usage = trace_usage(store, [t.key for t in traces])
            rows = curve(traces, timelines, budgets, graded, usage, settings.prices)
        finally:
            if verdicts is not None:
                verdicts.close()
            store.close()
        notes = []
        if max(budgets) < longest:
            notes.append(f"the longest trace has {longest} reasoning tokens: budgets above "
                         f"{max(budgets)} are not shown")
        if settings.budgets and max(budgets) > longest:
            notes.append(f"budgets above the longest trace ({longest} tokens) repeat the last point: a stored "
                         "trace cannot say what more tokens would have brought")
        summary = {
            "model": loaded.model, "dataset": loaded.dataset, "run_dir": str(run_dir), "created_at": time.time(),
            "tokens": token_note, "candidates": settings.candidates, "budgets": budgets,
            "longest_trace_tokens": longest, "assumptions": list(ASSUMPTIONS),
            "cost_note": "tokens spent at a budget: prompt + min(reasoning, B) + the trace's own answer length "
                         "(a forced answer's length is not observed)",
            "prices": {"in_per_mtok": settings.prices.input, "out_per_mtok": settings.prices.output},
            "grading": {"cached": verdicts.stats.cached, "prescreened": verdicts.stats.prescreened,
                        "graded": verdicts.stats.graded, "ungraded": verdicts.stats.ungraded},
            "notes": notes, "rows": [r.to_dict() for r in rows],
        }
        atomic_write_text(run_dir / BUDGET_FILENAME, json.dumps(summary, indent=2, ensure_ascii=False))
    result = BudgetResult(run_dir, summary, rows, timelines, traces, verdicts.stats, notes=notes)
    if figures:
        from ..plotting import NO_FIGURES_NOTE, figures_available

        if figures_available():
            from .figure import draw_curve

            result.figures = draw_curve(summary, run_dir / FIGURE_STEM)
        else:
            result.notes.append(NO_FIGURES_NOTE)
    return result
