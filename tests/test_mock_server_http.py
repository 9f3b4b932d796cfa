"""The mock server over real HTTP: response formats, usage, truncation, endpoints, errors."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from thinklens.mock_server import MockServerConfig, run_mock_server
from thinklens.mock_server.probe import ProbeResult, probe_chat
from thinklens.mock_server.tokens import count_tokens, reasoning_filler, synthetic_content

ANSWER = "\\boxed{42}"
REASONING = "".join(reasoning_filler(12))
CONTENT = "".join(synthetic_content(9, ANSWER))
MESSAGES = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "What is 6 x 7?"}]


def _body(stream: bool, **extra) -> dict:
    body = {"model": "QwQ-32B", "messages": MESSAGES, "stream": stream, **extra}
    if stream and "stream_options" not in extra:
        body["stream_options"] = {"include_usage": True}
    return body


def chat(server, body) -> ProbeResult:
    async def go() -> ProbeResult:
        async with aiohttp.ClientSession() as session:
            return await probe_chat(session, server.url, body)

    return asyncio.run(go())


def get_json(url: str, method: str = "GET") -> tuple[int, dict]:
    async def go():
        async with aiohttp.ClientSession() as session:
            async with session.request(method, url) as resp:
                return resp.status, await resp.json()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def server():
    with run_mock_server(MockServerConfig(tokens=9, reasoning_tokens=12, answer=ANSWER, model="served-model",
                                          record_timings=True)) as srv:
        yield srv


def test_streaming_chunks_have_the_vllm_shape(server):
    r = chat(server, _body(True))
    assert r.status == 200 and r.error is None and r.done
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert not r.malformed_events
    first = r.events[0].payload
    assert first["object"] == "chat.completion.chunk" and first["id"].startswith("chatcmpl-")
    assert first["model"] == "QwQ-32B" and isinstance(first["created"], int)
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    ids = {e.payload["id"] for e in r.events if e.payload}
    assert len(ids) == 1  # one id for the whole stream
    token_events = r.token_events()
    assert len(token_events) == 12 + 9  # one event per token
    assert all(e.payload["choices"][0]["finish_reason"] is None for e in token_events[:-1])
    assert token_events[-1].payload["choices"][0]["finish_reason"] == "stop"
    assert set(token_events[0].delta()) == {"reasoning_content"}
    assert set(token_events[-1].delta()) == {"content"}
    assert r.reasoning() == REASONING and r.content() == CONTENT
    usage_event = r.events[-2].payload  # then [DONE]
    assert usage_event["choices"] == [] and usage_event["usage"] == r.usage
    assert r.events[-1].data == "[DONE]"


def test_usage_counts(server):
    r = chat(server, _body(True))
    prompt = sum(count_tokens(m["content"]) for m in MESSAGES)
    assert r.usage == {
        "prompt_tokens": prompt, "completion_tokens": 21, "total_tokens": prompt + 21,
        "completion_tokens_details": {"reasoning_tokens": 12},
    }
    plain = chat(server, _body(False))
    assert plain.usage == r.usage


def test_streaming_without_include_usage_sends_no_usage_chunk(server):
    r = chat(server, {"model": "m", "messages": MESSAGES, "stream": True})
    assert r.done and r.usage is None
    assert all(e.payload is None or e.payload["choices"] for e in r.events)


def test_continuous_usage_stats_put_the_running_count_on_every_chunk(server):
    # vLLM's stream_options.continuous_usage_stats: `perf` reads exact tokens per chunk from it
    r = chat(server, _body(True, stream_options={"include_usage": True, "continuous_usage_stats": True}))
    assert r.done and not r.malformed_events
    prompt = sum(count_tokens(m["content"]) for m in MESSAGES)
    chunks = [e.payload for e in r.events if e.payload and e.payload["choices"]]
    assert chunks[0]["usage"] == {"prompt_tokens": prompt, "total_tokens": prompt, "completion_tokens": 0}  # role
    running = [c["usage"]["completion_tokens"] for c in chunks[1:]]
    assert running == list(range(1, 22))
    assert all(c["usage"]["total_tokens"] == prompt + c["usage"]["completion_tokens"] for c in chunks)
    assert r.usage["completion_tokens"] == 21 and r.reasoning() == REASONING and r.content() == CONTENT
    plain = chat(server, _body(True))
    assert all("usage" not in e.payload for e in plain.events if e.payload and e.payload["choices"])


def test_non_streaming_shape(server):
    r = chat(server, _body(False))
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
    body = r.body
    assert body["object"] == "chat.completion" and body["model"] == "QwQ-32B"
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": CONTENT, "reasoning_content": REASONING}


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    "fmt, field, expect_content, expect_reasoning",
    [
        ("field", "reasoning_content", CONTENT, REASONING),
        ("field", "reasoning", CONTENT, REASONING),
        ("inline", "reasoning_content", f"<think>{REASONING}</think>{CONTENT}", ""),
        ("lone-close", "reasoning_content", f"{REASONING}</think>{CONTENT}", ""),
        ("none", "reasoning_content", CONTENT, ""),
    ],
)
def test_reasoning_formats(stream, fmt, field, expect_content, expect_reasoning):
    config = MockServerConfig(tokens=9, reasoning_tokens=12, answer=ANSWER, reasoning_format=fmt, reasoning_field=field)
    with run_mock_server(config) as srv:
        r = chat(srv, _body(stream))
    assert r.content() == expect_content
    assert r.reasoning(field_name=field) == expect_reasoning
    other = "reasoning" if field == "reasoning_content" else "reasoning_content"
    assert r.reasoning(field_name=other) == ""  # only the configured field name is used
    reasoning_tokens = 0 if fmt == "none" else 12
    assert r.usage["completion_tokens"] == reasoning_tokens + 9
    assert r.usage["completion_tokens_details"]["reasoning_tokens"] == reasoning_tokens
    if stream:
        assert len(r.token_events()) == reasoning_tokens + 9  # tags ride on tokens: same count
    else:
        message = r.body["choices"][0]["message"]
        assert (field in message) == (fmt == "field")


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("fmt", ["field", "inline", "lone-close"])
def test_max_tokens_inside_reasoning(stream, fmt):
    with run_mock_server(MockServerConfig(tokens=9, reasoning_tokens=12, answer=ANSWER, reasoning_format=fmt)) as srv:
        r = chat(srv, _body(stream, max_tokens=5))
    assert r.finish_reason() == "length"
    assert r.usage["completion_tokens"] == 5 and r.usage["completion_tokens_details"]["reasoning_tokens"] == 5
    first_five = "".join(reasoning_filler(5))
    if fmt == "field":
        assert r.reasoning() == first_five and r.content() == ""
    else:
        assert r.content() == ("<think>" if fmt == "inline" else "") + first_five  # no closing tag
    if stream:
        assert len(r.token_events()) == 5


@pytest.mark.parametrize("stream", [True, False])
def test_max_tokens_inside_content(stream, server):
    r = chat(server, _body(stream, max_tokens=15))
    assert r.finish_reason() == "length"
    assert r.reasoning() == REASONING
    assert r.content() == "".join(synthetic_content(9, ANSWER)[:3])
    assert r.usage["completion_tokens"] == 15


def test_max_completion_tokens_and_ignore_eos(server):
    r = chat(server, _body(True, max_completion_tokens=200, ignore_eos=True))
    assert r.usage["completion_tokens"] == 200 and len(r.token_events()) == 200
    assert r.finish_reason() == "length"


def test_n_choices(server):
    r = chat(server, _body(True, n=3))
    for i in range(3):
        assert r.content(i) == CONTENT and r.reasoning(i) == REASONING
        assert r.finish_reason(i) == "stop"
    assert r.usage["completion_tokens"] == 3 * 21
    plain = chat(server, _body(False, n=2))
    assert [c["index"] for c in plain.body["choices"]] == [0, 1]


def test_stop_strings(server):
    r = chat(server, _body(True, stop=["\\boxed"]))
    assert r.content() == CONTENT[: CONTENT.index("\\boxed")]
    assert r.finish_reason() == "stop"


def test_tokens_per_chunk_groups_tokens():
    with run_mock_server(MockServerConfig(tokens=9, reasoning_tokens=12, answer=ANSWER, tokens_per_chunk=5)) as srv:
        r = chat(srv, _body(True))
    events = r.token_events()
    assert len(events) == 5  # ceil(21 / 5)
    assert set(events[2].delta()) == {"reasoning_content", "content"}  # tokens 10-14 span the boundary
    assert r.reasoning() == REASONING and r.content() == CONTENT


def test_models_health_and_stats_endpoints(server):
    status, models = get_json(server.url + "/models")
    assert status == 200 and models["data"][0]["id"] == "served-model" and models["object"] == "list"
    assert get_json(server.base_url + "/health") == (200, {"status": "ok"})
    assert get_json(server.base_url + "/stats/reset", "POST")[0] == 200
    chat(server, _body(True))
    chat(server, _body(False, max_tokens=3))
    chat(server, b"{broken")
    status, stats = get_json(server.base_url + "/stats")
    assert status == 200
    assert stats["requests_total"] == 3 and stats["in_flight"] == 0 and stats["max_in_flight"] == 1
    assert stats["outcomes"] == {"ok": 2, "bad_request": 1}
    assert stats["finish_reasons"] == {"stop": 1, "length": 1}
    assert stats["tokens_sent"] == 21 + 3
    streamed, plain, bad = stats["records"]
    assert bad["outcome"] == "bad_request" and bad["tokens_sent"] == 0
    assert streamed["stream"] and streamed["tokens_sent"] == 21 and streamed["events_sent"] == 21
    assert streamed["received"] <= streamed["first_token"] <= streamed["first_answer_token"] <= streamed["last_write"]
    assert not plain["stream"] and plain["completion_tokens"] == 3
    assert stats["config"]["tokens"] == 9
    assert set(stats["clock"]) == {"monotonic", "time"}
    assert get_json(server.base_url + "/stats?records=0")[1]["records"] is None
    typed = server.stats()
    assert typed.requests_total == 3 and typed.records[0].tokens_sent == 21


def test_bad_requests_get_openai_style_400(server):
    cases = [b"not json", json.dumps({"model": "m"}).encode(), json.dumps({"messages": "hi"}).encode(),
             json.dumps({"messages": MESSAGES, "max_tokens": -1}).encode()]
    for body in cases:
        r = chat(server, body)
        assert r.status == 400
        error = r.body["error"]
        assert error["type"] == "invalid_request_error" and error["message"] and error["code"] == 400


def test_unmatched_replay_gets_fallback_and_is_counted(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"problem": "What is 6 x 7?", "reasoning": "6 sevens.", "content": "42"}) + "\n")
    config = MockServerConfig(replay=[path], unmatched_content="no idea")
    with run_mock_server(config) as srv:
        hit = chat(srv, _body(False))
        miss = chat(srv, {"messages": [{"role": "user", "content": "Something else"}]})
        stats = srv.stats()
    assert hit.content() == "42" and hit.reasoning() == "6 sevens."
    assert miss.status == 200 and miss.content() == "no idea" and miss.reasoning() == ""
    assert stats.unmatched == 1 and stats.outcomes == {"ok": 2}


def test_client_disconnect_mid_stream_is_counted():
    config = MockServerConfig(tokens=500, tpot=0.01, record_timings=True)
    with run_mock_server(config) as srv:
        async def go():
            async with aiohttp.ClientSession() as session:
                async with session.post(srv.url + "/chat/completions", json=_body(True)) as resp:
                    async for _ in resp.content:
                        break  # leave after the first line: the connection is closed

        asyncio.run(go())
        import time

        deadline = time.monotonic() + 5
        while srv.stats().in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        stats = srv.stats()
    assert stats.in_flight == 0 and stats.outcomes == {"client_disconnected": 1}
    assert stats.records[0].tokens_sent < 500
