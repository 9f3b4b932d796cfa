"""Nothing a server does can corrupt a run or crash it (issue 10, the client's part).

Deliberately misbehaving servers (tests/http_helpers.py) and real `thinklens
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
from thinklens.client.redact import Redactor
from thinklens.client.wire import MalformedResponse, token_count
from thinklens.errors import ServerRefused, ServerUnreachable

from http_helpers import http_server

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
