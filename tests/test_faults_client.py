"""Nothing a server does can corrupt a run or crash it (issue 10, the client's part).

Deliberately misbehaving servers (tests/helpers/http_helpers.py) and real `thinklens
mock-server` processes; runs go end to end through `run_task` / the CLI into the
real SQLite store.  The questions are invented ("What is i + i?").
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

from thinklens import TaskConfig, run_task
from thinklens.cli import main
from thinklens.client import AttemptError, ChatClient, ChatRequest, ClientPolicy
from thinklens.client.endpoints import EndpointPool
from thinklens.redaction import Redactor
from thinklens.client.wire import MalformedResponse, token_count
from thinklens.errors import ServerUnreachable

from tests.helpers.http_helpers import http_server

_QUESTION = re.compile(r"What is (\d+) \+ \1\?")


def _math(tmp_path: Path, n: int = 4) -> Path:
    path = tmp_path / "tiny_math.jsonl"
    rows = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i), "level": 1, "subject": "Algebra",
             "unique_id": f"tiny/{i}.json"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _config(url: str | list[str], tmp_path: Path, n: int = 4, **kw) -> TaskConfig:
    base = dict(
        api_url=url, model="m", eval_type="service", datasets=["math_500"],
        dataset_args={"math_500": {"dataset_id": str(_math(tmp_path, n)), "few_shot_num": 0}},
        eval_batch_size=4, generation_config={"max_tokens": 100}, output=str(tmp_path / "out"),
        progress=False, retry_backoff=0.0, grading_timeout=60,
    )
    base.update(kw)
    return TaskConfig(**base)


def _rows(out: Path) -> list[tuple]:
    conn = sqlite3.connect(out / "run.sqlite")
    try:
        return conn.execute("SELECT status, error, correct FROM results").fetchall()
    finally:
        conn.close()


async def _prompt(request: web.Request) -> tuple[dict, str]:
    body = await request.json()
    return body, body["messages"][-1]["content"]


def _answer(prompt: str) -> str:
    m = _QUESTION.search(prompt)
    return f"The answer is \\boxed{{{2 * int(m.group(1))}}}." if m else "no idea"


def _chunk(delta: object, finish: str | None = None) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).encode() + b"\n\n"


async def _sse(request: web.Request, events: list[bytes], hang: bool = False) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for e in events:
        await resp.write(e)
    if hang:  # keep the connection open: the client must not wait for it
        await asyncio.sleep(3600)
    await resp.write_eof()
    return resp


def _good_events(prompt: str) -> list[bytes]:
    usage = {"prompt_tokens": 5, "completion_tokens": 7}
    return [_chunk({"role": "assistant", "content": ""}), _chunk({"content": _answer(prompt)}, "stop"),
            b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n", b"data: [DONE]\n\n"]


def _good_message(prompt: str) -> dict:
    return {"choices": [{"message": {"content": _answer(prompt)}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7}}


def _models(request: web.Request) -> web.Response | None:
    return web.json_response({"data": [{"id": "m"}]}) if request.path.endswith("/models") else None


# ---- 1. well-formed JSON of the wrong shape ---------------------------------------
STREAM_SHAPES = {
    "choices_int": [b'data: {"choices": [1]}\n\n'],
    "delta_str": [_chunk("x")],
    "content_int": [_chunk({"content": 42})],
    "choices_dict": [b'data: {"choices": {}}\n\n', b"data: [DONE]\n\n"],
    "usage_str": [_chunk({"content": "The answer is \\boxed{0}."}, "stop"),
                  b'data: {"choices": [], "usage": {"completion_tokens": "many"}}\n\n', b"data: [DONE]\n\n"],
    "finish_int": [_chunk({"content": "x"}, 3)],  # type: ignore[arg-type]
}
MESSAGE_SHAPES = {
    "choices_int": {"choices": [1]},
    "message_str": {"choices": [{"message": "x", "finish_reason": "stop"}]},
    "content_int": {"choices": [{"message": {"content": 42}, "finish_reason": "stop"}]},
    "choices_dict": {"choices": {}},
    "usage_str": {"choices": [{"message": {"content": "\\boxed{0}"}, "finish_reason": "stop"}],
                  "usage": {"completion_tokens": "many"}},
    "usage_bool": {"choices": [{"message": {"content": "\\boxed{0}"}, "finish_reason": "stop"}],
                   "usage": {"completion_tokens": True}},
    "usage_negative": {"choices": [{"message": {"content": "\\boxed{0}"}, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": -3}},
}


@pytest.mark.parametrize("stream, shape", [(True, s) for s in STREAM_SHAPES] + [(False, s) for s in MESSAGE_SHAPES])
def test_wrong_shape_is_a_retried_error_and_the_run_goes_on(stream, shape, tmp_path):
    """Each sample's first reply has the wrong shape, its retry is good: every sample ends correct."""
    seen: dict[str, int] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        _, prompt = await _prompt(request)
        seen[prompt] = seen.get(prompt, 0) + 1
        if seen[prompt] == 1:
            if stream:
                return await _sse(request, STREAM_SHAPES[shape])
            return web.json_response(MESSAGE_SHAPES[shape])
        if stream:
            return await _sse(request, _good_events(prompt))
        return web.json_response(_good_message(prompt))

    with http_server(handler) as url:
        result = run_task(_config(url, tmp_path, stream=stream))
    assert result.failed == 0
    assert sorted(seen.values()) == [2, 2, 2, 2]  # one malformed attempt + one retry each
    assert [r[0] for r in _rows(tmp_path / "out")] == ["ok"] * 4
    assert all(r[2] == 1 for r in _rows(tmp_path / "out"))


