"""Turn the stored rows of a run into the guide's score table and per-subset counts."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import defaultdict
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..budget.measured import dataset_label, measured_curve
from ..benchmarks import Benchmark
from ..config import TaskConfig
from ..grading import GradeRequest, GradingPool
from ..grading.registry import get_grader
from ..metrics import GOLD_CLASS, OVERALL, dataset_votes, subset_metrics
from ..records import ScoreRow, SubsetStats
from ..store import REPORT_FILENAME, RunStore
from ..store.report import PlannedRow, judged_scores, planned_questions, planned_rows
from ..cost import Prices
from .cost import run_cost
from .intervals import with_intervals



@dataclass
class Report:
    model: str
    run_dir: str
    n_repeats: int
    rows: list[ScoreRow]
    subsets: list[SubsetStats]
    config: dict[str, Any]
    judge: dict[str, Any] | None = None  # LLM-judge counts over the stored scores
    created_at: float = field(default_factory=time.time)
    cost: dict[str, Any] | None = None  # tokens spent (and USD with prices): report/cost.py
    # budget forcing only: accuracy per budget (budget/measured.py); rows are per budget label
    budget_curve: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "run_dir": self.run_dir,
            "n_repeats": self.n_repeats,
            "created_at": self.created_at,
            "rows": [_clean(asdict(r)) for r in self.rows],
            "subsets": [asdict(s) for s in self.subsets],
            "config": self.config,
            "judge": self.judge,
            "cost": self.cost,
            **({"budget_curve": self.budget_curve} if self.budget_curve is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        """A report.json read back (`thinklens report`).  Fields an older release did not
        write are None; fields a newer one added are ignored."""
        def build(kind: type, row: dict[str, Any]) -> Any:
            names = [f.name for f in fields(kind)]
            return kind(**{name: row.get(name) for name in names if name in row or _has_no_default(kind, name)})

        return cls(
            model=data.get("model", ""), run_dir=data.get("run_dir", ""), n_repeats=data.get("n_repeats", 1),
            rows=[build(ScoreRow, r) for r in data.get("rows", [])],
            subsets=[build(SubsetStats, s) for s in data.get("subsets", [])],
            config=data.get("config") or {}, judge=data.get("judge"),
            created_at=data.get("created_at") or 0.0, cost=data.get("cost"), budget_curve=data.get("budget_curve"),
        )

    def score(self, dataset: str, subset: str = OVERALL, metric: str = "AveragePass@1") -> float:
        for r in self.rows:
            if (r.dataset, r.subset, r.metric) == (dataset, subset, metric):
                return r.score
        raise KeyError((dataset, subset, metric))


_Row = PlannedRow  # one planned (sample, repeat), from the store


def _has_no_default(kind: type, name: str) -> bool:
    f = next(f for f in fields(kind) if f.name == name)
    return f.default is MISSING and f.default_factory is MISSING


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def _load_rows(store: RunStore) -> dict[str, dict[str, list[_Row]]]:
    """dataset -> subset -> rows, for the keys of the current plan (the `plan` table).
    A budget-forcing run's rows go under one label per budget (`math_500 @1024`)."""
    out: dict[str, dict[str, list[_Row]]] = defaultdict(lambda: defaultdict(list))
    for row in planned_rows(store):
        out[dataset_label(row.dataset, row.budget)][row.subset].append(row)
    return out


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _stats(dataset: str, subset: str, rows: list[_Row], planned_questions: int) -> SubsetStats:
    ok = [r for r in rows if r.status == "ok"]
    # Both token means are over the same generations (those with a completion count), a
    # missing reasoning count there being 0 (the client only leaves it out of an empty
    # completion); averaging each over its own non-null rows let reasoning exceed completion.
    counted = [r for r in ok if r.completion_tokens is not None]
    return SubsetStats(
        dataset=dataset,
        subset=subset,
        samples=planned_questions,
        generations=len(rows),
        graded=sum(1 for r in ok if r.graded and r.correct is not None),
        truncated=sum(1 for r in ok if r.finish_reason == "length"),
        no_answer=sum(1 for r in ok if r.reason in ("no_answer", "truncated")),
        errors=sum(1 for r in rows if r.status == "error"),
        ungraded=sum(1 for r in ok if not r.graded or r.correct is None),
        tokens_over=len(counted),
        mean_completion_tokens=_mean([r.completion_tokens or 0 for r in counted]),
        mean_reasoning_tokens=_mean([r.reasoning_tokens or 0 for r in counted]),
    )


