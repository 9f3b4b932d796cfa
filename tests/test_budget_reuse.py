"""Budget forcing's trace reuse (`thinklens eval --thinking-budget ... --budget-reuse`).

Over HTTP against a real `thinklens mock-server` process (deterministic for a seed, and
it streams vLLM's `continuous_usage_stats`): one phase-1 request per (sample, repeat) at
the largest budget plus the continuations; the stored per-budget results equal those of
the run without reuse; resume; a chunk that ends past the budget falls back to its own
request.  Against deliberately different servers: no running token count (exit 2) and a
server that is not deterministic for the seed (the check warns).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from aiohttp import web

from tests.helpers.calibration import MockServerProcess
from tests.helpers.http_helpers import http_server
from thinklens.cli import main

CUE = "\n\n**Final Answer**\n"
# What must not depend on reuse: each stored item's output and accounting.
_COLUMNS = ("content, reasoning, reasoning_source, finish_reason, prompt_tokens, completion_tokens, "
            "reasoning_tokens, correct, extracted")


def _questions(tmp_path: Path, n: int = 3) -> Path:
    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"What is {i}+{2 - i}?", "answer": "2", "level": 1,
                                          "unique_id": f"q{i}"}) for i in range(n)) + "\n")
    return data


def _eval(url: str, data: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--api-url", url, "--model", "mock-model", "--datasets", "math_500", "--dataset-path",
                 f"math_500={data}", "--output", str(out), "--no-progress", *extra])


def _stored(run: Path) -> dict[str, tuple]:
    """key -> (the columns above, the forcing detail without what reuse adds to it)."""
    conn = sqlite3.connect(run / "run.sqlite")
    rows = conn.execute(f"SELECT key, {_COLUMNS}, sample_meta FROM results").fetchall()
    conn.close()
    out = {}
    for key, *cols, meta in rows:
        forcing = dict(json.loads(meta)["budget_forcing"])
        for added in ("reused_from", "reuse_fallback", "reuse_check"):
            forcing.pop(added, None)
        out[key] = (*cols, forcing)
    return out


def _reused_from(run: Path) -> dict[int, list]:
    conn = sqlite3.connect(run / "run.sqlite")
    metas = [json.loads(m)["budget_forcing"] for (m,) in conn.execute("SELECT sample_meta FROM results")]
    conn.close()
    by_budget: dict[int, list] = {}
    for f in metas:
        by_budget.setdefault(f["budget"], []).append(f.get("reused_from"))
    return {b: sorted(v, key=str) for b, v in sorted(by_budget.items())}


@pytest.fixture
def mock_server():
    # 50 reasoning tokens, then 12 answer tokens ending in \boxed{2}; records every request
    with MockServerProcess("--reasoning-tokens", "50", "--tokens", "12", "--answer", "\\boxed{2}",
                           "--record-timings") as server:
        yield server


BUDGETS = ("--thinking-budget", "20", "55", "100", "--budget-answer-tokens", "30", "--seed", "3")


@pytest.mark.parametrize("slots", ["1", "8"])  # the budgets of a sample one after another, or all at once
def test_one_reasoning_request_per_sample_and_the_same_stored_results(tmp_path: Path, slots: str,
                                                                       mock_server: MockServerProcess) -> None:
    data = _questions(tmp_path)
    assert _eval(mock_server.url, data, tmp_path / "alone", *BUDGETS, "--n", "2") == 0
    alone_requests = mock_server.stats(records=False)["requests_total"]
    mock_server.reset_stats()

    assert _eval(mock_server.url, data, tmp_path / "reuse", *BUDGETS, "--n", "2", "--budget-reuse",
                 "--eval-batch-size", slots) == 0
    stats = mock_server.stats()
    first = [r for r in stats["records"] if not r["continuation"]]
    cont = [r for r in stats["records"] if r["continuation"]]
    # 3 questions x 2 repeats: one reasoning request each, at the largest budget
    assert sorted(r["max_tokens"] for r in first) == [100] * 6
    # B=20 forced (from the first 20 reasoning tokens), B=55 continued (5 answer tokens so far)
    assert len(cont) == 12 and stats["requests_total"] == 18 and alone_requests == 3 * 2 * 3 + 12
    assert sum(r["prefix_tail"].endswith("</think>" + CUE) for r in cont) == 6
    assert sum(r["prefix_tail"].endswith("</think>\n\nHere is the answer,") for r in cont) == 6

    # Same keys, same outputs, same token accounting, same grades, same forcing detail.
    alone, reuse = _stored(tmp_path / "alone"), _stored(tmp_path / "reuse")
    assert len(alone) == 18 and alone == reuse
    assert _reused_from(tmp_path / "reuse") == {20: [100] * 6, 55: [100] * 6, 100: [None] * 6}
    report = json.loads((tmp_path / "reuse" / "report.json").read_text())
    assert [(p["budget"], p["forced"], p["mean_reasoning_tokens"]) for p in report["budget_curve"]] == [
        (20, 6, 20.0), (55, 0, 50.0), (100, 0, 50.0)]


def test_resume_and_a_new_budget(tmp_path: Path, mock_server: MockServerProcess) -> None:
    data = _questions(tmp_path, 2)
    run = tmp_path / "run"
    assert _eval(mock_server.url, data, run, "--thinking-budget", "100", "--seed", "3", "--budget-reuse") == 0
    mock_server.reset_stats()
    assert _eval(mock_server.url, data, run, "--thinking-budget", "100", "--seed", "3", "--budget-reuse") == 0
    assert mock_server.stats(records=False)["requests_total"] == 0  # every (sample, repeat, budget) stored
    # Two new budgets: the trace goes only as far as the largest budget still to run (55), the
    # stored B=100 items are not touched.
    assert _eval(mock_server.url, data, run, "--thinking-budget", "20", "55", "100", "--seed", "3",
                 "--budget-reuse") == 0
    stats = mock_server.stats()
    assert sorted(r["max_tokens"] for r in stats["records"] if not r["continuation"]) == [55, 55]
    assert stats["continuations"] == 4
    assert _reused_from(run) == {20: [55, 55], 55: [None, None], 100: [None, None]}
    mock_server.reset_stats()
    assert _eval(mock_server.url, data, run, "--thinking-budget", "20", "55", "100", "--seed", "3",
                 "--budget-reuse") == 0
    assert mock_server.stats(records=False)["requests_total"] == 0


def test_a_budget_inside_a_chunk_is_generated_on_its_own(tmp_path: Path) -> None:
    """Two tokens per streamed chunk: running counts 2, 4, ...; B=21 ends inside a chunk,
    so its reasoning is requested on its own (never a prefix off by a token); B=40 is cut."""
    data = _questions(tmp_path, 2)
    flags = ("--thinking-budget", "21", "40", "100", "--seed", "3")
    with MockServerProcess("--reasoning-tokens", "50", "--tokens", "12", "--answer", "\\boxed{2}",
                           "--tokens-per-chunk", "2", "--record-timings") as server:
        assert _eval(server.url, data, tmp_path / "alone", *flags) == 0
        server.reset_stats()
        assert _eval(server.url, data, tmp_path / "reuse", *flags, "--budget-reuse") == 0
        first = [r for r in server.stats()["records"] if not r["continuation"]]
    assert sorted(r["max_tokens"] for r in first) == [21, 21, 100, 100]
    assert _stored(tmp_path / "alone") == _stored(tmp_path / "reuse")
    assert _reused_from(tmp_path / "reuse") == {21: [None, None], 40: [100, 100], 100: [None, None]}
    conn = sqlite3.connect(tmp_path / "reuse" / "run.sqlite")
    fallbacks = [json.loads(m)["budget_forcing"].get("reuse_fallback") for (m,) in conn.execute(
        "SELECT sample_meta FROM results")]
    assert fallbacks.count("no chunk ends at the budget") == 2


def test_the_check_finds_the_mock_server_deterministic(tmp_path: Path, mock_server: MockServerProcess,
                                                       capsys) -> None:
    data = _questions(tmp_path, 2)
    assert _eval(mock_server.url, data, tmp_path / "run", *BUDGETS, "--budget-reuse", "--budget-reuse-check") == 0
    first = [r for r in mock_server.stats()["records"] if not r["continuation"]]
    assert sorted(r["max_tokens"] for r in first) == [20, 100, 100]  # one sample checked at the smallest
    conn = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    checks = [json.loads(m)["budget_forcing"].get("reuse_check") for (m,) in conn.execute(
        "SELECT sample_meta FROM results")]
    assert checks.count("same") == 1 and checks.count(None) == 5
    assert "--budget-reuse-check" not in capsys.readouterr().err


def _sse(events: list[dict]) -> bytes:
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"


def _reasoning_stream(words: list[str], max_tokens: int, running: bool) -> bytes:
    """vLLM-shaped: one reasoning token per chunk, cut at max_tokens, usage per chunk if asked."""
    n = min(len(words), max_tokens)
    end = "length" if n == max_tokens else "stop"
    events = []
    for i, word in enumerate(words[:n]):
        event: dict = {"choices": [{"index": 0, "delta": {"reasoning_content": word},
                                    "finish_reason": end if i == n - 1 else None}]}
        if running:
            event["usage"] = {"prompt_tokens": 9, "completion_tokens": i + 1, "total_tokens": 10 + i}
        events.append(event)
    events.append({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": n, "total_tokens": 9 + n}})
    return _sse(events)


def _answer_stream() -> bytes:
    return _sse([{"choices": [{"index": 0, "delta": {"content": "\\boxed{2}"}, "finish_reason": "stop"}]},
                 {"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 4, "total_tokens": 44}}])


def _server(bodies: list[dict], *, running: bool, words_for) -> callable:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "mock-model"}]})
        body = await request.json()
        bodies.append(body)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if body.get("continue_final_message"):
            await resp.write(_answer_stream())
        else:
            wants_running = running and (body.get("stream_options") or {}).get("continuous_usage_stats")
            await resp.write(_reasoning_stream(words_for(body), body["max_tokens"], bool(wants_running)))
        await resp.write_eof()
        return resp

    return handler


def test_a_server_without_running_counts_refuses_reuse_with_exit_2(tmp_path: Path, capsys) -> None:
    bodies: list[dict] = []
    words = [f" w{i}" for i in range(40)]
    handler = _server(bodies, running=False, words_for=lambda body: words)
    with http_server(handler) as url:
        rc = _eval(url, _questions(tmp_path, 1), tmp_path / "run", "--thinking-budget", "8", "16", "--seed", "1",
                   "--budget-reuse", "--eval-batch-size", "1")
    assert rc == 2
    err = capsys.readouterr().err
    assert "running token count" in err and "continuous_usage_stats" in err and "without --budget-reuse" in err
    first = bodies[0]
    assert first["max_tokens"] == 16 and first["seed"] == 1
    assert first["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}


def test_a_trace_that_ends_within_every_budget_needs_no_running_count(tmp_path: Path) -> None:
    """The model stops after 5 tokens: each budget's phase 1 is the whole trace, whatever
    the server says per chunk."""
    bodies: list[dict] = []
    handler = _server(bodies, running=False, words_for=lambda body: [f" w{i}" for i in range(5)])
    with http_server(handler) as url:
        assert _eval(url, _questions(tmp_path, 1), tmp_path / "run", "--thinking-budget", "8", "16", "--seed", "1",
                     "--budget-reuse") == 0
    assert [b["max_tokens"] for b in bodies] == [16]
    assert _reused_from(tmp_path / "run") == {8: [16], 16: [None]}


def test_the_check_warns_when_the_server_is_not_deterministic(tmp_path: Path, capsys) -> None:
    """A server whose tokens depend on max_tokens (not deterministic for the seed): the
    smallest budget on its own differs from the reused prefix: a warning, recorded."""
    bodies: list[dict] = []
    handler = _server(bodies, running=True,
                      words_for=lambda body: [f" t{body['max_tokens']}-{i}" for i in range(40)])
    with http_server(handler) as url:
        rc = _eval(url, _questions(tmp_path, 1), tmp_path / "run", "--thinking-budget", "8", "16", "--seed", "1",
                   "--budget-reuse", "--budget-reuse-check")
    assert rc == 0
    assert sorted(b["max_tokens"] for b in bodies if not b.get("continue_final_message")) == [8, 16]
    err = capsys.readouterr().err
    assert "--budget-reuse-check" in err and "not deterministic for the seed" in err
    conn = sqlite3.connect(tmp_path / "run" / "run.sqlite")
    rows = {json.loads(m)["budget_forcing"]["budget"]: (json.loads(m)["budget_forcing"], r) for m, r in conn.execute(
        "SELECT sample_meta, reasoning FROM results")}
    forcing8, reasoning8 = rows[8]
    assert forcing8["reuse_check"] == "differs" and forcing8["reused_from"] == 16
    assert reasoning8 == "t16-0 t16-1 t16-2 t16-3 t16-4 t16-5 t16-6 t16-7"  # the reused prefix is what is stored


@pytest.mark.parametrize("flags, message", [
    (["--thinking-budget", "512", "1024", "--budget-reuse"], "needs a seed (--seed N)"),
    (["--thinking-budget", "512", "--seed", "1", "--budget-reuse", "--no-stream"], "leave --no-stream out"),
    (["--budget-reuse", "--seed", "1"], "need thinking_budget"),
    (["--thinking-budget", "512", "--seed", "1", "--budget-reuse-check"], "give both"),
])
def test_bad_reuse_flags_are_one_line_errors(tmp_path: Path, capsys, flags: list[str], message: str) -> None:
    assert _eval("http://127.0.0.1:9/v1", _questions(tmp_path, 1), tmp_path / "run", *flags) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_each_trace_is_dropped_once_its_budgets_have_their_cut(mock_server: MockServerProcess) -> None:
    """Traces are held only while an item of their (sample, repeat) still needs them: a
    long run keeps no reasoning text in memory for the samples it has finished."""
    import asyncio

    from thinklens.backend import make_backend
    from thinklens.budget.forcing import for_budget
    from thinklens.config import make_config
    from thinklens.records import Sample

    config = make_config({"api_url": mock_server.url, "model": "mock-model", "datasets": ["math_500"],
                          "thinking_budget": [20, 55, 100], "budget_reuse": True,
                          "generation_config": {"seed": 3}})
    samples = [Sample(f"q{i}", "math_500", "Level 1", [{"role": "user", "content": f"What is {i}+1?"}], "1")
               for i in range(3)]
    work = [(for_budget(s, b), r) for s in samples for r in range(2) for b in (20, 55, 100)]

    async def run() -> tuple[list, int, int]:
        backend = make_backend(config)
        try:
            backend.plan(work)
            gens = await asyncio.gather(*(backend.generate(s, r) for s, r in work))
            return gens, len(backend.reuse._groups), len(backend.reuse._tasks)
        finally:
            await backend.close()

    gens, groups, tasks = asyncio.run(run())
    assert all(g.ok for g in gens) and (groups, tasks) == (0, 0)
    assert [g.forcing.get("reused_from") for g in gens[:3]] == [100, 100, None]
    assert sorted(r["max_tokens"] for r in mock_server.stats()["records"] if not r["continuation"]) == [100] * 6
