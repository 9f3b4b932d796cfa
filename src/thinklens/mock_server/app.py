"""The aiohttp application: OpenAI-compatible endpoints plus /health and /stats.

POST /v1/chat/completions   streaming (SSE) and non-streaming, vLLM's response shape; vLLM's
                            continue_final_message / add_generation_prompt (plan.py)
GET  /v1/models             the configured model
GET  /health                {"status": "ok"}
GET  /stats                 ServerStats as JSON (`?records=0` leaves out the per-request records)
POST /stats/reset           zero the counters and drop the records
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from typing import Any

from aiohttp import web
from aiohttp.http import HttpVersion11

from .config import MockServerConfig
from .faults import FaultDraw, FaultInjector
from .plan import OutputPlan, RenderedOutput, plan_output, render
from .replay import ReplayIndex, load_replay_files
from .request import BadRequest, ChatRequest, parse_chat_request
from .sse import WRONG_SHAPES, ChunkEncoder
from .stats import RequestTiming, StatsCollector
from .stream import StreamJob, Ticker, abort_with_reset

_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
_CLIENT_MAX_SIZE = 64 * 1024 * 1024  # long-context load tests send big prompts


class MockServerState:
    """Everything the handlers share; used only from the server's event loop."""

    def __init__(self, config: MockServerConfig) -> None:
        self.config = config
        self.index: ReplayIndex | None = None
        if config.replay:
            self.index = ReplayIndex(load_replay_files(config.replay))
        self.stats = StatsCollector(config.record_timings)
        self.faults = FaultInjector(config.fault_rate, config.faults, config.seed)
        self._ids = itertools.count(1)
        # Unbuffered: each line reaches the kernel at once, so a kill -9 loses none.
        self.request_log = open(config.request_log, "ab", buffering=0) if config.request_log else None
        self.active: set[StreamJob] = set()
        self._ticker: Ticker | None = None

    @property
    def ticker(self) -> Ticker:
        if self._ticker is None:  # made on the server's loop, at the first stream
            self._ticker = Ticker(asyncio.get_running_loop(), self.config.timer_quantum)
        return self._ticker

    def next_id(self) -> str:
        return f"chatcmpl-mock-{next(self._ids)}"

    def describe(self) -> str:
        c = self.config
        if self.index is not None:
            what = f"replaying {len(self.index)} records from {len(c.replay)} file(s)"
            if self.index.duplicates:
                what += f" ({self.index.duplicates} duplicate problems ignored)"
        else:
            what = f"synthetic: {c.reasoning_tokens} reasoning + {c.tokens} content tokens"
        timing = f"ttft {c.ttft * 1000:g} ms, tpot {c.tpot * 1000:g} ms"
        faults = f", faults {c.fault_rate:.0%} of {','.join(c.faults)} (seed {c.seed})" if c.fault_rate else ""
        return f"mock-server: {what}; reasoning {c.reasoning_format}; {timing}{faults}"


STATE_KEY = web.AppKey("thinklens_mock_state", MockServerState)