@pytest.mark.parametrize("stream", [True, False])
def test_malformed_reply_is_attempt_error_kind_malformed(stream):
    async def handler(request: web.Request) -> web.StreamResponse:
        if stream:
            return await _sse(request, [_chunk({"content": 42})])
        return web.json_response({"choices": [{"message": {"content": ["a"]}}]})

    async def go() -> AttemptError:
        async with ChatClient(url, policy=ClientPolicy(max_retries=0)) as client:
            with pytest.raises(AttemptError) as info:
                await client.chat_once(ChatRequest("m", [{"role": "user", "content": "hi"}], stream=stream))
            return info.value

    with http_server(handler) as url:
        exc = asyncio.run(go())
    assert exc.kind == "malformed" and exc.retryable and "content" in str(exc)


# ---- 2. token counts ----------------------------------------------------------------
def test_token_counts_are_validated():
    assert token_count(12, "x") == 12 and token_count(None, "x") is None and token_count(12.0, "x") == 12
    for bad in (True, False, -1, 1.5, "12", float("inf"), float("nan"), [1]):
        with pytest.raises(MalformedResponse):
            token_count(bad, "completion_tokens")


def test_non_numeric_usage_is_an_error_retried_by_the_next_run(tmp_path):
    state = {"usage": {"prompt_tokens": 5, "completion_tokens": "many"}}

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        _, prompt = await _prompt(request)
        return web.json_response({**_good_message(prompt), "usage": state["usage"]})

    with http_server(handler) as url:
        config = _config(url, tmp_path, n=2, stream=False, max_retries=1)
        first = run_task(config)
        assert first.failed == 2
        rows = _rows(tmp_path / "out")
        assert [r[0] for r in rows] == ["error", "error"] and "completion_tokens" in rows[0][1]
        state["usage"] = {"prompt_tokens": 5, "completion_tokens": 7.0}  # an integral float is a count
        second = run_task(config)
    assert second.requests_sent == 2 and second.failed == 0
    conn = sqlite3.connect(tmp_path / "out" / "run.sqlite")
    counts = conn.execute("SELECT status, typeof(completion_tokens), completion_tokens FROM results").fetchall()
    conn.close()
    assert counts == [("ok", "integer", 7)] * 2


