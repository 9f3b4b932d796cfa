"""The measured budget curve of a budget-forcing run (`thinklens eval --thinking-budget`).

Each budget's rows are reported as a dataset of their own, labelled `math_500 @1024`
(report.json rows, the console table, the viewer), so every budget gets its subsets,
OVERALL and intervals exactly as a plain run does; `budget_curve` in report.json
puts the OVERALL rows side by side with the forced counts and tokens.  Light module:
the report and `thinklens compare` import it without the HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..metrics import OVERALL
from ..records import ScoreRow, SubsetStats
from ..store.report import PlannedRow

CURVE_METRIC = "AveragePass@1"


def dataset_label(dataset: str, budget: int | None) -> str:
    """How a budget's rows are named where a dataset name goes."""
    return dataset if budget is None else f"{dataset} @{budget}"


def measured_curve(
    datasets: Iterable[str],
    budgets: list[int],
    rows: list[ScoreRow],
    stats: list[SubsetStats],
    data: Mapping[str, Mapping[str, list[PlannedRow]]],
) -> list[dict[str, Any]]:
    """One point per (dataset, budget): accuracy with its interval, forced answers, tokens."""
    score = {r.dataset: r for r in rows if r.subset == OVERALL and r.metric == CURVE_METRIC}
    overall = {s.dataset: s for s in stats if s.subset == OVERALL}
    curve: list[dict[str, Any]] = []
    for dataset in datasets:
        for budget in budgets:
            label = dataset_label(dataset, budget)
            planned = [r for subset_rows in data.get(label, {}).values() for r in subset_rows]
            ok = [r for r in planned if r.status == "ok"]
            row, st = score.get(label), overall.get(label)
            curve.append({
                "dataset": dataset,
                "budget": budget,
                "label": label,
                "metric": CURVE_METRIC,
                "num": row.num if row else 0,
                "score": row.score if row else None,
                "ci_low": row.ci_low if row else None,
                "ci_high": row.ci_high if row else None,
                "generations": len(ok),
                "forced": sum(1 for r in ok if r.forced),
                "truncated": st.truncated if st else 0,
                "errors": st.errors if st else 0,
                "mean_reasoning_tokens": st.mean_reasoning_tokens if st else None,
                "mean_completion_tokens": st.mean_completion_tokens if st else None,
            })
    return curve


def curve_lines(curve: list[dict[str, Any]] | None) -> list[str]:
    """The console's summary: one line per (dataset, budget)."""
    if not curve:
        return []
    out = ["Accuracy vs thinking budget (measured by budget forcing; forced = reasoning cut at the budget "
           "and the answer forced):"]
    width = max(len(p["label"]) for p in curve)
    for p in curve:
        score = "-" if p["score"] is None else f"{p['score']:.4f}"
        if p["score"] is not None and p["ci_low"] is not None and p["ci_high"] is not None:
            score += f" ± {(p['ci_high'] - p['ci_low']) / 2:.4f}"
        think = "-" if p["mean_reasoning_tokens"] is None else f"{p['mean_reasoning_tokens']:.0f}"
        out.append(f"  {p['label']:<{width}}  {score:>15}  forced {p['forced']}/{p['generations']}  "
                   f"think tok {think}")
    return out
