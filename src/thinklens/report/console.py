"""The console tables: the guide's score table and the per-subset outcome counts."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from ..records import ScoreRow
from .build import Report
from ..budget.measured import curve_lines
from .cost import cost_lines


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def _score(row: ScoreRow) -> str:
    """0.9180 ± 0.0240: the score and half its interval (asymmetric bootstrap: half the width)."""
    if row.ci_low is None or row.ci_high is None:
        return _fmt(row.score)
    return f"{_fmt(row.score)} ± {(row.ci_high - row.ci_low) / 2:.4f}"


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    scores = Table(title=f"Scores ({report.run_dir})", title_justify="left")
    for col, justify in (("Model", "left"), ("Dataset", "left"), ("Metric", "left"), ("Subset", "left"),
                         ("Num", "right"), ("Score", "right")):
        scores.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in report.rows:
        scores.add_row(r.model, r.dataset, r.metric, r.subset, str(r.num), _score(r))
    console.print(scores)
    if any(r.ci_method for r in report.rows):
        console.print("Score ± half the 95 % interval (report.json: ci_low, ci_high, ci_method; "
                      "`thinklens compare` tells whether two runs really differ)")

    outcomes = Table(
        title="Outcomes per subset (Ungr = no verdict, scored as not correct; Tok / Think tok = mean completion / "
              "reasoning tokens, both over the same Tok n answered generations)",
        title_justify="left",
    )
    for col in ("Dataset", "Subset", "N", "Gens", "Trunc", "NoAns", "Err", "Ungr", "Tok n", "Tok", "Think tok"):
        outcomes.add_column(col, justify="left" if col in ("Dataset", "Subset") else "right", no_wrap=True)
    for s in report.subsets:
        outcomes.add_row(
            s.dataset, s.subset, str(s.samples), str(s.generations), str(s.truncated), str(s.no_answer),
            str(s.errors), str(s.ungraded), str(s.tokens_over), _fmt(s.mean_completion_tokens, 0),
            _fmt(s.mean_reasoning_tokens, 0),
        )
    console.print(outcomes)
    for line in cost_lines(report.cost):
        console.print(line, markup=False)
    for line in curve_lines(report.budget_curve):
        console.print(line, markup=False)
    if report.judge:
        j = report.judge
        console.print(
            f"LLM judge ({j['strategy']}): asked about {j['asked']} answers, changed {j['changed']} verdicts, "
            f"{j['failed']} failed (rule verdict kept)"
        )
