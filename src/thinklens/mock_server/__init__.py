"""An OpenAI-compatible chat-completions server for tests, demos and `perf` calibration.

    from thinklens.mock_server import MockServerConfig, run_mock_server

    with run_mock_server(MockServerConfig(replay=[path], ttft=0.2, tpot=0.005)) as server:
        ...  # point a client at server.url (http://127.0.0.1:PORT/v1)
        server.stats().outcomes

Command line: `thinklens mock-server --port 8801 --replay FILE.jsonl` (see docs/mock_server.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import FAULT_KINDS, REASONING_FORMATS, MockServerConfig

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app
    from .server import MockServerHandle, run_mock_server, start_mock_server
    from .stats import LatenessSummary, RequestTiming, ServerStats

__all__ = [
    "MockServerConfig", "run_mock_server", "start_mock_server", "MockServerHandle", "create_app",
    "ServerStats", "RequestTiming", "LatenessSummary", "FAULT_KINDS", "REASONING_FORMATS",
]

_LAZY = {
    "run_mock_server": "server", "start_mock_server": "server", "MockServerHandle": "server",
    "create_app": "app", "ServerStats": "stats", "RequestTiming": "stats", "LatenessSummary": "stats",
}


def __getattr__(name: str) -> Any:
    # aiohttp is imported on first use, so `thinklens --help` stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