# ---- 3. an empty reply is an error, not a wrong answer ------------------------------
@pytest.mark.parametrize("stream", [True, False])
def test_empty_reply_is_an_error_not_a_wrong_answer(stream, tmp_path):
    calls = {"n": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        calls["n"] += 1
        if stream:
            return await _sse(request, [b"data: [DONE]\n\n"])
        return web.json_response({"choices": [{"message": {"content": ""}, "finish_reason": None}]})

    with http_server(handler) as url:
        result = run_task(_config(url, tmp_path, n=2, stream=stream, max_retries=2))
    assert result.failed == 2 and calls["n"] == 6  # retried like any failure
    rows = _rows(tmp_path / "out")
    assert all(status == "error" and "empty response" in error and correct is None for status, error, correct in rows)


# ---- 6. stream end ------------------------------------------------------------------
def test_finish_then_usage_ends_the_request_without_waiting_for_the_socket(tmp_path):
    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        _, prompt = await _prompt(request)
        return await _sse(request, _good_events(prompt)[:3], hang=True)  # no [DONE], connection left open

    with http_server(handler) as url:
        started = time.monotonic()
        result = run_task(_config(url, tmp_path, n=2, timeout_idle=30))
        elapsed = time.monotonic() - started
    assert result.failed == 0 and elapsed < 10  # not the 30 s idle timeout
    assert [r[0] for r in _rows(tmp_path / "out")] == ["ok", "ok"]


def test_finished_answer_on_a_silent_open_connection_is_kept(tmp_path):
    """finish_reason, then neither usage nor [DONE], socket open: the idle timeout
    ends the wait, and the finished answer is the result (not a stall error)."""
    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        _, prompt = await _prompt(request)
        return await _sse(request, _good_events(prompt)[:2], hang=True)

    with http_server(handler) as url:
        result = run_task(_config(url, tmp_path, n=1, timeout_idle=0.5, max_retries=0))
    assert result.failed == 0 and _rows(tmp_path / "out")[0][:1] == ("ok",)


@pytest.mark.parametrize("body, said", [
    ([_chunk({"content": "so"}), b'data: {"detail": "upstream overloaded"}\n\n'], "upstream overloaded"),
    ([_chunk({"content": "so"}), b"event: error\n", b"upstream went away\n\n"], "upstream went away"),
    ([b"<html><body>Bad gateway from the proxy</body></html>\n"], "Bad gateway from the proxy"),
])
def test_a_stream_that_breaks_off_shows_what_the_server_said(body, said):
    async def handler(request: web.Request) -> web.StreamResponse:
        return await _sse(request, body)

    async def go() -> AttemptError:
        async with ChatClient(url, policy=ClientPolicy(max_retries=0)) as client:
            with pytest.raises(AttemptError) as info:
                await client.chat_once(ChatRequest("m", [{"role": "user", "content": "hi"}]))
            return info.value

    with http_server(handler) as url:
        exc = asyncio.run(go())
    assert said in str(exc), str(exc)


def test_json_error_body_to_a_streamed_request_is_shown():
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": {"message": "model is loading, try later"}})

    async def go():
        async with ChatClient(url, policy=ClientPolicy(max_retries=0)) as client:
            return await client.chat(ChatRequest("m", [{"role": "user", "content": "hi"}]))

    with http_server(handler) as url:
        gen = asyncio.run(go())
    assert not gen.ok and "model is loading, try later" in gen.error


# ---- 7. secrets never leave the client ----------------------------------------------
def test_redactor_removes_keys_tokens_and_url_credentials():
    redact = Redactor("my-own-secret-key")
    text = redact("invalid key my-own-secret-key; got Authorization: Bearer abcdef123456789 and sk-proj-XyZ12345 "
                  "from http://alice:pa55word@host:8000/v1")
    for secret in ("my-own-secret-key", "abcdef123456789", "XyZ12345", "pa55word", "alice"):
        assert secret not in text
    assert "http://host:8000/v1" in text and "invalid key" in text


def test_server_echoing_the_key_never_lands_in_the_store(tmp_path):
    key = "tl-test-key-0123456789"

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        auth = request.headers.get("Authorization", "")
        return web.json_response({"error": {"message": f"invalid key {key} (header {auth}, sk-leaked99999)"}},
                                 status=500)

    with http_server(handler) as url:
        result = run_task(_config(url, tmp_path, n=2, api_key=key, max_retries=1))
    assert result.failed == 2
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key.encode() not in data and b"sk-leaked99999" not in data, path
    assert "invalid key [redacted]" in _rows(tmp_path / "out")[0][1]


@pytest.mark.parametrize("api_key", [None, "tl-key-for-bearer"])
def test_url_credentials_are_sent_but_never_shown(api_key, tmp_path):
    """aiohttp sends `user:pass@` as Basic auth, but refuses it next to a Bearer header:
    the client keeps the URL's credentials out of messages and Generation.endpoint."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        seen.append(request.headers.get("Authorization", ""))
        _, prompt = await _prompt(request)
        return await _sse(request, _good_events(prompt))

    with http_server(handler) as url:
        cred_url = url.replace("http://", "http://alice:pa55word@")
        result = run_task(_config(cred_url, tmp_path, n=2, api_key=api_key))
    assert result.failed == 0
    assert all(h == (f"Bearer {api_key}" if api_key else "Basic YWxpY2U6cGE1NXdvcmQ=") for h in seen), seen
    conn = sqlite3.connect(tmp_path / "out" / "run.sqlite")
    endpoints = {e for (e,) in conn.execute("SELECT endpoint FROM results")}
    conn.close()
    assert endpoints == {url}


# ---- 5. the same refusal again and again stops the run -------------------------------
def test_repeated_refusal_stops_the_run_and_keeps_what_is_stored(capsys, tmp_path):
    state = {"calls": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r  # /models answers 200: only the chat endpoint refuses
        state["calls"] += 1
        _, prompt = await _prompt(request)
        if state["calls"] <= 2:
            return web.json_response(_good_message(prompt))
        return web.json_response({"error": {"message": "this deployment is not yours"}}, status=403)

    with http_server(handler) as url:
        rc = main(["eval", "--api-url", url, "--model", "m", "--datasets", "math_500", "--dataset-path",
                   f"math_500={_math(tmp_path, 20)}", "--output", str(tmp_path / "out"), "--no-progress",
                   "--no-stream", "--eval-batch-size", "1", "--retry-backoff", "0"])
    err = " ".join(capsys.readouterr().err.split())
    assert rc == 2
    assert "HTTP 403" in err and "this deployment is not yours" in err and "refused 3 requests in a row" in err
    assert "Task exception was never retrieved" not in err and "Traceback" not in err
    assert state["calls"] == 5  # 2 answers, then 3 refusals: no flood
    rows = _rows(tmp_path / "out")
    assert sorted(r[0] for r in rows) == ["error", "error", "ok", "ok"]  # what was done stays stored


def test_refusals_with_different_messages_do_not_stop(tmp_path):
    """Context-length errors name each prompt's own length: not the same refusal."""
    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        _, prompt = await _prompt(request)
        return web.json_response({"error": {"message": f"prompt too long: {prompt}"}}, status=400)

    with http_server(handler) as url:
        result = run_task(_config(url, tmp_path, n=5, stream=False, eval_batch_size=1))
    assert result.failed == 5


# ---- 4. replicas ----------------------------------------------------------------------
def test_endpoint_pool_ejects_a_dead_replica_and_probes_it_back():
    now = [0.0]
    pool = EndpointPool(["a", "b"], backoff=1.0, clock=lambda: now[0])
    b = pool.acquire()
    a = pool.acquire()
    assert {a, b} == {"a", "b"}
    pool.release(a)
    pool.release(b)
    pool.failed("b", unreachable=True)
    assert [pool.acquire() for _ in range(4)] == ["a"] * 4  # even with 4 in flight on a
    now[0] = 1.5
    assert pool.acquire() == "b"  # the probe
    assert pool.acquire() == "a"  # one probe at a time
    pool.failed("b")  # the probe failed: ejected again, twice as long
    now[0] = 3.0
    assert pool.acquire() == "a"
    now[0] = 3.6
    assert pool.acquire() == "b"
    pool.succeeded("b")
    assert pool.live() == ["a", "b"]
    assert pool.acquire(avoid="a") == "b"


def _spawn_mock(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "thinklens", "mock-server", "--port", "0", "--quiet", *args],
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    line = proc.stdout.readline()
    assert "listening on" in line, line
    return proc, line.split("listening on", 1)[1].strip()


def _requests(url: str) -> int:
    with urllib.request.urlopen(url.rsplit("/v1", 1)[0] + "/stats?records=0", timeout=5) as resp:
        return json.load(resp)["requests_total"]


def test_killing_one_replica_mid_run_loses_no_sample(tmp_path):
    opts = ("--tokens", "20", "--tpot", "10ms", "--answer", "\\boxed{0}")
    a, url_a = _spawn_mock(*opts)
    b, url_b = _spawn_mock(*opts)
    killed = threading.Event()

    def kill_b_mid_run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _requests(url_b) < 6:
            time.sleep(0.02)
        b.kill()  # SIGKILL: streams in flight on b break, new connections are refused
        killed.set()

    killer = threading.Thread(target=kill_b_mid_run, daemon=True)
    try:
        killer.start()
        result = run_task(_config([url_a, url_b], tmp_path, n=60, eval_batch_size=8, max_retries=3))
        killer.join(10)
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(10)
    assert killed.is_set()
    assert result.failed == 0
    rows = _rows(tmp_path / "out")
    assert len(rows) == 60 and all(r[0] == "ok" for r in rows)
    conn = sqlite3.connect(tmp_path / "out" / "run.sqlite")
    used = {e for (e,) in conn.execute("SELECT endpoint FROM results")}
    conn.close()
    assert used == {url_a, url_b}  # b served some before it died


def test_check_warns_about_a_dead_replica_and_fails_only_when_all_are_dead(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"

    async def handler(request: web.Request) -> web.StreamResponse:
        if (r := _models(request)) is not None:
            return r
        _, prompt = await _prompt(request)
        return await _sse(request, _good_events(prompt))

    async def check(urls: list[str]) -> list[str]:
        async with ChatClient(urls) as client:
            return await client.check("m")

    with http_server(handler) as url:
        warnings = asyncio.run(check([dead, url]))
        assert len(warnings) == 1 and dead in warnings[0] and "goes on" in warnings[0]
        result = run_task(_config([dead, url], tmp_path, n=3))
        assert result.failed == 0
    with pytest.raises(ServerUnreachable, match="cannot reach any of the 2"):
        asyncio.run(check([dead, dead.replace("/v1", "/v2")]))
