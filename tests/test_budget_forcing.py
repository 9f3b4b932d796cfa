"""Budget forcing (`thinklens eval --thinking-budget`): accuracy measured at a thinking budget.

Over HTTP: the continuation request exactly as vLLM expects it (a recording server),
forced / unforced / continued answers, resume per (sample, repeat, budget) and the
per-budget report against a real `thinklens mock-server` process, and a server that
refuses the feature (exit 2, one line naming it).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

from tests.helpers.calibration import MockServerProcess
from tests.helpers.http_helpers import http_server
from thinklens.cli import main

CUE = "\n\n**Final Answer**\n"


def _questions(tmp_path: Path, n: int = 3) -> Path:
    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i}+{2 - i}?", "answer": "2", "level": 1 + i % 2,
                                          "unique_id": f"q{i}"}) for i in range(n)) + "\n")
    return data


def _eval(url: str, data: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--api-url", url, "--model", "mock-model", "--datasets", "math_500", "--dataset-path",
                 f"math_500={data}", "--output", str(out), "--no-progress", *extra])


def _sse(chunks: list[dict], finish: str, usage: dict) -> bytes:
    events = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in chunks]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    events.append({"choices": [], "usage": usage})
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"


def test_the_continuation_request_is_the_one_vllm_expects(tmp_path: Path) -> None:
    """Phase 1 is cut inside the reasoning (finish_reason length, reasoning_content only);
    phase 2 sends the same request plus the assistant message `<think>\\n` + reasoning +
    `\\n</think>` + cue, continue_final_message true, add_generation_prompt false, and
    max_tokens = --budget-answer-tokens.  The stored generation joins both."""
    bodies: list[dict] = []

    async def vllm_like(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "mock-model"}]})
        body = await request.json()
        bodies.append(body)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if body.get("continue_final_message"):
            # vLLM's deepseek_r1 parser: no </think> in the continuation, so it comes as reasoning_content
            await resp.write(_sse([{"role": "assistant", "reasoning_content": "The sum is \\boxed{2}."}], "stop",
                                  {"prompt_tokens": 40, "completion_tokens": 7}))
        else:
            await resp.write(_sse([{"role": "assistant", "reasoning_content": "First, add"},
                                   {"reasoning_content": " the two numbers"}], "length",
                                  {"prompt_tokens": 20, "completion_tokens": 16,
                                   "completion_tokens_details": {"reasoning_tokens": 16}}))
        await resp.write_eof()
        return resp

    data = _questions(tmp_path, 1)
    with http_server(vllm_like) as url:
        assert _eval(url, data, tmp_path / "run", "--thinking-budget", "16", "--budget-answer-tokens", "64",
                     "--temperature", "0.6", "--seed", "7") == 0
    assert len(bodies) == 2
    first, second = bodies
    question = [{"role": "user", "content": "What is 0+2?\nPlease reason step by step, and put your final answer "
                                            "within \\boxed{}."}]
    assert first["messages"] == question and first["max_tokens"] == 16
    assert "continue_final_message" not in first and "add_generation_prompt" not in first
    assert second["messages"] == question + [
        {"role": "assistant", "content": "<think>\nFirst, add the two numbers\n</think>" + CUE}]
    assert second["continue_final_message"] is True and second["add_generation_prompt"] is False
    assert second["max_tokens"] == 64
    # the sampling settings of phase 1 carry over (same seed: the same "model state")
    assert (second["temperature"], second["seed"], second["stream"]) == (0.6, 7, True)

    conn = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    content, reasoning, finish, ptok, ctok, rtok, meta, correct = conn.execute(
        "SELECT content, reasoning, finish_reason, prompt_tokens, completion_tokens, reasoning_tokens, "
        "sample_meta, correct FROM results").fetchone()
    assert reasoning == "First, add the two numbers" and content == "The sum is \\boxed{2}."
    assert (finish, ptok, ctok, rtok, correct) == ("stop", 60, 23, 16, 1)
    forcing = json.loads(meta)["budget_forcing"]
    assert forcing["budget"] == 16 and forcing["forced"] is True and forcing["reasoning_finish"] == "length"


@pytest.fixture
def mock_server():
    # 50 reasoning tokens, then 12 answer tokens ending in \boxed{2}; records every request
    with MockServerProcess("--reasoning-tokens", "50", "--tokens", "12", "--answer", "\\boxed{2}",
                           "--record-timings") as server:
        yield server


def test_forced_and_unforced_answers_and_the_per_budget_report(tmp_path: Path, mock_server: MockServerProcess,
                                                               capsys) -> None:
    data = _questions(tmp_path)
    assert _eval(mock_server.url, data, tmp_path / "run", "--thinking-budget", "100", "20", "55",
                 "--budget-answer-tokens", "30") == 0
    stats = mock_server.stats()
    # 3 questions x 3 budgets = 9 first requests; B=20 cuts the reasoning (forced), B=55 cuts
    # the answer (5 of its 12 tokens: continued), B=100 holds it all (no second request)
    assert stats["requests_total"] == 15 and stats["continuations"] == 6
    first = [r for r in stats["records"] if not r["continuation"]]
    assert sorted(r["max_tokens"] for r in first) == [20] * 3 + [55] * 3 + [100] * 3
    assert all(r["add_generation_prompt"] for r in first)
    cont = [r for r in stats["records"] if r["continuation"]]
    assert all(r["max_tokens"] == 30 and r["add_generation_prompt"] is False and r["finish_reason"] == "stop"
               and r["prefix_head"] == "<think>\nLet me t" for r in cont)
    forced = [r for r in cont if r["prefix_tail"].endswith("</think>" + CUE)]
    continued = [r for r in cont if r["prefix_tail"].endswith("</think>\n\nHere is the answer,")]
    assert len(forced) == 3 and len(continued) == 3
    assert all(r["completion_tokens"] == 12 for r in forced)  # the whole answer after the cue
    assert all(r["completion_tokens"] == 7 for r in continued)  # the answer's last 7 tokens

    report = json.loads((tmp_path / "run" / "report.json").read_text())
    overall = {r["dataset"]: r["score"] for r in report["rows"]
               if r["subset"] == "OVERALL" and r["metric"] == "AveragePass@1"}
    assert overall == {"math_500 @20": 1.0, "math_500 @55": 1.0, "math_500 @100": 1.0}
    curve = [(p["budget"], p["generations"], p["forced"], p["truncated"], p["mean_reasoning_tokens"])
             for p in report["budget_curve"]]
    assert curve == [(20, 3, 3, 0, 20.0), (55, 3, 0, 0, 50.0), (100, 3, 0, 0, 50.0)]
    out = capsys.readouterr().out
    assert "Accuracy vs thinking budget" in out and "forced 3/3" in out
    # usage sums both calls: 20 reasoning + the 12 forced answer tokens
    b20 = report["cost"]["datasets"]["math_500 @20"]
    assert (b20["reasoning_tokens"], b20["answer_tokens"]) == (60, 36)
    # thinklens compare pairs a forcing run budget by budget
    assert main(["compare", str(tmp_path / "run"), str(tmp_path / "run")]) == 0
    assert "math_500 @55: B = mock-model vs A = mock-model" in capsys.readouterr().out


def test_resume_skips_each_stored_sample_repeat_budget(tmp_path: Path, mock_server: MockServerProcess) -> None:
    data = _questions(tmp_path, 2)
    assert _eval(mock_server.url, data, tmp_path / "run", "--thinking-budget", "20", "100", "--n", "2") == 0
    assert mock_server.stats(records=False)["requests_total"] == 2 * 2 * 2 + 2 * 2  # + the forced answers at 20
    mock_server.reset_stats()
    assert _eval(mock_server.url, data, tmp_path / "run", "--thinking-budget", "20", "100", "--n", "2") == 0
    assert mock_server.stats(records=False)["requests_total"] == 0  # all (sample, repeat, budget) stored
    # a new budget adds only its own items; another answer cue is another key
    assert _eval(mock_server.url, data, tmp_path / "run", "--thinking-budget", "20", "100", "40", "--n", "2") == 0
    stats = mock_server.stats()
    assert stats["requests_total"] == 2 * 2 * 2  # 4 items at B=40, each cut and forced
    assert sorted({r["max_tokens"] for r in stats["records"]}) == [40, 256]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert [p["budget"] for p in report["budget_curve"]] == [20, 40, 100]
    assert [p["generations"] for p in report["budget_curve"]] == [4, 4, 4]


def test_a_server_without_the_feature_stops_the_run_with_exit_2(tmp_path: Path, capsys) -> None:
    """OpenAI's API refuses unknown parameters with a 400 naming them: stop at once, say why."""
    asked = []

    async def openai_like(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "mock-model"}]})
        body = await request.json()
        asked.append(body)
        if "continue_final_message" in body:
            return web.json_response({"error": {
                "message": "Unrecognized request argument supplied: continue_final_message, add_generation_prompt",
                "type": "invalid_request_error"}}, status=400)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(_sse([{"role": "assistant", "reasoning_content": "Thinking"}], "length",
                              {"prompt_tokens": 9, "completion_tokens": 8}))
        await resp.write_eof()
        return resp

    data = _questions(tmp_path, 3)
    with http_server(openai_like) as url:
        rc = _eval(url, data, tmp_path / "run", "--thinking-budget", "8", "--eval-batch-size", "1")
    assert rc == 2
    err = capsys.readouterr().err
    assert "continue the assistant message" in err and "continue_final_message" in err and "vLLM" in err
    assert sum("continue_final_message" in b for b in asked) == 1  # the first refusal stops the run


