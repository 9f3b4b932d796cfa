"""An event loop whose timers fire on time, for the load generator.

asyncio sleeps in `epoll_wait`, whose timeout has millisecond resolution and is rounded
up, so every timer fires 0-2 ms late: open-loop arrivals would leave late and the
loop-lag monitor would report timer rounding instead of how busy the loop is.  The
selector below first waits with `select()` on the epoll descriptor (microsecond
timeout; the descriptor becomes readable as soon as any socket has an event), then
harvests with a non-blocking `epoll_wait`.  Socket events are never delayed; no busy
waiting.  The thread's timer slack is lowered to 1 µs as well.  (The mock server uses
the same technique for its token schedule.)
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import select
import selectors
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_PR_SET_TIMERSLACK = 29
_FD_SETSIZE = 1024


def lower_timer_slack(nanoseconds: int = 1000) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - unusual libc
        pass


if hasattr(selectors, "EpollSelector"):

    class _PreciseEpollSelector(selectors.EpollSelector):  # type: ignore[name-defined,misc]
        def select(self, timeout: float | None = None):  # type: ignore[override]
            if timeout is not None and timeout > 0:
                fd = self.fileno()
                if fd < _FD_SETSIZE:  # select() cannot watch higher descriptors
                    select.select([fd], [], [], timeout)
                    timeout = 0
            return super().select(timeout)

else:  # pragma: no cover - macOS / Windows: the default loop
    _PreciseEpollSelector = None  # type: ignore[assignment,misc]


def new_event_loop() -> asyncio.AbstractEventLoop:
    lower_timer_slack()
    if _PreciseEpollSelector is None:
        return asyncio.new_event_loop()
    return asyncio.SelectorEventLoop(_PreciseEpollSelector())


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
