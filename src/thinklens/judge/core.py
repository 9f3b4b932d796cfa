"""An LLM judge on top of `ChatClient`: deterministic, cached, and honest about failures.

One `Judge` serves every feature that asks a model for a verdict (the grading
fallback, the efficiency `judge` method, the `llm` step split):

- the request is fixed by the prompt: temperature from `JudgeConfig` (0 by default),
  no sampling knobs, so the same question always gets the same request;
- responses are cached by a content hash of that request, tagged with a purpose,
  in the run store's `judge_cache` (or in memory): a rerun sends nothing;
- retries, backoff and timeouts are the client's (one policy for every request);
- a response the parser cannot read is a verdict of its own ("unparsed"), never a
  negative, and a request that failed after its retries is "error".  Neither is
  cached as a verdict: the raw response is cached (so a parser fix needs no call),
  a failed request is not (so the next run retries it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from ..client import ChatClient, ChatRequest, ClientPolicy
from ..config import JudgeConfig
from ..errors import ConfigError
from ..redaction import redact_url

VerdictStatus = Literal["ok", "unparsed", "error"]


class JudgeCache(Protocol):
    """What the judge needs from a cache; `RunStore` provides exactly this."""

    def cached_judgement(self, digest: str) -> dict[str, Any] | None: ...

    def cache_judgement(self, digest: str, purpose: str, request: Any, response: Any) -> None: ...


class MemoryJudgeCache:
    """A cache for judges used without a run store (tests, one-off calls)."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, Any, Any]] = {}

    def cached_judgement(self, digest: str) -> dict[str, Any] | None:
        entry = self.entries.get(digest)
        return None if entry is None else entry[2]

    def cache_judgement(self, digest: str, purpose: str, request: Any, response: Any) -> None:
        self.entries[digest] = (purpose, request, response)


class Unparseable(Exception):
    """Raised by a verdict parser: the response holds no readable verdict (says why)."""


@dataclass(frozen=True)
class ParsedVerdict:
    value: Any
    explanation: str = ""


Parser = Callable[[str], ParsedVerdict]


@dataclass
class JudgeVerdict:
    """The outcome of one judge question.

    `status`: "ok" (value holds the parsed verdict), "unparsed" (the judge answered
    but no verdict could be read: `reason` says why, `raw` holds the answer) or
    "error" (no answer after the client's retries: `reason` is the error).
    """

    purpose: str
    status: VerdictStatus
    value: Any = None
    explanation: str = ""
    raw: str = ""
    reason: str | None = None
    cached: bool = False
    digest: str = ""
    model: str = ""
    finish_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_detail(self) -> dict[str, Any]:
        """JSON-safe audit record (for `Score.detail`, efficiency rows)."""
        d = asdict(self)
        if len(d["raw"]) > 4000:  # verdicts are short; a runaway answer is kept in the cache only
            d["raw"] = d["raw"][:2000] + "\n[...]\n" + d["raw"][-2000:]
        return d


@dataclass
class JudgeStats:
    requests: int = 0  # requests that reached the client (cache misses)
    cache_hits: int = 0
    errors: int = 0
    unparsed: int = 0
    by_purpose: dict[str, int] = field(default_factory=dict)  # requests per purpose