def test_the_mock_server_checks_the_flags_as_vllm_does(mock_server: MockServerProcess) -> None:
    def post(body: dict) -> tuple[int, dict]:
        req = urllib.request.Request(f"{mock_server.url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    messages = [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "<think>\nhm\n</think>" + CUE}]
    # vLLM's add_generation_prompt defaults to true: continue_final_message alone is a 400
    status, body = post({"model": "m", "messages": messages, "continue_final_message": True})
    assert status == 400 and "add_generation_prompt" in body["error"]["message"]
    status, body = post({"model": "m", "messages": messages[:1], "continue_final_message": True,
                         "add_generation_prompt": False})
    assert status == 400 and "assistant" in body["error"]["message"]
    status, body = post({"model": "m", "messages": messages, "continue_final_message": True,
                         "add_generation_prompt": False, "max_tokens": 5})
    choice = body["choices"][0]
    assert status == 200 and choice["finish_reason"] == "length" and choice["message"]["reasoning_content"] is None
    assert body["usage"]["completion_tokens"] == 5  # answer tokens only: the reasoning was closed by the prefix


@pytest.mark.parametrize("flags, message", [
    (["--thinking-budget", "0"], "must be token counts > 0"),
    (["--thinking-budget", "512", "512"], "lists a budget twice"),
    (["--thinking-budget", "512", "--max-tokens", "1024"], "leave --max-tokens out"),
])
def test_bad_budget_flags_are_one_line_errors(tmp_path: Path, capsys, flags: list[str], message: str) -> None:
    data = _questions(tmp_path, 1)
    assert _eval("http://127.0.0.1:9/v1", data, tmp_path / "run", *flags) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("reasoning_format", ["inline", "lone-close"])
def test_inline_reasoning_is_rebuilt_into_the_same_prefix(tmp_path: Path, reasoning_format: str) -> None:
    """Reasoning streamed inside the content (`<think>` inline, or only `</think>` after a
    template-prefilled `<think>`): the client's split gives the reasoning, and the prefix
    is rebuilt with one `<think>\\n` ... `\\n</think>` around it, never doubled."""
    from thinklens.mock_server import MockServerConfig, run_mock_server

    data = _questions(tmp_path, 1)
    config = MockServerConfig(reasoning_tokens=50, tokens=12, answer="\\boxed{2}", reasoning_format=reasoning_format,
                              record_timings=True)
    extra = ["--reasoning-prefilled"] if reasoning_format == "lone-close" else []
    with run_mock_server(config) as server:
        assert _eval(server.url, data, tmp_path / "run", "--thinking-budget", "20", *extra) == 0
        records = server.stats().records
    assert records is not None
    (cont,) = [r for r in records if r.continuation]
    assert cont.prefix_head == "<think>\nLet me t" and cont.prefix_tail.endswith("</think>" + CUE)
    conn = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    content, reasoning, correct = conn.execute("SELECT content, reasoning, correct FROM results").fetchone()
    assert "<think>" not in reasoning and reasoning.startswith("Let me think") and correct == 1
    assert content.endswith("\\boxed{2}")
