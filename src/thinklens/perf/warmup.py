"""Open a level's connections before it is measured.

Without this, the first wave of a closed loop at concurrency C starts C requests at
once while C TCP connections are still being opened: the requests leave over tens of
milliseconds (63 ms at C = 256 on a loaded 2-core machine), and a server sees a
connection storm instead of the load being measured.  So before a level, C cheap
requests (`GET /models`) run side by side: each needs a connection of its own, and
all of them go back into the client's keep-alive pool for the level to use.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from ..client import ChatClient
from ..client.stamps import new_stamp


@dataclass
class WarmConnections:
    wanted: int
    ready: int = 0  # warm-up requests that got a connection side by side: open connections now
    opened: int = 0  # of which new (the others reused idle ones: an earlier level's, the pre-flight's)
    error: str | None = None


async def open_connections(client: ChatClient, n: int, *, timeout: float) -> WarmConnections:
    """Make `n` keep-alive connections (spread over the endpoints) ready in the pool."""
    result = WarmConnections(n)
    if n <= 0:
        return result
    urls = client.endpoints.urls
    session = client.session

    async def one(url: str) -> bool:
        stamp = new_stamp()
        try:
            async with session.get(f"{url}/models", trace_request_ctx=stamp) as resp:
                await resp.read()  # read to the end: the connection goes back to the pool
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
            return False
        result.ready += 1
        result.opened += stamp.new_connection
        return True

    try:
        async with asyncio.timeout(timeout):
            # Every task takes its connection before any response can come back (none
            # is free again before the server answered), so each one holds its own.
            await asyncio.gather(*(one(urls[i % len(urls)]) for i in range(n)))
    except TimeoutError:
        result.error = f"not all {n} connections were open after {timeout:g}s"
    return result
