"""The load generator: one level at a time, closed or open loop.

Closed loop: `concurrency` workers, each sending its next request as soon as its last
one ends, so exactly N are in flight.  Open loop: a dispatcher releases requests at
scheduled arrival times (Poisson/gamma, absolute clock: see arrivals.py), optionally
capped at `max_concurrency` in flight; a request's latency is timed from when it is
actually sent, and the wait for a free slot is kept apart (`queue_wait`).

Phases.  The first requests of a level (`--warmup`: a count, or the first seconds) are
warm-up.  Then come the measured requests: `--requests N` of them, or all issued within
`--duration` seconds.  While the last measured requests finish, the load is held at its
level by more requests (cool-down) so the tail of the measurement sees the same load
as its middle; warm-up and cool-down rows are written out but never summarised.

Failures are data: a failed request is a row with its reason, never a retry (a retried
request would no longer measure one request).  With `--duration`, measured requests
still running `grace` seconds after the window closes are stopped and counted as
failed ("unfinished"), so a stalled server cannot hold the run past its time.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import Callable
from typing import Any

from ..client import AttemptError, ChatClient, ChatRequest, StreamTrace
from ..client.http import describe_exception
from ..records import Generation
from .arrivals import ArrivalSchedule
from .config import LevelSpec, PerfConfig, Warmup
from .itl import ChunkTokenizer
from .monitor import GeneratorMonitor
from .prompts import PerfPrompt, PromptPool
from .records import RequestRecord, chunk_token_counts, inter_token_latencies
from .warmup import WarmConnections, open_connections

Sink = Callable[[RequestRecord], None]
_REFUSALS_TO_ABORT = 16


class LevelRunner:
    def __init__(
        self,
        client: ChatClient,
        config: PerfConfig,
        level: LevelSpec,
        pool: PromptPool,
        *,
        sink: Sink | None = None,
        monitor: GeneratorMonitor | None = None,
        token_counter: Callable[[str], int] | None = None,
        chunk_tokenizer: ChunkTokenizer | None = None,
        on_progress: Callable[["LevelRunner"], None] | None = None,
    ):
        self.client = client
        self.config = config
        self.level = level
        self.label = level.label
        self.pool = pool
        self.sink = sink
        self.monitor = monitor or GeneratorMonitor()
        self.token_counter = token_counter
        # Tokens per chunk for ITL when the server sends no running count (perf/itl.py);
        # chunk texts are kept only when it will be needed.
        self.chunk_tokenizer = None if config.continuous_usage_stats else chunk_tokenizer
        self.warm: WarmConnections | None = None
        # (record, trace) whose chunk texts are tokenized after the level: encoding
        # during it would hold the event loop and delay other requests' timestamps
        self._itl_pending: list[tuple[RequestRecord, StreamTrace]] = []
        self.on_progress = on_progress
        self.requests_target = config.requests_for(level)
        self.duration = config.duration
        self.warmup: Warmup = config.warmup
        # Holding the load needs a bounded level: an uncapped infinite rate would flood.
        self.ramp_up = config.ramp_up if level.mode == "closed" else 0.0
        self.hold_load = config.hold_load and not (
            level.mode == "open" and level.rate is not None and math.isinf(level.rate) and not level.concurrency
        )
        self.records: list[RequestRecord] = []
        self._param_cache: dict[int | None, dict[str, Any]] = {}

        # progress of the level
        self.issued = 0
        self.measure_issued = 0
        self.measure_in_flight = 0
        self.measure_done = 0
        self.measure_failed = 0
        self.measure_repeats = 0  # measured requests whose prompt had been sent before
        self.t_level = 0.0
        self.window_start: float | None = None
        self.window_end: float | None = None  # --duration: when issuing measured requests stops
        self.window_closed = False
        self.deadline_passed = False
        self.interrupted = False
        self.abort_reason: str | None = None  # set when every request is refused (wrong model, auth...)
        self._refused_in_a_row = 0
        self._any_ok = False
        self._done = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._crash: BaseException | None = None

    # ---- phases ------------------------------------------------------------------------
    def _phase_for(self, t: float) -> str | None:
        """Phase of a request issued (or scheduled) at time t; None: issue nothing more."""
        if not self.window_closed and self.window_start is None:
            w = self.warmup
            if (
                (w.requests and self.issued < w.requests)
                or (w.seconds and t < self.t_level + w.seconds)
                or (self.ramp_up and t < self.t_level + self.ramp_up)
            ):
                return "warmup"
            self._open_window(t)
        if not self.window_closed:
            if self.window_end is not None and t >= self.window_end:
                self._close_window()
            elif self.requests_target is not None and self.measure_issued >= self.requests_target:
                self._close_window()
            else:
                return "measure"
        return "cooldown" if self.hold_load and not self._done.is_set() else None

    @property
    def aborted(self) -> bool:
        return self.abort_reason is not None

    def _open_window(self, t: float) -> None:
        self.window_start = t
        if self.duration is not None:
            self.window_end = t + self.duration
            loop = asyncio.get_running_loop()
            loop.call_at(self.window_end, self._close_window)

    def _close_window(self) -> None:
        if not self.window_closed:
            self.window_closed = True
            self._check_done()

    def _check_done(self) -> None:
        if self.window_closed and self.measure_in_flight == 0:
            self._done.set()

    # ---- one request -------------------------------------------------------------------
    def _params(self, max_tokens: int | None) -> dict[str, Any]:
        params = self._param_cache.get(max_tokens)
        if params is None:
            params = self._param_cache[max_tokens] = self.config.request_params(max_tokens)
        return params

    async def _one(
        self,
        prompt: PerfPrompt,
        phase: str,
        index: int,
        scheduled: float | None = None,
        slot: asyncio.Semaphore | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        trace = StreamTrace(texts=[] if self.chunk_tokenizer is not None else None)
        now = loop.time()
        rec = RequestRecord(
            self.label,
            phase,
            index,
            start=now,
            end=now,
            scheduled=scheduled,
            input_tokens=prompt.input_tokens,  # type: ignore[arg-type]
        )
        request = ChatRequest(self.config.model, prompt.messages, self._params(prompt.output_tokens))
        acquired = False
        try:
            if slot is not None:
                await slot.acquire()
                acquired = True
            rec.dispatched = loop.time()
            gen = await self.client.chat_once(request, trace)
        except AttemptError as exc:
            self._failed(rec, trace, loop.time(), str(exc), exc.kind, exc.status)
        except asyncio.CancelledError:
            end = loop.time()
            if phase == "measure" and self.deadline_passed and not self.interrupted:
                self._failed(
                    rec,
                    trace,
                    end,
                    f"unfinished {self.config.grace:g}s after the end of --duration (stalled or too slow)",
                    "unfinished",
                    None,
                )
            else:
                self._failed(rec, trace, end, "stopped at the end of the level", "cancelled", None)
                rec.status = "cancelled"
            self._finish(rec)
            raise
        except Exception as exc:  # an unexpected error is a failed request, not a crash of the run
            self._failed(rec, trace, loop.time(), f"client error: {describe_exception(exc)}", "client", None)
        else:
            self._succeeded(rec, trace, gen, prompt)
        finally:
            if acquired:
                slot.release()  # type: ignore[union-attr]
        self._finish(rec)

    def _failed(
        self, rec: RequestRecord, trace: StreamTrace, end: float, error: str, kind: str, status: int | None
    ) -> None:
        if trace.start_monotonic:
            rec.start = trace.start_monotonic
        rec.new_connection = trace.new_connection
        rec.end = end
        rec.status = "error"
        rec.error = error
        rec.error_kind = kind
        rec.http_status = status
        rec.chunks = len(trace.times)
        rec.response_id = trace.response_id
        if trace.times:
            rec.ttft = trace.times[0] - rec.start

    def _succeeded(self, rec: RequestRecord, trace: StreamTrace, gen: Generation, prompt: PerfPrompt) -> None:
        rec.start = trace.start_monotonic
        rec.end = trace.end_monotonic
        rec.ttft = gen.timings.ttft
        rec.ttfat = gen.timings.ttfat
        rec.finish_reason = gen.finish_reason
        rec.response_id = trace.response_id
        rec.new_connection = trace.new_connection
        usage = gen.usage
        rec.prompt_tokens = usage.prompt_tokens if usage.prompt_tokens is not None else prompt.input_tokens
        rec.reasoning_tokens = usage.reasoning_tokens
        rec.chunks = len(trace.times)
        if usage.completion_tokens is not None:
            rec.completion_tokens = usage.completion_tokens
            rec.tokens_source = "server"
        elif self.token_counter is not None:
            rec.completion_tokens = self.token_counter(gen.reasoning + gen.content)
            rec.tokens_source = "client_tokenizer"
        else:
            rec.completion_tokens = rec.chunks
            rec.tokens_source = "chunks"
        if (
            self.chunk_tokenizer is not None
            and trace.texts
            and len(trace.texts) != rec.completion_tokens
            and not all(c is not None for c in trace.cum_tokens)
        ):
            self._itl_pending.append((rec, trace))
        else:
            self._set_itl(rec, trace)

    def _set_itl(self, rec: RequestRecord, trace: StreamTrace, tokenized: list[int] | None = None) -> None:
        counts, rec.itl_source = chunk_token_counts(trace.chars, trace.cum_tokens, rec.completion_tokens, tokenized)
        rec.itl = inter_token_latencies(trace.times, counts)
        if self.config.save_chunk_times:
            start = rec.start
            rec.chunk_times = array("d", (t - start for t in trace.times))
            rec.chunk_tokens = counts

    def _finish_itl(self) -> None:
        assert self.chunk_tokenizer is not None or not self._itl_pending
        for rec, trace in self._itl_pending:
            self._set_itl(rec, trace, self.chunk_tokenizer(trace.texts or []))  # type: ignore[misc]
        self._itl_pending.clear()

    def _finish(self, rec: RequestRecord) -> None:
        self.records.append(rec)
        if rec.ok:
            self._any_ok = True
        elif (
            not self._any_ok and rec.http_status and 400 <= rec.http_status < 500 and rec.http_status not in (408, 429)
        ):
            # The server refuses the request itself (unknown model, bad parameter, auth):
            # stop instead of flooding it for the rest of the level.
            self._refused_in_a_row += 1
            if self._refused_in_a_row >= _REFUSALS_TO_ABORT and self.abort_reason is None:
                self.abort_reason = f"the server refused {self._refused_in_a_row} requests in a row: {rec.error}"
                self.window_closed = True
                self.hold_load = False
                self._done.set()
        if rec.phase == "measure":
            self.measure_in_flight -= 1
            self.measure_done += 1
            self.measure_failed += rec.status == "error"
            self._check_done()
        if self.sink is not None:
            self.sink(rec)
        if self.on_progress is not None:
            self.on_progress(self)

    def _issue(self, phase: str) -> int:
        """Count a request as issued the moment its phase is decided (not when its task
        first runs): the level must not look finished while a measured request waits to start."""
        index = self.issued
        self.issued += 1
        if phase == "measure":
            self.measure_issued += 1
            self.measure_in_flight += 1
        return index

    def _prompt(self, phase: str) -> PerfPrompt:
        prompt = self.pool.next()
        if phase == "measure" and self.pool.last_was_repeat:
            self.measure_repeats += 1
        return prompt

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self._crash is None:
            # A bug in the generator must end the level with its traceback, not hang it.
            self._crash = task.exception()
            self._done.set()

    # ---- the level -----------------------------------------------------------------------
    def connections_wanted(self) -> int:
        """Connections the level keeps busy: its concurrency (the cap, in an open loop)."""
        if self.level.mode == "closed":
            return self.level.concurrency or 1
        return self.level.concurrency or 0  # an uncapped open loop: unknown in advance

    async def run(self) -> list[RequestRecord]:
        loop = asyncio.get_running_loop()
        if self.config.warm_connections:
            self.warm = await open_connections(
                self.client, self.connections_wanted(), timeout=self.config.timeout_connect + 10
            )
        self.t_level = loop.time()
        if not self.warmup.active and not self.ramp_up:
            self._open_window(self.t_level)
        driver = self._spawn(self._closed_loop() if self.level.mode == "closed" else self._open_loop())
        try:
            await self._wait_done()
        except asyncio.CancelledError:
            self.interrupted = True
            raise
        finally:
            driver.cancel()
            await self._cancel_all()
            self._finish_itl()
        if self._crash is not None:
            raise self._crash
        return self.records

    async def _wait_done(self) -> None:
        if self.duration is None:
            await self._done.wait()
            return
        # The window's end is only known once warm-up is over.
        while self.window_end is None and not self._done.is_set():
            await asyncio.sleep(0.05)
        if self._done.is_set():
            return
        loop = asyncio.get_running_loop()
        remaining = self.window_end + self.config.grace - loop.time()  # type: ignore[operator]
        try:
            await asyncio.wait_for(self._done.wait(), timeout=max(0.0, remaining))
        except TimeoutError:
            self.deadline_passed = True

    async def _cancel_all(self) -> None:
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _closed_loop(self) -> None:
        n = self.level.concurrency or 1
        for i in range(n):
            # --ramp-up: worker i starts at i/n of it, so requests do not arrive in
            # synchronised waves (a real steady state), and the warm-up covers the ramp.
            self._spawn(self._worker(self.t_level + self.ramp_up * i / n if self.ramp_up else None))

    async def _worker(self, start_at: float | None) -> None:
        loop = asyncio.get_running_loop()
        if start_at is not None:
            delay = start_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        while True:
            phase = self._phase_for(loop.time())
            if phase is None:
                return
            index = self._issue(phase)
            await self._one(self._prompt(phase), phase, index)

    async def _open_loop(self) -> None:
        loop = asyncio.get_running_loop()
        rate = self.level.rate or 1.0
        schedule = ArrivalSchedule(rate, burstiness=self.config.burstiness, seed=self.config.seed)
        cap = self.level.concurrency
        slot = asyncio.Semaphore(cap) if cap else None
        monitor = self.monitor
        t0 = loop.time()
        if math.isinf(rate):
            # Everything at once; with a cap, release one as soon as a slot frees (the
            # dispatcher waits, so no unbounded backlog builds up).
            while True:
                if slot is not None:
                    await slot.acquire()
                phase = self._phase_for(loop.time())
                if phase is None:
                    if slot is not None:
                        slot.release()
                    return
                index = self._issue(phase)
                task = self._spawn(self._one(self._prompt(phase), phase, index, scheduled=None))
                if slot is not None:
                    task.add_done_callback(lambda _t: slot.release())  # type: ignore[union-attr]
                else:
                    await asyncio.sleep(0)
            return
        for offset in schedule.offsets():
            due = t0 + offset
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            phase = self._phase_for(due)
            if phase is None:
                return
            monitor.note_arrival(due, loop.time())
            index = self._issue(phase)
            self._spawn(self._one(self._prompt(phase), phase, index, scheduled=due, slot=slot))
