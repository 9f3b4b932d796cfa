"""Writing one streamed response on an absolute schedule, from timer callbacks.

Token i is due at arrival + ttft + i * tpot (an event of k tokens is due with its
last token).  One `Ticker` per server keeps every stream's next due time in a
heap of plain tuples and, from a single `loop.call_at` timer, writes each due
stream's events straight to its socket: no task switch, no `asyncio.sleep`, no
TimerHandle and no `json.dumps` per token, which is what lets one core serve
hundreds of concurrent streams at a 5 ms token interval.  When the loop
is late, every event already due goes out in one write, still one SSE event
per token so clients can count.  The body is framed as HTTP/1.1 chunks here
(aiohttp sent the headers and sends the final empty chunk).

Faults strike at a planned step: `reset` aborts the TCP connection with an RST,
`stall` goes silent for `stall_seconds` then resumes, `malformed` inserts one
event of cut-off JSON before the step's own events, `wrong_shape` one event of
valid JSON in the wrong shape.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import socket
import struct
from time import monotonic
from typing import Callable

from .sse import DONE, ChunkEncoder
from .stats import LatenessHistogram, RequestTiming

_log = logging.getLogger(__name__)

# Wake at least this often, even with nothing due, to notice a client that left
# during a long TTFT or a stall.
_WATCHDOG = 1.0
# Longest run of writes before the event loop gets to read sockets again (overload).
_TICK_BUDGET = 0.002
_LINGER_RESET = struct.pack("ii", 1, 0)


def abort_with_reset(transport: asyncio.BaseTransport) -> None:
    """Close the connection with a TCP RST (SO_LINGER 0), not an orderly FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        except OSError:
            pass
    transport.abort()  # type: ignore[attr-defined]


