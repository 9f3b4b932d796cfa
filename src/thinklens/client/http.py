"""Async client for OpenAI-compatible chat completions: one layer for eval, judge and perf.

- aiohttp with one keep-alive connection pool: thousands of requests in flight,
  never one new TCP connection per request, no hidden SDK retries.
- Streaming by default: the body is read with one await per network read and
  parsed incrementally; a moving deadline gives the first-token and idle timeouts.
- Retries with exponential backoff and jitter for 429 (Retry-After honoured), 5xx,
  dropped connections, stalls and malformed chunks; none for other 4xx.
- Every reply is validated at the boundary (`wire.py`): a wrong-shaped one is that
  attempt's error, never a crash and never a stored answer.
- Several replicas: a failing one is ejected and probed back (`endpoints.py`); a retry
  goes to another replica.
- Error messages leave the client with secrets removed (`redact.py`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from ..errors import ServerRefused, ServerUnreachable
from ..records import Generation, Timings, Usage
from .endpoints import EndpointPool
from .keepalive import read_to_end
from .policy import ClientPolicy, parse_retry_after
from .reasoning import DEFAULT_TAGS, split_reasoning
from ..redaction import Redactor
from .sse import SSEDecoder
from .wire import MalformedResponse, WireUsage, error_message, parse_message, parse_usage, stream_delta
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
    # the (reasoning, content) pieces of every chunk, kept only when asked (parts=[]): a
    # prefix of the stream can then be rebuilt as the Generation it would have been
    # (ChatClient.generation_from_prefix; budget forcing's trace reuse)
    parts: list[tuple[str, str]] | None = None
    reasoning_source: str = "none"  # the field the reasoning pieces came in (with parts)

    def reset(self) -> None:
        """Empty, keeping what is asked to be kept: a retried attempt starts its trace anew."""
        self.times, self.chars, self.cum_tokens = [], [], []
        self.texts = None if self.texts is None else []
        self.parts = None if self.parts is None else []
        self.reasoning_source, self.response_id, self.new_connection = "none", None, False
        self.start_monotonic = self.end_monotonic = 0.0


# Failures that are the replica's (it is down, overloaded or broken), not the request's.
_REPLICA_FAULT_KINDS = frozenset({"connection", "first_token_timeout", "stall", "total_timeout", "server_error"})


class AttemptError(Exception):
    """One attempt failed.  `retryable` says whether another attempt may succeed;
    `kind` names the failure for counting (`perf` tallies failures by it): "http",
    "connection", "first_token_timeout", "stall", "total_timeout", "malformed",
    "server_error", "incomplete", "empty".  `unreachable`: no connection could be
    made at all (the replica is down)."""

    def __init__(
        self, message: str, *, retryable: bool, retry_after: float | None = None, status: int | None = None,
        kind: str = "error", unreachable: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.kind = "http" if status is not None and kind == "error" else kind
        self.unreachable = unreachable
        self.endpoint: str | None = None  # where the attempt went (set by ChatClient.chat_once)

    @property
    def replica_fault(self) -> bool:
        """Counts against the replica (5xx, timeouts, dropped connections), never a 4xx."""
        if self.status is not None:
            return self.status >= 500
        return self.kind in _REPLICA_FAULT_KINDS

    @property
    def refusal(self) -> bool:
        """The server refuses the request itself (auth, unknown model, bad parameter)."""
        return self.status is not None and 400 <= self.status < 500 and self.status not in (408, 429)


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
        self.api_key = api_key
        self.policy = policy or ClientPolicy()
        # `http://user:pass@host/v1`: the pool (and every message, and Generation.endpoint)
        # holds the URL without the credentials; they go out as Basic auth, unless an API
        # key is set (aiohttp refuses both, and the Bearer key is what the API checks).
        self._auth: dict[str, dict[str, str] | None] = {}
        secrets: list[str | None] = [api_key]
        plain: list[str] = []
        for raw in urls:
            url = URL(raw.rstrip("/"))
            shown = str(url.with_user(None)) if (url.user or url.password) else raw.rstrip("/")
            self._auth[shown] = _basic_auth(url.user, url.password or "") if url.user else None
            secrets.append(url.password)
            plain.append(shown)
        self.endpoints = EndpointPool(
            plain, backoff=self.policy.eject_backoff, backoff_max=self.policy.eject_backoff_max
        )
        self.redact = Redactor(*secrets)
        self._refused: tuple[int, str] | None = None  # the last refusal (status, message)
        self._refused_in_a_row = 0
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
        """Fail fast, before any work, when no endpoint can be reached; return warnings.
        A dead replica among live ones is a warning (and is ejected): the run goes on
        with the others."""
        results = await asyncio.gather(*(self._check_one(url, model) for url in self.endpoints.urls))
        warnings: list[str] = []
        dead: list[str] = []
        for url, (reachable, notes) in zip(self.endpoints.urls, results):
            warnings.extend(notes)
            if not reachable:
                dead.append(url)
        if len(dead) == len(self.endpoints.urls):
            if len(dead) == 1:
                raise ServerUnreachable(self.redact(
                    f"{results[0][1][0]}. Is it running, and is the URL right (it usually ends in /v1)?"
                ))
            raise ServerUnreachable(self.redact(
                f"cannot reach any of the {len(dead)} model servers: {'; '.join(n[0] for _, n in results)}. "
                "Are they running, and are the URLs right (they usually end in /v1)?"
            ))
        for url in dead:
            self.endpoints.eject(url)  # probed again after its backoff, like any failed replica
        warnings = [f"{w}; the run goes on with the replicas that answer" if w.startswith("cannot reach") else w
                    for w in warnings]
        return [self.redact(w) for w in warnings]

    async def _check_one(self, url: str, model: str | None) -> tuple[bool, list[str]]:
        try:
            async with asyncio.timeout(self.policy.timeout_connect + 10):
                async with self.session.get(f"{url}/models", headers=self._request_auth(url)) as resp:
                    body = await resp.read()
        except (aiohttp.ClientConnectionError, OSError, TimeoutError) as exc:
            return False, [f"cannot reach the model server at {url}: {describe_exception(exc)}"]
        if resp.status in (401, 403):
            raise ServerUnreachable(self.redact(
                f"{url}/models answered {resp.status}: the API key is missing or wrong "
                "(--api-key or $OPENAI_API_KEY)"
            ))
        if resp.status == 200 and model:
            try:
                ids = [m.get("id") for m in _loads(body).get("data", [])]
            except (ValueError, AttributeError, TypeError):
                return True, [f"{url}/models did not return the OpenAI model list"]
            if ids and model not in ids:
                return True, [f"model {model!r} is not in {url}/models ({', '.join(map(str, ids[:5]))})"]
        elif resp.status != 200:
            if resp.status == 404 and not url.endswith("/v1") and await self._answers_models(url, f"{url}/v1"):
                # `http://host:port` for `http://host:port/v1`: every request would 404.
                raise ServerUnreachable(self.redact(
                    f"{url}/models answered 404 but {url}/v1/models answers: did you mean {url}/v1? "
                    "(an OpenAI-compatible base URL ends in /v1)"
                ))
            # Some servers have no /models; the first request will tell.
            return True, [f"{url}/models answered HTTP {resp.status}"]
        return True, []

    async def _answers_models(self, given: str, url: str) -> bool:
        try:
            async with asyncio.timeout(self.policy.timeout_connect + 10):
                async with self.session.get(f"{url}/models", headers=self._request_auth(given)) as resp:
                    await resp.read()
                    return resp.status == 200
        except (aiohttp.ClientConnectionError, OSError, TimeoutError):
            return False

    def _request_auth(self, url: str) -> dict[str, str] | None:
        """Per-request headers: the URL's Basic credentials, when no API key is set."""
        return None if self.api_key else self._auth.get(url)

    # ---- requests ----------------------------------------------------------------
    async def chat(self, request: ChatRequest, trace: StreamTrace | None = None) -> Generation:
        """One completion with retries.  A failure after the retries is returned as a
        Generation with `error` set, never raised: failures are data, not wrong answers.
        The one exception: with `policy.refusals_to_stop`, the same refusal (401, 403,
        404...) that many times in a row raises ServerRefused: every request would fail.
        `trace` gets the chunks of the attempt that answered."""
        last: AttemptError | None = None
        attempts = 0
        for attempt in range(self.policy.max_retries + 1):
            if attempt:
                await asyncio.sleep(self.policy.backoff(attempt, last.retry_after if last else None))
            attempts += 1
            if trace is not None:
                trace.reset()
            try:
                # A retry goes to another replica when one is live.
                gen = await self.chat_once(request, trace, avoid=last.endpoint if last else None)
                gen.attempts = attempts
                self._refused_in_a_row = 0
                return gen
            except AttemptError as exc:
                last = exc
                if not exc.retryable:
                    break
        assert last is not None
        if last.refusal:
            self._note_refusal(last)
        return Generation(error=f"{last} (after {attempts} attempt{'s' * (attempts > 1)})", attempts=attempts)

    def _note_refusal(self, exc: AttemptError) -> None:
        assert exc.status is not None
        what = (exc.status, str(exc))
        self._refused_in_a_row = self._refused_in_a_row + 1 if what == self._refused else 1
        self._refused = what
        limit = self.policy.refusals_to_stop
        if limit and self._refused_in_a_row >= limit:
            hint = ""
            if exc.status == 404 and exc.endpoint and not exc.endpoint.endswith("/v1"):
                hint = f" (did you mean {exc.endpoint}/v1? an OpenAI-compatible base URL ends in /v1)"
            raise ServerRefused(
                f"the server refused {self._refused_in_a_row} requests in a row: {exc}{hint}. Check --api-key, "
                "--model and the request options (--extra-body, --max-tokens); the samples finished so far are stored",
                status=exc.status, server_message=str(exc),
            )

    async def chat_once(
        self, request: ChatRequest, trace: StreamTrace | None = None, *, avoid: str | None = None
    ) -> Generation:
        """A single attempt; raises AttemptError (its message free of secrets)."""
        endpoint = self.endpoints.acquire(avoid)
        try:
            gen = await self._attempt(endpoint, request, trace)
            gen.endpoint = endpoint
            return gen
        except AttemptError as exc:
            exc.endpoint = endpoint
            if exc.replica_fault:
                self.endpoints.failed(endpoint, unreachable=exc.unreachable)
            exc.args = (self.redact(str(exc)),)
            raise
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
        acc: _StreamAccumulator | None = None
        decoder = SSEDecoder()
        try:
            async with asyncio.timeout_at(deadline(policy.timeout_first_token)) as timer:  # absolute loop time
                async with self.session.post(
                    f"{endpoint}/chat/completions", json=body, headers=self._request_auth(endpoint),
                    trace_request_ctx=stamp,
                ) as resp:
                    # Latencies count from when the request left, not from when a
                    # connection was being looked for (client/stamps.py).
                    sent = stamp.sent_at(t0)
                    started += sent - t0
                    if trace is not None:
                        trace.start_monotonic, trace.new_connection = sent, stamp.new_connection
                    if resp.status < 500:
                        self.endpoints.succeeded(endpoint)  # it answers: alive (a 4xx is about our request)
                    if resp.status != 200:
                        raise await _http_error(resp)
                    if not request.stream or resp.content_type == "application/json":
                        # A JSON body to a streamed request: the server ignored `stream`, or
                        # sent an error object with status 200.  Read it as a whole reply.
                        raw = await resp.read()
                        return self._from_message(raw, started, loop.time() - sent)
                    acc = _StreamAccumulator(sent, trace)
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
                    if not acc.done:
                        for payload in decoder.flush():
                            acc.feed(payload, loop.time())
                    elapsed = loop.time() - sent
                    if acc.done and acc.error is None:
                        await read_to_end(reader)  # keeps the connection reusable (client/keepalive.py)
                    return self._from_stream(acc, decoder, started, elapsed)
        except aiohttp.ClientResponseError as exc:
            raise AttemptError(f"HTTP error: {exc.message}", retryable=True, status=exc.status) from None
        except aiohttp.ClientConnectorError as exc:
            # No connection at all: the replica is down (ejected at once when there are others).
            raise AttemptError(
                f"connection error: {describe_exception(exc)}", retryable=True, kind="connection", unreachable=True
            ) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            # aiohttp's connect timeout is a TimeoutError too: catch its errors first.
            raise AttemptError(f"connection error: {describe_exception(exc)}", retryable=True, kind="connection") from None
        except TimeoutError:
            if acc is not None and acc.finish_reason is not None and acc.error is None:
                # The answer was finished; the server just kept the connection open without
                # [DONE] (include_usage off, or a proxy that holds the socket).
                return self._from_stream(acc, decoder, started, loop.time() - acc.t0)  # acc.t0: the send stamp
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
        except ValueError:
            raise AttemptError(f"malformed response: {_snippet(raw)}", retryable=True, kind="malformed") from None
        if type(data) is dict and "error" in data and not data.get("choices"):
            raise AttemptError(
                f"server error: {error_message(data['error'])}", retryable=True, kind="server_error"
            )
        try:
            msg = parse_message(data)
        except (MalformedResponse, IndexError) as exc:
            raise AttemptError(f"malformed response ({exc}): {_snippet(raw)}", retryable=True, kind="malformed") from None
        if not (msg.content or msg.reasoning) and msg.finish_reason is None:
            raise AttemptError(
                f"empty response (no text, no finish_reason): {_snippet(raw)}", retryable=True, kind="empty"
            )
        reasoning, answer, source, _ = self._split(msg.content, msg.reasoning, msg.reasoning_source)
        usage = _usage(msg.usage, reasoning, answer)
        timings = Timings(start=started, ttft=elapsed, ttfat=elapsed if answer else None, e2e=elapsed)
        return Generation(answer, reasoning, source, msg.finish_reason, usage, timings)  # type: ignore[arg-type]

    def _from_stream(
        self, acc: "_StreamAccumulator", decoder: SSEDecoder, started: float, elapsed: float
    ) -> Generation:
        if acc.error is not None:
            raise AttemptError(acc.error, retryable=True, kind=acc.error_kind)
        said = acc.stray or decoder.stray_text()
        said = f"; the server said: {_snippet(said, 500)}" if said else ""
        if acc.finish_reason is None:
            if not (acc.content_parts or acc.reasoning_parts):
                # A bare `data: [DONE]` is no answer at all, not an empty (wrong) one.
                raise AttemptError(
                    f"empty response (no text, no finish_reason){said}", retryable=True, kind="empty"
                )
            if not acc.done:
                raise AttemptError(
                    f"stream ended before the answer was complete (no finish_reason, no [DONE]){said}",
                    retryable=True, kind="incomplete",
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


    def generation_from_prefix(
        self, trace: StreamTrace, chunks: int, *, finish_reason: str, usage: WireUsage, started: float | None
    ) -> Generation:
        """The Generation the streamed `trace` (kept with parts=[]) would have given had it
        ended after its first `chunks` chunks with `finish_reason` and `usage`: the same
        reasoning split, token accounting and timings as a stream that really ended there."""
        if trace.parts is None:
            raise ValueError("the trace kept no chunk texts (StreamTrace(parts=[]))")
        acc = _StreamAccumulator(trace.start_monotonic, None)
        for (reasoning, content), at in zip(trace.parts[:chunks], trace.times[:chunks]):
            if reasoning:
                acc.reasoning_parts.append(reasoning)
            if content:
                acc.content_parts.append(content)
                acc.content_len += len(content)
                acc.content_marks.append((acc.content_len, at))
        acc.reasoning_source = trace.reasoning_source if acc.reasoning_parts else "none"
        end = trace.times[chunks - 1] if chunks else acc.t0
        acc.ttft = trace.times[0] - acc.t0 if chunks else None
        acc.finish_reason, acc.usage, acc.done = finish_reason, usage, True
        return self._from_stream(acc, SSEDecoder(), started, end - acc.t0)  # type: ignore[arg-type]


class _StreamAccumulator:
    """State of one streamed response, fed payload by payload."""

    __slots__ = (
        "t0", "trace", "content_parts", "content_marks", "content_len", "reasoning_parts",
        "reasoning_source", "finish_reason", "usage", "ttft", "done", "error", "error_kind", "stray",
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
        self.usage: WireUsage | None = None
        self.ttft: float | None = None
        self.done = False
        self.error: str | None = None
        self.error_kind = "malformed"
        self.stray = ""  # a payload that was no chunk (`{"detail": ...}`): shown if the stream breaks off

    def feed(self, payload: bytes, now: float) -> bool:
        """Take one `data:` payload; True when the stream is finished."""
        if payload == b"[DONE]":
            self.done = True
            return True
        try:
            data = _loads(payload)
            if type(data) is not dict:
                raise MalformedResponse(f"a {type(data).__name__}, not an object")
            choices = data.get("choices")
            usage = data.get("usage")
            if usage is not None:
                self.usage = usage = parse_usage(usage)
            if not choices:
                return self._no_choices(data, choices, payload)
            piece, reasoning_piece, source, reason = stream_delta(choices)
        except ValueError as exc:  # bad JSON (orjson's and json's errors are ValueErrors) or wrong shape
            detail = f" ({exc})" if isinstance(exc, MalformedResponse) else ""
            self.error = f"malformed stream chunk{detail}: {_snippet(payload)}"
            self.done = True
            return True
        got = False
        # Hot path (once per token): the common fields first, the rare ones only if present.
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
                if trace.parts is not None:
                    trace.parts.append((reasoning_piece or "", piece or ""))
                    if reasoning_piece:
                        trace.reasoning_source = source
                trace.cum_tokens.append(usage.completion_tokens if usage else None)
        if reason:
            self.finish_reason = reason
        return False

    def _no_choices(self, data: dict[str, Any], choices: Any, payload: bytes) -> bool:
        """A chunk without choices: the usage chunk, an error event, or something else."""
        if choices is not None and type(choices) is not list:  # `choices: {}`
            raise MalformedResponse(f"choices is a {type(choices).__name__}, not a list")
        if "error" in data or data.get("object") == "error":
            err = data.get("error", data)
            self.error = f"server error in stream: {error_message(err)}"
            self.error_kind = "server_error"
            self.done = True
            return True
        if "usage" in data:
            # The usage chunk (include_usage) comes after the last choice chunk: once the
            # answer has its finish_reason, the response is complete; don't wait for [DONE].
            if self.finish_reason is not None:
                self.done = True
                return True
        elif not self.stray:
            self.stray = _snippet(payload)
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


def _usage(raw: WireUsage | None, reasoning: str, answer: str) -> Usage:
    if raw is None:
        return Usage()
    completion = raw.completion_tokens
    reasoning_tokens = raw.reasoning_tokens
    estimated = False
    if not reasoning_tokens and reasoning and completion:
        # No server count: split the completion tokens by the share of characters.
        reasoning_tokens = round(completion * len(reasoning) / max(1, len(reasoning) + len(answer)))
        estimated = True
    return Usage(raw.prompt_tokens, completion, reasoning_tokens or (0 if completion else None), estimated)


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


def _basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def describe_exception(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"
