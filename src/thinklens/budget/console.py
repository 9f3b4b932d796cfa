"""The console table of `thinklens budget` (fits 80 columns)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TextIO

from .estimate import OVERALL, BudgetRow


def _k(n: int) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else str(n)


def format_curve(summary: dict, rows: Sequence[BudgetRow]) -> str:
    """One block: accuracy (%) per subset x budget, then OVERALL's details per budget."""
    budgets = summary["budgets"]
    subsets = list(dict.fromkeys(r.subset for r in rows))
    by = {(r.subset, r.budget): r for r in rows}
    lines = [
        *textwrap.wrap(f"Accuracy (%) if the reasoning were cut at B tokens: {summary['model']} on "
                       f"{summary['dataset']}", width=80),
        *textwrap.wrap(f"tokens {summary['tokens']}", width=80, subsequent_indent="  "),
    ]
    # Wide grids are printed in chunks of budgets so each line stays within 80 columns.
    per_line = 9
    for i in range(0, len(budgets), per_line):
        chunk = budgets[i:i + per_line]
        lines.append(f"{'Subset':<9}" + "".join(f"{_k(b):>7}" for b in chunk))
        for s in subsets:
            lines.append(f"{s[:9]:<9}" + "".join(f"{100 * by[(s, b)].accuracy:>7.1f}" for b in chunk))
    lines.append("")
    priced = any("usd" in r.tokens for r in rows)
    head = f"{'B':>7} {'acc %':>6} {'95% CI':>13} {'closed':>6} {'forced':>6} {'none':>5} {'out tok':>11}"
    lines.append("OVERALL per budget (closed: finished within B; none: no answer stated yet)")
    lines.append(head + (f" {'USD':>9}" if priced else ""))
    for b in budgets:
        r = by[(OVERALL, b)]
        ci = "-" if r.ci_low is None else f"{100 * r.ci_low:.1f}-{100 * r.ci_high:.1f}"
        out = r.tokens["reasoning_tokens"] + r.tokens["answer_tokens"]
        line = f"{b:>7} {100 * r.accuracy:>6.1f} {ci:>13} {r.closed:>6} {r.forced:>6} {r.no_candidate:>5} {out:>11,}"
        if priced:
            line += f" {r.tokens['usd']:>9.2f}"
        lines.append(line)
    return "\n".join(lines)


def print_curve(summary: dict, rows: Sequence[BudgetRow], out: TextIO) -> None:
    print(format_curve(summary, rows), file=out)
    print("Assumptions:", file=out)
    for a in summary["assumptions"]:
        print(textwrap.fill(a, width=78, initial_indent="- ", subsequent_indent="  "), file=out)
