"""When a request really left: a send-side stamp from aiohttp's request tracing.

A latency timed from when the coroutine was scheduled includes the wait for a free
connection, the TCP (and TLS) set-up of a new one and the event loop's backlog: at
high concurrency, tens of milliseconds the server never saw.  aiohttp calls its
`on_request_chunk_sent` hook just before it hands the request's bytes (headers and
body, coalesced into one write) to the socket; the first call is the request's send
time.  `on_request_headers_sent` fires earlier (when the headers are serialised,
still buffered) and is only the fallback for a request without a body.

The hooks also say whether the request opened a new connection, so `perf` can count
connections opened while a level was measured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp


class SendStamp:
    """Filled in by the trace hooks while one request is sent (loop-clock seconds)."""

    __slots__ = ("clock", "sent", "headers", "new_connection")

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.sent: float | None = None  # just before the first bytes went to the socket
        self.headers: float | None = None  # headers serialised (fallback only)
        self.new_connection = False  # the request opened a new TCP connection

    def sent_at(self, default: float) -> float:
        """The send time, or `default` when the request never got that far."""
        if self.sent is not None:
            return self.sent
        return self.headers if self.headers is not None else default


def _stamp_of(ctx: SimpleNamespace) -> SendStamp | None:
    stamp = ctx.trace_request_ctx
    return stamp if isinstance(stamp, SendStamp) else None


async def _on_chunk_sent(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    stamp = _stamp_of(ctx)
    if stamp is not None and stamp.sent is None:
        stamp.sent = stamp.clock()


async def _on_headers_sent(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    stamp = _stamp_of(ctx)
    if stamp is not None and stamp.headers is None:
        stamp.headers = stamp.clock()


async def _on_connection_created(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    stamp = _stamp_of(ctx)
    if stamp is not None:
        stamp.new_connection = True


def stamp_trace_config() -> aiohttp.TraceConfig:
    """The trace config a session needs for `SendStamp`s passed as `trace_request_ctx`."""
    tc = aiohttp.TraceConfig()
    tc.on_request_chunk_sent.append(_on_chunk_sent)
    tc.on_request_headers_sent.append(_on_headers_sent)
    tc.on_connection_create_end.append(_on_connection_created)
    return tc


def new_stamp() -> SendStamp:
    return SendStamp(asyncio.get_running_loop().time)
