"""Thousands of requests in flight from one process, over reused connections."""

from __future__ import annotations

import json
from pathlib import Path

from thinklens import TaskConfig, run_task
from thinklens.mock_server import MockServerConfig, run_mock_server


def test_fifteen_hundred_requests_in_flight(tmp_path: Path) -> None:
    data = tmp_path / "questions.jsonl"
    data.write_text("\n".join(
        json.dumps({"problem": f"Compute {i} times 1.", "answer": str(i), "level": 1 + i % 5, "unique_id": f"q{i}"})
        for i in range(500)
    ) + "\n")
    # Every answer arrives after 2 s, so all requests overlap if the client really keeps
    # eval_batch_size of them in flight.
    with run_mock_server(MockServerConfig(tokens=3, answer="\\boxed{7}", ttft=2.0)) as server:
        result = run_task(TaskConfig(
            api_url=server.url, model="m", datasets=["math_500"], dataset_args={"math_500": {"dataset_id": str(data)}},
            eval_batch_size=1500, generation_config={"n": 3, "max_tokens": 50}, output=str(tmp_path / "run"),
            progress=False,
        ))
        stats = server.stats(with_records=False)
    assert result.failed == 0 and result.requests_sent == 1500
    assert stats.max_in_flight >= 1400
    assert result.request_seconds < 15  # one 2 s wave, not 1500 / small-pool waves
    overall = next(r for r in result.report.rows if r.metric == "AveragePass@1" and r.subset == "OVERALL")
    assert overall.num == 500 and abs(overall.score - 1 / 500) < 1e-9


def test_connections_are_reused(tmp_path: Path) -> None:
    """Keep-alive: 60 requests through 4 slots use about 4 TCP connections, not 60."""
    import asyncio

    from aiohttp import web

    from tests.helpers.http_helpers import http_server

    peers: set = set()

    async def answer(request: web.Request) -> web.StreamResponse:
        peers.add(request.transport.get_extra_info("peername"))
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "m"}]})
        await asyncio.sleep(0.01)
        return web.json_response({"choices": [{"message": {"content": "\\boxed{1}"}, "finish_reason": "stop"}],
                                  "usage": {"prompt_tokens": 3, "completion_tokens": 2}})

    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"q{i}", "answer": "1", "level": 1, "unique_id": f"q{i}"})
                              for i in range(60)) + "\n")
    with http_server(answer) as url:
        result = run_task(TaskConfig(api_url=url, model="m", datasets=["math_500"], stream=False,
                                     dataset_args={"math_500": {"dataset_id": str(data)}}, eval_batch_size=4,
                                     output=str(tmp_path / "run"), progress=False))
    assert result.requests_sent == 60
    assert len(peers) <= 5  # 4 request slots (+ the preflight's connection, normally reused too)
