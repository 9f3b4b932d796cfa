"""Budget forcing's trace reuse (`--budget-reuse`): one reasoning request per (sample, repeat).

Without reuse every (sample, repeat, budget B) sends its own phase-1 request with
`max_tokens = B`.  With reuse, the first item of a (sample, repeat) sends one request
with `max_tokens` = the largest budget still to run for it, streamed with vLLM's
`stream_options.continuous_usage_stats`, so every chunk carries the server's running
completion-token count.  Each budget's phase 1 is then that trace as it stood after
B tokens:

- the trace ended on its own within B tokens: the whole trace (as a request capped
  at B would have ended too);
- otherwise the chunks up to the one whose running count is exactly B, rebuilt as a
  Generation with `finish_reason = length` and `completion_tokens = B` (the client's
  own reasoning split and token accounting: `ChatClient.generation_from_prefix`);
- no chunk ends at exactly B (a chunk carried several tokens: `--stream-interval`,
  speculative decoding, a multi-byte character held back): that budget's phase 1 is
  generated on its own, as without reuse.  Never a prefix that is off by a token.

A server that sends no running count refuses reuse (ReuseUnsupported, exit 2): a
client-side tokenizer re-tokenizing the chunk texts would not reproduce the model's
own token boundaries, and an inexact cut is a different experiment.

Why it is valid (docs/statistics.md "measured"): sampling is sequential and
`max_tokens` only stops it, so the first B tokens of a request capped at Bmax are
drawn exactly as those of a request capped at B; with the same seed, a server that is
deterministic for the seed (vLLM with the same sampling parameters) generates the same
tokens, and the stored item equals the independent request's.  Each budget stays its
own stored item with its own phase 2; its forcing detail records `reused_from`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..client import ChatRequest, StreamTrace
from ..client.wire import WireUsage
from ..errors import ThinklensError
from ..records import Generation, Sample
from .forcing import BUDGET_META

if TYPE_CHECKING:  # pragma: no cover
    from ..client import ChatClient
    from ..config import TaskConfig



class ReuseUnsupported(ThinklensError):
    """The server streams no running token count per chunk: a trace cannot be cut exactly."""


@dataclass
class Trace:
    """One phase-1 request at `max_tokens`, with its chunks (texts and running counts)."""

    gen: Generation
    stream: StreamTrace
    max_tokens: int


@dataclass
class _Group:
    """The budgets of one (sample, repeat) that share a trace."""

    top: int  # the trace's max_tokens: the largest budget planned
    waiting: int  # items that have not taken their cut yet; at 0 the trace is dropped
    task: asyncio.Task[Trace]
    check: asyncio.Task[Generation] | None = None  # --budget-reuse-check: the smallest budget on its own
    check_budget: int | None = None


@dataclass
class Phase1:
    """What phase 1 of one budget is, and where it came from (for the forcing detail)."""

    gen: Generation
    reused_from: int | None = None  # the trace's max_tokens, when it is larger than this budget
    detail: dict[str, Any] = field(default_factory=dict)  # extra forcing detail (reuse_check, fallback)


def group_id(sample: Sample, repeat: int) -> str:
    """The (sample, repeat) of an item without its budget: the same request at every budget."""
    text = json.dumps(sample.messages, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{repeat}\x00{text}".encode()).hexdigest()


def reuse_params(params: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """Phase 1's params for the shared trace: the running count on every chunk."""
    opts = {**(params.get("stream_options") or {}), "include_usage": True, "continuous_usage_stats": True}
    return {**params, "max_tokens": max_tokens, "stream_options": opts}


def cut(client: ChatClient, trace: Trace, budget: int) -> Generation | None:
    """Phase 1 at `budget` from the trace; None where no chunk ends at exactly `budget`."""
    gen = trace.gen
    if not gen.ok:
        return replace(gen, error=f"the reasoning request shared by the budgets (max_tokens {trace.max_tokens}): "
                                  f"{gen.error}")
    total = gen.usage.completion_tokens
    if budget >= trace.max_tokens or (total is not None and total <= budget):
        # It ended on its own (or at the context limit) within B: as a request capped at B would.
        return replace(gen)
    counts = trace.stream.cum_tokens
    if not counts or any(c is None for c in counts):
        raise ReuseUnsupported(
            "--budget-reuse needs the server's running token count on every streamed chunk (vLLM's "
            "stream_options.continuous_usage_stats); this server sent none, so a trace cannot be cut at a "
            "budget exactly: run without --budget-reuse (each budget generated on its own)")
    if counts[-1] <= budget:  # type: ignore[operator]
        return replace(gen)
    if any(a > b for a, b in zip(counts, counts[1:])):  # type: ignore[operator]
        return None  # counts that go back cannot be trusted to place B
    n = bisect_right(counts, budget)  # type: ignore[type-var]
    if n == 0 or counts[n - 1] != budget:
        return None
    reasoning = gen.usage.reasoning_tokens
    # The reasoning is the trace's first R tokens, so B tokens hold min(B, R) of it; an
    # estimated R is left out so the client estimates the cut's share as for any reply.
    usage = WireUsage(gen.usage.prompt_tokens, budget,
                      None if reasoning is None or gen.usage.reasoning_tokens_estimated else min(budget, reasoning))
    out = client.generation_from_prefix(trace.stream, n, finish_reason="length", usage=usage,
                                        started=gen.timings.start)
    out.attempts, out.endpoint = gen.attempts, gen.endpoint
    return out


