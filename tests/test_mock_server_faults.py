"""Injected faults, each seen by a real HTTP client; the seeded sequence is reproducible."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from thinklens.mock_server import MockServerConfig, run_mock_server, start_mock_server
from thinklens.mock_server.probe import ProbeResult, probe_chat

MESSAGES = [{"role": "user", "content": "Count to forty."}]


def _config(kind: str, **changes) -> MockServerConfig:
    return MockServerConfig(tokens=40, reasoning_tokens=10, fault_rate=1.0, faults=(kind,), seed=3,
                            record_timings=True, **changes)


def chat(server, stream: bool, timeout: float | None = 30.0, **extra) -> ProbeResult:
    async def go() -> ProbeResult:
        async with aiohttp.ClientSession() as session:
            body = {"model": "m", "messages": MESSAGES, "stream": stream, **extra}
            return await probe_chat(session, server.url, body, timeout=timeout)

    return asyncio.run(go())


def _wait_idle(server, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while server.stats().in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.stats()


@pytest.mark.parametrize("stream", [True, False])
def test_429_with_retry_after(stream):
    with run_mock_server(_config("429", retry_after=2.5)) as srv:
        r = chat(srv, stream)
        stats = srv.stats()
    assert r.status == 429
    assert r.headers["Retry-After"] == "2.5" and r.headers["retry-after-ms"] == "2500"
    assert r.body["error"]["type"] == "rate_limit_error"
    assert stats.faults == {"429": 1} and stats.outcomes == {"429": 1}


@pytest.mark.parametrize("stream", [True, False])
def test_500(stream):
    with run_mock_server(_config("500")) as srv:
        r = chat(srv, stream)
        assert srv.stats().outcomes == {"500": 1}
    assert r.status == 500 and r.body["error"]["type"] == "server_error"


def test_reset_mid_stream():
    with run_mock_server(_config("reset", tpot=0.002)) as srv:
        r = chat(srv, True)
        stats = _wait_idle(srv)
    assert r.status == 200 and r.error is not None and not r.done
    received = len(r.token_events())
    assert 1 <= received < 50  # some tokens, then the connection is gone
    assert stats.faults == {"reset": 1} and stats.outcomes == {"reset": 1}
    assert stats.records[0].tokens_sent < 50


def test_reset_non_streaming():
    with run_mock_server(_config("reset")) as srv:
        r = chat(srv, False)
        assert _wait_idle(srv).outcomes == {"reset": 1}
    assert r.error is not None and r.body is None


def test_stall_goes_silent_then_resumes():
    with run_mock_server(_config("stall", stall_seconds=0.4)) as srv:
        r = chat(srv, True)
        stats = srv.stats()
    assert r.error is None and r.done and len(r.token_events()) == 50
    times = [e.t for e in r.token_events()]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) >= 0.39  # the silence
    assert sorted(gaps)[-2] < 0.1  # and only one
    assert stats.faults == {"stall": 1} and stats.outcomes == {"stall": 1}


def test_stall_of_an_hour_trips_the_client_timeout_and_frees_the_server():
    with run_mock_server(_config("stall")) as srv:  # stall_seconds defaults to 3600
        t0 = time.monotonic()
        r = chat(srv, True, timeout=0.5)
        assert time.monotonic() - t0 < 2
        assert r.error is not None and "Timeout" in r.error and 1 <= len(r.token_events()) < 50
        stats = _wait_idle(srv, 5.0)  # the server notices the client left (watchdog, <= 1 s)
    assert stats.in_flight == 0 and stats.outcomes == {"stall": 1}


def test_stall_non_streaming():
    with run_mock_server(_config("stall", stall_seconds=0.3)) as srv:
        r = chat(srv, False)
    assert r.status == 200 and r.ended_at - r.sent_at >= 0.3
    assert r.body["choices"][0]["message"]["content"]


def test_malformed_chunk_mid_stream():
    with run_mock_server(_config("malformed")) as srv:
        r = chat(srv, True)
        stats = srv.stats()
    assert r.status == 200 and r.done
    assert len(r.malformed_events) == 1
    bad_at = r.events.index(r.malformed_events[0])
    assert 0 < bad_at < len(r.events) - 2  # mid-stream, not first or last
    assert len(r.token_events()) == 50  # the stream itself is complete
    assert stats.faults == {"malformed": 1} and stats.outcomes == {"malformed": 1}


def test_malformed_non_streaming_body():
    with run_mock_server(_config("malformed")) as srv:
        r = chat(srv, False)
    assert r.status == 200 and r.body is None and r.raw_body.startswith(b'{"id"')


def _is_chunk(payload) -> bool:
    choices = payload.get("choices") if isinstance(payload, dict) else None
    return isinstance(choices, list) and all(
        isinstance(c, dict) and isinstance(c.get("delta", {}), dict)
        and isinstance(c.get("delta", {}).get("content", ""), (str, type(None))) for c in choices)


def test_wrong_shape_event_mid_stream():
    with run_mock_server(_config("wrong_shape")) as srv:
        r = chat(srv, True)
        stats = srv.stats()
    assert r.status == 200 and r.done
    bad = [i for i, e in enumerate(r.events) if e.payload is not None and not _is_chunk(e.payload)]
    assert len(bad) == 1 and 0 < bad[0] < len(r.events) - 2  # valid JSON, wrong shape, mid-stream
    assert not r.malformed_events  # it is JSON
    assert stats.faults == {"wrong_shape": 1} and stats.outcomes == {"wrong_shape": 1}
    assert len(stats.records[0].prompt_digest) == 16


def test_wrong_shape_non_streaming_body_and_not_in_the_default_mix():
    with run_mock_server(_config("wrong_shape")) as srv:
        r = chat(srv, False)
    assert r.status == 200 and r.body is not None
    choices = r.body["choices"]
    assert not isinstance(choices, list) or not all(
        isinstance(c, dict) and isinstance(c.get("message"), dict)
        and isinstance(c["message"].get("content"), str) for c in choices)
    assert "wrong_shape" not in MockServerConfig().faults


def test_server_shutdown_does_not_wait_for_stalled_streams():
    srv = start_mock_server(_config("stall"))
    try:
        async def start_and_leave():
            session = aiohttp.ClientSession()
            resp = await session.post(srv.url + "/chat/completions",
                                      json={"messages": MESSAGES, "stream": True})
            await resp.content.readline()
            return session, resp

        loop = asyncio.new_event_loop()
        session, resp = loop.run_until_complete(start_and_leave())
        t0 = time.monotonic()
    finally:
        srv.stop()
    assert time.monotonic() - t0 < 5
    resp.close()
    loop.run_until_complete(session.close())
    loop.close()


def _outcome_sequence(seed: int, n: int = 40) -> tuple[list[str], dict]:
    config = MockServerConfig(tokens=6, fault_rate=0.5, faults=("429", "500", "reset", "malformed"),
                              seed=seed)
    with run_mock_server(config) as srv:
        seen = []
        for _ in range(n):
            r = chat(srv, True)
            if r.status != 200:
                seen.append(str(r.status))
            elif r.error:
                seen.append("reset")
            elif r.malformed_events:
                seen.append("malformed")
            else:
                seen.append("ok")
        stats = _wait_idle(srv)
    return seen, stats.faults


def test_fault_sequence_is_reproducible_with_a_seed():
    first, faults = _outcome_sequence(seed=11)
    second, _ = _outcome_sequence(seed=11)
    other, _ = _outcome_sequence(seed=12)
    assert first == second
    assert first != other
    assert set(first) == {"ok", "429", "500", "reset", "malformed"}
    counts = {k: first.count(k) for k in set(first) if k != "ok"}
    assert counts == faults  # what the client saw is what /stats reports