class Ticker:
    """Fires every stream of one event loop at its due times, from one timer.

    The heap holds (due, seq, job) tuples: compared in C, unlike TimerHandles.
    After each job the clock is read again, so jobs that fall due while others
    are written go out in the same pass (for at most _TICK_BUDGET: an overloaded
    server still reads new requests).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, quantum: float = 0.0) -> None:
        self._loop = loop
        self._quantum = quantum
        self._heap: list[tuple[float, int, StreamJob]] = []
        self._seq = itertools.count()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = math.inf

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, when: float, job: "StreamJob") -> None:
        heapq.heappush(self._heap, (when, next(self._seq), job))
        wake = self._grid(when)
        if wake < self._armed_at:
            self._arm(wake)

    def _grid(self, when: float) -> float:
        # Wake on a grid: one wake-up serves every stream due within a quantum, which
        # bounds wake-ups (and their CPU) at high concurrency.
        q = self._quantum
        return math.ceil(when / q) * q if q > 0.0 else when

    def _arm(self, wake: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = wake
        self._handle = self._loop.call_at(wake, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._armed_at = math.inf
        heap, seq = self._heap, self._seq
        heappop, heappush = heapq.heappop, heapq.heappush
        now = started = monotonic()
        while heap and heap[0][0] <= now:
            job = heappop(heap)[2]
            if job.active:
                try:
                    following = job.fire(now)
                except Exception:  # one broken stream must not stop the others
                    _log.exception("mock-server: stream failed")
                    job.abort()
                    following = None
                if following is not None:
                    heappush(heap, (following, next(seq), job))
            now = monotonic()
            if now - started > _TICK_BUDGET:
                break  # let the loop read new requests; the rest goes out right after
        if heap:
            self._arm(self._grid(heap[0][0]))


class StreamJob:
    """One streamed response: which events are due, and writing them.

    `fire` runs once per write (thousands of times a second per core), so its
    common path is written for speed: the due time of the next step is kept,
    not recomputed, and lateness goes straight into the histogram.
    """

    __slots__ = (
        "_transport", "_chunked", "_enc", "_texts", "_split", "_answer_step", "_n",
        "_finish_reason", "_usage_event", "_start", "_tpot", "_k", "_T", "_S", "_step", "_due",
        "_fault", "_fault_step", "_stall", "_hist", "_timing", "_stats_fault", "active", "done",
    )

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        chunked: bool,
        encoder: ChunkEncoder,
        texts: list[str],
        field_split: int,
        answer_start: int,
        n: int,
        finish_reason: str,
        usage_event: bytes | None,
        first_due: float,
        tpot: float,
        tokens_per_chunk: int,
        fault: str | None,
        fault_step: int,
        stall_seconds: float,
        lateness: LatenessHistogram,
        timing: RequestTiming,
        on_fault: Callable[[str], None],
    ) -> None:
        self._transport = transport
        self._chunked = chunked
        self._enc = encoder
        self._texts = texts
        self._split = field_split
        self._T = len(texts)
        self._k = tokens_per_chunk
        self._S = max(1, -(-self._T // tokens_per_chunk))
        # The step that carries the first answer token (none when there is no answer).
        self._answer_step = answer_start // tokens_per_chunk if answer_start < self._T else -1
        self._n = n
        self._finish_reason = finish_reason
        self._usage_event = usage_event
        self._tpot = tpot
        self._step = 0
        # Due time of token 0.  A stall moves it (and so every later token) forward.
        self._start = first_due
        self._due = self.due(0)
        self._fault = fault
        self._fault_step = fault_step if fault is not None else -1
        self._stall = stall_seconds
        self._hist = lateness
        self._timing = timing
        self._stats_fault = on_fault
        self.active = True
        self.done: asyncio.Future[str] = loop.create_future()

    def due(self, step: int) -> float:
        """When `step` is due: with the last of its tokens."""
        last = (step + 1) * self._k - 1
        if last >= self._T:
            last = self._T - 1
        return self._start + (last if last > 0 else 0) * self._tpot

    def begin(self, ticker: Ticker) -> None:
        ticker.schedule(self._wake_at(monotonic()), self)

    def cancel(self, outcome: str = "shutdown") -> None:
        self._finish(outcome)

    def abort(self) -> None:
        """Drop the connection (the response cannot be completed) and finish."""
        self._transport.abort()  # type: ignore[attr-defined]
        self._finish("error")

    def _wake_at(self, now: float) -> float:
        due = self._due
        return due if due <= now + _WATCHDOG else now + _WATCHDOG

    def _finish(self, outcome: str) -> None:
        self.active = False
        if not self.done.done():
            self.done.set_result(outcome)

    def fire(self, now: float) -> float | None:
        """Write every event due by `now`; return when to come back (None: finished)."""
        transport = self._transport
        if transport.is_closing():
            self._finish(self._fault or "client_disconnected")
            return None
        due = self._due
        if due > now:  # a watchdog wake-up
            return self._wake_at(now)
        step, S = self._step, self._S
        hist = self._hist
        counts, nbuckets = hist.counts, len(hist.counts)
        timing = self._timing
        first_step = step
        parts: list[bytes] = []
        while True:
            if step == self._fault_step:
                self._fault_step = -1
                kind = self._fault
                assert kind is not None
                self._stats_fault(kind)
                if kind == "reset":
                    self._write(parts, now, first_step, step)
                    abort_with_reset(transport)
                    self._finish("reset")
                    return None
                if kind == "stall":
                    self._write(parts, now, first_step, step)
                    self._step = step
                    self._start += self._stall
                    self._due = self.due(step)
                    return self._wake_at(now)
                if kind == "wrong_shape":
                    parts.append(self._enc.wrong_shape(step))
                else:
                    parts.append(self._enc.malformed())
            parts.append(self._event(step))
            late = now - due
            if late > timing.max_lateness:
                timing.max_lateness = late
            i = int(late * 100_000.0) if late > 0.0 else 0  # histogram buckets of 10 µs
            counts[i if i < nbuckets else nbuckets - 1] += 1
            hist.n += 1
            hist.total += late if late > 0.0 else 0.0
            if late > hist.max:
                hist.max = late
            step += 1
            if step >= S:
                break
            due = self.due(step)
            if due > now:
                break
        self._write(parts, now, first_step, step)
        self._step = step
        self._due = due
        if step >= S:
            self._finish(self._fault or "ok")
            return None
        return due if due <= now + _WATCHDOG else now + _WATCHDOG

    def _event(self, step: int) -> bytes:
        """The bytes of one step: its token event per choice, plus the role events
        before the first and the usage and [DONE] after the last."""
        enc, n, k = self._enc, self._n, self._k
        a = step * k
        b = a + k if a + k < self._T else self._T
        final = step == self._S - 1
        finish = self._finish_reason if final else None
        timing = self._timing
        if b > a:
            timing.tokens_sent += (b - a) * n
            timing.events_sent += n
        if n == 1 and step and not final:  # the common case: one token event
            return enc.tokens(0, self._texts, a, b, self._split, None)
        parts = [enc.role(i) for i in range(n)] if step == 0 else []
        parts += [enc.tokens(i, self._texts, a, b, self._split, finish) for i in range(n)]
        if final:
            if self._usage_event is not None:
                parts.append(self._usage_event)
            parts.append(DONE)
        return b"".join(parts)

    def _write(self, parts: list[bytes], now: float, first_step: int, end_step: int) -> None:
        """One write for steps [first_step, end_step); `now` is recorded as its time."""
        if not parts:
            return
        payload = parts[0] if len(parts) == 1 else b"".join(parts)
        if self._chunked:
            self._transport.write(b"%x\r\n%b\r\n" % (len(payload), payload))
        else:
            self._transport.write(payload)
        timing = self._timing
        timing.last_write = now
        if first_step == 0 and self._T:
            timing.first_token = now
        if first_step <= self._answer_step < end_step:
            timing.first_answer_token = now
