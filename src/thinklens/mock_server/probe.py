"""A raw reference client: one chat request, every SSE event with its arrival time.

Deliberately independent of `thinklens.client` (no retries, no reasoning
heuristics, nothing hidden): tests and calibration use it to see exactly what
a server sent.  Works against any OpenAI-compatible server, not only the mock.

    async with aiohttp.ClientSession() as session:
        result = await probe_chat(session, "http://127.0.0.1:8801/v1", {"model": "m", "messages": [...],
                                                                        "stream": True})
    result.content, result.reasoning, result.usage, result.token_events[0].t - result.sent_at
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

import aiohttp


@dataclass
class StreamEvent:
    t: float  # time.monotonic() when the event was complete at the client
    data: str  # the raw `data:` payload
    payload: dict[str, Any] | None  # parsed JSON; None for [DONE] or invalid JSON

    @property
    def malformed(self) -> bool:
        return self.payload is None and self.data != "[DONE]"

    def delta(self, choice: int = 0) -> dict[str, Any]:
        for c in (self.payload or {}).get("choices") or []:
            if c.get("index", 0) == choice:
                return c.get("delta") or {}
        return {}


@dataclass
class ProbeResult:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    sent_at: float = 0.0  # time.monotonic() just before the request was sent
    ended_at: float = 0.0
    events: list[StreamEvent] = field(default_factory=list)  # streaming only
    body: dict[str, Any] | None = None  # non-streaming JSON body (or an error body)
    raw_body: bytes = b""
    error: str | None = None  # transport failure: reset, disconnect, timeout...
    done: bool = False  # saw `data: [DONE]`

    @property
    def streamed(self) -> bool:
        return bool(self.events)

    def token_events(self, choice: int = 0) -> list[StreamEvent]:
        """Events carrying text (content or a reasoning field) for `choice`."""
        out = []
        for e in self.events:
            d = e.delta(choice)
            if d.get("content") or d.get("reasoning_content") or d.get("reasoning"):
                out.append(e)
        return out

    @property
    def malformed_events(self) -> list[StreamEvent]:
        return [e for e in self.events if e.malformed]

    def content(self, choice: int = 0) -> str:
        if self.body is not None:
            return (self._message(choice).get("content") or "")
        return "".join(e.delta(choice).get("content") or "" for e in self.events)

    def reasoning(self, choice: int = 0, field_name: str | None = None) -> str:
        names = (field_name,) if field_name else ("reasoning_content", "reasoning")
        if self.body is not None:
            message = self._message(choice)
            return "".join(message.get(n) or "" for n in names)
        return "".join(e.delta(choice).get(n) or "" for e in self.events for n in names)

    def finish_reason(self, choice: int = 0) -> str | None:
        if self.body is not None:
            for c in self.body.get("choices") or []:
                if c.get("index", 0) == choice:
                    return c.get("finish_reason")
            return None
        reason = None
        for e in self.events:
            for c in (e.payload or {}).get("choices") or []:
                if c.get("index", 0) == choice and c.get("finish_reason"):
                    reason = c["finish_reason"]
        return reason

    @property
    def usage(self) -> dict[str, Any] | None:
        if self.body is not None:
            return self.body.get("usage")
        for e in reversed(self.events):
            if e.payload and e.payload.get("usage"):
                return e.payload["usage"]
        return None

    @property
    def ttft(self) -> float | None:
        tokens = self.token_events()
        return tokens[0].t - self.sent_at if tokens else None

    def _message(self, choice: int) -> dict[str, Any]:
        for c in (self.body or {}).get("choices") or []:
            if c.get("index", 0) == choice:
                return c.get("message") or {}
        return {}


async def probe_chat(session: aiohttp.ClientSession, base_url: str, body: dict[str, Any] | bytes,
                     *, timeout: float | None = 60.0) -> ProbeResult:
    """POST base_url/chat/completions; never raises for HTTP or transport errors."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    result = ProbeResult()
    result.sent_at = monotonic()
    try:
        async with session.post(base_url.rstrip("/") + "/chat/completions", data=data,
                                headers={"Content-Type": "application/json"},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            result.status = resp.status
            result.headers = dict(resp.headers)
            if resp.headers.get("Content-Type", "").startswith("text/event-stream"):
                await _read_events(resp, result)
            else:
                result.raw_body = await resp.read()
                try:
                    result.body = json.loads(result.raw_body)
                except ValueError:
                    result.body = None
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.ended_at = monotonic()
    return result


async def _read_events(resp: aiohttp.ClientResponse, result: ProbeResult) -> None:
    data_lines: list[str] = []
    async for raw in resp.content:
        line = raw.decode("utf-8").rstrip("\r\n")
        if line:
            if line.startswith("data:"):
                data_lines.append(line[5:].lstrip(" "))
            continue
        if not data_lines:
            continue
        data = "\n".join(data_lines)
        data_lines = []
        payload = None
        if data == "[DONE]":
            result.done = True
        else:
            try:
                payload = json.loads(data)
            except ValueError:
                payload = None
        result.events.append(StreamEvent(t=monotonic(), data=data, payload=payload))

