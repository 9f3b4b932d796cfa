"""What the server did: counters, write lateness, and per-request timing records.

Clocks: every time in a record is `time.monotonic()` seconds of the server
process (the event loop's clock), which on Linux is the same clock as any other
process's `time.monotonic()` on the machine, so a load generator can compare its
own timestamps with the server's directly.  `received_wall` is `time.time()` at
arrival, and /stats carries both clocks read at the same instant (`clock`) to
convert between them.

Write lateness is how long after its due time (arrival + ttft + i * tpot) each
streamed write actually happened; a histogram of 10 µs buckets keeps it for
every write at the cost of one list increment.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

_BUCKET = 10e-6  # seconds per histogram bucket
_BUCKETS = 50_000  # 0.5 s; later writes land in the last bucket (max is exact)


@dataclass
class RequestTiming:
    """One chat request as the server handled it (times: time.monotonic())."""

    id: str
    stream: bool
    outcome: str = "ok"  # see ServerStats.outcomes
    fault: str | None = None
    # sha1 (16 hex) of the last user message: counts requests per prompt without storing it
    prompt_digest: str = ""
    finish_reason: str | None = None
    received: float = 0.0  # handler start, the origin of the schedule
    received_wall: float = 0.0  # time.time() at the same instant
    # When the first token was due to be written: received + ttft (+ (tokens_per_chunk-1) * tpot);
    # non-streaming: when the whole answer was due (received + ttft + (tokens-1) * tpot).
    first_token_due: float | None = None
    first_token: float | None = None  # write of the first reasoning-or-answer token
    first_answer_token: float | None = None  # write of the first answer (content) token
    last_write: float | None = None  # write of the last byte of the body (before the chunked EOF)
    prompt_tokens: int = 0
    completion_tokens: int = 0  # what the response carries in usage (all choices)
    tokens_sent: int = 0  # tokens actually written (fewer after a reset)
    events_sent: int = 0  # token-carrying SSE events written (all choices)
    max_lateness: float = 0.0  # worst delay of a write behind its due time
    # What the request asked for, so tests can assert what a client sent: max_tokens, and
    # for a continuation (continue_final_message) the flags and the assistant prefix's
    # length, head and tail (budget forcing sends `<think>\n...\n</think>` + cue).
    max_tokens: int | None = None
    continuation: bool = False
    add_generation_prompt: bool = True
    prefix_chars: int = 0
    prefix_head: str = ""
    prefix_tail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LatenessSummary:
    count: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    p999: float = 0.0
    max: float = 0.0


class LatenessHistogram:
    __slots__ = ("counts", "n", "total", "max")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.n = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, lateness: float) -> None:
        if lateness < 0.0:
            lateness = 0.0
        i = int(lateness * 100_000.0)  # 1 / _BUCKET
        self.counts[i if i < _BUCKETS else _BUCKETS - 1] += 1
        self.n += 1
        self.total += lateness
        if lateness > self.max:
            self.max = lateness

    def summary(self) -> LatenessSummary:
        if not self.n:
            return LatenessSummary()
        wanted = [(q, q * self.n) for q in (0.5, 0.9, 0.99, 0.999)]
        found: dict[float, float] = {}
        seen = 0
        for i, c in enumerate(self.counts):
            if not c:
                continue
            seen += c
            while wanted and seen >= wanted[0][1]:
                # upper edge of the bucket: a conservative estimate, never above max
                found[wanted.pop(0)[0]] = min((i + 1) * _BUCKET, self.max)
            if not wanted:
                break
        return LatenessSummary(
            count=self.n, mean=self.total / self.n, p50=found[0.5], p90=found[0.9],
            p99=found[0.99], p999=found[0.999], max=self.max,
        )


@dataclass
class ServerStats:
    """Snapshot returned by GET /stats and by `MockServerHandle.stats()`.

    outcomes: how each finished chat request ended: "ok", "bad_request", a fault
    kind ("429", "500", "reset", "stall", "malformed", "wrong_shape"), "client_disconnected"
    (the client went away first), "shutdown", or "error" (a bug: logged).  faults: faults injected so far
    (a stalled stream counts here as soon as it goes silent).  unmatched: replay
    requests that matched no record and got the fallback answer.
    """

    requests_total: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    finish_reasons: dict[str, int] = field(default_factory=dict)
    unmatched: int = 0
    continuations: int = 0  # requests that continued the final assistant message
    tokens_sent: int = 0
    lateness: LatenessSummary = field(default_factory=LatenessSummary)
    clock: dict[str, float] = field(default_factory=dict)
    records: list[RequestTiming] | None = None  # only with record_timings

    def to_dict(self, with_records: bool = True) -> dict[str, Any]:
        out = asdict(self)
        if not with_records:
            out["records"] = None
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ServerStats":
        d = dict(d)
        d["lateness"] = LatenessSummary(**(d.get("lateness") or {}))
        if d.get("records") is not None:
            d["records"] = [RequestTiming(**r) for r in d["records"]]
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class StatsCollector:
    """Mutable counters; touched only from the server's event loop thread."""

    def __init__(self, record_timings: bool) -> None:
        self.record_timings = record_timings
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        self.requests_total = 0
        # Requests in flight stay counted: they are still live.
        self.max_in_flight = self.in_flight
        self.outcomes: dict[str, int] = {}
        self.faults: dict[str, int] = {}
        self.finish_reasons: dict[str, int] = {}
        self.unmatched = 0
        self.continuations = 0
        self.tokens_sent = 0
        self.lateness = LatenessHistogram()
        self.records: list[RequestTiming] = []

    def begin(self) -> None:
        self.requests_total += 1
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight

    def fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def end(self, outcome: str, timing: RequestTiming) -> None:
        self.in_flight -= 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if timing.finish_reason and outcome != "bad_request":
            self.finish_reasons[timing.finish_reason] = self.finish_reasons.get(timing.finish_reason, 0) + 1
        self.tokens_sent += timing.tokens_sent
        timing.outcome = outcome
        if self.record_timings:
            self.records.append(timing)

    def snapshot(self, with_records: bool = True) -> ServerStats:
        return ServerStats(
            requests_total=self.requests_total,
            in_flight=self.in_flight,
            max_in_flight=self.max_in_flight,
            outcomes=dict(self.outcomes),
            faults=dict(self.faults),
            finish_reasons=dict(self.finish_reasons),
            unmatched=self.unmatched,
            continuations=self.continuations,
            tokens_sent=self.tokens_sent,
            lateness=self.lateness.summary(),
            clock={"monotonic": time.monotonic(), "time": time.time()},
            records=[RequestTiming(**asdict(r)) for r in self.records] if (self.record_timings and with_records) else None,
        )
