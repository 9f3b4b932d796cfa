"""The console table of `thinklens compare` (fits 80 columns: scores in points)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from ..console_tables import add_column

from .runs import ComparisonRow


def _p(p: float) -> str:
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _pts(x: float | None, sign: bool = True) -> str:
    return "-" if x is None else (f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}")


def print_comparison(rows: list[ComparisonRow], console: Console | None = None) -> None:
    console = console or Console()
    for (dataset, a, b), group in _groups(rows).items():
        level = group[0].result.diff.level
        table = Table(title=f"{dataset}: B = {b} vs A = {a} (points)", title_justify="left",
                      box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1),
                      collapse_padding=True)
        for col in ("Subset", "N", "A", "B", "B-A", f"{100 * level:.0f}% CI", "p", "A|B", "MDE", ""):
            add_column(table, col, text=col in ("Subset", ""))
        for row in group:
            r = row.result
            low, high = r.diff.low, r.diff.high
            interval = "-" if low is None or high is None else f"{_pts(low)}, {_pts(high)}"
            table.add_row(
                row.subset, str(r.n), _pts(r.mean_a, False), _pts(r.mean_b, False), _pts(r.diff.estimate), interval,
                _p(r.p_value), f"{r.a_only}|{r.b_only}", _pts(r.mde, False),
                "significant" if r.significant else "not significant",
            )
        console.print(table)
    if rows:
        tests = sorted({row.result.test.split(":")[0] for row in rows})
        console.print(
            f"p: {', '.join(tests)}.  A|B: problems only A / only B solves (most of its repeats right).  "
            f"MDE: the smallest true difference these problems and repeats detect with "
            f"{100 * rows[0].result.power:.0f} % power."
        )


def _groups(rows: list[ComparisonRow]) -> dict[tuple[str, str, str], list[ComparisonRow]]:
    out: dict[tuple[str, str, str], list[ComparisonRow]] = {}
    for row in rows:
        out.setdefault((row.dataset, row.model_a, row.model_b), []).append(row)
    return out
