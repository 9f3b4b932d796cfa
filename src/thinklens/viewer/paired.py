"""The compare page's paired differences: the numbers `thinklens compare` prints
(comparison/), formatted for the template.  Every run after the first is compared
with the first; runs that cannot be paired say why, in one line."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..comparison import compare_runs, load_run
from ..errors import ThinklensError


@dataclass(frozen=True)
class PairedLine:
    dataset: str
    subset: str
    model_a: str
    model_b: str
    n: int
    a: str  # points
    b: str
    diff: str
    interval: str
    p: str
    test: str
    a_only: int
    b_only: int
    mde: str
    significant: bool
    overall: bool


@dataclass(frozen=True)
class PairedView:
    lines: list[PairedLine]
    problem: str | None  # why the runs cannot be paired (one line), else None
    level: int = 95


def _pts(x: float | None, sign: bool = True) -> str:
    return "–" if x is None else (f"{100 * x:+.1f}" if sign else f"{100 * x:.1f}")


def _p(p: float) -> str:
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def paired_view(paths: list[Path]) -> PairedView:
    try:
        rows = compare_runs([load_run(p) for p in paths])
    except ThinklensError as exc:  # no shared problem, another prompt or benchmark version
        return PairedView([], str(exc))
    except (sqlite3.DatabaseError, OSError) as exc:  # a broken or vanished folder: the page still renders
        return PairedView([], f"cannot read a run store: {exc}")
    lines = []
    for row in rows:
        r = row.result
        low, high = r.diff.low, r.diff.high
        lines.append(PairedLine(
            dataset=row.dataset, subset=row.subset, model_a=row.model_a, model_b=row.model_b, n=r.n,
            a=_pts(r.mean_a, False), b=_pts(r.mean_b, False), diff=_pts(r.diff.estimate),
            interval="–" if low is None or high is None else f"{_pts(low)}, {_pts(high)}",
            p=_p(r.p_value), test=r.test, a_only=r.a_only, b_only=r.b_only, mde=_pts(r.mde, False),
            significant=r.significant, overall=row.subset == "OVERALL",
        ))
    level = round(100 * rows[0].result.diff.level) if rows else 95
    return PairedView(lines, None, level)