def same_output(a: Generation, b: Generation) -> bool:
    return (a.reasoning, a.content, a.finish_reason, a.usage.completion_tokens) == (
        b.reasoning, b.content, b.finish_reason, b.usage.completion_tokens)


class TraceReuse:
    """Shares one phase-1 trace among the budget items of each (sample, repeat)."""

    def __init__(self, client: ChatClient, config: TaskConfig, params_for: Callable[[int], dict[str, Any]],
                 warn: Callable[[str], None]):
        self.client = client
        self.config = config
        self.params_for = params_for
        self.warn = warn
        self._planned: dict[str, list[int]] = defaultdict(list)
        self._groups: dict[str, _Group] = {}
        self._check_wanted = config.budget_reuse_check
        self._tasks: set[asyncio.Task[Any]] = set()  # requests in flight: close() cancels them

    def plan(self, work: Iterable[tuple[Sample, int]]) -> None:
        """The items still to run: a trace is generated up to the largest budget its
        (sample, repeat) still needs, and dropped once each of them has taken its cut."""
        self._planned.clear()
        for sample, repeat in work:
            self._planned[group_id(sample, repeat)].append(sample.meta[BUDGET_META])

    async def phase1(self, sample: Sample, repeat: int) -> Phase1:
        budget = sample.meta[BUDGET_META]
        gid = group_id(sample, repeat)
        group = self._groups.get(gid)
        if group is None or budget > group.top:
            budgets = self._planned.get(gid) or list(self.config.thinking_budget or [budget])
            if budget not in budgets:
                budgets = [*budgets, budget]
            group = self._start(sample, repeat, budgets)
            self._groups[gid] = group
        try:
            trace = await asyncio.shield(group.task)
            detail: dict[str, Any] = {}
            gen = cut(self.client, trace, budget)
            if group.check is not None and budget == group.check_budget:
                alone = await asyncio.shield(group.check)
                detail["reuse_check"] = self._compare(gen, alone, budget, trace.max_tokens)
                if gen is None:
                    gen = alone  # no chunk ends at B: the check's own request is this budget's phase 1
            if gen is None:
                detail["reuse_fallback"] = "no chunk ends at the budget"
                return Phase1(await self._alone(sample, repeat, budget), None, detail)
            if detail.get("reuse_check") == "not_compared":
                return Phase1(gen, None, detail)
            return Phase1(gen, trace.max_tokens if budget < trace.max_tokens else None, detail)
        finally:
            group.waiting -= 1
            if group.waiting <= 0 and self._groups.get(gid) is group:
                del self._groups[gid]

    def _start(self, sample: Sample, repeat: int, budgets: list[int]) -> _Group:
        top = max(budgets)
        group = _Group(top=top, waiting=len(budgets), task=self._spawn(self._trace(sample, repeat, top)))
        smallest = min(budgets)
        if self._check_wanted and smallest < top:
            self._check_wanted = False  # one sample is checked
            group.check_budget = smallest
            group.check = self._spawn(self._alone(sample, repeat, smallest))
        return group

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        # A request whose items were all cancelled (the run stopped): its outcome is nobody's.
        if not task.cancelled():
            task.exception()

    async def _trace(self, sample: Sample, repeat: int, top: int) -> Trace:
        stream = StreamTrace(parts=[])
        params = reuse_params(self.params_for(repeat), top)
        gen = await self.client.chat(ChatRequest(self.config.model, sample.messages, params, stream=True), stream)
        return Trace(gen, stream, top)

    async def _alone(self, sample: Sample, repeat: int, budget: int) -> Generation:
        params = {**self.params_for(repeat), "max_tokens": budget}
        return await self.client.chat(ChatRequest(self.config.model, sample.messages, params, stream=True))

    def _compare(self, reused: Generation | None, alone: Generation, budget: int, top: int) -> str:
        if not alone.ok:
            self.warn(f"--budget-reuse-check: the request at budget {budget} on its own failed, nothing "
                      f"compared: {alone.error}")
            return "failed"
        if reused is None or not reused.ok:
            return "not_compared"
        if same_output(reused, alone):
            return "same"
        a, b = reused.reasoning + reused.content, alone.reasoning + alone.content
        at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        self.warn(f"--budget-reuse-check: at budget {budget} the trace generated for {top} differs from the "
                  f"request on its own (first difference at character {at}): this server is not deterministic "
                  "for the seed, so the reused budgets are valid samples but not the independent requests' "
                  "output; run without --budget-reuse for those")
        return "differs"

    async def close(self) -> None:
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._groups.clear()
