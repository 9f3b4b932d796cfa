"""Keep a connection reusable after a streamed answer.

The client stops reading at `data: [DONE]`, but on HTTP/1.1 the body ends only with
the terminating chunk (`0\\r\\n\\r\\n`), which servers write a moment later (aiohttp,
uvicorn: a separate write once the generator is done).  aiohttp closes a connection
released before its body ended, so every request whose `[DONE]` was read first paid a
new TCP connection on the next one (half the requests at concurrency 1, on loopback).
Reading to the end of the body, briefly, keeps the connection in the pool.
"""

from __future__ import annotations

import asyncio

import aiohttp

_WAIT = 0.05  # s: the terminating chunk follows [DONE] at once; a server that sends more is not waited for
_MAX_BYTES = 1 << 16


async def read_to_end(reader: aiohttp.StreamReader) -> None:
    """Read what is left of a body after the answer ended (bounded); never raises."""
    if reader.at_eof():
        return
    seen = 0
    try:
        async with asyncio.timeout(_WAIT):
            while not reader.at_eof() and seen < _MAX_BYTES:
                data = await reader.readany()
                if not data:
                    return
                seen += len(data)
    except (TimeoutError, aiohttp.ClientError, OSError):
        pass  # the connection is closed on release instead: nothing is lost
