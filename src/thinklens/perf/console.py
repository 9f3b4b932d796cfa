"""The console side of `perf`: a one-line progress display and the results table."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from ..console_tables import add_column

from .eventloop import cancel_and_wait
from .stats import LevelSummary

if TYPE_CHECKING:
    from .loadgen import LevelRunner


def _ms(x: float | None) -> str:
    if x is None:
        return "-"
    ms = x * 1e3
    return f"{ms:.2f}" if ms < 100 else f"{ms:.1f}" if ms < 10_000 else f"{ms:.0f}"


def _num(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def short_label(label: str) -> str:
    """`concurrency=32,input=6144` -> `c=32 in=6144`: fits an 80-column terminal."""
    return label.replace("concurrency=", "c=").replace(",input=", " in=")


def throughput_table(levels: list[LevelSummary], *, title: str = "thinklens perf: throughput") -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("Level", "OK", "Failed", "Time s", "Req/s", "Out tok/s", "Total tok/s", "In flight"):
        add_column(table, col, text=col == "Level")
    for lv in levels:
        table.add_row(
            short_label(lv.label),
            str(lv.requests_ok),
            f"[red]{lv.requests_failed}[/]" if lv.requests_failed else "0",
            _num(lv.duration, 1),
            _num(lv.request_throughput),
            _num(lv.output_throughput, 1),
            _num(lv.total_throughput, 1),
            _num(lv.concurrency_achieved, 1),
        )
    return table


def goodput_table(levels: list[LevelSummary], *, title: str = "thinklens perf: goodput (--slo)") -> Table | None:
    """Apart from the throughput table, so that each fits 80 columns; None without SLOs."""
    if not any(lv.goodput for lv in levels):
        return None
    table = Table(title=title, title_justify="left")
    for col in ("Level", "Goodput req/s", "SLO met"):
        add_column(table, col, text=col == "Level")
    for lv in levels:
        g = lv.goodput
        table.add_row(
            short_label(lv.label),
            *(["-", "-"] if not g else [
                f"{g['request_throughput']:.2f}",
                f"{'[green]yes' if g['met'] else '[red]no'}[/] ({g['attainment']:.0%})",
            ]),
        )
    return table


def latency_table(levels: list[LevelSummary], *, title: str = "thinklens perf: latency (ms)") -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("Level", "Metric", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"):
        add_column(table, col, text=col in ("Level", "Metric"))
    for i, lv in enumerate(levels):
        first = True
        for metric, name in (("ttft", "TTFT"), ("ttfat", "TTFAT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2e", "E2E")):
            d = lv.metrics.get(metric) or {}
            if not d.get("n"):
                continue
            table.add_row(
                short_label(lv.label) if first else "",
                name,
                *(_ms(d.get(k)) for k in ("mean", "p50", "p90", "p95", "p99", "p999", "max")),
                end_section=False,
            )
            first = False
        if i < len(levels) - 1:
            table.add_section()
    return table


def print_results(levels: list[LevelSummary], console: Console) -> None:
    console.print(throughput_table(levels))
    goodput = goodput_table(levels)
    if goodput is not None:
        console.print(goodput)
    console.print(latency_table(levels))
    for lv in levels:
        if lv.failures:
            reasons = ", ".join(f"{k}: {v}" for k, v in lv.failures.items())
            console.print(f"[red]{lv.label}[/]: {lv.requests_failed} failed ({reasons})")
        for w in lv.warnings:
            console.print(f"[yellow]warning[/] {lv.label}: {w}")


class LevelProgress:
    """Redraws one status line about once a second from the event loop itself: a
    render thread would take the GIL at random moments and add jitter to the timings."""

    def __init__(self, console: Console, *, enabled: bool):
        self.console = console
        self.enabled = enabled and console.is_terminal
        self._task: asyncio.Task | None = None
        self._runner: "LevelRunner | None" = None
        self._t0 = 0.0

    def start(self, runner: "LevelRunner") -> None:
        self._runner = runner
        self._t0 = time.perf_counter()
        if self.enabled:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._draw()

    def _draw(self) -> None:
        r = self._runner
        if r is None:
            return
        target = f"/{r.requests_target}" if r.requests_target else ""
        elapsed = time.perf_counter() - self._t0
        line = (
            f"{r.label}: {r.measure_done}{target} measured, {r.measure_failed} failed, "
            f"{r.measure_in_flight} in flight, {elapsed:.0f}s"
        )
        self.console.file.write("\r\x1b[2K" + line)
        self.console.file.flush()

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
            self.console.file.write("\r\x1b[2K")
            self.console.file.flush()