def request_digest(purpose: str, body: dict[str, Any]) -> str:
    """Content hash of a judge request: purpose + model + messages + sampling.  The
    endpoint URL is left out: the same judge model on another replica answers the same."""
    payload = json.dumps({"purpose": purpose, **body}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def judge_api_key(config: JudgeConfig) -> str | None:
    return config.api_key or os.environ.get("THINKLENS_JUDGE_API_KEY") or None


class Judge:
    """`async with Judge(JudgeConfig(api_url=..., model=...), cache=store) as judge:
    verdict = await judge.ask("purpose", prompt, parser)`."""

    def __init__(
        self,
        config: JudgeConfig,
        *,
        cache: JudgeCache | None = None,
        client: ChatClient | None = None,
        policy: ClientPolicy | None = None,
        max_concurrency: int = 16,
        stream: bool = True,
    ):
        if not config.api_url or not config.model:
            raise ConfigError(
                "the LLM judge needs a URL and a model name (--judge-url http://HOST:PORT/v1 --judge-model NAME, "
                "or judge_config=dict(base_url=..., model_name=...))"
            )
        self.config = config
        self.cache: JudgeCache = cache if cache is not None else MemoryJudgeCache()
        # A judge answers in seconds, not the many minutes a reasoning model may think:
        # a shorter first-token timeout than the eval default, still the same policy shape.
        self._own_client = client is None
        self.client = client or ChatClient(
            config.api_url, api_key=judge_api_key(config),
            policy=policy or ClientPolicy(timeout_first_token=600.0, timeout_idle=120.0, max_retries=4),
        )
        self.stream = stream
        self.stats = JudgeStats()
        self._slots = asyncio.Semaphore(max(1, max_concurrency))
        self._inflight: dict[str, asyncio.Future[dict[str, Any] | None]] = {}

    async def __aenter__(self) -> "Judge":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_client:
            await self.client.close()

    def describe(self) -> dict[str, Any]:
        return {"model": self.config.model, "api_url": redact_url(self.config.api_url),
                "temperature": self.config.temperature}

    def request_body(self, prompt: str | list[dict[str, Any]], max_tokens: int | None = None) -> dict[str, Any]:
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        body: dict[str, Any] = {"model": self.config.model, "messages": messages, "temperature": self.config.temperature}
        tokens = max_tokens if max_tokens is not None else self.config.max_tokens
        if tokens is not None:
            body["max_tokens"] = tokens
        return body

    async def ask(
        self, purpose: str, prompt: str | list[dict[str, Any]], parse: Parser, *, max_tokens: int | None = None
    ) -> JudgeVerdict:
        """One question; the answer comes from the cache when this exact request was answered before."""
        body = self.request_body(prompt, max_tokens)
        digest = request_digest(purpose, body)
        response, cached = await self._response(purpose, digest, body)
        verdict = JudgeVerdict(purpose=purpose, status="error", digest=digest, model=self.config.model, cached=cached)
        if response is None or response.get("error"):
            verdict.reason = (response or {}).get("error") or "no response"
            self.stats.errors += 1
            return verdict
        content = response.get("content") or ""
        verdict.raw = content
        verdict.finish_reason = response.get("finish_reason")
        try:
            parsed = parse(content)
        except Unparseable as exc:
            verdict.status = "unparsed"
            reason = str(exc)
            if verdict.finish_reason == "length":
                reason += " (the judge's answer was cut off by max_tokens)"
            verdict.reason = reason
            self.stats.unparsed += 1
            return verdict
        verdict.status = "ok"
        verdict.value = parsed.value
        verdict.explanation = parsed.explanation
        return verdict

    async def _response(self, purpose: str, digest: str, body: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        hit = self.cache.cached_judgement(digest)
        if hit is not None:
            self.stats.cache_hits += 1
            return hit, True
        # Identical questions asked concurrently share one request.
        pending = self._inflight.get(digest)
        if pending is not None:
            self.stats.cache_hits += 1
            return await asyncio.shield(pending), True
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._inflight[digest] = future
        try:
            response = await self._send(purpose, digest, body)
            future.set_result(response)
            return response, False
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: nobody else may be waiting
            raise
        finally:
            del self._inflight[digest]

    async def _send(self, purpose: str, digest: str, body: dict[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in body.items() if k not in ("model", "messages")}
        async with self._slots:
            self.stats.requests += 1
            self.stats.by_purpose[purpose] = self.stats.by_purpose.get(purpose, 0) + 1
            gen = await self.client.chat(ChatRequest(body["model"], body["messages"], params, stream=self.stream))
        if not gen.ok:
            return {"error": gen.error}
        response = {"content": gen.content, "reasoning": gen.reasoning, "finish_reason": gen.finish_reason}
        self.cache.cache_judgement(digest, purpose, body, response)
        return response
