"""The console tables: the guide's score table and the per-subset outcome counts."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from ..console_tables import add_column
from ..records import ScoreRow
from .build import Report
from ..budget.measured import curve_lines
from .cost import cost_lines


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def _int(x: int | None) -> str:
    return "-" if x is None else str(x)  # a report.json of an older release may lack a count


def _score(row: ScoreRow) -> str:
    """0.9180 ± 0.0240: the score and half its interval (asymmetric bootstrap: half the width)."""
    if row.ci_low is None or row.ci_high is None:
        return _fmt(row.score)
    return f"{_fmt(row.score)} ± {(row.ci_high - row.ci_low) / 2:.4f}"


def _scores_table(report: Report, with_model: bool) -> Table:
    where = f"Scores ({report.run_dir})" if with_model else f"Scores of {report.model} ({report.run_dir})"
    table = Table(title=where, title_justify="left")
    cols = ("Model", "Dataset", "Metric", "Subset", "Num", "Score")[0 if with_model else 1:]
    for col in cols:
        add_column(table, col, text=col not in ("Num", "Score"))
    for r in report.rows:
        cells = (r.model, r.dataset, r.metric, r.subset, str(r.num), _score(r))
        table.add_row(*cells[0 if with_model else 1:])
    return table


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    scores = _scores_table(report, with_model=True)
    natural = console.measure(scores, options=console.options.update(max_width=10_000)).maximum
    if natural > console.width and len({r.model for r in report.rows}) <= 1:
        # Narrow (80 columns: a log, a pipe, CI): the one model goes into the title rather
        # than being folded into every row.
        scores = _scores_table(report, with_model=False)
    console.print(scores)
    if any(r.ci_method for r in report.rows):
        console.print("Score ± half the 95 % interval (report.json: ci_low, ci_high, ci_method; "
                      "`thinklens compare` tells whether two runs really differ)")

    # Two tables of few columns each, so that 80 columns cut nothing.
    outcomes = Table(title="Outcomes per subset (Ungr = no verdict, scored as not correct)", title_justify="left")
    for col in ("Dataset", "Subset", "N", "Gens", "Trunc", "NoAns", "Err", "Ungr"):
        add_column(outcomes, col, text=col in ("Dataset", "Subset"))
    tokens = Table(
        title="Mean tokens per subset (Tok / Think tok = completion / reasoning tokens, both over the same "
              "Tok n answered generations)",
        title_justify="left",
    )
    for col in ("Dataset", "Subset", "Tok n", "Tok", "Think tok"):
        add_column(tokens, col, text=col in ("Dataset", "Subset"))
    for s in report.subsets:
        outcomes.add_row(s.dataset, s.subset, _int(s.samples), _int(s.generations), _int(s.truncated),
                         _int(s.no_answer), _int(s.errors), _int(s.ungraded))
        tokens.add_row(s.dataset, s.subset, _int(s.tokens_over), _fmt(s.mean_completion_tokens, 0),
                       _fmt(s.mean_reasoning_tokens, 0))
    console.print(outcomes)
    console.print(tokens)
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
