"""What thinklens sends: generation config passed through, repeats as separate requests."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from tests.helpers.http_helpers import http_server
from thinklens.cli import main


def test_generation_config_reaches_the_server_and_repeats_get_their_own_seed(tmp_path: Path) -> None:
    bodies: list[dict] = []

    async def record(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "QwQ-32B"}]})
        bodies.append(await request.json())
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for delta in ({"role": "assistant", "reasoning_content": "think"}, {"content": "\\boxed{2}"}):
            chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await resp.write(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n')
        await resp.write(b'data: {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}\n\n')
        await resp.write(b"data: [DONE]\n\n")
        return resp

    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({"problem": "1+1?", "answer": "2", "level": 1, "unique_id": "q"}) + "\n")
    with http_server(record) as url:
        rc = main(["eval", "--api-url", url, "--model", "QwQ-32B", "--datasets", "math_500", "--dataset-path",
                   f"math_500={data}", "--max-tokens", "32000", "--temperature", "0.6", "--top-p", "0.95",
                   "--top-k", "40", "--seed", "5", "--n", "3", "--stop", "<|im_end|>",
                   "--extra-body", '{"chat_template_kwargs": {"enable_thinking": true}}',
                   "--output", str(tmp_path / "run"), "--no-progress"])
    assert rc == 0
    assert len(bodies) == 3  # n=3: three separate requests
    assert sorted(b["seed"] for b in bodies) == [5, 6, 7]
    for b in bodies:
        assert b["model"] == "QwQ-32B" and b["max_tokens"] == 32000 and b["temperature"] == 0.6
        assert b["top_p"] == 0.95 and b["top_k"] == 40 and b["stop"] == ["<|im_end|>"]
        assert b["chat_template_kwargs"] == {"enable_thinking": True}
        assert b["stream"] is True and b["stream_options"] == {"include_usage": True}
        assert "n" not in b
        assert b["messages"] == [{"role": "user", "content": "1+1?\nPlease reason step by step, and put your final "
                                                             "answer within \\boxed{}."}]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    rows = {(r["metric"], r["subset"]): r["score"] for r in report["rows"]}
    assert rows[("AveragePass@1", "OVERALL")] == 1.0 and rows[("maj@3", "OVERALL")] == 1.0


def test_export_writes_every_stored_row_as_jsonl(tmp_path: Path, capsys) -> None:
    from thinklens.mock_server import MockServerConfig, run_mock_server

    data = tmp_path / "q.jsonl"
    data.write_text("\n".join(json.dumps({"problem": f"{i}+{i}?", "answer": str(2 * i), "level": 1, "unique_id": f"q{i}"})
                              for i in range(3)) + "\n")
    with run_mock_server(MockServerConfig(tokens=4, reasoning_tokens=3, answer="\\boxed{2}")) as server:
        assert main(["eval", "--api-url", server.url, "--model", "m", "--datasets", "math_500", "--dataset-path",
                     f"math_500={data}", "--n", "2", "--output", str(tmp_path / "run"), "--no-progress"]) == 0
    assert main(["export", str(tmp_path / "run"), "-o", str(tmp_path / "out.jsonl")]) == 0
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(lines) == 6
    assert {(x["sample"]["id"], x["repeat"]) for x in lines} == {(f"q{i}", r) for i in range(3) for r in range(2)}
    right = [x for x in lines if x["sample"]["id"] == "q1"]
    assert all(x["score"]["correct"] is True and x["generation"]["reasoning"] for x in right)
    assert main(["export", str(tmp_path / "nothing")]) == 2
    assert "not a thinklens run folder" in capsys.readouterr().err
