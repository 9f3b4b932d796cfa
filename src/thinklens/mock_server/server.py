"""Running the mock server: in a background thread for tests, or in the foreground for the CLI."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from aiohttp import web

from .._precise_loop import lower_timer_slack, new_precise_event_loop
from ..limits import raise_open_file_limit
from .app import STATE_KEY, create_app
from .config import MockServerConfig
from .stats import ServerStats

_BACKLOG = 4096  # hundreds of clients connect at once in load tests: never drop a SYN
_SHUTDOWN_TIMEOUT = 1.0


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def _start_site(app: web.Application, config: MockServerConfig) -> tuple[web.AppRunner, str, int]:
    access_log = logging.getLogger("aiohttp.access") if config.access_log else None
    runner = web.AppRunner(app, access_log=access_log, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, backlog=_BACKLOG)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        from ..errors import ConfigError

        raise ConfigError(f"mock-server cannot listen on {config.host}:{config.port}: {exc.strerror}") from exc
    host, port = runner.addresses[0][:2]
    return runner, host, port


@dataclass
class MockServerHandle:
    """A mock server running on its own event loop in a background thread."""

    config: MockServerConfig
    host: str
    port: int
    _app: web.Application
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread
    _runner: web.AppRunner
    _stopped: bool = False

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (for /health, /stats)."""
        return _url(self.host, self.port)

    @property
    def url(self) -> str:
        """The OpenAI base URL, http://127.0.0.1:PORT/v1."""
        return self.base_url + "/v1"

    def _call(self, fn, timeout: float = 10.0) -> Any:
        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def stats(self, with_records: bool = True) -> ServerStats:
        """A snapshot of the counters (taken on the server's loop: consistent)."""
        state = self._app[STATE_KEY]
        return self._call(lambda: state.stats.snapshot(with_records=with_records))

    def reset_stats(self) -> None:
        state = self._app[STATE_KEY]
        self._call(state.stats.reset)

    def stop(self, timeout: float = 10.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> "MockServerHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_mock_server(config: MockServerConfig | None = None, **options: Any) -> MockServerHandle:
    """Start a server on `config.host` (127.0.0.1) and a free port unless `config.port`
    is set; returns once it accepts connections.  Call `.stop()` when done (or use
    `run_mock_server`).  `options` override fields of `config`."""
    config = config or MockServerConfig()
    if options:
        config = config.with_(**options)
    # No raise_open_file_limit here: this runs inside the caller's process (tests, notebooks),
    # whose limits are the caller's business; `serve` (the CLI's own process) raises it.
    app = create_app(config)  # replay files load here: a ConfigError reaches the caller
    ready: concurrent.futures.Future = concurrent.futures.Future()
    loop = new_precise_event_loop()

    def run() -> None:
        lower_timer_slack()  # a per-thread setting: this is the thread that waits
        asyncio.set_event_loop(loop)
        try:
            ready.set_result(loop.run_until_complete(_start_site(app, config)))
        except BaseException as exc:  # reported to the caller below
            ready.set_exception(exc)
            loop.close()
            return
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name=f"thinklens-mock-server-{id(app):x}", daemon=True)
    thread.start()
    runner, host, port = ready.result(timeout=30)
    return MockServerHandle(config=config, host=host, port=port, _app=app, _loop=loop, _thread=thread, _runner=runner)


@contextmanager
def run_mock_server(config: MockServerConfig | None = None, **options: Any) -> Iterator[MockServerHandle]:
    """`with run_mock_server(MockServerConfig(ttft=0.2)) as server: ... server.url ...`"""
    handle = start_mock_server(config, **options)
    try:
        yield handle
    finally:
        handle.stop()


def serve(config: MockServerConfig) -> int:
    """Run in the foreground until SIGINT/SIGTERM (the CLI).

    Prints `listening on http://HOST:PORT/v1` on stdout (flushed) once connections
    are accepted, so a parent process started with `--port 0` can read the port.
    """
    app = create_app(config)
    raise_open_file_limit(1 << 20)  # thousands of concurrent streams: up to the hard limit
    if not config.quiet:
        print(app[STATE_KEY].describe(), file=sys.stderr, flush=True)

    async def main() -> None:
        lower_timer_slack()
        runner, host, port = await _start_site(app, config)
        print(f"listening on {_url(host, port)}/v1", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
                pass
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    loop = new_precise_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return 0