def error_response(status: int, message: str, err_type: str, *, param: str | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": err_type, "param": param, "code": status}}
    return web.json_response(body, status=status, headers=headers)


def _usage(request: ChatRequest, plan: OutputPlan) -> dict[str, Any]:
    n = request.n
    completion = plan.completion_tokens * n
    prompt = request.prompt_tokens
    return {
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion,
        "completion_tokens": completion,
        "completion_tokens_details": {"reasoning_tokens": len(plan.reasoning) * n},
    }


def _format_retry_after(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class Handlers:
    def __init__(self, state: MockServerState) -> None:
        self.state = state

    # -- plain endpoints -------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def models(self, request: web.Request) -> web.Response:
        model = self.state.config.model
        return web.json_response({
            "object": "list",
            "data": [{"id": model, "object": "model", "created": 0, "owned_by": "thinklens-mock", "root": model}],
        })

    async def stats(self, request: web.Request) -> web.Response:
        with_records = request.query.get("records", "1").lower() not in ("0", "false", "no")
        snapshot = self.state.stats.snapshot(with_records=with_records)
        body = snapshot.to_dict(with_records=with_records)
        body["config"] = self.state.config.summary()
        return web.json_response(body)

    async def reset_stats(self, request: web.Request) -> web.Response:
        self.state.stats.reset()
        return web.json_response({"status": "reset"})

    # -- chat completions ------------------------------------------------------------
    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        loop = asyncio.get_running_loop()
        received = loop.time()
        stats = state.stats
        stats.begin()
        timing = RequestTiming(id="", stream=False, received=received, received_wall=time.time())
        outcome = "ok"
        try:
            try:
                req = parse_chat_request(await request.read())
            except BadRequest as exc:
                outcome = "bad_request"
                return error_response(400, exc.message, "invalid_request_error", param=exc.param)
            timing.id = state.next_id()
            timing.prompt_digest = hashlib.sha1(req.last_user_text.encode("utf-8")).hexdigest()[:16]
            timing.stream = req.stream
            timing.max_tokens = req.max_tokens
            timing.add_generation_prompt = req.add_generation_prompt
            prefix = req.assistant_prefix
            if prefix is not None:
                stats.continuations += 1
                timing.continuation = True
                timing.prefix_chars, timing.prefix_head, timing.prefix_tail = len(prefix), prefix[:16], prefix[-40:]
            draw = state.faults.draw()
            plan = plan_output(req, state.config, state.index)
            if not plan.matched:
                stats.unmatched += 1
            timing.finish_reason = plan.finish_reason
            timing.prompt_tokens = req.prompt_tokens
            timing.completion_tokens = plan.completion_tokens * req.n
            timing.fault = draw.kind
            if state.request_log is not None:
                state.request_log.write(json.dumps(
                    {"id": timing.id, "prompt_digest": timing.prompt_digest, "fault": draw.kind,
                     "at": time.time()}).encode() + b"\n")
            if draw.kind == "429":
                stats.fault("429")
                outcome = "429"
                retry = _format_retry_after(state.config.retry_after)
                return error_response(
                    429, "Rate limit reached (injected by thinklens mock-server); retry after "
                    f"{retry} s.", "rate_limit_error",
                    headers={"Retry-After": retry, "retry-after-ms": str(int(state.config.retry_after * 1000))},
                )
            if draw.kind == "500":
                stats.fault("500")
                outcome = "500"
                return error_response(500, "Internal server error (injected by thinklens mock-server).", "server_error")
            output = render(plan, state.config.reasoning_format)
            if req.stream:
                outcome, response = await self._stream(request, req, plan, output, draw, timing, received)
            else:
                outcome, response = await self._complete(request, req, plan, output, draw, timing, received)
            return response
        except ConnectionError:  # the client left before the headers could be written
            outcome = "client_disconnected"
            return web.Response(status=499)
        except asyncio.CancelledError:
            outcome = "shutdown"
            raise
        finally:
            stats.end(outcome, timing)

    async def _stream(self, request: web.Request, req: ChatRequest, plan: OutputPlan, output: RenderedOutput,
                      draw: FaultDraw, timing: RequestTiming, received: float) -> tuple[str, web.StreamResponse]:
        state = self.state
        config = state.config
        loop = asyncio.get_running_loop()
        response = web.StreamResponse(headers=_SSE_HEADERS)
        chunked = request.version >= HttpVersion11
        if chunked:
            response.enable_chunked_encoding()
        await response.prepare(request)  # the headers go out at once, as vLLM's do
        transport = request.transport
        if transport is None or transport.is_closing():
            return "client_disconnected", response
        encoder = ChunkEncoder(timing.id, int(timing.received_wall), req.model or config.model, req.n,
                               config.reasoning_field)
        usage_event = encoder.usage(_usage(req, plan)) if req.include_usage else None
        if req.continuous_usage:
            encoder.running_usage(req.prompt_tokens)
        job = StreamJob(
            loop=loop, transport=transport, chunked=chunked, encoder=encoder, texts=output.texts,
            field_split=output.field_split, answer_start=output.answer_start, n=req.n,
            finish_reason=plan.finish_reason, usage_event=usage_event, first_due=received + config.ttft,
            tpot=config.tpot, tokens_per_chunk=config.tokens_per_chunk, fault=draw.kind,
            fault_step=draw.step(max(1, -(-len(output.texts) // config.tokens_per_chunk))),
            stall_seconds=config.stall_seconds, lateness=state.stats.lateness, timing=timing,
            on_fault=state.stats.fault,
        )
        timing.first_token_due = job.due(0)
        state.active.add(job)
        job.begin(state.ticker)
        try:
            outcome = await job.done
        finally:
            job.cancel()
            state.active.discard(job)
        if outcome in ("ok", "stall", "malformed", "wrong_shape") and not transport.is_closing():
            try:
                await response.write_eof()
            except ConnectionError:
                outcome = "client_disconnected" if outcome == "ok" else outcome
        return outcome, response

    async def _sleep_until(self, when: float, request: web.Request) -> bool:
        """Sleep to `when` on the loop clock; False as soon as the client has gone."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if now >= when:
                return True
            await asyncio.sleep(min(when - now, 1.0))
            transport = request.transport
            if transport is None or transport.is_closing():
                return False

    async def _complete(self, request: web.Request, req: ChatRequest, plan: OutputPlan, output: RenderedOutput,
                        draw: FaultDraw, timing: RequestTiming, received: float) -> tuple[str, web.StreamResponse]:
        """Non-streaming: the whole answer at the time its last token is generated."""
        state = self.state
        config = state.config
        tokens = len(output.texts)
        due = received + config.ttft + max(tokens - 1, 0) * config.tpot
        timing.first_token_due = due  # nothing reaches the client before the whole answer
        if draw.kind == "stall":
            state.stats.fault("stall")
            due += config.stall_seconds
        if not await self._sleep_until(due, request):
            return (draw.kind or "client_disconnected"), web.Response(status=499)
        now = time.monotonic()
        state.stats.lateness.add(now - due)
        timing.max_lateness = max(0.0, now - due)
        if draw.kind == "reset":
            state.stats.fault("reset")
            if request.transport is not None:
                abort_with_reset(request.transport)
            return "reset", web.Response(status=499)
        timing.last_write = now
        if tokens:
            timing.first_token = now
            if output.answer_start < tokens:
                timing.first_answer_token = now
        timing.tokens_sent = tokens * req.n
        timing.events_sent = 1
        if draw.kind == "malformed":
            state.stats.fault("malformed")
            body = f'{{"id":"{timing.id}","object":"chat.completion","choices":[{{"index":0,"message":{{"content":"tru'
            return "malformed", web.Response(body=body.encode(), content_type="application/json")
        if draw.kind == "wrong_shape":
            state.stats.fault("wrong_shape")
            shape = WRONG_SHAPES[int(draw.position * 1000) % len(WRONG_SHAPES)].decode()
            body = f'{{"id":"{timing.id}","object":"chat.completion","choices":{shape.replace("delta", "message")}}}'
            return "wrong_shape", web.Response(body=body.encode(), content_type="application/json")
        message: dict[str, Any] = {"role": "assistant", "content": output.content}
        if config.reasoning_format == "field":
            message[config.reasoning_field] = output.reasoning
        body = {
            "id": timing.id,
            "object": "chat.completion",
            "created": int(timing.received_wall),
            "model": req.model or config.model,
            "choices": [
                {"index": i, "message": dict(message), "logprobs": None, "finish_reason": plan.finish_reason,
                 "stop_reason": None}
                for i in range(req.n)
            ],
            "usage": _usage(req, plan),
        }
        return (draw.kind or "ok"), web.Response(
            body=json.dumps(body, ensure_ascii=False).encode("utf-8"), content_type="application/json"
        )


async def _on_shutdown(app: web.Application) -> None:
    # Stalled or long streams must not hold the shutdown for an hour.
    for job in list(app[STATE_KEY].active):
        job.cancel("shutdown")


def create_app(config: MockServerConfig) -> web.Application:
    """The aiohttp application (replay files are loaded here: errors raise ConfigError)."""
    state = MockServerState(config)
    handlers = Handlers(state)
    app = web.Application(client_max_size=_CLIENT_MAX_SIZE)
    app[STATE_KEY] = state
    app.router.add_post("/v1/chat/completions", handlers.chat_completions)
    app.router.add_get("/v1/models", handlers.models)
    app.router.add_get("/health", handlers.health)
    app.router.add_get("/stats", handlers.stats)
    app.router.add_post("/stats/reset", handlers.reset_stats)
    app.on_shutdown.append(_on_shutdown)
    return app