async def _answer_classes(
    rows: list[_Row], grader: str, pool: GradingPool | None
) -> dict[tuple[str, int], str | None]:
    """Equivalence class of each verdict's answer, for majority voting.

    All correct answers are equivalent to the gold, hence one class.  Wrong and
    ungraded answers (not proven correct: they can win the vote, never for the gold) are grouped by their normalised form, then groups whose representatives the
    grader finds equivalent are merged ("0.5" and "\\frac12"), so a split vote
    among equivalent wrong answers cannot hand the majority to the gold.
    """
    kind = get_grader(grader)
    classes: dict[tuple[str, int], str | None] = {}
    wrong_by_question: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for r in rows:
        if r.status != "ok":
            continue
        if r.correct:
            classes[(r.sample_id, r.repeat)] = GOLD_CLASS
        elif not r.extracted:
            classes[(r.sample_id, r.repeat)] = None
        else:
            label = kind.vote_label(r.extracted, r.normalized)
            wrong_by_question[r.sample_id].setdefault(label, []).append(r.repeat)
    for sid, groups in wrong_by_question.items():
        labels = list(groups)
        parent = {label: label for label in labels}

        def find(x: str) -> str:
            while parent[x] != x:
                x = parent[x]
            return x

        if pool is not None and kind.merge_votes and len(labels) > 1:
            pairs = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:]][:200]
            verdicts = await asyncio.gather(
                *(pool.grade(GradeRequest(grader=grader, response=kind.candidate_response(a), gold=b))
                  for a, b in pairs)
            )
            for (a, b), score in zip(pairs, verdicts):
                if score.correct:
                    parent[find(a)] = find(b)
        for label, repeats in groups.items():
            for rep in repeats:
                classes[(sid, rep)] = "w:" + find(label)
    return classes


async def build_report(
    store: RunStore,
    config: TaskConfig,
    benchmarks: dict[str, Benchmark],
    pool: GradingPool | None = None,
) -> Report:
    data = _load_rows(store)
    n = config.generation_config.n
    rows_out: list[ScoreRow] = []
    stats_out: list[SubsetStats] = []
    planned = planned_questions(store)
    budgets: list[int | None] = list(config.thinking_budget or [None])
    for dataset, label in [(d, dataset_label(d, b)) for d in config.datasets for b in budgets]:
        bench = benchmarks.get(dataset)
        subsets = data.get(label, {})
        order = [s for s in (bench.subsets if bench else ()) if s in subsets]
        order += sorted(s for s in subsets if s not in order)
        by_subset = {subset: subsets[subset] for subset in order}
        grader, class_pool = (bench.grader if bench else "math"), (pool if n > 1 else None)
        classes = {subset: await _answer_classes(rows, grader, class_pool) for subset, rows in by_subset.items()}
        for subset, questions in dataset_votes(by_subset, classes):
            start = len(rows_out)
            for m in subset_metrics(questions, n):
                rows_out.append(ScoreRow(config.model, label, m.metric, subset, m.num, _round(m.score), _round(m.stderr)))
            rows_out[start:] = with_intervals(rows_out[start:], questions, n)
            if subset != OVERALL:
                stats_out.append(_stats(label, subset, by_subset[subset], planned.get((dataset, subset), len(questions))))
        if order:
            all_rows = [r for rows in by_subset.values() for r in rows]
            stats_out.append(
                _stats(label, OVERALL, all_rows, sum(v for (d, _), v in planned.items() if d == dataset))
            )
    curve = (measured_curve(config.datasets, config.thinking_budget, rows_out, stats_out, data)
             if config.thinking_budget else None)
    return Report(
        budget_curve=curve,
        cost=run_cost(data, Prices(config.price_in, config.price_out)),
        judge=_judge_counts(store, config.judge_strategy),
        model=config.model,
        run_dir=str(store.run_dir),
        n_repeats=n,
        rows=rows_out,
        subsets=stats_out,
        config=config.redacted(),
    )


def _judge_counts(store: RunStore, strategy: str) -> dict[str, Any] | None:
    """How many stored scores the judge was asked about, changed, or failed on."""
    asked = changed = failed = 0
    for scored in judged_scores(store):
        method, detail = scored.method, scored.detail
        judge = detail.get("judge")
        if not isinstance(judge, dict):
            continue
        asked += 1
        if judge.get("status") != "ok":
            failed += 1
        elif method == "judge" and detail.get("rule", {}).get("correct") != judge.get("value"):
            changed += 1
    if strategy == "rule" and not asked:
        return None
    return {"strategy": strategy, "asked": asked, "changed": changed, "failed": failed}


def _round(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return x
    return round(x, 4)


def write_report(report: Report, run_dir: str | Path) -> Path:
    path = Path(run_dir) / REPORT_FILENAME
    atomic_write_text(path, json.dumps(report.to_dict(), indent=2, ensure_ascii=False))  # the viewer never sees half
    return path


def load_report(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / REPORT_FILENAME).read_text())
