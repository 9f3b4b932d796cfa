"""An asyncio event loop whose timers fire within microseconds, not milliseconds.

asyncio waits in `epoll_wait`, whose timeout is whole milliseconds: CPython
rounds the wait up, twice (selectors.py ceils to the millisecond, then
`epoll.poll` ceils the float again, and 0.01 s is a hair above 10 ms), so every
timer fires 0-2 ms late.  For a server whose token interval is 5 ms and which
serves as the yardstick of a load tester that must be right to the
millisecond, that error is too large.  The fix: wait with `select()` on the
epoll descriptor itself (select takes microseconds, and an epoll fd becomes
readable as soon as any registered socket has an event), then harvest the
events with a non-blocking `epoll_wait`.  One more syscall per loop iteration,
no busy waiting.  The loop thread's timer slack is also lowered from 50 µs to 1 µs.

Shared by the mock server (its token schedule) and `perf` (open-loop arrivals and
the loop-lag monitor, which would otherwise report timer rounding as busyness).
"""

from __future__ import annotations

import asyncio
import ctypes
import select
import selectors
import sys

_PR_SET_TIMERSLACK = 29
_FD_SETSIZE = 1024


def lower_timer_slack(nanoseconds: int = 1000) -> None:
    """Linux: let sleeps of this thread end within `nanoseconds` of their deadline."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        pass


if hasattr(selectors, "EpollSelector"):

    class PreciseEpollSelector(selectors.EpollSelector):  # type: ignore[name-defined]
        def select(self, timeout: float | None = None):  # type: ignore[override]
            if timeout is not None and timeout > 0:
                fd = self.fileno()
                if fd < _FD_SETSIZE:  # select() cannot watch higher descriptors
                    select.select([fd], [], [], timeout)
                    timeout = 0  # only harvest what is ready now
            return super().select(timeout)

else:  # pragma: no cover - macOS/Windows: the default selector
    PreciseEpollSelector = None  # type: ignore[assignment,misc]


def new_precise_event_loop() -> asyncio.AbstractEventLoop:
    """A SelectorEventLoop with microsecond timers where the platform allows it.

    Call `lower_timer_slack()` in the thread that will run it."""
    if PreciseEpollSelector is None:
        return asyncio.new_event_loop()
    return asyncio.SelectorEventLoop(PreciseEpollSelector())
