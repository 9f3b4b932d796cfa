"""One request of a load test, as measured (`RequestRecord`), and how it is derived
from the client's stream trace.

All times are seconds on the event loop's monotonic clock (`loop.time()`, the same
CLOCK_MONOTONIC as `time.perf_counter()` on Linux): `start` is when the request's
bytes were handed to the socket (client/stamps.py: what the server sees, after any
connection set-up), each chunk's time when its bytes are read, `end` after the final
`[DONE]`.  `ttft`/`ttfat` are durations from `start`.  `dispatched` is when the load
generator handed the request to the client (after a free slot, in an open loop with
a cap), `scheduled` the arrival it was due at (open loop): `start - dispatched` is
the send lag, `dispatched - scheduled` the queue wait.
"""

from __future__ import annotations

import operator
from array import array
from dataclasses import dataclass, field
from typing import Any, Literal

Phase = Literal["warmup", "measure", "cooldown"]
Status = Literal["ok", "error", "cancelled"]
# Where the per-chunk token counts behind ITL came from.
ItlSource = Literal["server", "one_per_chunk", "tokenizer", "chars", "none"]
# Where completion_tokens came from: the server's usage, else the client's tokenizer,
# else the number of streamed chunks.
TokensSource = Literal["server", "client_tokenizer", "chunks", "none"]


@dataclass
class RequestRecord:
    level: str
    phase: Phase
    index: int  # order of issue within the level
    start: float
    end: float
    status: Status = "ok"
    ttft: float | None = None
    ttfat: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_source: TokensSource = "server"
    chunks: int = 0
    itl_source: ItlSource = "none"
    error: str | None = None
    error_kind: str | None = None
    http_status: int | None = None
    scheduled: float | None = None  # open loop: the arrival time it was scheduled for
    finish_reason: str | None = None
    input_tokens: int | None = None  # the client's count of the prompt text
    response_id: str | None = None  # the server's completion id (matches its logs)
    dispatched: float | None = None  # handed to the client (the send lag runs from here to start)
    new_connection: bool = False  # this request opened a new TCP connection
    itl: array = field(default_factory=lambda: array("d"), repr=False)
    # --save-chunk-times: arrival of every streamed chunk (seconds from start) and the
    # tokens it carried; kept only when asked (one float per chunk per request)
    chunk_times: array | None = field(default=None, repr=False)
    chunk_tokens: list[float] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def e2e(self) -> float:
        return self.end - self.start

    @property
    def tpot(self) -> float | None:
        """(E2E - TTFT) / (completion tokens - 1): the mean time per output token after
        the first, per request (vLLM's and EvalScope's definition)."""
        n = self.completion_tokens
        if not self.ok or self.ttft is None or not n or n < 2:
            return None
        return (self.e2e - self.ttft) / (n - 1)

    @property
    def queue_wait(self) -> float | None:
        """Open loop with a concurrency cap: time spent waiting for a free slot."""
        if self.scheduled is None:
            return None
        return max(0.0, (self.dispatched if self.dispatched is not None else self.start) - self.scheduled)

    @property
    def send_lag(self) -> float | None:
        """From being handed to the client to leaving it: connection set-up and the
        event loop's backlog (not part of any latency, but the load was late by it)."""
        return None if self.dispatched is None else max(0.0, self.start - self.dispatched)

    def row(self) -> dict[str, Any]:
        """The `requests.jsonl` line: the issue's fields first, then the extras."""
        return {
            "level": self.level,
            "start": self.start,
            "ttft": self.ttft,
            "ttfat": self.ttfat,
            "end": self.end,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "status": self.status,
            "error": self.error,
            "phase": self.phase,
            "index": self.index,
            "e2e": self.e2e,
            "tpot": self.tpot,
            "reasoning_tokens": self.reasoning_tokens,
            "tokens_source": self.tokens_source,
            "chunks": self.chunks,
            "itl_source": self.itl_source,
            "error_kind": self.error_kind,
            "http_status": self.http_status,
            "scheduled": self.scheduled,
            "finish_reason": self.finish_reason,
            "input_tokens": self.input_tokens,
            "id": self.response_id,
            "dispatched": self.dispatched,
            "send_lag": self.send_lag,
            "new_connection": self.new_connection,
            **(
                {"chunk_times": [round(t, 6) for t in self.chunk_times], "chunk_tokens": self.chunk_tokens}
                if self.chunk_times is not None
                else {}
            ),
        }


def chunk_token_counts(
    chars: list[int],
    cum_tokens: list[int | None],
    completion_tokens: int | None,
    tokenized: list[int] | None = None,
) -> tuple[list[float], ItlSource]:
    """How many tokens each streamed chunk carried.

    1. The server's running count on every chunk (vLLM `continuous_usage_stats`): exact.
    2. As many chunks as completion tokens: one token each.
    3. `tokenized`: the client tokenizer's count per chunk (perf/itl.py), scaled to
       the server's total when the two tokenizers disagree.
    4. Otherwise the completion tokens are spread over the chunks by their characters
       (servers that batch tokens per event: `--stream-interval`, speculative decoding):
       a rough guess, since tokens are not equally long.
    """
    m = len(chars)
    if m == 0:
        return [], "none"
    if all(c is not None for c in cum_tokens) and cum_tokens and cum_tokens[-1]:
        counts: list[float] = []
        prev = 0
        for c in cum_tokens:
            counts.append(float(max(0, c - prev)))  # type: ignore[operator]
            prev = max(prev, c)  # type: ignore[type-var]
        return counts, "server"
    n = completion_tokens or 0
    if n <= 0 or n == m:
        return [1.0] * m, "one_per_chunk"
    if tokenized is not None and len(tokenized) == m and sum(tokenized) > 0:
        return _spread(tokenized, n), "tokenizer"
    return _spread(chars, n), "chars"


def _spread(weights: list[int], n: int) -> list[float]:
    """Integer tokens per chunk in proportion to `weights`, by cumulative rounding so
    that they add up to n exactly (the weights themselves when they already do)."""
    m = len(weights)
    if sum(weights) == n:
        return [float(w) for w in weights]
    weights = weights if sum(weights) > 0 else [1] * m
    total = sum(weights)
    counts = []
    done = 0
    acc = 0
    for w in weights:
        acc += w
        target = round(n * acc / total)
        counts.append(float(target - done))
        done = target
    return counts


def inter_token_latencies(times: list[float], counts: list[float]) -> array:
    """Per-token gaps: a chunk carrying k tokens after a gap g contributes k gaps of g/k
    (not one gap of g), so ITL has one value per token after the first and its sum is
    the time from the first to the last token.  Extra tokens in the first chunk arrived
    with the first token: gap 0."""
    if counts and all(k == 1.0 for k in counts):  # the common case, done in C
        return array("d", map(operator.sub, times[1:], times[:-1]))
    out = array("d")
    prev_time = None
    for t, k in zip(times, counts):
        if k <= 0:
            continue  # no token in this chunk: its gap goes to the next token
        whole = int(round(k))
        if prev_time is None:
            out.extend([0.0] * (whole - 1))
        else:
            gap = (t - prev_time) / k
            out.extend([gap] * whole)
        prev_time = t
    return out
