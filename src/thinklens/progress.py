"""The run's progress bar: done/total, rate, errors, ETA (Rich)."""

from __future__ import annotations

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

    def __init__(self, total: int, *, enabled: bool = True, console: Console | None = None, label: str = "eval"):
        self.total = total
        self.done = 0
        self.errors = 0
        self.enabled = enabled and total > 0
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} samples/s"),
            TextColumn("[red]{task.fields[errors]} errors"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            refresh_per_second=4,
            transient=False,
        )
        self._task = self._progress.add_task(label, total=total, rate="-", errors=0)

    def __enter__(self) -> "RunProgress":
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._progress.stop()

    def advance(self, *, error: bool = False) -> None:
        self.done += 1
        self.errors += error
        if self.enabled:
            task = self._progress.tasks[0]
            speed = task.speed
            self._progress.update(
                self._task, advance=1, errors=self.errors, rate=f"{speed:.1f}" if speed else "-"
            )
