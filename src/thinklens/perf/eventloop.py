"""The load generator's event loop (timers that fire on time) and its GC settings.

asyncio's own timers fire 0-2 ms late (see `thinklens._precise_loop`): open-loop
arrivals would leave late and the loop-lag monitor would report timer rounding instead
of how busy the loop is.  `perf` uses the same precise loop as the mock server.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any
from contextlib import contextmanager

from .._precise_loop import lower_timer_slack, new_precise_event_loop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A precise loop for the calling thread (which also gets a 1 µs timer slack)."""
    lower_timer_slack()
    return new_precise_event_loop()


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel a background task and wait until it has stopped (its cancellation is expected)."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


@contextmanager
def quiet_gc(refreeze_every: float = 1.0) -> Iterator[None]:
    """Short garbage-collector pauses while a level runs.

    A collection stops the event loop, and every chunk arriving meanwhile is timed late;
    a full collection over the records of a long level takes tens of milliseconds.  So:
    collect once, then freeze everything alive (vLLM's benchmark does the same), collect
    the young generation 50x less often, and, from the running loop, freeze again every
    second so that no collection ever walks more than the last second's objects.  Cyclic
    garbage frozen meanwhile is released at the end (unfreeze, then the next collection).
    """
    gc.collect()
    gc.freeze()
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 35_000), old[1], old[2])
    handle: asyncio.TimerHandle | None = None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None

    def refreeze() -> None:
        nonlocal handle
        gc.freeze()
        handle = loop.call_later(refreeze_every, refreeze)  # type: ignore[union-attr]

    if loop is not None:
        handle = loop.call_later(refreeze_every, refreeze)
    try:
        yield
    finally:
        if handle is not None:
            handle.cancel()
        gc.set_threshold(*old)
        gc.unfreeze()
