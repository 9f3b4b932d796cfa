"""The schedule: token i at arrival + ttft + i * tpot, never early, coalesced when late."""

from __future__ import annotations

import asyncio
import statistics

import aiohttp
import pytest

from thinklens.mock_server import MockServerConfig, run_mock_server
from thinklens.mock_server.probe import ProbeResult, probe_chat
from thinklens.mock_server.sse import ChunkEncoder
from thinklens.mock_server.stats import LatenessHistogram, RequestTiming
from thinklens.mock_server.stream import StreamJob

TTFT, TPOT, TOKENS = 0.1, 0.01, 20
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def run_many(server, bodies: list[dict]) -> list[ProbeResult]:
    async def go():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            return await asyncio.gather(*(probe_chat(session, server.url, b) for b in bodies))

    return asyncio.run(go())


@pytest.fixture(scope="module")
def timed_server():
    with run_mock_server(MockServerConfig(tokens=TOKENS, ttft=TTFT, tpot=TPOT, record_timings=True)) as srv:
        yield srv


def test_ttft_and_tpot_at_concurrency_one(timed_server):
    timed_server.reset_stats()
    results = [run_many(timed_server, [BODY])[0] for _ in range(5)]
    records = timed_server.stats().records
    # What the server did: the first token written right at its due time, never before.
    # (Best and median of 5: robust on a shared CI machine, still catching a ms of drift.)
    errors = sorted(r.first_token - r.first_token_due for r in records)
    for rec in records:
        assert rec.first_token_due == pytest.approx(rec.received + TTFT)
        assert rec.last_write - rec.received >= TTFT + (TOKENS - 1) * TPOT
    assert errors[0] >= 0 and errors[0] < 0.002 and errors[2] < 0.005
    # What the client saw: HTTP on loopback adds about a millisecond (more on a busy machine).
    client = sorted(r.ttft - TTFT for r in results)
    assert client[0] >= 0 and client[0] < 0.005 and client[2] < 0.015
    for r in results:
        times = [e.t - r.sent_at for e in r.token_events()]
        assert len(times) == TOKENS
        # Never early: token i cannot arrive before ttft + i * tpot after the client sent.
        assert all(t >= TTFT + i * TPOT for i, t in enumerate(times))
    gaps = [b.t - a.t for r in results for a, b in zip(r.token_events(), r.token_events()[1:])]
    assert statistics.median(gaps) == pytest.approx(TPOT, abs=0.001)


def test_non_streaming_answer_arrives_with_its_last_token(timed_server):
    r = run_many(timed_server, [{**BODY, "stream": False}])[0]
    e2e = r.ended_at - r.sent_at
    assert TTFT + (TOKENS - 1) * TPOT <= e2e < TTFT + (TOKENS - 1) * TPOT + 0.02
    assert r.body["usage"]["completion_tokens"] == TOKENS


def test_concurrent_streams_all_on_schedule_and_counted(timed_server):
    timed_server.reset_stats()
    results = run_many(timed_server, [BODY] * 64)
    stats = timed_server.stats()
    assert stats.max_in_flight == 64 and stats.outcomes == {"ok": 64} and stats.in_flight == 0
    assert all(len(r.token_events()) == TOKENS and r.done for r in results)
    for r in results:
        times = [e.t - r.sent_at for e in r.token_events()]
        assert all(t >= TTFT + i * TPOT for i, t in enumerate(times))
    for rec in stats.records:
        assert rec.first_token >= rec.first_token_due
    assert stats.lateness.count == 64 * TOKENS


def test_timing_records_mark_the_first_answer_token():
    config = MockServerConfig(tokens=3, reasoning_tokens=4, ttft=0.02, tpot=0.05, record_timings=True)
    with run_mock_server(config) as srv:
        run_many(srv, [BODY])
        rec = srv.stats().records[0]
    # The answer starts with token 4: written after its due time and before token 5's.
    answer_due = rec.received + 0.02 + 4 * 0.05
    assert answer_due <= rec.first_answer_token < answer_due + 0.05
    assert rec.first_token < rec.first_answer_token < rec.last_write


class _RecordingTransport:
    def __init__(self, broken: bool = False) -> None:
        self.writes: list[bytes] = []
        self.broken = broken
        self.aborted = False

    def is_closing(self) -> bool:
        return self.aborted

    def write(self, data: bytes) -> None:
        if self.broken:
            raise RuntimeError("boom")
        self.writes.append(data)

    def abort(self) -> None:
        self.aborted = True


def _job(loop, transport, first_due: float, tokens: int = 10) -> StreamJob:
    return StreamJob(
        loop=loop, transport=transport, chunked=True,
        encoder=ChunkEncoder("chatcmpl-x", 0, "m", 1, "reasoning_content"), texts=[f" t{i}" for i in range(tokens)],
        field_split=0, answer_start=0, n=1, finish_reason="stop", usage_event=None, first_due=first_due, tpot=0.01,
        tokens_per_chunk=1, fault=None, fault_step=0, stall_seconds=0.0, lateness=LatenessHistogram(),
        timing=RequestTiming(id="chatcmpl-x", stream=True), on_fault=lambda kind: None,
    )


def test_one_broken_stream_does_not_stop_the_others():
    from time import monotonic

    from thinklens.mock_server.stream import Ticker

    loop = asyncio.new_event_loop()
    try:
        ticker = Ticker(loop, quantum=0.0001)
        good, bad = _RecordingTransport(), _RecordingTransport(broken=True)
        start = monotonic() + 0.01
        jobs = [_job(loop, bad, start, tokens=3), _job(loop, good, start, tokens=3)]
        for job in jobs:
            job.begin(ticker)
        outcomes = loop.run_until_complete(asyncio.wait_for(asyncio.gather(*(j.done for j in jobs)), 5))
    finally:
        loop.close()
    assert outcomes == ["error", "ok"] and bad.aborted
    assert b"data: [DONE]" in good.writes[-1]


def test_a_late_wake_up_coalesces_due_tokens_into_one_write_with_one_event_each():
    loop = asyncio.new_event_loop()
    try:
        transport = _RecordingTransport()
        job = _job(loop, transport, first_due=100.0)
        timing = job._timing
        assert job.fire(99.0) == 100.0  # nothing due yet: come back at the due time
        assert transport.writes == []
        following = job.fire(100.035)  # the loop was late: tokens 0..3 are due
        assert following == pytest.approx(100.04)
        assert len(transport.writes) == 1
        events = [e for e in transport.writes[0].split(b"\n\n") if b'"content":" t' in e]
        assert len(events) == 4  # one SSE event per token, in one write
        assert timing.max_lateness == pytest.approx(0.035)
        assert job.fire(100.2) is None and job.done.result() == "ok"
        assert timing.tokens_sent == 10 and timing.events_sent == 10
        assert transport.writes[-1].endswith(b"data: [DONE]\n\n\r\n")
    finally:
        loop.close()


def test_hundreds_of_concurrent_streams():
    config = MockServerConfig(tokens=5, ttft=0.5, tpot=0.01)
    with run_mock_server(config) as srv:
        results = run_many(srv, [BODY] * 300)
        stats = srv.stats()
    assert all(r.done and len(r.token_events()) == 5 for r in results)
    assert stats.max_in_flight == 300 and stats.outcomes == {"ok": 300}
