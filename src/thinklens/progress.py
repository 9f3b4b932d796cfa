"""The run's progress bar: done/total, rate, generated tokens/s, errors, ETA (Rich)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress:
    """Counts finished requests; Rich redraws from its own thread a few times a second,
    so an update costs a counter increment, not a redraw."""

    def __init__(self, total: int, *, enabled: bool = True, console: Console | None = None, label: str = "eval",
                 show_tokens: bool = False):
        self.total = total
        self.done = 0
        self.errors = 0
        self.tokens = 0
        self._started = time.perf_counter()
        self.enabled = enabled and total > 0
        # Generated tokens/s: the figure an engine's throughput is quoted in (vLLM, SGLang).
        tokens_column = [TextColumn("{task.fields[tok_rate]} tok/s")] if show_tokens else []
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} samples/s"),
            *tokens_column,
            TextColumn("[red]{task.fields[errors]} errors"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            refresh_per_second=4,
            transient=False,
        )
        self._task = self._progress.add_task(label, total=total, rate="-", tok_rate="-", errors=0)

    def __enter__(self) -> "RunProgress":
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._progress.stop()

    @property
    def tokens_per_second(self) -> float:
        """Generated (completion) tokens per second since the bar started."""
        elapsed = time.perf_counter() - self._started
        return self.tokens / elapsed if elapsed > 0 else 0.0

    def advance(self, *, error: bool = False, tokens: int = 0) -> None:
        self.done += 1
        self.errors += error
        self.tokens += tokens
        if self.enabled:
            task = self._progress.tasks[0]
            speed = task.speed
            self._progress.update(
                self._task, advance=1, errors=self.errors, rate=f"{speed:.1f}" if speed else "-",
                tok_rate=f"{self.tokens_per_second:,.0f}" if self.tokens else "-",
            )
