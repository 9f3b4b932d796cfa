"""Async client for OpenAI-compatible chat completions: one layer for eval, judge and perf.

- aiohttp with one keep-alive connection pool: thousands of requests in flight,
  never one new TCP connection per request, no hidden SDK retries.
- Streaming by default: the body is read with one await per network read and
  parsed incrementally; a moving deadline gives the first-token and idle timeouts.
- Retries with exponential backoff and jitter for 429 (Retry-After honoured), 5xx,
  dropped connections, stalls and malformed chunks; none for other 4xx.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ..errors import ServerUnreachable
from ..records import Generation, Timings, Usage
from .endpoints import EndpointPool
from .keepalive import read_to_end
from .policy import ClientPolicy, parse_retry_after
from .reasoning import DEFAULT_TAGS, split_reasoning
from .sse import SSEDecoder
from .stamps import new_stamp, stamp_trace_config

try:  # optional speed-up; the standard library is the reference behaviour
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

_MAX_ERROR_BODY = 2000


@dataclass
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)  # max_tokens, temperature, extra body...
    stream: bool = True


@dataclass
class StreamTrace:
    """Arrival of every content/reasoning chunk (for `perf`): monotonic seconds, the
    characters the chunk carried, and the server's running completion-token count
    when it reports one per chunk (vLLM `continuous_usage_stats`)."""

    times: list[float] = field(default_factory=list)
    chars: list[int] = field(default_factory=list)
    cum_tokens: list[int | None] = field(default_factory=list)
    # the text of every chunk, kept only when asked (texts=[]): token counts per chunk
    # from a client tokenizer when the server sends no running count
    texts: list[str] | None = None
    start_monotonic: float = 0.0  # when the request's bytes went to the socket (client/stamps.py)
    end_monotonic: float = 0.0
    new_connection: bool = False  # the request opened a new TCP connection
    response_id: str | None = None  # the server's id of the completion (to match its logs)


class AttemptError(Exception):
    """One attempt failed.  `retryable` says whether another attempt may succeed;
    `kind` names the failure for counting (`perf` tallies failures by it): "http",
    "connection", "first_token_timeout", "stall", "total_timeout", "malformed",
    "server_error", "incomplete"."""

    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None, status: int | None = None,
        kind: str = "error",
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.kind = "http" if status is not None and kind == "error" else kind


class ChatClient:
    """Use as `async with ChatClient(urls, ...) as client: gen = await client.chat(req)`."""

    def __init__(
        self,
        api_urls: list[str] | str,
        *,
        api_key: str | None = None,
        policy: ClientPolicy | None = None,
        think_tags: tuple[tuple[str, str], ...] | list[tuple[str, str]] = DEFAULT_TAGS,
        reasoning_prefilled: bool = False,
        max_connections: int = 0,
    ):
        urls = [api_urls] if isinstance(api_urls, str) else list(api_urls)
        self.endpoints = EndpointPool([u.rstrip("/") for u in urls])
        self.api_key = api_key
        self.policy = policy or ClientPolicy()
        self.think_tags = tuple(tuple(t) for t in think_tags)
        self.reasoning_prefilled = reasoning_prefilled
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    # ---- lifecycle ---------------------------------------------------------------
    async def __aenter__(self) -> "ChatClient":
        self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def open(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, keepalive_timeout=120, ttl_dns_cache=600
            )
            headers = {"Content-Type": "application/json"}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.policy.timeout_connect),
                json_serialize=json.dumps,
                trace_configs=[stamp_trace_config()],  # send-side stamps: client/stamps.py
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self.open()
        assert self._session is not None
        return self._session

    # ---- preflight ---------------------------------------------------------------
    async def check(self, model: str | None = None) -> list[str]:
        """Fail fast, before any work, when an endpoint is unreachable; return warnings."""
        warnings: list[str] = []
        for url in self.endpoints.urls:
            try:
                async with asyncio.timeout(self.policy.timeout_connect + 10):
                    async with self.session.get(f"{url}/models") as resp:
                        body = await resp.read()
            except (aiohttp.ClientConnectionError, OSError, TimeoutError) as exc:
                raise ServerUnreachable(
                    f"cannot reach the model server at {url}: {describe_exception(exc)}. "
                    "Is it running, and is the URL right (it usually ends in /v1)?"
                ) from None
            if resp.status in (401, 403):
                raise ServerUnreachable(
                    f"{url}/models answered {resp.status}: the API key is missing or wrong "
                    "(--api-key or $OPENAI_API_KEY)"
                )
            if resp.status == 200 and model:
                try:
                    ids = [m.get("id") for m in _loads(body).get("data", [])]
                except (ValueError, AttributeError, TypeError):
                    warnings.append(f"{url}/models did not return the OpenAI model list")
                    continue
                if ids and model not in ids:
                    warnings.append(f"model {model!r} is not in {url}/models ({', '.join(map(str, ids[:5]))})")
            elif resp.status != 200:
                # Some servers have no /models; the first request will tell.
                warnings.append(f"{url}/models answered HTTP {resp.status}")
        return warnings

    # ---- requests ----------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> Generation:
        """One completion with retries.  A failure after the retries is returned as a
        Generation with `error` set, never raised: failures are data, not wrong answers."""
        last: AttemptError | None = None
        attempts = 0
        for attempt in range(self.policy.max_retries + 1):
            if attempt:
                await asyncio.sleep(self.policy.backoff(attempt, last.retry_after if last else None))
            attempts += 1
            try:
                gen = await self.chat_once(request)
                gen.attempts = attempts
                return gen
            except AttemptError as exc:
                last = exc
                if not exc.retryable:
                    break
        assert last is not None
        return Generation(error=f"{last} (after {attempts} attempt{'s' * (attempts > 1)})", attempts=attempts)

    async def chat_once(self, request: ChatRequest, trace: StreamTrace | None = None) -> Generation:
        """A single attempt; raises AttemptError."""
        endpoint = self.endpoints.acquire()
        try:
            gen = await self._attempt(endpoint, request, trace)
            gen.endpoint = endpoint
            return gen
        finally:
            self.endpoints.release(endpoint)

    async def _attempt(self, endpoint: str, request: ChatRequest, trace: StreamTrace | None) -> Generation:
        body: dict[str, Any] = {"model": request.model, "messages": request.messages, **request.params}
        if request.stream:
            body["stream"] = True
            opts = dict(body.get("stream_options") or {})
            opts.setdefault("include_usage", True)
            body["stream_options"] = opts
        loop = asyncio.get_running_loop()
        policy = self.policy
        started = time.time()
        t0 = loop.time()
        stamp = new_stamp()
        if trace is not None:
            trace.start_monotonic = t0  # known even when the attempt fails before any byte
        total_deadline = t0 + policy.timeout_total if policy.timeout_total else None

        def deadline(phase_timeout: float) -> float:
            d = loop.time() + phase_timeout
            return min(d, total_deadline) if total_deadline else d

        phase = "first_token"
        try:
            async with asyncio.timeout_at(deadline(policy.timeout_first_token)) as timer:  # absolute loop time
                async with self.session.post(
                    f"{endpoint}/chat/completions", json=body, trace_request_ctx=stamp
                ) as resp:
                    # Latencies count from when the request left, not from when a
                    # connection was being looked for (client/stamps.py).
                    sent = stamp.sent_at(t0)
                    started += sent - t0
                    if trace is not None:
                        trace.start_monotonic, trace.new_connection = sent, stamp.new_connection
                    if resp.status != 200:
                        raise await _http_error(resp)
                    if not request.stream:
                        raw = await resp.read()
                        return self._from_message(raw, started, loop.time() - sent)
                    acc = _StreamAccumulator(sent, trace)
                    decoder = SSEDecoder()
                    reader = resp.content
                    # Moving the deadline costs a timer-heap push; do it only when it has
                    # drifted by `slack`, so a stall is detected after idle - slack .. idle s.
                    slack = min(1.0, policy.timeout_idle / 10)
                    moved_at = -slack
                    while True:
                        chunk = await reader.readany()
                        if not chunk:
                            break
                        now = loop.time()
                        if phase == "first_token":
                            phase = "idle"
                        if now - moved_at >= slack:
                            timer.reschedule(deadline(policy.timeout_idle))
                            moved_at = now
                        for payload in decoder.feed(chunk):
                            if acc.feed(payload, now):
                                break
                        if acc.done:
                            break
                    for payload in decoder.flush():
                        acc.feed(payload, loop.time())
                    elapsed = loop.time() - sent
                    if acc.done and acc.error is None:
                        await read_to_end(reader)  # keeps the connection reusable (client/keepalive.py)
                    return self._from_stream(acc, started, elapsed)
        except aiohttp.ClientResponseError as exc:
            raise AttemptError(f"HTTP error: {exc.message}", retryable=True, status=exc.status) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            # aiohttp's connect timeout is a TimeoutError too: catch its errors first.
            raise AttemptError(f"connection error: {describe_exception(exc)}", retryable=True, kind="connection") from None
        except TimeoutError:
            if total_deadline and loop.time() >= total_deadline - 0.01:
                raise AttemptError(
                    f"no complete answer within --timeout-total {policy.timeout_total:g}s", retryable=True,
                    kind="total_timeout",
                ) from None
            if phase == "first_token":
                raise AttemptError(
                    f"no response within --timeout-first-token {policy.timeout_first_token:g}s", retryable=True,
                    kind="first_token_timeout",
                ) from None
            raise AttemptError(
                f"stream stalled: silent for --timeout-idle {policy.timeout_idle:g}s", retryable=True, kind="stall"
            ) from None
        except OSError as exc:
            raise AttemptError(f"connection error: {describe_exception(exc)}", retryable=True, kind="connection") from None
        finally:
            if trace is not None and stamp.sent is not None:  # a failure after sending: time it from there
                trace.start_monotonic, trace.new_connection = stamp.sent, stamp.new_connection

    # ---- building the Generation -------------------------------------------------
    def _split(self, content: str, reasoning: str, reasoning_source: str) -> tuple[str, str, str, int]:
        if reasoning:
            # The server separated the reasoning; a stray closing tag may still lead the content.
            split = split_reasoning(content, self.think_tags)
            if split.source == "lone_close_tag" and not split.reasoning:
                return reasoning.strip(), split.content, reasoning_source, split.answer_offset
            return reasoning.strip(), content.strip(), reasoning_source, 0
        split = split_reasoning(content, self.think_tags, prefilled=self.reasoning_prefilled)
        return split.reasoning, split.content, split.source, split.answer_offset

    def _from_message(self, raw: bytes, started: float, elapsed: float) -> Generation:
        try:
            data = _loads(raw)
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise AttemptError(f"malformed response: {_snippet(raw)}", retryable=True, kind="malformed") from None
        if not isinstance(message, dict):
            raise AttemptError(f"malformed response: {_snippet(raw)}", retryable=True, kind="malformed")
        content = message.get("content") or ""
        reasoning, source = _reasoning_from(message)
        reasoning, answer, source, _ = self._split(content, reasoning, source)
        usage = _usage(data.get("usage"), reasoning, answer)
        timings = Timings(start=started, ttft=elapsed, ttfat=elapsed if answer else None, e2e=elapsed)
        return Generation(answer, reasoning, source, choice.get("finish_reason"), usage, timings)  # type: ignore[arg-type]

    def _from_stream(self, acc: "_StreamAccumulator", started: float, elapsed: float) -> Generation:
        if acc.error is not None:
            raise AttemptError(acc.error, retryable=True, kind=acc.error_kind)
        if not acc.done and acc.finish_reason is None:
            raise AttemptError(
                "stream ended before the answer was complete (no finish_reason, no [DONE])", retryable=True,
                kind="incomplete",
            )
        content = "".join(acc.content_parts)
        reasoning = "".join(acc.reasoning_parts)
        reasoning, answer, source, answer_offset = self._split(content, reasoning, acc.reasoning_source)
        ttfat = acc.time_of_content_offset(content, answer_offset) if answer else None
        usage = _usage(acc.usage, reasoning, answer)
        timings = Timings(start=started, ttft=acc.ttft, ttfat=ttfat, e2e=elapsed)
        if acc.trace is not None:
            acc.trace.end_monotonic = acc.t0 + elapsed
        return Generation(answer, reasoning, source, acc.finish_reason, usage, timings)  # type: ignore[arg-type]


class _StreamAccumulator:
    """State of one streamed response, fed payload by payload."""

    __slots__ = (
        "t0", "trace", "content_parts", "content_marks", "content_len", "reasoning_parts",
        "reasoning_source", "finish_reason", "usage", "ttft", "done", "error", "error_kind",
    )

    def __init__(self, t0: float, trace: StreamTrace | None):
        self.t0 = t0
        self.trace = trace
        if trace is not None:
            trace.start_monotonic = t0
        self.content_parts: list[str] = []
        self.content_marks: list[tuple[int, float]] = []  # (content length after this chunk, arrival)
        self.content_len = 0
        self.reasoning_parts: list[str] = []
        self.reasoning_source = "none"
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.ttft: float | None = None
        self.done = False
        self.error: str | None = None
        self.error_kind = "malformed"

    def feed(self, payload: bytes, now: float) -> bool:
        """Take one `data:` payload; True when the stream is finished."""
        if payload == b"[DONE]":
            self.done = True
            return True
        try:
            data = _loads(payload)
        except ValueError:
            self.error = f"malformed stream chunk: {_snippet(payload)}"
            self.done = True
            return True
        if not isinstance(data, dict):
            self.error = f"malformed stream chunk: {_snippet(payload)}"
            self.done = True
            return True
        if "error" in data and not data.get("choices"):
            err = data["error"]
            self.error = f"server error in stream: {err.get('message') if isinstance(err, dict) else err}"
            self.error_kind = "server_error"
            self.done = True
            return True
        usage = data.get("usage")
        if usage:
            self.usage = usage
        choices = data.get("choices")
        if not choices:
            return False
        choice = choices[0]
        delta = choice.get("delta") or {}
        piece = delta.get("content")
        # Hot path (once per token): the common fields first, the rare ones only if present.
        reasoning_piece = delta.get("reasoning_content")
        if reasoning_piece:
            source = "reasoning_content"
        elif len(delta) > 1 or piece is None:
            reasoning_piece, source = _reasoning_from(delta)
        got = False
        if reasoning_piece:
            self.reasoning_parts.append(reasoning_piece)
            self.reasoning_source = source
            got = True
        if piece:
            self.content_parts.append(piece)
            self.content_len += len(piece)
            self.content_marks.append((self.content_len, now))
            got = True
        if got:
            if self.ttft is None:
                self.ttft = now - self.t0
            trace = self.trace
            if trace is not None:
                if trace.response_id is None:
                    trace.response_id = data.get("id")
                trace.times.append(now)
                trace.chars.append(len(piece or "") + len(reasoning_piece or ""))
                if trace.texts is not None:
                    trace.texts.append((reasoning_piece or "") + (piece or ""))
                trace.cum_tokens.append(usage.get("completion_tokens") if usage else None)
        reason = choice.get("finish_reason")
        if reason:
            self.finish_reason = reason
        return False

    def time_of_content_offset(self, content: str, offset: int) -> float | None:
        """Arrival (from start) of the first non-blank character at or after `offset`."""
        n = len(content)
        while offset < n and content[offset].isspace():
            offset += 1
        if offset >= n:
            return None
        for end, at in self.content_marks:
            if end > offset:
                return at - self.t0
        return None


def _reasoning_from(obj: dict[str, Any]) -> tuple[str, str]:
    """The reasoning carried by a message or delta, and the field it came in."""
    text = obj.get("reasoning_content")
    if text:
        return text, "reasoning_content"
    text = obj.get("reasoning")
    if text and isinstance(text, str):
        return text, "reasoning"
    details = obj.get("reasoning_details")
    if details and isinstance(details, list):
        parts = [d.get("text") or d.get("summary") or "" for d in details if isinstance(d, dict)]
        joined = "".join(p for p in parts if isinstance(p, str))
        if joined:
            return joined, "reasoning_details"
    return "", "none"


def _usage(raw: dict[str, Any] | None, reasoning: str, answer: str) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    completion = raw.get("completion_tokens")
    details = raw.get("completion_tokens_details") or {}
    reasoning_tokens = details.get("reasoning_tokens") if isinstance(details, dict) else None
    estimated = False
    if not reasoning_tokens and reasoning and completion:
        # No server count: split the completion tokens by the share of characters.
        reasoning_tokens = round(completion * len(reasoning) / max(1, len(reasoning) + len(answer)))
        estimated = True
    return Usage(raw.get("prompt_tokens"), completion, reasoning_tokens or (0 if completion else None), estimated)


async def _http_error(resp: aiohttp.ClientResponse) -> AttemptError:
    try:
        raw = await resp.content.read(_MAX_ERROR_BODY)
    except (aiohttp.ClientError, OSError):
        raw = b""
    message = _error_message(raw)
    status = resp.status
    text = f"HTTP {status}: {message}"
    if status == 429:
        return AttemptError(text, retryable=True, retry_after=parse_retry_after(resp.headers.get("Retry-After")), status=status)
    if status >= 500 or status == 408:
        return AttemptError(text, retryable=True, status=status)
    # Other 4xx: our request is wrong (bad parameter, context too long, auth): retrying cannot help.
    return AttemptError(text, retryable=False, status=status)


def _error_message(raw: bytes) -> str:
    try:
        data = _loads(raw)
        err = data.get("error", data) if isinstance(data, dict) else data
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    except ValueError:
        return _snippet(raw)


def _snippet(raw: bytes | str, n: int = 200) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = " ".join(text.split())
    return text[:n] + ("..." if len(text) > n else "") if text else "(empty)"


def describe_exception(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"
